"""Proposals ("matches"): read, accepted or declined by either side, and the partner's sales reports."""

import hashlib
from datetime import date, datetime
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, Field

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_contracts.matching import MatchTerms, ScorePart, Side
from ekspora_kit.auth import region_asked
from ekspora_kit.domain import Model, NotFound, NotPermitted
from ekspora_kit.http import Unprocessable
from ekspora_kit.inputs import Day, Money
from ekspora_matching import domain
from ekspora_matching.api.deps import Authenticated, Caller, Matching

router = APIRouter(tags=["matches"])


class Decline(Model):
    reason: str = Field(default="", max_length=500)


class MatchView(BaseModel):
    match_id: str
    status: str
    terms: MatchTerms
    score: float
    breakdown: list[ScorePart]
    proposed_at: datetime
    expires_at: datetime
    accepted_by: list[Side]
    ready_by: date | None = Field(description="The last production day its quantity is held for")


def view(pair: domain.Pair) -> MatchView:
    current = pair.current
    assert current is not None
    return MatchView(
        match_id=current.match_id,
        status=current.status,
        terms=current.terms,
        score=current.score,
        breakdown=current.breakdown,
        proposed_at=current.proposed_at,
        expires_at=current.expires_at,
        accepted_by=current.accepted_by,
        ready_by=current.holds_until,
    )


def side_of(who: Caller) -> Side:
    """A partner acts for itself; an operator acts on behalf of the UMKM."""
    return "partner" if who.partner else "msme"


@router.get("/matches", response_model=list[MatchView])
async def list_matches(
    who: Authenticated,
    matching: Matching,
    status: domain.MatchStatus | None = None,
    msme_id: str | None = Query(default=None, max_length=40),
    demand_id: str | None = Query(default=None, max_length=40),
    region: str | None = Query(default=None, pattern=REGION_PATTERN, description="needed when you cover several"),
) -> list[MatchView]:
    query: dict = (
        {"partner_id": who.partner.partner_id} if who.partner else {"region": region_asked(who.operator(), region)}
    )
    if status:
        query["current_status"] = status
    if msme_id:
        query["msme_id"] = msme_id
    if demand_id:
        query["demand_id"] = demand_id
    return [view(pair) for pair in await matching.store.pairs_where(query) if pair.current]


@router.get("/matches/{match_id}", response_model=MatchView)
async def get_match(match_id: str, who: Authenticated, matching: Matching) -> MatchView:
    return view(await matching.visible_match(match_id, who))


@router.post(
    "/matches/{match_id}/acceptance",
    response_model=MatchView,
    summary="The partner accepts for itself; an operator accepts on behalf of the UMKM",
)
async def accept(match_id: str, who: Authenticated, matching: Matching) -> MatchView:
    await matching.visible_match(match_id, who)
    return view(await matching.service.accept(match_id, side_of(who)))


class OwnPrice(Model):
    unit_price_idr: int = Field(ge=1, le=1_000_000_000, description="The UMKM's price per unit, in rupiah")


class CounterPrice(Model):
    unit_price: Money = Field(ge=1, description="Cents of the partner's currency per unit, under the Incoterm")


@router.post(
    "/matches/{match_id}/price",
    response_model=MatchView,
    summary="An operator quotes the UMKM's own price; the partner has yet to accept it",
)
async def quote_own_price(match_id: str, body: OwnPrice, who: Authenticated, matching: Matching) -> MatchView:
    await matching.visible_match(match_id, who)
    if side_of(who) != "msme":
        raise NotPermitted("an UMKM's price is quoted by an operator for it; a partner counters")
    return view(await matching.service.quote_own_price(match_id, body.unit_price_idr))


@router.post(
    "/matches/{match_id}/counter",
    response_model=MatchView,
    summary="The partner counters the price, once; the UMKM accepts it or declines",
)
async def counter(match_id: str, body: CounterPrice, who: Authenticated, matching: Matching) -> MatchView:
    await matching.visible_match(match_id, who)
    if side_of(who) != "partner":
        raise NotPermitted("a counter-price is the partner's; an operator quotes the UMKM's own price")
    return view(await matching.service.counter(match_id, body.unit_price))


class Reorder(Model):
    needed_by: Day
    quantity: int | None = Field(default=None, ge=1, le=1_000_000, description="The same quantity when left out")


