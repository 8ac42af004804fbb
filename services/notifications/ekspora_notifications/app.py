"""Wiring: the one place where the notifications service's dependencies are built and connected."""

from fastapi import FastAPI

from ekspora_kit.http import create_http_app
from ekspora_kit.runtime import ServiceRuntime
from ekspora_notifications.api import build_router
from ekspora_notifications.channels import Mailer, MessagingProvider
from ekspora_notifications.delivery import ChannelMetrics, OwnerNotifier
from ekspora_notifications.domain import Templates
from ekspora_notifications.handlers import build_routes
from ekspora_notifications.settings import NotificationsSettings
from ekspora_notifications.store import DeliveryStore, NotificationsStore


def create_app(settings: NotificationsSettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    store, deliveries, templates = NotificationsStore(runtime.db), DeliveryStore(runtime.db), Templates()
    notifier = OwnerNotifier(
        store,
        deliveries,
        templates,
        MessagingProvider(settings.messaging_provider_url, settings.messaging_provider_token),
        Mailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender),
        ChannelMetrics(runtime.metrics.registry),
        attempts=settings.send_attempts,
        backoff_seconds=settings.send_backoff_seconds,
    )
    for routes in build_routes(store, deliveries, templates, notifier, runtime.metrics):
        runtime.consume(routes)

    async def ensure_indexes() -> None:
        await store.ensure_indexes()
        await deliveries.ensure_indexes()

    return create_http_app(
        runtime,
        title="Ekspora notifications",
        description="Tells UMKM owners, partners and operators what happened.",
        routers=[build_router(store, deliveries)],
        on_startup=ensure_indexes,
    )
