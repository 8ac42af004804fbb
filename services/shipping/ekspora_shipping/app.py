"""Wiring: the one place where the shipping service's dependencies are built and connected."""

from fastapi import FastAPI

from ekspora_kit.http import create_http_app
from ekspora_kit.runtime import ServiceRuntime
from ekspora_kit.settings import ServiceSettings
from ekspora_shipping.handlers import build_routes


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    for routes in build_routes():
        runtime.consume(routes)
    return create_http_app(
        runtime,
        title="Ekspora shipping",
        description="Export orders, consolidated shipments, documents and tracking.",
        routers=[],
    )
