"""Notifications' use cases: who is told of each event, and how (feeds, messages, webhooks).

Each consumed event is noted for the operators' digest, queued for the partner webhooks that
subscribed to it, and told to the UMKM owners and partners it concerns. Shipments learn their
parties from their orders, so this service keeps that bookkeeping too."""

import logging

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import (
    MatchConfirmed,
    MatchDeclined,
    MatchExpired,
    MatchProposed,
    MatchWithdrawn,
    PartnerChanged,
    PartnerChangedV1,
)
from ekspora_contracts.registry import (
    MsmeContactChanged,
    MsmeRegistered,
    MsmeRegisteredV1,
    ReadinessAssessed,
    ReadinessAssessedV1,
)
from ekspora_contracts.shipping import OrderCreated, ShipmentPlanned
from ekspora_kit.clock import Clock
from ekspora_kit.metrics import KitMetrics
from ekspora_notifications import domain
from ekspora_notifications.conversations import ConversationStore
from ekspora_notifications.delivery import Notifier
from ekspora_notifications.digest import local_day
from ekspora_notifications.replies import Readiness
from ekspora_notifications.store import DeliveryStore, NotificationsStore
from ekspora_notifications.webhook_delivery import WebhookDispatcher

logger = logging.getLogger(__name__)


class NotificationsService:
    def __init__(
        self,
        store: NotificationsStore,
        deliveries: DeliveryStore,
        notifier: Notifier,
        webhooks: WebhookDispatcher,
        conversations: ConversationStore,
        metrics: KitMetrics,
        *,
        operator_timezone: str,
        clock: Clock,
    ) -> None:
        self.store, self.deliveries, self.notifier, self.webhooks = store, deliveries, notifier, webhooks
        self.conversations = conversations
        self.metrics, self.operator_timezone, self.clock = metrics, operator_timezone, clock

    async def happened(self, event: CloudEvent) -> None:
        """Any regional event: noted for the digest, sent to subscribed webhooks, told to its parties."""
        await self.store.note_activity(
            event.id, event.region, event.type, local_day(event.time, self.operator_timezone)
        )
        await self._proposal_moved(event)
        msme_ids, partner_ids = await self.concerned(event)
        await self.webhooks.enqueue(event, partner_ids)
        for msme_id in msme_ids if self.notifier.rules.rule(event.type, "owner") else []:
            await self.notifier.tell_owner(event, msme_id)
        for partner_id in partner_ids if self.notifier.rules.rule(event.type, "partner") else []:
            await self.notifier.tell_partner(event, partner_id, msme_ids)

    async def _proposal_moved(self, event: CloudEvent) -> None:
        """Which proposals an owner may still answer on WhatsApp, and the readiness they may ask for."""
        data = event.data
        if isinstance(data, MatchProposed):
            await self.conversations.proposal_opened(data.terms, event.time)
        elif isinstance(data, MatchConfirmed | MatchWithdrawn):
            await self.conversations.proposal_closed(data.terms.match_id)
        elif isinstance(data, MatchDeclined | MatchExpired):
            await self.conversations.proposal_closed(data.match_id)
        elif isinstance(data, ReadinessAssessed | ReadinessAssessedV1):  # what an owner's LAPORAN shows
            gaps = [gap.model_dump(include={"code", "next_step_id", "next_step_en"}) for gap in data.gaps]
            await self.conversations.assessed(
                Readiness(msme_id=data.msme_id, tier=data.tier, score=data.score, gaps=gaps, assessed_at=event.time)
            )

    async def concerned(self, event: CloudEvent) -> tuple[list[str], list[str]]:
        """(UMKM ids, partner ids) an event is about; shipments learn theirs from their orders."""
        if isinstance(event.data, ShipmentPlanned):
            await self.store.remember_plan(event.data.shipment_id, event.model_dump(mode="json"))
        if isinstance(event.data, OrderCreated):
            await self._order_joined(event.data)
        msme_ids, partner_ids = domain.parties(event.data)
        if event.type.startswith("ekspora.shipping.") and not (msme_ids and partner_ids):
            shipment_msmes, shipment_partners = await self.store.shipment_parties(event.data.shipment_id)
            msme_ids, partner_ids = msme_ids or shipment_msmes, partner_ids or shipment_partners
        return msme_ids, partner_ids

    async def _order_joined(self, created: OrderCreated) -> None:
        """A partner new to the shipment gets its plan on its webhooks before its order."""
        line = created.order
        _, partners_before = await self.store.shipment_parties(created.shipment_id)
        await self.store.add_party(created.shipment_id, line.msme_id, line.partner_id)
        planned = await self.store.plan(created.shipment_id)
        if planned and line.partner_id not in partners_before:
            await self.webhooks.enqueue(CloudEvent[ShipmentPlanned].model_validate(planned), [line.partner_id])

    async def msme_registered(self, event: CloudEvent[MsmeRegistered | MsmeRegisteredV1]) -> None:
        await self.deliveries.remember_name(event.data.msme_id, event.data.business_name)
        notifications = domain.for_msme_registered(event, self.notifier.templates, self.clock.now())
        duplicates = await self.store.record(notifications)
        if duplicates:
            self.metrics.duplicates_skipped.labels(self.metrics.service, event.type).inc(duplicates)
            logger.info("redelivered %s: %d notification(s) already recorded", event.id, duplicates)
        await self.happened(event)

    async def contact_changed(self, event: CloudEvent[MsmeContactChanged]) -> None:
        if not await self.store.save_contact(domain.contact_from(event)):
            self.metrics.duplicates_skipped.labels(self.metrics.service, event.type).inc()
        await self.notifier.contact_arrived(event.data.msme_id)

    async def partner_changed(self, event: CloudEvent[PartnerChanged | PartnerChangedV1]) -> None:
        await self.store.save_partner(domain.partner_from(event))
