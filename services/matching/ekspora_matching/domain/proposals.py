"""The proposal lifecycle of a product-demand pair: proposed, accepted by both sides, declined, expired, reported on."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field

from ekspora_contracts.envelope import EventData
from ekspora_contracts.matching import (
    MatchConfirmed,
    MatchDeclined,
    MatchExpired,
    MatchProposed,
    MatchRequoted,
    MatchTerms,
    MatchWithdrawn,
    SalesReported,
    ScorePart,
    Side,
    WithdrawalReason,
)
from ekspora_kit.domain import Model, NotAllowed, NotFound
from ekspora_kit.inputs import Count, Money, Prose
from ekspora_matching.domain.pricing import DatedRate, locked_at
from ekspora_matching.domain.scoring import Allocation

MatchStatus = Literal["proposed", "confirmed", "declined", "expired", "withdrawn"]
HOLDING = ("proposed", "confirmed")  # a round in these states holds its quantity of the product's capacity


class Round(Model):
    match_id: str
    status: MatchStatus
    terms: MatchTerms
    score: float
    breakdown: list[ScorePart]
    proposed_at: datetime
    expires_at: datetime
    accepted_by: list[Side] = []
    closed_at: datetime | None = None
    reports: list[str] = []
    holds_until: date | None = None  # the last day of the production window its quantity is held for
    moves: list[Side] = []  # who set a new price, in order


class Pair(Model):
    """Every proposal ever made for one product–demand pair; at most the last one is open."""

    pair_id: str
    region: str
    product_id: str
    demand_id: str
    partner_id: str
    msme_id: str
    version: int = 0
    rounds: list[Round] = []

    @property
    def current(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None

    @property
    def is_open(self) -> bool:
        return self.current is not None and self.current.status == "proposed"


@dataclass
class Change:
    pair: Pair
    events: list[EventData] = field(default_factory=list)


@dataclass(frozen=True)
class Fill:
    """How much of a request its proposals cover: requested, proposed (open parts), confirmed."""

    requested: int
    proposed: int
    confirmed: int
    parts: int  # open and confirmed

    @property
    def remaining(self) -> int:
        return max(0, self.requested - self.proposed - self.confirmed)


def fill_of(requested: int, pairs: list[Pair]) -> Fill:
    rounds = [pair.current for pair in pairs if pair.current and pair.current.status in ("proposed", "confirmed")]
    return Fill(
        requested=requested,
        proposed=sum(r.terms.quantity for r in rounds if r.status == "proposed"),
        confirmed=sum(r.terms.quantity for r in rounds if r.status == "confirmed"),
        parts=len(rounds),
    )


HAS_ITS_PART = ("proposed", "confirmed", "declined")


def with_a_part(pairs: list[Pair]) -> set[str]:
    """The products a request must not be offered again: their part is open or confirmed, or was
    declined."""
    return {pair.product_id for pair in pairs if pair.current and pair.current.status in HAS_ITS_PART}


def pair_id(region: str, product_id: str, demand_id: str) -> str:
    return f"{region}:{product_id}:{demand_id}"


def match_id(pair: str, round_number: int) -> str:
    return f"mt-{hashlib.sha1(pair.encode()).hexdigest()[:12]}-{round_number}"


def propose(pair: Pair | None, part: Allocation, region: str, now: datetime, expiry: timedelta) -> Change | None:
    """A new round for the pair, for its part of the request, unless a proposal for it is open or
    confirmed, or one was declined (None: nothing to do)."""
    evaluation = part.evaluation
    product, demand, partner = evaluation.offer.product, evaluation.demand, evaluation.partner
    key = pair_id(region, product.product_id, demand.demand_id)
    pair = pair or Pair(
        pair_id=key,
        region=region,
        product_id=product.product_id,
        demand_id=demand.demand_id,
        partner_id=partner.partner_id,
        msme_id=product.msme_id,
    )
    if pair.current and pair.current.status in HAS_ITS_PART:
        return None
    terms = MatchTerms(
        match_id=match_id(key, len(pair.rounds) + 1),
        region=region,
        product_id=product.product_id,
        msme_id=product.msme_id,
        product_name=product.name,
        category=product.category,
        hs_code=product.hs_code,
        tariff_code=product.tariff_code,
        unit=product.unit,
        net_weight_grams=product.net_weight_grams,
        partner_id=partner.partner_id,
        partner_name=partner.name,
        demand_id=demand.demand_id,
        destination_country=demand.destination_country,
        destination_city=demand.destination_city,
        quantity=part.quantity,
        unit_price_idr=product.unit_price_idr,
        unit_price=evaluation.quote.unit_price,
        currency=demand.currency,
        incoterm=demand.incoterm,
        documents=evaluation.documents,
        shelf_life_days=product.shelf_life_days,
        quote=evaluation.quote.terms(),
        repeat=demand.origin != "posted",
    )
    current = Round(
        match_id=terms.match_id,
        status="proposed",
        terms=terms,
        score=evaluation.score,
        breakdown=evaluation.parts,
        proposed_at=now,
        expires_at=now + expiry,
        holds_until=evaluation.ready_by,
    )
    event = MatchProposed(
        terms=terms, score=evaluation.score, breakdown=evaluation.parts, expires_at=current.expires_at
    )
    return Change(pair.model_copy(update={"rounds": [*pair.rounds, current]}), [event])


def _with_current(pair: Pair, current: Round) -> Pair:
    return pair.model_copy(update={"rounds": [*pair.rounds[:-1], current]})


def _open_round(pair: Pair, match: str, now: datetime) -> Round:
    current = pair.current
    if current is None or current.match_id != match:
        raise NotFound(f"no proposal {match}")
    if current.status == "proposed" and now >= current.expires_at:
        raise NotAllowed(f"proposal {match} expired at {current.expires_at:%Y-%m-%d %H:%M} UTC")
    if current.status != "proposed":
        raise NotAllowed(f"proposal {match} is {current.status}")
    return current


def accept(pair: Pair, match: str, side: Side, now: datetime, unconfirmed: int, rate: DatedRate | None) -> Change:
    """One side accepts; when both have, the match is confirmed at the exchange `rate` of the day (the
    rate is locked into its terms), unless its quantity is more than the `unconfirmed` rest of the
    request. Accepting twice changes nothing."""
    if pair.current and pair.current.match_id == match and pair.current.status == "confirmed":
        return Change(pair)
    current = _open_round(pair, match, now)
    if side in current.accepted_by:
        return Change(pair)
    accepted = [*current.accepted_by, side]
    if set(accepted) == {"partner", "msme"}:
        if current.terms.quantity > unconfirmed:
            raise NotAllowed(
                f"confirming {current.terms.quantity} more would go past the request: only {max(0, unconfirmed)}"
                " of it are not confirmed yet"
            )
        countered = bool(current.moves) and current.moves[-1] == "partner"  # agreed in the partner's currency
        terms = locked_at(current.terms, rate) if rate and not countered else current.terms
        confirmed = current.model_copy(
            update={"accepted_by": accepted, "status": "confirmed", "closed_at": now, "terms": terms}
        )
        return Change(_with_current(pair, confirmed), [MatchConfirmed(terms=terms, confirmed_at=now)])
    return Change(_with_current(pair, current.model_copy(update={"accepted_by": accepted})))


def requote(pair: Pair, match: str, side: Side, terms: MatchTerms, now: datetime) -> Change:
    """A new price for an open proposal: the UMKM may quote its own until the partner counters, and
    the partner counters once; then the UMKM takes that price or leaves it. The side that moved has
    accepted its price; the other has yet to."""
    current = _open_round(pair, match, now)
    if "partner" in current.moves:
        raise NotAllowed(f"the partner has countered on {match}: the UMKM accepts that price or declines")
    if terms.unit_price == current.terms.unit_price and terms.unit_price_idr == current.terms.unit_price_idr:
        return Change(pair)
    moved = current.model_copy(update={"terms": terms, "accepted_by": [side], "moves": [*current.moves, side]})
    event = MatchRequoted(terms=terms, by=side, previous_unit_price=current.terms.unit_price, accepted_by=[side])
    return Change(_with_current(pair, moved), [event])


def decline(pair: Pair, match: str, side: Side, reason: str, now: datetime) -> Change:
    current = _open_round(pair, match, now)
    declined = current.model_copy(update={"status": "declined", "closed_at": now})
    event = MatchDeclined(
        match_id=match,
        region=pair.region,
        product_id=pair.product_id,
        partner_id=pair.partner_id,
        declined_by=side,
        reason=reason,
    )
    return Change(_with_current(pair, declined), [event])


def expire(pair: Pair, now: datetime) -> Change | None:
    current = pair.current
    if current is None or current.status != "proposed" or now < current.expires_at:
        return None
    expired = current.model_copy(update={"status": "expired", "closed_at": now})
    event = MatchExpired(
        match_id=current.match_id,
        region=pair.region,
        product_id=pair.product_id,
        partner_id=pair.partner_id,
        accepted_by=current.accepted_by,
    )
    return Change(_with_current(pair, expired), [event])


def withdraw(pair: Pair, reason_code: WithdrawalReason, reason_en: str, reason_id: str, now: datetime) -> Change | None:
    """An open proposal that can no longer be kept stops being open; others are left as they are."""
    current = pair.current
    if current is None or current.status != "proposed":
        return None
    withdrawn = current.model_copy(update={"status": "withdrawn", "closed_at": now})
    event = MatchWithdrawn(
        terms=current.terms, reason_code=reason_code, reason_en=reason_en, reason_id=reason_id, withdrawn_at=now
    )
    return Change(_with_current(pair, withdrawn), [event])


class SalesReport(Model):
    units_sold: Count = Field(ge=0)
    revenue_amount: Money = Field(ge=0, description="Minor units (cents) of revenue_currency")
    revenue_currency: Literal["EUR", "AUD", "IDR"]
    returns: Count = Field(ge=0)
    rating: int = Field(ge=1, le=5)
    comment: Prose = Field(default="", max_length=2000)
    will_reorder: bool


def report_sales(pair: Pair, match: str, report: SalesReport, report_id: str, now: datetime) -> Change:
    current = pair.current
    if current is None or current.match_id != match:
        raise NotFound(f"no match {match}")
    if current.status != "confirmed":
        raise NotAllowed(f"sales can be reported for confirmed matches; {match} is {current.status}")
    if report_id in current.reports:  # the same report sent again (its answer was lost): nothing new
        return Change(pair)
    event = SalesReported(
        report_id=report_id,
        match_id=match,
        msme_id=pair.msme_id,
        product_id=pair.product_id,
        partner_id=pair.partner_id,
        region=pair.region,
        reported_at=now,
        repeat_order=current.terms.repeat,
        **report.model_dump(),
    )
    # sold abroad, so made and delivered: the capacity it held is free again
    updated = current.model_copy(update={"reports": [*current.reports, report_id], "holds_until": None})
    return Change(_with_current(pair, updated), [event])
