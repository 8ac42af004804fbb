"""UMKM owners act by replying on WhatsApp: a message from the number on an UMKM's contact that
answers a proposal becomes `proposal.answered` (matching applies it as an operator's answer for the
owner would be); LAPORAN gets their readiness report with a signed link to its page; BERHENTI
(STOP) opts them out of WhatsApp messages and MULAI (START) back in; anything else gets the help
text. The owner is answered in their language. Each message is handled once, however
often Meta posts it: its record is inserted under its id with the event in the same change record
(the outbox), and the answer is a send claimed once per message. A message from any other number
is recorded and changes nothing."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.notifications import ProposalAnswered
from ekspora_kit.clock import Clock
from ekspora_kit.events import envelopes
from ekspora_notifications import report_links, whatsapp
from ekspora_notifications.conversations import ConversationStore
from ekspora_notifications.delivery import Notifier, Occasion
from ekspora_notifications.domain import Contact, Message, owner_recipient
from ekspora_notifications.preferences import Preferences
from ekspora_notifications.replies import OwnerMessage, Replies, answered, next_steps, outcome
from ekspora_notifications.store import DeliveryStore, NotificationsStore

logger = logging.getLogger(__name__)
REPLY_EVENT = "ekspora.notifications.whatsapp.reply"


class InboundMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.webhooks = Counter(
            "ekspora_whatsapp_webhooks_total",
            "WhatsApp webhook posts: accepted, unsigned, wrong_signature, invalid",
            ["outcome"],
            registry=registry,
        )
        self.messages = Counter(
            "ekspora_whatsapp_inbound_messages_total",
            "Owners' WhatsApp messages by what they got: accepted, declined, no_open_proposal, help, stranger,"
            " repeated",
            ["outcome"],
            registry=registry,
        )


@dataclass(frozen=True)
class ReportLinks:
    secret: str  # unset: reports go without a link
    base_url: str
    valid_for: timedelta


class OwnerReplies:
    def __init__(
        self,
        conversations: ConversationStore,
        store: NotificationsStore,
        deliveries: DeliveryStore,
        notifier: Notifier,
        replies: Replies,
        links: ReportLinks,
        metrics: InboundMetrics,
        clock: Clock,
    ) -> None:
        self.conversations, self.store, self.deliveries, self.notifier = conversations, store, deliveries, notifier
        self.replies, self.links, self.metrics, self.clock = replies, links, metrics, clock

    async def received(self, message: whatsapp.InboundMessage, contacts: list[whatsapp.Contact]) -> None:
        phone = await self._phone_of(message, contacts)
        if phone:
            await self.conversations.owner_wrote(phone, message.sent_at)
        owners = await self.store.contacts_with_whatsapp(phone) if phone else []
        record, events = await self._decide(message, phone, owners)
        try:
            await self.conversations.messages.insert(message.id, record, events)
        except DuplicateKeyError:  # posted again: answer as it was first decided (a send claimed once)
            stored = await self.conversations.messages.get(message.id)
            if stored is None:  # still being stored by the post that came first, which answers it
                return
            record = stored
            self.metrics.messages.labels("repeated").inc()
        else:
            self.metrics.messages.labels(record.answer or "stranger").inc()
        if record.msme_id is not None and record.answer is not None:
            if record.answer in ("stopped", "started"):  # again when posted again: the same wish, kept once
                await self._whatsapp_wanted([o.msme_id for o in owners] or [record.msme_id], record.answer == "started")
            owner = next((o for o in owners if o.msme_id == record.msme_id), None)
            await self._answer(record, owner or await self.store.contact(record.msme_id))

    async def _decide(
        self, message: whatsapp.InboundMessage, phone: str | None, owners: list[Contact]
    ) -> tuple[OwnerMessage, list]:
        asked = self.replies.read(message.said, message.button_id)
        decided = OwnerMessage(
            message_id=message.id,
            phone=phone,
            user_id=message.user_id,
            msme_id=None,
            asked=asked.intent,
            answer=None,
            sent_at=message.sent_at,
            received_at=self.clock.now(),
        )
        if not owners:
            logger.info("WhatsApp message %s from a number no UMKM has: nothing done", message.id)
            return decided, []
        proposal = answered(asked, await self.conversations.open_proposals([o.msme_id for o in owners]))
        has_report = asked.intent == "report" and await self.conversations.readiness_of(owners[0].msme_id) is not None
        answer = outcome(asked, proposal, has_report=has_report)
        owner = next((o for o in owners if proposal and o.msme_id == proposal.msme_id), owners[0])
        decided = decided.model_copy(update={"msme_id": owner.msme_id, "answer": answer})
        if proposal is None or answer not in ("accepted", "declined"):
            return decided, []
        decided = decided.model_copy(
            update={"match_id": proposal.match_id, "product": proposal.product, "partner": proposal.partner}
        )
        event = ProposalAnswered(
            match_id=proposal.match_id,
            msme_id=owner.msme_id,
            region=owner.region,
            answer="accept" if answer == "accepted" else "decline",
            channel="whatsapp",
            message_id=message.id,
            answered_at=message.sent_at,
        )
        published = envelopes([event], region=owner.region, producer="notifications", time=self.clock.now())
        return decided, published

    async def _phone_of(self, message: whatsapp.InboundMessage, contacts: list[whatsapp.Contact]) -> str | None:
        """The sender's number in E.164: sent with the message, or known by the user id it came with."""
        digits = message.phone or next((c.wa_id for c in contacts if c.wa_id), None)
        if digits:
            phone = f"+{digits}"
            if message.user_id:
                await self.conversations.link_user(message.user_id, phone)
            return phone
        return await self.conversations.phone_of_user(message.user_id) if message.user_id else None

    async def _whatsapp_wanted(self, msme_ids: list[str], wanted: bool) -> None:
        """BERHENTI / MULAI, for every UMKM of the owner (see Preferences.stopped_on_whatsapp)."""
        for msme_id in msme_ids:
            recipient = f"umkm:{msme_id}"
            chosen = await self.store.preferences(recipient) or Preferences(
                quiet_hours=self.notifier.default_quiet_hours
            )
            await self.store.save_preferences(recipient, chosen.model_copy(update={"stopped_on_whatsapp": not wanted}))

    async def _report(self, msme_id: str, language: str) -> dict[str, str]:
        readiness = await self.conversations.readiness_of(msme_id)
        if readiness is None:
            return {}
        labels = self.notifier.labels
        steps = next_steps(readiness, language, self.replies.report_steps)
        numbered = " ".join(f"{n}) {step}." for n, step in enumerate(steps, 1))
        heading = {"id": "Langkah berikutnya:", "en": "Next steps:"}.get(language, "Next steps:")
        until = self.clock.now() + self.links.valid_for
        link = (
            f"{self.links.base_url}/laporan/{report_links.sign(self.links.secret, msme_id, until)}"
            if self.links.secret
            else "-"
        )
        return {
            "business": await self.deliveries.business_name(msme_id) or msme_id,
            "tier_label": labels.word(labels.tiers, language, readiness.tier),
            "score": str(readiness.score),
            "steps": f"{heading} {numbered} " if steps else "",
            "link": link,
            "until": f"{until:%Y-%m-%d}",
        }

    async def _answer(self, record: OwnerMessage, owner: Contact | None) -> None:
        if owner is None or record.answer is None:
            return
        recipient = owner_recipient(owner)
        values = {"owner": owner.owner_name, "product": record.product or "-", "partner": record.partner or "-"}
        if record.answer == "report":
            values |= await self._report(owner.msme_id, recipient.language)
        text = self.replies.answer(record.answer, recipient.language, values)
        message = Message(category="replies", critical=True, language=recipient.language, subject="Ekspora", text=text)
        occasion = Occasion(f"whatsapp:{record.message_id}", REPLY_EVENT, owner.msme_id, record.received_at)
        await self.notifier.deliver(occasion, recipient, message, ("whatsapp",))

    async def report_page(self, token: str) -> str:
        """The page a report link opens (LinkRefused when it is not one, or no longer works)."""
        msme_id, until = report_links.read(self.links.secret, token, self.clock.now())
        readiness = await self.conversations.readiness_of(msme_id)
        if readiness is None:
            raise report_links.LinkRefused("no report for this link")
        contact = await self.store.contact(msme_id)
        language = owner_recipient(contact).language if contact else "id"
        labels = self.notifier.labels
        tier = labels.word(labels.tiers, language, readiness.tier)
        business = await self.deliveries.business_name(msme_id) or msme_id
        return report_links.page(readiness, business, tier, language, until)