@router.post(
    "/matches/{match_id}/reorder",
    status_code=201,
    response_model=domain.Demand,
    summary="Order a confirmed order again: a new request, offered to the same product first",
)
async def reorder(match_id: str, body: Reorder, who: Authenticated, matching: Matching) -> domain.Demand:
    me = who.the_partner()
    if body.needed_by <= matching.service.clock.now().date():
        raise Unprocessable("needed_by must be in the future", field="needed_by")
    return await matching.service.reorder(match_id, me.partner_id, body.needed_by, body.quantity)


@router.post("/matches/{match_id}/decline", response_model=MatchView)
async def decline(match_id: str, body: Decline, who: Authenticated, matching: Matching) -> MatchView:
    await matching.visible_match(match_id, who)
    return view(await matching.service.decline(match_id, side_of(who), body.reason))


@router.post(
    "/matches/{match_id}/sales-reports",
    status_code=201,
    response_model=MatchView,
    tags=["feedback"],
    summary="The partner reports sales of a confirmed match: units, revenue, returns, rating, reorder",
)
async def report_sales(
    match_id: str,
    body: domain.SalesReport,
    who: Authenticated,
    matching: Matching,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9._:-]+$",
            description="Sending a report again with the same key records it once (for example after a lost answer)",
        ),
    ] = None,
) -> MatchView:
    me = who.the_partner()
    pair = await matching.visible_match(match_id, who)
    if pair.partner_id != me.partner_id:
        raise NotFound(f"no match {match_id}")
    report_id, now = report_id_for(me.partner_id, idempotency_key), matching.service.clock.now
    reported = await matching.service.change_match(
        match_id, lambda p: domain.report_sales(p, match_id, body, report_id, now())
    )
    return view(reported)


def report_id_for(partner_id: str, idempotency_key: str | None) -> str:
    """The same partner's key gives the same report id, so a report sent twice is one report."""
    if idempotency_key is None:
        return f"rep-{uuid4().hex[:12]}"
    return "rep-" + hashlib.sha256(f"{partner_id}:{idempotency_key}".encode()).hexdigest()[:16]


class Offer(BaseModel):
    """A request and the parts proposed to fill it: how much is proposed, confirmed and still open."""

    demand_id: str
    status: str
    requested: int
    proposed: int
    confirmed: int
    remaining: int
    parts: list[MatchView]


class PartsAccepted(Model):
    match_ids: list[str] | None = Field(
        default=None, max_length=50, description="The parts the partner accepts; all open ones when left out"
    )


async def offer_of(demand_id: str, who: Caller, matching: Matching) -> Offer:
    demand = await matching.store.demand(demand_id)
    if demand is None or not ((who.partner and demand.partner_id == who.partner.partner_id) or who.access):
        raise NotFound(f"no demand {demand_id}")
    pairs = [pair for pair in await matching.store.pairs_of_demand(demand_id) if pair.current]
    if not who.partner:
        pairs = [pair for pair in pairs if who.covers(pair.region)]
    fill = domain.fill_of(demand.quantity, pairs)
    return Offer(
        demand_id=demand_id,
        status=demand.status,
        requested=fill.requested,
        proposed=fill.proposed,
        confirmed=fill.confirmed,
        remaining=fill.remaining,
        parts=[view(pair) for pair in sorted(pairs, key=lambda pair: pair.rounds[-1].proposed_at)],
    )


@router.get("/demands/{demand_id}/offer", response_model=Offer, summary="One offer for a request: its parts")
async def get_offer(demand_id: str, who: Authenticated, matching: Matching) -> Offer:
    return await offer_of(demand_id, who, matching)


@router.post(
    "/demands/{demand_id}/offer/acceptance",
    response_model=Offer,
    summary="The partner accepts all the open parts of its offer, or the ones it names",
)
async def accept_offer(demand_id: str, body: PartsAccepted, who: Authenticated, matching: Matching) -> Offer:
    who.the_partner()
    offer = await offer_of(demand_id, who, matching)
    open_parts = {part.match_id for part in offer.parts if part.status == "proposed"}
    chosen = open_parts if body.match_ids is None else set(body.match_ids)
    if unknown := chosen - open_parts:
        raise Unprocessable(f"not open parts of this offer: {', '.join(sorted(unknown))}", field="match_ids")
    for match_id in sorted(chosen):
        await matching.service.accept(match_id, "partner")
    return await offer_of(demand_id, who, matching)
