"""Telling UMKM owners: WhatsApp, then SMS, then email, each channel at most once per event.

A channel is skipped when the owner has no address for it, retried with backoff when it fails,
and given up with the reason recorded, before the next channel is tried. Each send is claimed
(a unique record per event, recipient and channel) before it is made: a redelivered event, a
restart or a second instance finds the claim and sends nothing again. A crash after the claim and
before the provider answered leaves the claim as "sending": that message may be lost, never doubled.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram

from ekspora_contracts.catalog import EVENT_TYPES
from ekspora_contracts.envelope import CloudEvent
from ekspora_notifications.channels import Mailer, MessagingProvider, SendFailed
from ekspora_notifications.domain import Contact, Message, Templates, owner_message
from ekspora_notifications.store import DeliveryStore, NotificationsStore

logger = logging.getLogger(__name__)
CHAIN = ("whatsapp", "sms", "email")


class ChannelMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "ekspora_notifications_total", "Sends per channel and outcome", ["channel", "outcome"], registry=registry
        )
        self.latency = Histogram(
            "ekspora_notification_delivery_seconds", "Time from event to accepted send", ["channel"], registry=registry
        )
        self.fallbacks = Counter(
            "ekspora_template_fallbacks_total",
            "Messages rendered in English for want of the recipient's language",
            ["language"],
            registry=registry,
        )


class OwnerNotifier:
    def __init__(
        self,
        contacts: NotificationsStore,
        deliveries: DeliveryStore,
        templates: Templates,
        provider: MessagingProvider,
        mailer: Mailer,
        metrics: ChannelMetrics,
        *,
        attempts: int,
        backoff_seconds: float,
    ) -> None:
        self.contacts, self.deliveries, self.templates = contacts, deliveries, templates
        self.provider, self.mailer, self.metrics = provider, mailer, metrics
        self.attempts, self.backoff = attempts, backoff_seconds

    async def tell_owner(self, event: CloudEvent, msme_id: str) -> None:
        contact = await self.contacts.contact(msme_id)
        if contact is None:  # the contact travels on another topic and may come later
            await self.deliveries.wait_for_contact(f"{event.id}:{msme_id}", msme_id, event.model_dump(mode="json"))
            return
        contact = contact.model_copy(update={"business_name": await self.deliveries.business_name(msme_id)})
        before = dict(self.templates.fallbacks)
        message = owner_message(event, contact, self.templates)
        for language, count in self.templates.fallbacks.items():
            self.metrics.fallbacks.labels(language).inc(count - before.get(language, 0))
        if message is not None:
            await self.deliver(event, f"umkm:{msme_id}", contact, message)

    async def contact_arrived(self, msme_id: str) -> None:
        for key, raw in await self.deliveries.waiting_for(msme_id):
            event = CloudEvent[EVENT_TYPES[raw["type"]]].model_validate(raw)  # type: ignore[misc]
            await self.tell_owner(event, msme_id)
            await self.deliveries.done_waiting(key)

    async def deliver(self, event: CloudEvent, recipient: str, contact: Contact, message: Message) -> str | None:
        """Returns the channel that delivered, or None when every channel failed."""
        addresses = {"whatsapp": contact.whatsapp, "sms": contact.whatsapp, "email": contact.email}
        for channel in CHAIN:
            address = addresses[channel]
            if not address:
                continue
            key = f"{event.id}:{recipient}:{channel}"
            earlier = await self.deliveries.claim(
                key,
                {
                    "event_id": event.id,
                    "event_type": event.type,
                    "recipient": recipient,
                    "channel": channel,
                    "address": address,
                    "language": message.language,
                    "category": message.category,
                    "critical": message.critical,
                    "subject": message.subject,
                    "text": message.text,
                    "status": "sending",
                    "attempts": 0,
                    "created_at": datetime.now(UTC),
                },
            )
            if earlier is not None:
                if earlier.get("status") == "failed":
                    continue
                return channel  # sent before, or possibly sent: never twice
            if await self._send(key, channel, address, message, event):
                return channel
            self.metrics.outcomes.labels(channel, "fallen_back").inc()
        logger.error("no channel reached %s for %s", recipient, event.type)
        return None

    async def _send(self, key: str, channel: str, address: str, message: Message, event: CloudEvent) -> bool:
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                if channel == "email":
                    reference = await self.mailer.send(address, message.subject, message.text)
                else:
                    reference = await self.provider.send(channel, address, f"{message.subject}\n{message.text}")
            except SendFailed as error:
                reason = str(error)
                if not error.retryable:
                    break
                if attempt < self.attempts:
                    self.metrics.outcomes.labels(channel, "retried").inc()
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            await self.deliveries.finish(
                key, {"status": "sent", "attempts": attempt, "reference": reference, "sent_at": datetime.now(UTC)}
            )
            self.metrics.outcomes.labels(channel, "sent").inc()
            self.metrics.latency.labels(channel).observe(max(0.0, time.time() - event.time.timestamp()))
            return True
        await self.deliveries.finish(key, {"status": "failed", "reason": reason})
        self.metrics.outcomes.labels(channel, "failed").inc()
        return False
