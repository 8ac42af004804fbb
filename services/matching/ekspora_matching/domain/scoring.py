"""Scoring: hard filters, explained points per criterion, and the best candidates for a demand."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from ekspora_contracts.matching import (
    DocumentCode,
    ScorePart,
)
from ekspora_contracts.registry import CertificateKind, ProductFacts
from ekspora_matching.domain.pricing import DatedRate, Quote, quote
from ekspora_matching.domain.views import Demand, Lane, Offer, Partner, PartnerStats
from ekspora_matching.policy import DestinationRules, Scoring


@dataclass(frozen=True)
class Refusal:
    reason: str


@dataclass(frozen=True)
class Evaluation:
    offer: Offer
    demand: Demand
    partner: Partner
    score: float
    parts: list[ScorePart]
    documents: list[DocumentCode]
    quote: Quote
    ready_by: date
    quantity: int  # the most it can supply of what is left of the request
    smallest: int  # the smallest part it may supply (the partner's minimum per supplier, its minimum order)


@dataclass(frozen=True)
class Capacity:
    """What a product can make from today to the end of a production window, and what of it is free."""

    ready_by: date
    in_window: int
    promised: int

    @property
    def free(self) -> int:
        return max(0, self.in_window - self.promised)


def ready_by(demand: Demand, product: ProductFacts, lane: Lane, today: date, scoring: Scoring) -> date:
    """The last day of production for a demand: early enough for the lane to deliver by its needed-by
    date, or the end of a planning window for a demand without one."""
    if demand.needed_by is None:
        return today + timedelta(days=scoring.default_window_days)
    return demand.needed_by - timedelta(days=lane.lead_days(product))


def free_capacity(product: ProductFacts, window_end: date, today: date, promised: int) -> Capacity:
    """Monthly capacity pro rata over the window (a month counted as 30 days), less the units held by
    the product's open proposals and confirmed orders still in production."""
    days = max(0, (window_end - today).days)
    return Capacity(window_end, product.monthly_capacity * days // 30, promised)


def hard_filter(offer: Offer, demand: Demand, partner: Partner, rules: DestinationRules, today: date) -> Refusal | None:
    product = offer.product
    if not offer.ready:
        return Refusal("the product is not export-ready")
    if not partner.verified:
        return Refusal("the partner is not verified")
    if demand.status != "open":
        return Refusal("the demand is closed")
    if demand.schedule:
        return Refusal("a standing interest on a schedule is served by the orders it places")
    if demand.category and demand.category != product.category:
        return Refusal(f"the demand is for {demand.category}, not {product.category}")
    if demand.hs_prefix and not product.hs_code.startswith(demand.hs_prefix):
        return Refusal(f"HS {product.hs_code} is outside {demand.hs_prefix}")
    verdict = rules.verdict(demand.destination_country, product.category)
    if verdict.status == "not_allowed":
        return Refusal(verdict.reason_en)
    held = {c.kind for c in product.certificates if c.expires_on > today}
    if missing := set(demand.required_certificates) - held:
        return Refusal(f"missing required certificates: {', '.join(sorted(missing))}")
    if demand.quantity < product.minimum_order_quantity:
        return Refusal(f"quantity {demand.quantity} is below the minimum order of {product.minimum_order_quantity}")
    return None


def evaluate(
    offer: Offer,
    demand: Demand,
    partner: Partner,
    *,
    stats: PartnerStats,
    open_for_partner: int,
    rules: DestinationRules,
    scoring: Scoring,
    rate: DatedRate,
    today: date,
    promised: int,
    lane: Lane | None,
    remaining: int,
) -> Evaluation | Refusal:
    """`promised`: units of the product held by its open proposals and confirmed orders in production;
    `lane`: how shipping reaches the demand's destination; `remaining`: what is left of the request
    to propose (its quantity less what open proposals and confirmed orders already cover)."""
    if refusal := hard_filter(offer, demand, partner, rules, today):
        return refusal
    if open_for_partner >= scoring.max_open_per_partner:
        return Refusal(f"the partner already has {open_for_partner} open proposals")
    product, w = offer.product, scoring.weights
    if lane is None or not lane.served:
        return Refusal(f"no shipping lane reaches {demand.destination_city}")
    if demand.needed_by is not None and demand.needed_by <= today:
        return Refusal(f"the request was needed by {demand.needed_by:%Y-%m-%d}")
    if remaining <= 0:
        return Refusal(f"the request for {demand.quantity} is covered by open proposals and confirmed orders")
    capacity = free_capacity(product, ready_by(demand, product, lane, today, scoring), today, promised)
    quantity = min(remaining, capacity.free, partner.max_order_units)
    smallest = max(partner.min_order_units, product.minimum_order_quantity, 1)
    if quantity < smallest:
        return Refusal(
            f"{capacity.free} of {capacity.in_window} units it can make by {capacity.ready_by:%Y-%m-%d} are free"
            f" ({capacity.promised} promised): {quantity} of the {remaining} still asked for is less than the"
            f" smallest part of {smallest}"
        )
    try:
        priced = quote(product, demand.incoterm, lane, rate, demand.currency)
    except LookupError as unknown:
        return Refusal(str(unknown))
    held = {c.kind for c in product.certificates if c.expires_on > today}
    parts = [
        _category_fit(product, demand, w.category_fit),
        _capacity(quantity, remaining, capacity, w.capacity),
        _price(priced, demand, w.price, scoring.price_tolerance),
        _certificates(held, demand, scoring.favoured_certificates.get(product.category, []), w.certificates),
        _partner_history(stats, w.partner_history),
        _load_balance(open_for_partner, scoring.max_open_per_partner, w.load_balance),
    ]
    verdict = rules.verdict(demand.destination_country, product.category)
    return Evaluation(
        offer,
        demand,
        partner,
        round(sum(p.points for p in parts), 1),
        parts,
        verdict.documents,
        priced,
        capacity.ready_by,
        quantity,
        smallest,
    )


def _part(criterion: str, points: float, max_points: float, reason_id: str, reason_en: str) -> ScorePart:
    return ScorePart(
        criterion=criterion, points=round(points, 1), max_points=max_points, reason_id=reason_id, reason_en=reason_en
    )


def _category_fit(product: ProductFacts, demand: Demand, weight: int) -> ScorePart:
    if demand.hs_prefix:
        share = {2: 0.6, 4: 0.85, 6: 1.0}.get(len(demand.hs_prefix), 0.7)
        return _part(
            "category_fit",
            weight * share,
            weight,
            f"Kode HS {product.hs_code} sesuai permintaan {demand.hs_prefix}",
            f"HS code {product.hs_code} fits the request for {demand.hs_prefix}",
        )
    share = 0.8 if demand.kind == "rfq" else 0.7
    return _part(
        "category_fit",
        weight * share,
        weight,
        f"Kategori {product.category} sesuai minat mitra",
        f"Category {product.category} is what the partner buys",
    )


def _capacity(quantity: int, remaining: int, capacity: Capacity, weight: int) -> ScorePart:
    by = f"{capacity.ready_by:%Y-%m-%d}"
    return _part(
        "capacity",
        weight * quantity / remaining,
        weight,
        f"Dapat memasok {quantity} dari {remaining} yang masih dibutuhkan; {capacity.free} unit bebas sampai {by}",
        f"Can supply {quantity} of the {remaining} still needed; {capacity.free} units free by {by}",
    )


def _price(priced: Quote, demand: Demand, weight: int, tolerance: float) -> ScorePart:
    unit_price = priced.unit_price
    price = f"{unit_price / 100:.2f} {demand.currency} {priced.incoterm} {priced.named_place}"
    if demand.target_price_max is None or unit_price <= demand.target_price_max:
        return _part(
            "price",
            weight,
            weight,
            f"Harga {price} per unit masuk target mitra",
            f"Price {price} per unit is within the partner's target",
        )
    over = unit_price / demand.target_price_max - 1
    share = max(0.0, 1 - over / tolerance)
    target = f"{demand.target_price_max / 100:.2f} {demand.currency}"
    return _part(
        "price",
        weight * share,
        weight,
        f"Harga {price} per unit di atas target {target}",
        f"Price {price} per unit is above the target of {target}",
    )


def _certificates(held: set[CertificateKind], demand: Demand, favoured: list[str], weight: int) -> ScorePart:
    if demand.required_certificates:
        listed = ", ".join(sorted(demand.required_certificates))
        return _part(
            "certificates",
            weight,
            weight,
            f"Memiliki sertifikat yang diminta: {listed}",
            f"Holds the certificates asked for: {listed}",
        )
    wanted = set(favoured)
    share = 1.0 if wanted <= held else 0.5
    if not wanted:
        return _part(
            "certificates", weight, weight, "Tidak ada sertifikat yang diwajibkan", "No certificate is required"
        )
    listed = ", ".join(sorted(wanted))
    return _part(
        "certificates",
        weight * share,
        weight,
        f"Sertifikat yang sering diminta pembeli ({listed}) {'ada' if share == 1 else 'belum ada'}",
        f"Certificates buyers often ask for ({listed}) {'held' if share == 1 else 'not held yet'}",
    )


def _partner_history(stats: PartnerStats, weight: int) -> ScorePart:
    if not stats.reports:
        return _part(
            "partner_history",
            weight * 0.5,
            weight,
            "Mitra baru, belum ada riwayat penjualan",
            "New partner, no sales history yet",
        )
    share = 0.5 * stats.average_rating / 5 + 0.5 * stats.reorder_rate
    return _part(
        "partner_history",
        weight * share,
        weight,
        f"Rating rata-rata {stats.average_rating:.1f}, pesanan ulang {stats.reorder_rate:.0%}",
        f"Average rating {stats.average_rating:.1f}, reorders {stats.reorder_rate:.0%}",
    )


def _load_balance(open_for_partner: int, limit: int, weight: int) -> ScorePart:
    share = 1 - open_for_partner / limit
    return _part(
        "load_balance",
        weight * share,
        weight,
        f"Mitra sedang memiliki {open_for_partner} tawaran terbuka",
        f"The partner has {open_for_partner} open proposals",
    )


def best_for_demand(
    candidates: Iterable[Offer],
    demand: Demand,
    partner: Partner,
    *,
    stats: PartnerStats,
    open_for_partner: int,
    rules: DestinationRules,
    scoring: Scoring,
    rate: DatedRate,
    today: date,
    promised: Mapping[str, int],
    lane: Lane | None,
    remaining: int,
) -> list[Evaluation]:
    """The products that may fill what is left of a demand, best first, among candidates given in
    readiness order.

    Scores candidates that pass the hard filters, at most `candidate_limit` of them, and stops at the
    first that reaches the highest score this demand allows: it can supply all that is left, later
    candidates are no more ready, so they could at best tie, and ties go to the more export-ready."""
    scored: list[Evaluation] = []
    for offer in candidates:
        result = evaluate(
            offer,
            demand,
            partner,
            stats=stats,
            open_for_partner=open_for_partner,
            rules=rules,
            scoring=scoring,
            rate=rate,
            today=today,
            promised=promised.get(offer.product.product_id, 0),
            lane=lane,
            remaining=remaining,
        )
        if isinstance(result, Evaluation):
            scored.append(result)
            if result.score >= score_ceiling(result, scoring) or len(scored) >= scoring.candidate_limit:
                break
    scored.sort(key=ranking)
    return [e for e in scored if e.score >= scoring.min_score]


@dataclass(frozen=True)
class Allocation:
    evaluation: Evaluation
    quantity: int


def allocate(ranked: Iterable[Evaluation], remaining: int, room: int) -> list[Allocation]:
    """Fills what is left of a request from the best-ranked products first: each takes as much as it
    can supply of what is still open, one that could supply less than its smallest part is passed
    over, and at most `room` parts are proposed."""
    parts: list[Allocation] = []
    for evaluation in ranked:
        if remaining <= 0 or len(parts) >= room:
            break
        quantity = min(remaining, evaluation.quantity)
        if quantity >= evaluation.smallest:
            parts.append(Allocation(evaluation, quantity))
            remaining -= quantity
    return parts


def ranking(evaluation: Evaluation) -> tuple[float, int, str]:
    """Best score first; on a tie the more export-ready product, then a stable order."""
    return -evaluation.score, -evaluation.offer.readiness_score, evaluation.offer.product.product_id


PRODUCT_PARTS = ("capacity", "price", "certificates")


def score_ceiling(evaluation: Evaluation, scoring: Scoring) -> float:
    """The best score any product could reach for this demand and partner: the parts that depend on
    the demand and partner as they are, the parts that depend on the product at their maximum."""
    fixed = sum(p.points for p in evaluation.parts if p.criterion not in PRODUCT_PARTS)
    return round(fixed + sum(getattr(scoring.weights, name) for name in PRODUCT_PARTS), 1)
