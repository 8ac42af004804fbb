"""Demand-driven incubation: for each gap of a not-ready product, the open requests it would match
once that gap were closed, and what its part of them is worth.

A gap closes in matching's terms when it changes what matching compares: a certificate is held, the
capacity reaches a typical export order (taken as twice today's, the rubric's partial band). Gaps
that change nothing matching compares (a NIB to verify, an English label, a marketplace shop) open
no request of their own; what the product matches once export-ready as it is stands beside them."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ekspora_contracts.registry import Amount, Certificate, DemandValue, ProductFacts, UnlockedDemand
from ekspora_matching.domain.pricing import DatedRate
from ekspora_matching.domain.scoring import Evaluation, evaluate
from ekspora_matching.domain.views import Demand, Lane, Offer, Partner, PartnerStats
from ekspora_matching.policy import DestinationRules, Scoring

CAPACITY_GAP = "capacity.below_typical_order"
HELD_FOR = timedelta(days=365)  # a certificate obtained now is taken as valid for a year ahead


@dataclass(frozen=True)
class Prospect:
    """An open request as the product would meet it: its partner, its lane, what is still asked for."""

    demand: Demand
    partner: Partner
    lane: Lane | None
    remaining: int


@dataclass(frozen=True)
class Terms:
    rules: DestinationRules
    scoring: Scoring
    rate: DatedRate
    today: date


def closed(product: ProductFacts, gap_code: str, today: date) -> ProductFacts | None:
    """The product as matching would see it with the gap closed; None when the gap changes nothing
    matching compares."""
    if gap_code.startswith("certificate."):
        kind = gap_code.removeprefix("certificate.").split("|")[0]
        held = Certificate(kind=kind, number="(to be obtained)", expires_on=today + HELD_FOR)  # type: ignore[arg-type]
        return product.model_copy(update={"certificates": [*product.certificates, held]})
    if gap_code == CAPACITY_GAP:
        return product.model_copy(update={"monthly_capacity": product.monthly_capacity * 2})
    return None


def matched(product: ProductFacts, prospects: Iterable[Prospect], terms: Terms) -> dict[str, Evaluation]:
    """The prospects the product would be proposed for if it were export-ready, by demand id."""
    offer = Offer(product=product, readiness_score=0, ready=True)
    found = {}
    for prospect in prospects:
        result = evaluate(
            offer,
            prospect.demand,
            prospect.partner,
            stats=PartnerStats(),
            open_for_partner=0,
            rules=terms.rules,
            scoring=terms.scoring,
            rate=terms.rate,
            today=terms.today,
            promised=0,
            lane=prospect.lane,
            remaining=prospect.remaining,
        )
        if isinstance(result, Evaluation) and result.score >= terms.scoring.min_score:
            found[prospect.demand.demand_id] = result
    return found


def value_of(evaluations: Sequence[Evaluation]) -> DemandValue | None:
    if not evaluations:
        return None
    totals: dict[str, int] = {}
    for evaluation in evaluations:
        currency = evaluation.quote.currency
        totals[currency] = totals.get(currency, 0) + evaluation.quantity * evaluation.quote.unit_price
    return DemandValue(
        requests=len(evaluations),
        demand_ids=sorted(e.demand.demand_id for e in evaluations),
        units=sum(e.quantity for e in evaluations),
        value=[Amount(currency=c, minor_units=n) for c, n in sorted(totals.items())],  # type: ignore[arg-type]
        value_idr=round(sum(e.quantity * e.quote.landed_idr for e in evaluations)),
    )


def opportunities(
    product: ProductFacts, gap_codes: Sequence[str], prospects: Sequence[Prospect], terms: Terms
) -> tuple[DemandValue | None, list[UnlockedDemand]]:
    """What the product matches once export-ready as it is, and per gap what closing it would add,
    largest first."""
    as_it_is = matched(product, prospects, terms)
    unlocked = []
    for code in gap_codes:
        if (changed := closed(product, code, terms.today)) is None:
            continue
        opened = [e for demand_id, e in matched(changed, prospects, terms).items() if demand_id not in as_it_is]
        if (value := value_of(opened)) is not None:
            unlocked.append(UnlockedDemand(gap_code=code, **value.model_dump()))
    unlocked.sort(key=lambda u: (-u.value_idr, u.gap_code))
    return value_of(list(as_it_is.values())), unlocked
