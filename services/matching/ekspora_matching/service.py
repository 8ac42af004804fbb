"""Matching's use cases: keep the views, find candidates through the index, propose, and run the lifecycle."""

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from uuid import uuid4

from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent, EventData
from ekspora_contracts.matching import DemandChanged, PartnerChanged, PartnerChangedV1, SalesReported, Side
from ekspora_contracts.notifications import ProposalAnswered
from ekspora_contracts.registry import DemandValue, ProductAssessed, ProductFacts, UnlockedDemand
from ekspora_kit import aggregates
from ekspora_kit.clock import Clock
from ekspora_kit.domain import NotAllowed, NotFound
from ekspora_kit.events import envelopes
from ekspora_kit.leases import Exclusive
from ekspora_kit.logs import acting
from ekspora_matching import domain
from ekspora_matching.policy import DatedRate, DestinationRules, RateTable, Scoring
from ekspora_matching.store import MatchingStore

logger = logging.getLogger(__name__)


class MatchingService:
    def __init__(
        self,
        store: MatchingStore,
        *,
        rules: Callable[[], DestinationRules],
        scoring: Scoring,
        exchange_rates: RateTable,
        clock: Clock,
        expiry: timedelta,
        filling: Exclusive,
    ) -> None:
        self.store = store
        self.filling = filling
        self.rules = rules
        self.scoring = scoring
        self.exchange_rates = exchange_rates
        self.clock = clock
        self.expiry = expiry

    def _envelopes(
        self, events: list[EventData], region: str = "global", causation_id: str | None = None
    ) -> list[CloudEvent]:
        return envelopes(events, region=region, producer="matching", time=self.clock.now(), causation_id=causation_id)

    # partners and demand (authoritative here, published on the global compacted topics) -------

    async def create_partner(self, fields: dict) -> domain.Partner:
        partner = domain.Partner(partner_id=f"ptn-{uuid4().hex[:10]}", **fields)
        return await self.store.own_partners.insert(
            partner.partner_id, partner, self._envelopes([partner.changed_event()], "global", None)
        )

    async def change_partner(self, partner_id: str, change: Callable[[domain.Partner], dict]) -> domain.Partner:
        async def load() -> domain.Partner:
            if (partner := await self.store.own_partner(partner_id)) is None:
                raise NotFound(f"no partner {partner_id} was registered through this instance")
            return partner

        def apply(partner: domain.Partner) -> domain.Partner:
            return partner.model_copy(update={**change(partner), "version": partner.version + 1})

        async def save(partner: domain.Partner, updated: domain.Partner) -> domain.Partner:
            events = self._envelopes([updated.changed_event()], "global", None)
            return await self.store.own_partners.replace(partner_id, updated, partner.version, events)

        _, saved = await aggregates.change(load, apply, save, what=f"partner {partner_id}")
        assert saved is not None  # apply always decides a change
        return saved

    async def post_demand(self, partner: domain.Partner, fields: dict) -> domain.Demand:
        """A request, or a standing interest; one with a schedule places its first order at once."""
        demand = domain.Demand(
            demand_id=f"dmd-{uuid4().hex[:10]}",
            partner_id=partner.partner_id,
            destination_country=partner.country,
            next_order_on=self.clock.now().date() if fields.get("schedule") else None,
            **fields,
        )
        saved = await self._insert_demand(demand)
        if saved.schedule:
            await self._place_recurring_order(saved.demand_id)
        return await self.store.own_demand(saved.demand_id) or saved

    async def _insert_demand(self, demand: domain.Demand) -> domain.Demand:
        return await self.store.own_demands.insert(
            demand.demand_id, demand, self._envelopes([demand.changed_event()], "global", None)
        )

    async def place_recurring_orders(self) -> None:
        """Standing interests whose day has come place their next order (a periodic job)."""
        for interest_id in await self.store.standing_interests_due(self.clock.now().date()):
            await self._place_recurring_order(interest_id)

    async def _place_recurring_order(self, interest_id: str) -> None:
        """The order first, under an id of its own number, then the interest moved on: after a crash
        between the two, or beside a concurrent run, the next attempt finds the order placed and only
        moves the interest on (or finds it moved, and does nothing)."""
        today = self.clock.now().date()

        async def load() -> tuple[domain.Demand, list[str]]:
            if (interest := await self.store.own_demand(interest_id)) is None:
                raise NotFound(f"no standing interest {interest_id} was posted through this instance")
            previous = domain.previous_order_id(interest)
            pairs = await self.store.pairs_of_demand(previous) if previous else []
            return interest, [p.product_id for p in pairs if p.current and p.current.status == "confirmed"]

        def place(loaded: tuple[domain.Demand, list[str]]) -> tuple[domain.Demand, domain.Demand] | None:
            interest, suppliers = loaded
            return domain.recurring_order(interest, today, suppliers)

        async def save(
            loaded: tuple[domain.Demand, list[str]], placed: tuple[domain.Demand, domain.Demand]
        ) -> domain.Demand:
            (interest, _), (order, moved) = loaded, placed
            if await self.store.own_demand(order.demand_id) is None:
                with suppress(DuplicateKeyError):  # placed by a concurrent run an instant ago
                    await self._insert_demand(order)
            events = self._envelopes([moved.changed_event()])
            return await self.store.own_demands.replace(interest_id, moved, interest.version, events)

        await aggregates.change(load, place, save, what=f"standing interest {interest_id}")

    async def reorder(self, match_id: str, partner_id: str, needed_by: date, quantity: int | None) -> domain.Demand:
        """A new request repeating a confirmed order of the partner's, offered to the same product first."""
        pair = await self.store.pair_of_match(match_id)
        if pair is None or pair.partner_id != partner_id:
            raise NotFound(f"no match {match_id}")
        round_ = next(r for r in pair.rounds if r.match_id == match_id)
        original = await self.store.demand(pair.demand_id)
        if original is None:
            raise NotFound(f"the request of match {match_id} is not known here")
        demand = domain.reorder(original, round_.terms, round_.status, f"dmd-{uuid4().hex[:10]}", needed_by, quantity)
        return await self._insert_demand(demand)

    async def change_demand(self, demand_id: str, changes: dict) -> domain.Demand:
        """A partner changes how much it asks for (parts already confirmed stand, and what is left is
        proposed again; a lower quantity leaves open parts that can no longer all be confirmed), or
        the suppliers a standing interest's orders are offered to first."""

        async def load() -> domain.Demand:
            if (demand := await self.store.own_demand(demand_id)) is None:
                raise NotFound(f"no demand {demand_id} was posted through this instance")
            if demand.status != "open":
                raise NotAllowed(f"demand {demand_id} is closed")
            return demand

        def change(demand: domain.Demand) -> domain.Demand | None:
            if all(getattr(demand, name) == value for name, value in changes.items()):
                return None
            return demand.model_copy(update={**changes, "version": demand.version + 1})

        async def save(demand: domain.Demand, changed: domain.Demand) -> domain.Demand:
            events = self._envelopes([changed.changed_event()])
            return await self.store.own_demands.replace(demand_id, changed, demand.version, events)

        current, saved = await aggregates.change(load, change, save, what=f"demand {demand_id}")
        return saved or current

    async def close_demand(self, demand_id: str) -> domain.Demand:
        async def load() -> domain.Demand:
            if (demand := await self.store.own_demand(demand_id)) is None:
                raise NotFound(f"no demand {demand_id} was posted through this instance")
            return demand

        def close(demand: domain.Demand) -> domain.Demand | None:
            if demand.status == "closed":
                return None
            return demand.model_copy(update={"status": "closed", "version": demand.version + 1})

        async def save(demand: domain.Demand, closed: domain.Demand) -> domain.Demand:
            events = self._envelopes([closed.changed_event()])
            return await self.store.own_demands.replace(demand_id, closed, demand.version, events)

        current, saved = await aggregates.change(load, close, save, what=f"demand {demand_id}")
        return saved or current

    # views, fed by events ------------------------------------------------------------------------

    async def partner_changed(self, event: CloudEvent[PartnerChanged | PartnerChangedV1], region: str) -> None:
        partner = domain.Partner.model_validate(event.data.model_dump(exclude={"api_key_sha256"}))
        before = await self.store.partner(partner.partner_id)
        if not await self.store.keep_partner(partner):
            return
        if partner.verified and not (before and before.verified):
            for demand in await self.store.demands_of(partner.partner_id):
                await self.match_demand(demand, region, causation_id=event.id)

    async def close_due_demands(self) -> int:
        """Closes the requests posted here whose needed-by date has come: nothing more can be made in time."""
        due = await self.store.demands_due(self.clock.now().date())
        for demand_id in due:
            await self.close_demand(demand_id)
        return len(due)

    async def lane_changed(self, lane: domain.Lane) -> None:
        await self.store.keep_lane(lane)

    async def demand_changed(self, event: CloudEvent[DemandChanged], region: str) -> None:
        demand = domain.Demand.model_validate(event.data.model_dump())
        await self.store.keep_demand(demand)
        if demand.status == "open":
            await self.match_demand(demand, region, causation_id=event.id)
        else:
            await self._withdraw_open(
                "demand_id",
                demand.demand_id,
                "demand_closed",
                "the request was closed",
                "permintaan pembeli sudah ditutup",
            )
        # recounted by a periodic job, off this consumer's path: a bucket may hold hundreds of products
        await self.store.mark_for_recount(
            region, f"hs:{demand.hs_prefix}" if demand.hs_prefix else str(demand.category)
        )

    async def offer_changed(
        self, facts: ProductFacts, region: str, *, ready: bool | None, score: int | None, causation_id: str
    ) -> None:
        known = await self.store.offer(facts.product_id)
        offer = domain.Offer(
            product=facts,
            readiness_score=score if score is not None else (known.readiness_score if known else 0),
            ready=ready if ready is not None else bool(known and known.ready),
            gap_codes=known.gap_codes if known else [],
        )
        await self.store.save_offer(region, offer)
        if offer.ready and ready:
            await self.match_offer(offer, region, causation_id=causation_id)
            await self.refresh_opportunities(offer, region, causation_id=causation_id)  # ready: none left

    async def recount_opportunities(self) -> int:
        """The opportunities of the not-ready products in each bucket whose requests changed, reading
        the open requests once per product kind; a mark changed meanwhile is recounted next time."""
        marks = await self.store.marked_for_recount()
        for mark in marks:
            read: dict[tuple[str, str], list[domain.Prospect]] = {}
            for offer in await self.store.not_ready_offers(mark["region"], mark["bucket"]):
                kind = (offer.product.category, offer.product.hs_code)
                if kind not in read:
                    read[kind] = await self._prospects(offer.product, mark["region"])
                await self.refresh_opportunities(offer, mark["region"], causation_id=None, prospects=read[kind])
            await self.store.recounted(mark)
        return len(marks)

    async def product_assessed(self, event: CloudEvent[ProductAssessed], region: str) -> None:
        """A product's gaps changed: what they keep it from changes with them."""
        known = await self.store.offer(event.data.product_id)
        if known is None:
            return  # its listing comes first on the same partition; a product never listed is not matched
        offer = known.model_copy(update={"gap_codes": [gap.code for gap in event.data.gaps]})
        if offer != known:
            await self.store.save_offer(region, offer)
        await self.refresh_opportunities(offer, region, causation_id=event.id)

    async def refresh_opportunities(
        self,
        offer: domain.Offer,
        region: str,
        *,
        causation_id: str | None,
        prospects: list[domain.Prospect] | None = None,
    ) -> None:
        """Recounts the open requests each gap of a not-ready product keeps it from, and publishes them
        when they changed; an export-ready product has none (published once, as an empty list)."""
        today, product = self.clock.now().date(), offer.product
        rate = self.exchange_rates.on(today)
        once_ready: DemandValue | None = None
        unlocked: list[UnlockedDemand] = []
        if not offer.ready:
            if prospects is None:
                prospects = await self._prospects(product, region)
            terms = domain.Terms(rules=self.rules(), scoring=self.scoring, rate=rate, today=today)
            once_ready, unlocked = domain.opportunities(product, offer.gap_codes, prospects, terms)
        fresh = domain.ProductOpportunities(
            product_id=product.product_id,
            msme_id=product.msme_id,
            region=region,
            once_ready=once_ready,
            opportunities=unlocked,
            rate_on=rate.since,
        )

        def apply(known: domain.ProductOpportunities | None) -> domain.ProductOpportunities | None:
            if fresh.same_as(known) or (known is None and not (once_ready or unlocked)):
                return None
            return fresh.model_copy(update={"version": known.version if known else 0})

        async def save(
            known: domain.ProductOpportunities | None, updated: domain.ProductOpportunities
        ) -> domain.ProductOpportunities:
            events = self._envelopes([updated.changed_event()], region, causation_id)
            return await self.store.save_opportunities(known, updated, events)

        await aggregates.change(
            lambda: self.store.product_opportunities(product.product_id),
            apply,
            save,
            what=f"opportunities of {product.product_id}",
        )

    async def _prospects(self, product: ProductFacts, region: str) -> list[domain.Prospect]:
        rules = self.rules()
        hs_prefixes = [product.hs_code[:2], product.hs_code[:4], product.hs_code]
        demands = await self.store.open_demands_for(
            product.category, hs_prefixes, rules.allowed_countries(product.category)
        )
        prospects = []
        for demand in demands:
            partner = await self.store.partner(demand.partner_id)
            if partner is None or demand.schedule:
                continue
            fill = await self.fill(demand)
            prospects.append(
                domain.Prospect(demand, partner, await self.store.lane(demand.destination_city), fill.remaining)
            )
        return prospects

    async def offer_withdrawn(self, product_id: str, reason_en: str, reason_id: str) -> None:
        """A product no longer on offer (readiness lost, delisted, its UMKM withdrew): no new proposals,
        and its open ones are withdrawn; confirmed orders stand."""
        if known := await self.store.offer(product_id):
            await self.store.save_offer(known.product.region, known.model_copy(update={"ready": False}))
        for pair in await self._withdraw_open("product_id", product_id, "product_not_ready", reason_en, reason_id):
            await self._refill(pair.demand_id, pair.region)  # the next best products take its part

    async def _withdraw_open(
        self, field: str, value: str, reason_code: domain.WithdrawalReason, reason_en: str, reason_id: str
    ) -> list[domain.Pair]:
        withdrawn = []
        for key in await self.store.open_pairs(field, value):
            withdraw = partial(
                domain.withdraw,
                reason_code=reason_code,
                reason_en=reason_en,
                reason_id=reason_id,
                now=self.clock.now(),
            )
            withdrawn.append(await self._change_pair(partial(self.store.pair, key), withdraw, what=f"pair {key}"))
        return withdrawn

    async def sales_reported(self, event: CloudEvent[SalesReported], region: str) -> None:
        """Feedback changes the partner's history, and with it the scores of its open demand."""
        partner_id = event.data.partner_id
        _, saved = await aggregates.change(
            lambda: self.store.stats(partner_id),
            lambda stats: stats.with_report(event.data),
            lambda stats, updated: self.store.save_stats(partner_id, stats, updated),
            what=f"statistics of partner {partner_id}",
        )
        if saved is None:
            return
        for demand in await self.store.demands_of(event.data.partner_id):
            if demand.status == "open":
                await self.match_demand(demand, region, causation_id=event.id)

    # matching ------------------------------------------------------------------------------------

    async def match_demand(self, demand: domain.Demand, region: str, *, causation_id: str | None = None) -> int:
        """Proposes parts that together fill what is left of a request, best products first. One
        filler at a time per demand: two reading the same remainder would each propose it."""
        partner = await self.store.partner(demand.partner_id)
        if partner is None or not partner.verified or demand.status != "open":
            return 0
        async with self.filling.hold(f"demand:{demand.demand_id}"):
            pairs = await self.store.pairs_of_demand(demand.demand_id)
            fill = domain.fill_of(demand.quantity, pairs)
            room = self.scoring.proposals_per_demand - fill.parts
            if fill.remaining == 0 or room <= 0:
                return 0
            ranked = await self.best_for(demand, partner, region, fill.remaining, excluded=domain.with_a_part(pairs))
            ranked = domain.preferred_first(ranked, demand.preferred_products)
            proposed = 0
            for part in domain.allocate(ranked, fill.remaining, room):
                proposed += await self._propose(part, region, causation_id)
            return proposed

    async def fill(self, demand: domain.Demand) -> domain.Fill:
        return domain.fill_of(demand.quantity, await self.store.pairs_of_demand(demand.demand_id))

    async def best_for(
        self,
        demand: domain.Demand,
        partner: domain.Partner,
        region: str,
        remaining: int,
        *,
        excluded: set[str] | frozenset[str] = frozenset(),
    ) -> list[domain.Evaluation]:
        """The region's offers that may fill what is left of a demand, best first: its bucket from the
        store, in readiness order, scored; `excluded` products already have their part."""
        preferred = await self.store.offers_of(region, demand.preferred_products)  # read first: scored first
        bucket = await self.store.candidate_offers(region, demand, limit=self.scoring.candidate_limit * 2)
        candidates = [
            offer
            for offer in {o.product.product_id: o for o in [*preferred, *bucket]}.values()
            if offer.product.product_id not in excluded
        ]
        today = self.clock.now().date()
        return domain.best_for_demand(
            candidates,
            demand,
            partner,
            stats=await self.store.stats(partner.partner_id),
            open_for_partner=await self.store.open_count("partner_id", partner.partner_id),
            rules=self.rules(),
            scoring=self.scoring,
            rate=self.exchange_rates.on(today),
            today=today,
            promised=await self.store.promised_units(region, [c.product.product_id for c in candidates], today),
            lane=await self.store.lane(demand.destination_city),
            remaining=remaining,
        )

    async def match_offer(self, offer: domain.Offer, region: str, *, causation_id: str | None = None) -> int:
        """Proposes `offer` to the open demands it may serve. A demand that already holds its
        proposals is passed over before anything else is read, and each partner is read once."""
        rules = self.rules()
        demands = await self.store.open_demands_for(
            offer.product.category, offer.hs_prefixes, rules.allowed_countries(offer.product.category)
        )
        partners: dict[str, PartnerContext | None] = {}
        proposed, today = 0, self.clock.now().date()
        rate = self.exchange_rates.on(today)
        product_id = offer.product.product_id
        promised = (await self.store.promised_units(region, [product_id], today)).get(product_id, 0)
        for demand in demands:
            if demand.preferred_products and product_id not in demand.preferred_products:
                continue  # an order placed again goes to its suppliers first: the request's own matching fills the rest
            if demand.partner_id not in partners:
                partners[demand.partner_id] = await self._partner_context(demand.partner_id)
            context = partners[demand.partner_id]
            if context is None:
                continue

            score = partial(
                self._part_of, offer, demand, context, rules=rules, rate=rate, today=today, promised=promised
            )
            if await score() is None:
                continue  # read without waiting for the demand's filler: most demands end here
            async with self.filling.hold(f"demand:{demand.demand_id}"):
                part = await score()  # again, on what is left now that no one else is filling it
                made = await self._propose(part, region, causation_id) if part else 0
            context.open_proposals += made
            proposed += made
            promised += made * (part.quantity if part else 0)
        return proposed

    async def _part_of(
        self,
        offer: domain.Offer,
        demand: domain.Demand,
        context: "PartnerContext",
        *,
        rules: DestinationRules,
        rate: DatedRate,
        today: date,
        promised: int,
    ) -> domain.Allocation | None:
        """The part `offer` would take of what is left of `demand`, if it scores well enough."""
        fill = await self.fill(demand)
        if fill.remaining == 0 or fill.parts >= self.scoring.proposals_per_demand:
            return None
        result = domain.evaluate(
            offer,
            demand,
            context.partner,
            stats=context.stats,
            open_for_partner=context.open_proposals,
            rules=rules,
            scoring=self.scoring,
            rate=rate,
            today=today,
            promised=promised,
            lane=context.lanes.get(demand.destination_city),
            remaining=fill.remaining,
        )
        if isinstance(result, domain.Evaluation) and result.score >= self.scoring.min_score:
            return domain.Allocation(result, result.quantity)
        return None

    async def _partner_context(self, partner_id: str) -> "PartnerContext | None":
        partner = await self.store.partner(partner_id)
        if partner is None:
            return None
        stats = await self.store.stats(partner_id)
        lanes = {lane.destination_city: lane for lane in await self.store.lanes() if lane.country == partner.country}
        return PartnerContext(partner, stats, await self.store.open_count("partner_id", partner_id), lanes)

    async def _propose(self, part: domain.Allocation, region: str, causation_id: str | None) -> int:
        evaluation = part.evaluation
        key = domain.pair_id(region, evaluation.offer.product.product_id, evaluation.demand.demand_id)

        async def save(pair: domain.Pair | None, change: domain.Change) -> domain.Pair:
            events = self._envelopes(change.events, region, causation_id)
            return await self.store.save_pair(change.pair, pair.version if pair else None, events)

        _, saved = await aggregates.change(
            lambda: self.store.pair(key),
            lambda pair: domain.propose(pair, part, region, self.clock.now(), self.expiry),
            save,
            what=f"pair {key}",
        )
        return 1 if saved else 0

    # lifecycle ------------------------------------------------------------------------------------

    async def change_match(
        self, match_id: str, operation: Callable[[domain.Pair], domain.Change | None]
    ) -> domain.Pair:
        return await self._change_pair(lambda: self.store.pair_of_match(match_id), operation, what=f"match {match_id}")

    async def _change_pair(
        self,
        find: Callable[[], Awaitable[domain.Pair | None]],
        operation: Callable[[domain.Pair], domain.Change | None],
        *,
        what: str,
    ) -> domain.Pair:
        async def load() -> domain.Pair:
            if (pair := await find()) is None:
                raise NotFound(f"no {what}")
            return pair

        def apply(pair: domain.Pair) -> domain.Change | None:
            change = operation(pair)
            return None if change is None or (not change.events and change.pair == pair) else change

        current, saved = await aggregates.change(load, apply, self._save_pair, what=what)
        return saved or current

    async def _save_pair(self, pair: domain.Pair, change: domain.Change) -> domain.Pair:
        return await self.store.save_pair(change.pair, pair.version, self._envelopes(change.events, pair.region))

    async def accept(self, match_id: str, side: Side) -> domain.Pair:
        """An acceptance after the proposal's expiry expires it instead (and is then refused); one that
        would confirm more than the request asks for is refused."""
        pair = await self.change_match(match_id, lambda pair: domain.expire(pair, self.clock.now()))
        demand = await self.store.demand(pair.demand_id)
        unconfirmed = (
            demand.quantity - (await self.fill(demand)).confirmed if demand else pair.rounds[-1].terms.quantity
        )
        today = self.clock.now().date()
        return await self.change_match(
            match_id,
            lambda p: domain.accept(p, match_id, side, self.clock.now(), unconfirmed, self.exchange_rates.on(today)),
        )

    async def quote_own_price(self, match_id: str, price_idr: int) -> domain.Pair:
        """The UMKM's own price for an open proposal (through an operator), priced as proposals are."""
        pair = await self.store.pair_of_match(match_id)
        if pair is None or pair.current is None:
            raise NotFound(f"no proposal {match_id}")
        terms = pair.current.terms
        offer, lane = await self.store.offer(pair.product_id), await self.store.lane(terms.destination_city)
        if offer is None or lane is None:
            raise NotAllowed(f"the product or the lane of {match_id} is no longer on offer")
        today = self.clock.now().date()
        try:
            priced = domain.quote(
                offer.product, terms.incoterm, lane, self.exchange_rates.on(today), terms.currency, price_idr
            )
        except LookupError as unknown:
            raise NotAllowed(str(unknown)) from unknown
        return await self.change_match(
            match_id,
            lambda p: domain.requote(
                p, match_id, "msme", domain.requoted(p.rounds[-1].terms, priced), self.clock.now()
            ),
        )

    async def counter(self, match_id: str, unit_price: int) -> domain.Pair:
        """The partner's counter-price, once, in minor units of its currency, landed under the Incoterm."""
        return await self.change_match(
            match_id,
            lambda p: domain.requote(
                p, match_id, "partner", domain.countered(p.rounds[-1].terms, unit_price), self.clock.now()
            ),
        )

    async def decline(self, match_id: str, side: Side, reason: str) -> domain.Pair:
        """A declined part leaves room in its request, which the next best products fill."""
        now = self.clock.now()
        declined = await self.change_match(match_id, lambda p: domain.decline(p, match_id, side, reason, now))
        await self._refill(declined.demand_id, declined.region)
        return declined

    async def _refill(self, demand_id: str, region: str) -> None:
        demand = await self.store.demand(demand_id)
        if demand is not None and demand.status == "open":
            await self.match_demand(demand, region)

    async def owner_answered(self, answer: ProposalAnswered) -> None:
        """An owner's own answer on WhatsApp, applied as an operator's answer for the owner is (and
        recorded as the owner's). One for a proposal no longer open, or not of that owner's UMKM,
        changes nothing: the owner may answer late, or twice."""
        pair = await self.store.pair_of_match(answer.match_id)
        if pair is None or pair.msme_id != answer.msme_id:
            logger.warning(
                "answer %s names match %s, not one of %s", answer.message_id, answer.match_id, answer.msme_id
            )
            return
        owner = acting.set(f"umkm:{answer.msme_id} by {answer.channel} message {answer.message_id}")
        try:
            if answer.answer == "accept":
                await self.accept(answer.match_id, "msme")
            else:
                await self.decline(answer.match_id, "msme", f"declined by the owner on {answer.channel}")
        except NotAllowed as closed:
            logger.info("owner's answer %s to %s came too late: %s", answer.message_id, answer.match_id, closed)
        finally:
            acting.reset(owner)

    async def release_finished_holds(self) -> int:
        return await self.store.release_finished_holds(self.clock.now().date())

    async def expire_due(self) -> int:
        due = await self.store.due_for_expiry(self.clock.now())
        for key in due:
            expire = partial(domain.expire, now=self.clock.now())
            await self._change_pair(partial(self.store.pair, key), expire, what=f"pair {key}")
        return len(due)


@dataclass
class PartnerContext:
    """What scoring needs of a partner, read once per offer being matched."""

    partner: domain.Partner
    stats: domain.PartnerStats
    open_proposals: int
    lanes: dict[str, domain.Lane]
