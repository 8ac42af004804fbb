"""Matching's use cases: keep the views, find candidates through the index, propose, and run the lifecycle."""

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

from ekspora_contracts.envelope import CloudEvent, EventData
from ekspora_contracts.matching import DemandChanged, PartnerChanged, SalesReported, Side
from ekspora_contracts.registry import ProductFacts
from ekspora_kit.auth import api_key_sha256
from ekspora_kit.clock import Clock
from ekspora_kit.domain import Busy
from ekspora_kit.events import envelopes
from ekspora_matching import domain
from ekspora_matching.rules import DestinationRules, Scoring
from ekspora_matching.store import MatchingStore, VersionConflict

logger = logging.getLogger(__name__)
SAVE_ATTEMPTS = 5


class MatchingService:
    def __init__(
        self,
        store: MatchingStore,
        *,
        rules: Callable[[], DestinationRules],
        scoring: Scoring,
        rates: domain.Rates,
        clock: Clock,
        expiry: timedelta,
        on_saved: Callable[[], None],
    ) -> None:
        self.store = store
        self.rules = rules
        self.scoring = scoring
        self.rates = rates
        self.clock = clock
        self.expiry = expiry
        self.on_saved = on_saved

    def _envelopes(self, events: list[EventData], region: str, causation_id: str | None) -> list[CloudEvent]:
        return envelopes(events, region=region, producer="matching", time=self.clock.now(), causation_id=causation_id)

    # partners and demand (authoritative here, published on the global compacted topics) -------

    async def create_partner(self, fields: dict) -> tuple[domain.Partner, str]:
        api_key = f"ptk_{secrets.token_urlsafe(24)}"
        partner = domain.Partner(partner_id=f"ptn-{uuid4().hex[:10]}", api_key_sha256=api_key_sha256(api_key), **fields)
        await self.store.add(
            self.store.partners, partner.partner_id, partner, self._envelopes([partner.changed_event()], "global", None)
        )
        self.on_saved()
        return partner, api_key

    async def change_partner(self, partner_id: str, change: Callable[[domain.Partner], dict]) -> domain.Partner:
        for _ in range(SAVE_ATTEMPTS):
            partner = await self.store.own_partner(partner_id)
            if partner is None:
                raise LookupError(f"no partner {partner_id} was registered through this instance")
            updated = partner.model_copy(update={**change(partner), "version": partner.version + 1})
            try:
                await self.store.replace(
                    self.store.partners,
                    partner_id,
                    updated,
                    partner.version,
                    self._envelopes([updated.changed_event()], "global", None),
                )
            except VersionConflict:
                continue
            self.on_saved()
            return updated
        raise Busy(f"partner {partner_id} is being changed by others; try again")

    async def post_demand(self, partner: domain.Partner, fields: dict) -> domain.Demand:
        demand = domain.Demand(
            demand_id=f"dmd-{uuid4().hex[:10]}",
            partner_id=partner.partner_id,
            destination_country=partner.country,
            **fields,
        )
        await self.store.add(
            self.store.demands, demand.demand_id, demand, self._envelopes([demand.changed_event()], "global", None)
        )
        self.on_saved()
        return demand

    async def close_demand(self, demand_id: str) -> domain.Demand:
        demand = await self.store.own_demand(demand_id)
        if demand is None:
            raise LookupError(f"no demand {demand_id} was posted through this instance")
        if demand.status == "closed":
            return demand
        closed = demand.model_copy(update={"status": "closed", "version": demand.version + 1})
        await self.store.replace(
            self.store.demands,
            demand_id,
            closed,
            demand.version,
            self._envelopes([closed.changed_event()], "global", None),
        )
        self.on_saved()
        return closed

    # views, fed by events ------------------------------------------------------------------------

    async def partner_changed(self, event: CloudEvent[PartnerChanged], region: str) -> None:
        partner = domain.Partner.model_validate(event.data.model_dump())
        before = await self.store.partner(partner.partner_id)
        if not await self.store.keep_partner(partner):
            return
        if partner.verified and not (before and before.verified):
            for demand in await self.store.demands_of(partner.partner_id):
                await self.match_demand(demand, region, causation_id=event.id)

    async def demand_changed(self, event: CloudEvent[DemandChanged], region: str) -> None:
        demand = domain.Demand.model_validate(event.data.model_dump())
        await self.store.keep_demand(demand)
        if demand.status == "open":
            await self.match_demand(demand, region, causation_id=event.id)

    async def offer_changed(
        self, facts: ProductFacts, region: str, *, ready: bool | None, score: int | None, causation_id: str
    ) -> None:
        known = await self.store.offer(facts.product_id)
        offer = domain.Offer(
            product=facts,
            readiness_score=score if score is not None else (known.readiness_score if known else 0),
            ready=ready if ready is not None else bool(known and known.ready),
        )
        await self.store.save_offer(region, offer)
        if offer.ready and ready:
            await self.match_offer(offer, region, causation_id=causation_id)

    async def offer_withdrawn(self, product_id: str) -> None:
        if known := await self.store.offer(product_id):
            await self.store.save_offer(known.product.region, known.model_copy(update={"ready": False}))

    async def sales_reported(self, event: CloudEvent[SalesReported], region: str) -> None:
        """Feedback changes the partner's history, and with it the scores of its open demand."""
        stats = await self.store.stats(event.data.partner_id)
        if (updated := stats.with_report(event.data)) is None:
            return
        await self.store.save_stats(event.data.partner_id, updated)
        for demand in await self.store.demands_of(event.data.partner_id):
            if demand.status == "open":
                await self.match_demand(demand, region, causation_id=event.id)

    # matching ------------------------------------------------------------------------------------

    async def match_demand(self, demand: domain.Demand, region: str, *, causation_id: str | None = None) -> int:
        partner = await self.store.partner(demand.partner_id)
        if partner is None or not partner.verified or demand.status != "open":
            return 0
        candidates = await self.store.candidate_offers(region, demand, limit=self.scoring.candidate_limit * 2)
        room = self.scoring.proposals_per_demand - await self.store.open_count("demand_id", demand.demand_id)
        best = domain.best_for_demand(
            candidates,
            demand,
            partner,
            stats=await self.store.stats(partner.partner_id),
            open_for_partner=await self.store.open_count("partner_id", partner.partner_id),
            rules=self.rules(),
            scoring=self.scoring,
            rates=self.rates,
            today=self.clock.now().date(),
        )
        proposed = 0
        for evaluation in best:
            if proposed >= room:
                break
            proposed += await self._propose(evaluation, region, causation_id)
        return proposed

    async def match_offer(self, offer: domain.Offer, region: str, *, causation_id: str | None = None) -> int:
        rules = self.rules()
        demands = await self.store.open_demands_for(
            offer.product.category, offer.hs_prefixes, rules.allowed_countries(offer.product.category)
        )
        proposed = 0
        for demand in demands:
            partner = await self.store.partner(demand.partner_id)
            if partner is None:
                continue
            if await self.store.open_count("demand_id", demand.demand_id) >= self.scoring.proposals_per_demand:
                continue
            result = domain.evaluate(
                offer,
                demand,
                partner,
                stats=await self.store.stats(partner.partner_id),
                open_for_partner=await self.store.open_count("partner_id", partner.partner_id),
                rules=rules,
                scoring=self.scoring,
                rates=self.rates,
                today=self.clock.now().date(),
            )
            if isinstance(result, domain.Evaluation) and result.score >= self.scoring.min_score:
                proposed += await self._propose(result, region, causation_id)
        return proposed

    async def _propose(self, evaluation: domain.Evaluation, region: str, causation_id: str | None) -> int:
        key = domain.pair_id(region, evaluation.offer.product.product_id, evaluation.demand.demand_id)
        for _ in range(SAVE_ATTEMPTS):
            pair = await self.store.pair(key)
            change = domain.propose(pair, evaluation, region, self.clock.now(), self.expiry)
            if change is None:
                return 0
            try:
                await self.store.save_pair(
                    change.pair, pair.version if pair else None, self._envelopes(change.events, region, causation_id)
                )
            except VersionConflict:
                continue
            self.on_saved()
            return 1
        raise Busy(f"pair {key} is being changed by others")

    # lifecycle ------------------------------------------------------------------------------------

    async def change_match(
        self, match_id: str, operation: Callable[[domain.Pair], domain.Change | None]
    ) -> domain.Pair:
        for _ in range(SAVE_ATTEMPTS):
            pair = await self.store.pair_of_match(match_id)
            if pair is None:
                raise LookupError(f"no match {match_id}")
            change = operation(pair)
            if change is None or (not change.events and change.pair == pair):
                return pair
            try:
                await self.store.save_pair(change.pair, pair.version, self._envelopes(change.events, pair.region, None))
            except VersionConflict:
                continue
            self.on_saved()
            return change.pair
        raise Busy(f"match {match_id} is being changed by others; try again")

    async def accept(self, match_id: str, side: Side) -> domain.Pair:
        pair = await self.store.pair_of_match(match_id)
        if pair and (change := domain.expire(pair, self.clock.now())):
            await self.store.save_pair(change.pair, pair.version, self._envelopes(change.events, pair.region, None))
            self.on_saved()
        return await self.change_match(match_id, lambda p: domain.accept(p, match_id, side, self.clock.now()))

    async def expire_due(self) -> int:
        due = await self.store.due_for_expiry(self.clock.now())
        for key in due:
            pair = await self.store.pair(key)
            if pair and (change := domain.expire(pair, self.clock.now())):
                try:
                    await self.store.save_pair(
                        change.pair, pair.version, self._envelopes(change.events, pair.region, None)
                    )
                except VersionConflict:
                    continue
                self.on_saved()
        return len(due)
