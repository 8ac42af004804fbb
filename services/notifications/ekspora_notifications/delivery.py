"""Telling people: UMKM owners on WhatsApp, then SMS, then email; partners and operators by email;
everyone in their in-app feed. Each (event, recipient, channel) happens at most once.

Before a push, the recipient's preferences decide: skip (opted out), hold until quiet hours end,
or send; critical messages always go. A channel is skipped when the recipient has no address for
it, retried with backoff when it fails, and given up with the reason recorded, before the next
channel is tried. Each send is claimed (a unique record per event, recipient and channel) before
it is made: a redelivered event, a restart or a second instance finds the claim and sends nothing
again. A crash after the claim and before the provider's answer was recorded leaves the claim as
"sending": once it is older than any live send takes, one instance takes it over and asks the
provider, by the delivery's id it sent as the reference, whether it took the text; recorded as sent
if so, sent now if not. So a text is neither lost nor doubled. An email's fate after such a crash
cannot be asked of an SMTP server: it stays "sending", at most once.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram

from ekspora_contracts.catalog import EVENT_TYPES
from ekspora_contracts.envelope import CloudEvent, event_model
from ekspora_kit.clock import Clock
from ekspora_notifications import preferences, whatsapp
from ekspora_notifications.channels import Mailer, MessagingProvider, OutsideWindow, SendFailed, WhatsAppCloud
from ekspora_notifications.conversations import ConversationStore
from ekspora_notifications.domain import (
    Labels,
    Message,
    MessageRules,
    Notification,
    Recipient,
    Role,
    Templates,
    compose,
    notification_id,
    owner_recipient,
    parties,
    partner_recipient,
)
from ekspora_notifications.preferences import QuietHours
from ekspora_notifications.store import DeliveryStore, NotificationsStore
from ekspora_notifications.whatsapp_messages import WhatsAppTemplates, content, window_open

logger = logging.getLogger(__name__)
TEXT_CHANNELS = ("whatsapp", "sms")


class ChannelMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "ekspora_notifications_total",
            "Sends per channel and outcome: sent, failed, retried, fallen_back, held, skipped",
            ["channel", "outcome"],
            registry=registry,
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


class Unsettled(Exception):
    """A text the provider may have taken, and cannot be asked about now."""


@dataclass(frozen=True)
class Outgoing:
    """What one send carries, as claimed: its words, and what a WhatsApp template is filled with."""

    event_type: str
    language: str
    subject: str
    text: str
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, record: dict) -> "Outgoing":
        return cls(
            record.get("event_type", ""),
            record["language"],
            record["subject"],
            record["text"],
            record.get("values", {}),
        )


class Occasion:
    """What a message is about: the event (or digest, or notice) it is keyed by, for never-twice."""

    def __init__(self, key: str, event_type: str, subject: str, time: datetime) -> None:
        self.key, self.event_type, self.subject, self.time = key, event_type, subject, time

    @classmethod
    def of(cls, event: CloudEvent) -> "Occasion":
        return cls(event.id, event.type, event.subject, event.time)


class Notifier:
    def __init__(
        self,
        store: NotificationsStore,
        deliveries: DeliveryStore,
        templates: Templates,
        labels: Labels,
        rules: MessageRules,
        provider: MessagingProvider,
        mailer: Mailer,
        metrics: ChannelMetrics,
        whatsapp: WhatsAppCloud | None,
        conversations: ConversationStore,
        *,
        attempts: int,
        backoff_seconds: float,
        unconfirmed_after_seconds: float,
        default_quiet_hours: QuietHours | None,
        clock: Clock,
    ) -> None:
        self.store, self.deliveries, self.templates, self.labels, self.rules = (
            store,
            deliveries,
            templates,
            labels,
            rules,
        )
        self.provider, self.mailer, self.metrics = provider, mailer, metrics
        self.whatsapp, self.conversations, self.whatsapp_templates = whatsapp, conversations, WhatsAppTemplates()
        self.attempts, self.backoff, self.default_quiet_hours = attempts, backoff_seconds, default_quiet_hours
        self.unconfirmed_after = timedelta(seconds=unconfirmed_after_seconds)
        self.clock = clock

    async def tell_owner(self, event: CloudEvent, msme_id: str) -> None:
        contact = await self.store.contact(msme_id)
        if contact is None:  # the contact travels on another topic and may come later
            waiting = f"{event.id}:{msme_id}"
            await self.deliveries.wait_for_contact(waiting, msme_id, event.model_dump(mode="json"))
            # it may have come, and found nothing waiting, while this note was written: look again (a
            # message told from both sides goes out once, claimed per event, recipient and channel)
            if (contact := await self.store.contact(msme_id)) is None:
                return
            await self.deliveries.done_waiting(waiting)
        business = await self.deliveries.business_name(msme_id) or contact.owner_name
        _, partner_ids = parties(event.data)
        partner = await self.store.partner(partner_ids[0]) if partner_ids else None
        context = {"business": business, "partner_name": partner.name if partner else "-"}
        await self._tell(event, "owner", owner_recipient(contact), context)

    async def contact_arrived(self, msme_id: str) -> None:
        for key, raw in await self.deliveries.waiting_for(msme_id):
            event = event_model(EVENT_TYPES[raw["type"]]).model_validate(raw)
            await self.tell_owner(event, msme_id)
            await self.deliveries.done_waiting(key)

    async def tell_partner(self, event: CloudEvent, partner_id: str, msme_ids: list[str]) -> None:
        recipient = await self.partner(partner_id, event.region)
        if recipient is None:
            logger.warning("partner %s unknown to notifications; %s not told", partner_id, event.type)
            return
        business = await self.deliveries.business_name(msme_ids[0]) if len(msme_ids) == 1 else None
        await self._tell(event, "partner", recipient, {"business": business or "-"})

    async def partner(self, partner_id: str, region: str) -> Recipient | None:
        partner = await self.store.partner(partner_id)
        if partner is None:
            return None
        return await self.in_chosen_language(partner_recipient(partner, region, self.labels))

    async def in_chosen_language(self, recipient: Recipient) -> Recipient:
        chosen = await self.store.preferences(recipient.recipient)
        return recipient.model_copy(update={"language": chosen.language}) if chosen and chosen.language else recipient

    async def _tell(self, event: CloudEvent, role: Role, recipient: Recipient, context: dict[str, str]) -> None:
        recipient = await self.in_chosen_language(recipient)
        before = dict(self.templates.fallbacks)
        message = compose(
            event, role, recipient, templates=self.templates, labels=self.labels, rules=self.rules, context=context
        )
        for language, count in self.templates.fallbacks.items():
            self.metrics.fallbacks.labels(language).inc(count - before.get(language, 0))
        if message is not None:
            await self.notify(Occasion.of(event), recipient, message)

    async def notify(self, occasion: Occasion, recipient: Recipient, message: Message) -> None:
        """Records the message in the recipient's feed and pushes it as their preferences allow."""
        chosen = await self.store.preferences(recipient.recipient)
        wishes = chosen or preferences.Preferences(quiet_hours=self.default_quiet_hours)
        decision = preferences.decide(
            category=message.category,
            critical=message.critical,
            chain=(*recipient.chain, "in_app"),
            preferences=wishes,
            zone=recipient.timezone,
            now=self.clock.now(),
        )
        if decision.action == "skip":
            self.metrics.outcomes.labels("any", "skipped").inc()
            logger.info("%s not told of %s: %s", recipient.recipient, occasion.event_type, decision.reason)
            return
        if "in_app" in decision.channels:
            await self.store.record([self._feed_item(occasion, recipient, message)])
        push = tuple(channel for channel in decision.channels if channel != "in_app")
        if not push:
            return
        if decision.action == "hold" and decision.release_at is not None:
            held = await self.deliveries.hold(
                f"{occasion.key}:{recipient.recipient}",
                {
                    "occasion": vars(occasion),
                    "recipient": recipient.model_dump(mode="json"),
                    "message": message.model_dump(),
                    "channels": list(push),
                    "release_at": decision.release_at,
                },
            )
            if held:
                self.metrics.outcomes.labels("any", "held").inc()
            return
        await self.deliver(occasion, recipient, message, push)

    async def release_held(self) -> int:
        """Delivers what quiet hours held back and is now due; returns how many were released."""
        released = 0
        for key, held in await self.deliveries.due_held(self.clock.now()):
            occasion = Occasion(**held["occasion"])
            recipient, message = Recipient.model_validate(held["recipient"]), Message.model_validate(held["message"])
            await self.deliver(occasion, recipient, message, tuple(held["channels"]))
            await self.deliveries.release(key)
            released += 1
        return released

    def _feed_item(self, occasion: Occasion, recipient: Recipient, message: Message) -> Notification:
        return Notification(
            notification_id=notification_id(occasion.key, recipient.recipient, "in_app"),
            event_id=occasion.key,
            event_type=occasion.event_type,
            subject=occasion.subject,
            region=recipient.region,
            recipient=recipient.recipient,
            channel="in_app",
            language=message.language,
            text=f"{message.subject}\n{message.text}",
            created_at=self.clock.now(),
        )

    async def deliver(
        self, occasion: Occasion, recipient: Recipient, message: Message, channels: tuple[str, ...]
    ) -> str | None:
        """Returns the channel that delivered, or None when every channel failed."""
        addresses = {"whatsapp": recipient.whatsapp, "sms": recipient.whatsapp, "email": recipient.email}
        for channel in channels:
            address = addresses.get(channel)
            if not address:
                continue
            key = notification_id(occasion.key, recipient.recipient, channel)
            earlier = await self.deliveries.claim(
                key,
                {
                    "event_id": occasion.key,
                    "event_type": occasion.event_type,
                    "recipient": recipient.recipient,
                    "to": recipient.recipient.partition(":")[0],
                    "region": recipient.region,
                    "channel": channel,
                    "address": address,
                    "language": message.language,
                    "category": message.category,
                    "critical": message.critical,
                    "subject": message.subject,
                    "text": message.text,
                    "values": message.values,
                    "status": "sending",
                    "attempts": 0,
                    "claims": 1,
                    "created_at": self.clock.now(),
                    "claimed_at": self.clock.now(),
                },
            )
            if earlier is not None:
                if earlier.get("status") == "failed":
                    continue
                return channel  # sent before, or possibly sent: never twice
            outgoing = Outgoing(occasion.event_type, message.language, message.subject, message.text, message.values)
            if await self._send(key, channel, address, outgoing, occasion.time):
                return channel
            self.metrics.outcomes.labels(channel, "fallen_back").inc()
        logger.error("no channel reached %s for %s", recipient.recipient, occasion.event_type)
        return None

    async def settle_unconfirmed(self) -> int:
        """Settles the texts whose process died between claiming and recording the provider's
        answer; returns how many it settled."""
        settled = 0
        for record in await self.deliveries.unconfirmed(TEXT_CHANNELS, self.clock.now() - self.unconfirmed_after):
            if not await self.deliveries.take_over(record, self.clock.now()):
                continue  # another instance took it
            key, channel = record["_id"], record["channel"]
            try:
                provider_id = await self._taken(channel, key)
            except SendFailed as error:  # asked again when this takeover is stale in turn
                logger.warning("could not ask the provider about %s: %s", key, error)
                continue
            if provider_id is not None:
                await self.deliveries.finish(key, {"status": "sent", "reference": provider_id, "settled": "taken"})
                self.metrics.outcomes.labels(channel, "settled_taken").inc()
            else:
                await self.deliveries.finish(key, {"settled": "resent"})
                await self._send(key, channel, record["address"], Outgoing.of(record), record["created_at"])
                self.metrics.outcomes.labels(channel, "settled_resent").inc()
            settled += 1
        return settled

    async def _send(self, key: str, channel: str, address: str, outgoing: Outgoing, since: datetime) -> bool:
        """True when the provider took the message, or may have and is asked again later (see
        settle_unconfirmed); False when every attempt failed."""
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                reference = await self._attempt(key, channel, address, outgoing)
            except Unsettled as error:
                logger.warning("%s left unconfirmed, to be settled: %s", key, error)
                return True
            except SendFailed as error:
                reason = str(error)
                if not error.retryable:
                    break
                if attempt < self.attempts:
                    self.metrics.outcomes.labels(channel, "retried").inc()
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            await self.deliveries.finish(
                key, {"status": "sent", "attempts": attempt, "reference": reference, "sent_at": self.clock.now()}
            )
            self.metrics.outcomes.labels(channel, "sent").inc()
            self.metrics.latency.labels(channel).observe(max(0.0, (self.clock.now() - since).total_seconds()))
            return True
        await self.deliveries.finish(key, {"status": "failed", "reason": reason})
        self.metrics.outcomes.labels(channel, "failed").inc()
        return False

    async def _attempt(self, key: str, channel: str, address: str, outgoing: Outgoing) -> str:
        """The provider's id of the message; SendFailed when it surely did not take it, Unsettled
        when it may have and cannot be asked now."""
        if channel == "email":
            return await self.mailer.send(address, outgoing.subject, outgoing.text)
        if channel == "whatsapp" and self.whatsapp is not None:
            return await self._by_cloud(self.whatsapp, key, address, outgoing)
        try:
            return await self.provider.send(channel, address, f"{outgoing.subject}\n{outgoing.text}", key)
        except SendFailed as error:
            if not error.maybe_taken:
                raise
            try:
                taken = await self.provider.taken(channel, key)
            except SendFailed as unknown:
                raise Unsettled(f"{error}; then {unknown}") from error
            if taken is None:
                raise
            return taken

    async def _by_cloud(self, cloud: WhatsAppCloud, key: str, address: str, outgoing: Outgoing) -> str:
        """Inside the owner's 24-hour window the text itself (with reply buttons for a proposal),
        outside it the template; when the Cloud API says the window is closed, the template."""
        in_window = window_open(await self.conversations.last_message_from(address), self.clock.now())
        try:
            return await cloud.send(address, self._cloud_content(outgoing, in_window=in_window), key)
        except OutsideWindow:
            return await cloud.send(address, self._cloud_content(outgoing, in_window=False), key)
        except SendFailed as error:
            if error.maybe_taken:  # its statuses will tell, see settle_unconfirmed
                raise Unsettled(str(error)) from error
            raise

    def _cloud_content(self, outgoing: Outgoing, *, in_window: bool) -> dict:
        text = f"*{outgoing.subject}*\n{outgoing.text}"
        found = content(
            self.whatsapp_templates, outgoing.event_type, outgoing.language, text, outgoing.values, in_window=in_window
        )
        if found is None:
            raise SendFailed("outside the owner's 24-hour window, and no template for this message", retryable=False)
        return found

    async def _taken(self, channel: str, key: str) -> str | None:
        """The id of the message the channel took for this send, or None when it took none."""
        if channel == "whatsapp" and self.whatsapp is not None:
            return await self.deliveries.acknowledged(key)
        return await self.provider.taken(channel, key)

    async def whatsapp_reported(self, status: whatsapp.Status) -> None:
        """A status the Cloud API reported for a message we sent: kept in the delivery log; a
        `failed` one falls back to SMS, as a send the API refused does (once: the SMS is claimed)."""
        at = datetime.fromtimestamp(status.timestamp, UTC)
        receipt = {"status": status.status, "at": at, "errors": [e.model_dump() for e in status.errors]}
        fields: dict = {f"{status.status}_at": at}
        if status.status == "failed":
            reasons = "; ".join(f"{e.code} {e.title}".strip() for e in status.errors) or "no reason given"
            fields |= {"status": "failed", "reason": f"WhatsApp reported the message failed: {reasons}"}
        record = await self.deliveries.receipt(status.biz_opaque_callback_data, status.id, fields, receipt)
        if record is None:
            logger.info("status %s of a message %s did not send", status.status, status.id)
            return
        if status.status != "failed" or record.get("status") == "failed":  # failed before: fallen back then
            return
        self.metrics.outcomes.labels("whatsapp", "failed").inc()
        self.metrics.outcomes.labels("whatsapp", "fallen_back").inc()
        recipient = Recipient(
            recipient=record["recipient"],
            region=record["region"],
            name="",
            whatsapp=record["address"],
            language=record["language"],
            timezone="UTC",
            chain=("sms",),
        )
        message = Message(
            category=record["category"],
            critical=record["critical"],
            language=record["language"],
            subject=record["subject"],
            text=record["text"],
            values=record.get("values", {}),
        )
        occasion = Occasion(record["event_id"], record["event_type"], "", record["created_at"])
        await self.deliver(occasion, recipient, message, ("sms",))
