"""Entry point shared by every service: `python -m ekspora_<service>` runs its HTTP app with uvicorn."""

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from ekspora_kit.logs import configure_logging
from ekspora_kit.settings import ServiceSettings

Settings = TypeVar("Settings", bound=ServiceSettings)


def serve(settings: Settings, create_app: Callable[[Settings], FastAPI]) -> None:
    configure_logging(settings.service, settings.instance, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
