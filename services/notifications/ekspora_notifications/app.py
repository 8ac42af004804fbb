"""Wiring: the one place where the notifications service's dependencies are built and connected."""

from datetime import timedelta

from fastapi import FastAPI

from ekspora_kit.http import create_http_app
from ekspora_kit.runtime import ServiceRuntime
from ekspora_notifications.api import ROUTERS
from ekspora_notifications.api.deps import Feeds, Subscriptions
from ekspora_notifications.channels import Mailer, MessagingProvider, WebhookSender, WhatsAppCloud
from ekspora_notifications.conversations import ConversationStore
from ekspora_notifications.delivery import ChannelMetrics, Notifier
from ekspora_notifications.digest import DailyDigest
from ekspora_notifications.domain import Labels, MessageRules, Templates
from ekspora_notifications.handlers import build_routes
from ekspora_notifications.owner_replies import InboundMetrics, OwnerReplies, ReportLinks
from ekspora_notifications.preferences import Preferences, QuietHours
from ekspora_notifications.replies import Replies
from ekspora_notifications.service import NotificationsService
from ekspora_notifications.settings import NotificationsSettings
from ekspora_notifications.store import DeliveryStore, NotificationsStore, WebhookStore
from ekspora_notifications.webhook_delivery import WebhookDispatcher, WebhookMetrics
from ekspora_notifications.webhooks import Catalogue


def create_app(settings: NotificationsSettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    store, deliveries, hooks = NotificationsStore(runtime.db), DeliveryStore(runtime.db), WebhookStore(runtime.db)
    conversations = ConversationStore(runtime.db)
    default_quiet_hours = QuietHours.parse(settings.default_quiet_hours)
    notifier = build_notifier(settings, runtime, store, deliveries, conversations, default_quiet_hours)
    catalogue = Catalogue()
    sender = WebhookSender(allow_loopback=settings.webhook_allow_loopback, timeout=settings.webhook_timeout_seconds)
    dispatcher = build_dispatcher(settings, runtime, hooks, catalogue, sender, notifier)
    digest = DailyDigest(store, deliveries, notifier, settings)
    links = ReportLinks(
        settings.report_link_secret,
        settings.public_url or f"http://127.0.0.1:{settings.http_port}",
        timedelta(days=settings.report_link_days),
    )
    metrics = InboundMetrics(runtime.metrics.registry)
    owners = OwnerReplies(conversations, store, deliveries, notifier, Replies(), links, metrics, runtime.clock)
    service = NotificationsService(
        store,
        deliveries,
        notifier,
        dispatcher,
        conversations,
        runtime.metrics,
        operator_timezone=settings.operator_timezone,
        clock=runtime.clock,
    )
    for routes in build_routes(service):
        runtime.consume(routes)
    runtime.relay_outboxes_of([conversations.received])
    runtime.alongside("webhook-deliveries", dispatcher.run)
    runtime.every("quiet-hours", settings.quiet_hours_check_seconds, notifier.release_held)
    runtime.every("unconfirmed-texts", settings.unconfirmed_check_seconds, notifier.settle_unconfirmed)
    if settings.digest_enabled:
        runtime.every("daily-digest", settings.digest_check_seconds, digest.send_due)

    async def ensure_indexes() -> None:
        await store.ensure_indexes()
        await deliveries.ensure_indexes()
        await hooks.ensure_indexes()
        await conversations.ensure_indexes()

    return create_http_app(
        runtime,
        title="Ekspora notifications",
        description="Tells UMKM owners, partners and operators what happened, and delivers partner webhooks.",
        routers=ROUTERS,
        state={
            "feeds": Feeds(store, deliveries, digest, Preferences(quiet_hours=default_quiet_hours)),
            "subscriptions": Subscriptions(hooks, store, catalogue, sender, dispatcher),
            "partner_by_id": store.known_partner,
            "owner_replies": owners,
            "whatsapp_app_secret": settings.whatsapp_app_secret,
            "whatsapp_verify_token": settings.whatsapp_verify_token,
        },
        on_startup=ensure_indexes,
    )


def build_notifier(
    settings: NotificationsSettings,
    runtime: ServiceRuntime,
    store: NotificationsStore,
    deliveries: DeliveryStore,
    conversations: ConversationStore,
    default_quiet_hours: QuietHours | None,
) -> Notifier:
    cloud = (
        WhatsAppCloud(settings.whatsapp_api_url, settings.whatsapp_phone_number_id, settings.whatsapp_access_token)
        if settings.whatsapp_api_url
        else None
    )
    return Notifier(
        store,
        deliveries,
        Templates(),
        Labels(),
        MessageRules(),
        MessagingProvider(settings.messaging_provider_url, settings.messaging_provider_token),
        Mailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender),
        ChannelMetrics(runtime.metrics.registry),
        cloud,
        conversations,
        attempts=settings.send_attempts,
        backoff_seconds=settings.send_backoff_seconds,
        unconfirmed_after_seconds=settings.unconfirmed_after_seconds,
        default_quiet_hours=default_quiet_hours,
        clock=runtime.clock,
    )


def build_dispatcher(
    settings: NotificationsSettings,
    runtime: ServiceRuntime,
    hooks: WebhookStore,
    catalogue: Catalogue,
    sender: WebhookSender,
    notifier: Notifier,
) -> WebhookDispatcher:
    return WebhookDispatcher(
        hooks,
        catalogue,
        sender,
        notifier,
        WebhookMetrics(runtime.metrics.registry),
        regions=settings.regions,
        instance=f"{settings.service}-{settings.instance}",
        schedule=settings.webhook_retry_schedule,
        jitter=settings.webhook_retry_jitter,
        disable_after_seconds=settings.webhook_disable_after_seconds,
        poll_seconds=settings.webhook_poll_seconds,
        clock=runtime.clock,
    )
