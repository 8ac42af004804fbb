"""Matching rules in isolation: hard filters, the score breakdown, the index, and the proposal lifecycle."""

from datetime import UTC, date, datetime, timedelta

import pytest

from ekspora_contracts.matching import (
    MatchConfirmed,
    MatchDeclined,
    MatchExpired,
    MatchProposed,
    MatchWithdrawn,
    SalesReported,
)
from ekspora_contracts.registry import Certificate, ProductFacts
from ekspora_contracts.shipping import LaneCosts, ModeSchedule
from ekspora_kit.domain import NotAllowed
from ekspora_matching import domain
from ekspora_matching.policy import DatedRate, load_rules, load_scoring

RULES, SCORING = load_rules(), load_scoring()
RATE = DatedRate(since=date(2026, 11, 2), source="planning rate", idr_per={"EUR": 17_500, "AUD": 10_400})
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def offer(
    product_id="prd-1",
    *,
    category="processed_food",
    hs="210690",
    price=28_000,
    capacity=1_500,
    moq=100,
    certificates=("pirt", "halal"),
    ready=True,
    readiness=90,
) -> domain.Offer:
    facts = ProductFacts(
        product_id=product_id,
        msme_id="msme-1",
        region="kota-kediri",
        name="Tahu Takwa",
        description_id="Tahu",
        description_en="Tofu",
        category=category,
        hs_code=hs,
        unit="pack",
        unit_price_idr=price,
        minimum_order_quantity=moq,
        monthly_capacity=capacity,
        net_weight_grams=500,
        shelf_life_days=30,
        english_label=True,
        certificates=[Certificate(kind=k, number=f"{k}-1", expires_on=date(2028, 1, 1)) for k in certificates],
    )
    return domain.Offer(product=facts, readiness_score=readiness, ready=ready)


PARTNER = domain.Partner(
    partner_id="ptn-1",
    kind="diaspora_business",
    name="Toko Amsterdam",
    country="NL",
    city="Amsterdam",
    categories=["processed_food"],
    min_order_units=50,
    max_order_units=5_000,
    languages=["en"],
    contact_email="a@b.nl",
    verified=True,
)


def demand(**overrides) -> domain.Demand:
    fields = dict(
        demand_id="dmd-1",
        kind="rfq",
        partner_id="ptn-1",
        category="processed_food",
        hs_prefix=None,
        quantity=600,
        target_price_min=None,
        target_price_max=250,
        currency="EUR",
        required_certificates=["halal"],
        needed_by=None,
        destination_city="Amsterdam",
        destination_country="NL",
    )
    return domain.Demand(**(fields | overrides))


NO_HISTORY = domain.PartnerStats()
AMSTERDAM = domain.Lane(
    destination_city="Amsterdam",
    version=1,
    served=True,
    country="NL",
    port="Rotterdam",
    airport="AMS",
    modes=[
        ModeSchedule(
            mode="sea_lcl",
            departures_every_days=7,
            cutoff_days_before=5,
            transit_days=32,
            rate_idr_per_chargeable_unit=2_900_000,
        ),
        ModeSchedule(
            mode="air",
            departures_every_days=7,
            cutoff_days_before=2,
            transit_days=3,
            rate_idr_per_chargeable_unit=78_000,
        ),
    ],
    air_when_shelf_life_below_days=45,
    costs=LaneCosts(
        gross_factor=1.15,
        kg_per_cbm={"processed_food": 350, "coffee": 400},
        default_kg_per_cbm=250,
        insurance_rate=0.003,
        insured_share=1.1,
        delivery_idr_per_gross_kg=9_000,
    ),
)


def evaluate(o=None, d=None, p=PARTNER, stats=NO_HISTORY, open_for_partner=0, promised=0, lane=AMSTERDAM, left=None):
    return domain.evaluate(
        o or offer(),
        d or demand(),
        p,
        stats=stats,
        open_for_partner=open_for_partner,
        rules=RULES,
        scoring=SCORING,
        rate=RATE,
        today=TODAY,
        promised=promised,
        lane=lane,
        remaining=(d or demand()).quantity if left is None else left,
    )


@pytest.mark.parametrize(
    ("o", "d", "p", "reason"),
    [
        (offer(ready=False), demand(), PARTNER, "not export-ready"),
        (offer(), demand(), PARTNER.model_copy(update={"verified": False}), "not verified"),
        (offer(), demand(status="closed"), PARTNER, "closed"),
        (offer(category="snack"), demand(), PARTNER, "for processed_food, not snack"),
        (offer(), demand(category=None, hs_prefix="0901"), PARTNER, "outside 0901"),
        (offer(category="meat_product"), demand(category="meat_product"), PARTNER, "not on the EU list"),
        (offer(certificates=("pirt",)), demand(), PARTNER, "missing required certificates: halal"),
        (offer(moq=1_000), demand(), PARTNER, "below the minimum order"),
    ],
)
def test_hard_filters_refuse_with_a_reason(o, d, p, reason):
    result = evaluate(o, d, p)
    assert isinstance(result, domain.Refusal) and reason in result.reason


def test_a_full_fit_scores_every_part_and_names_the_documents():
    result = evaluate()
    parts = {p.criterion: p.points for p in result.parts}
    assert parts == {
        "category_fit": 20.0,
        "capacity": 20,
        "price": 20,
        "certificates": 15,
        "partner_history": 5.0,
        "load_balance": 10.0,
    }
    assert result.score == 90.0 and result.quote.unit_price == 160
    assert result.documents == [
        "commercial_invoice",
        "packing_list",
        "peb_export_declaration",
        "rex_statement_on_origin",
        "ske_health_certificate",
    ]


@pytest.mark.parametrize(
    ("o", "d", "stats", "open_for_partner", "criterion", "points"),
    [
        (offer(capacity=100), demand(), domain.PartnerStats(), 0, "capacity", 10.0),  # 300 of the 600
        (offer(price=52_500), demand(), domain.PartnerStats(), 0, "price", 12.0),
        (offer(price=70_000), demand(), domain.PartnerStats(), 0, "price", 0.0),
        (offer(), demand(required_certificates=[]), domain.PartnerStats(), 0, "certificates", 15.0),
        (
            offer(certificates=("pirt",)),
            demand(required_certificates=[]),
            domain.PartnerStats(),
            0,
            "certificates",
            7.5,
        ),
        (offer(), demand(category=None, hs_prefix="210690"), domain.PartnerStats(), 0, "category_fit", 25.0),
        (offer(), demand(category=None, hs_prefix="21"), domain.PartnerStats(), 0, "category_fit", 15.0),
        (offer(), demand(), domain.PartnerStats(reports=4, rating_sum=20, reorders=4), 0, "partner_history", 10.0),
        (offer(), demand(), domain.PartnerStats(reports=2, rating_sum=5, reorders=0), 0, "partner_history", 2.5),
        (offer(), demand(), domain.PartnerStats(), 20, "load_balance", 2.0),
    ],
)
def test_score_parts(o, d, stats, open_for_partner, criterion, points):
    result = evaluate(o, d, stats=stats, open_for_partner=open_for_partner)
    assert {p.criterion: p.points for p in result.parts}[criterion] == points


def test_a_flooded_partner_gets_no_more_proposals():
    assert "open proposals" in evaluate(open_for_partner=SCORING.max_open_per_partner).reason


def whole(evaluation: domain.Evaluation) -> domain.Allocation:
    return domain.Allocation(evaluation, evaluation.quantity)


MONTH = TODAY + timedelta(days=30 + 12)  # needed by then, a tahu maker has 30 days to make its part


@pytest.mark.parametrize(
    ("capacities", "promised", "quantity", "min_max", "parts"),
    [
        ([200, 200, 200], {}, 600, (50, 5_000), [200, 200, 200]),  # three makers of 200 fill 600
        ([700, 200, 200], {}, 600, (50, 5_000), [600]),  # one can make it all: one supplier
        ([500, 200, 200], {}, 600, (50, 5_000), [500, 100]),  # the best first, as much as each can
        ([500, 200, 200], {"prd-1": 400}, 600, (50, 5_000), [200, 200, 100]),  # 400 promised elsewhere
        ([1_000, 1_000, 1_000], {}, 600, (50, 250), [250, 250, 100]),  # the partner's maximum per supplier
        ([500, 120, 200], {}, 600, (150, 5_000), [500]),  # the rest (100) is below its minimum per supplier
        ([100, 100, 100, 100, 100], {}, 600, (50, 5_000), [100, 100, 100]),  # three parts at most
    ],
)
def test_allocations_fill_a_request_from_the_best_products_first(capacities, promised, quantity, min_max, parts):
    candidates = [offer(f"prd-{n}", capacity=c) for n, c in enumerate(capacities, start=1)]
    partner = PARTNER.model_copy(update={"min_order_units": min_max[0], "max_order_units": min_max[1]})
    request = demand(quantity=quantity, needed_by=MONTH)
    ranked = domain.best_for_demand(
        candidates,
        request,
        partner,
        stats=domain.PartnerStats(),
        open_for_partner=0,
        rules=RULES,
        scoring=SCORING,
        rate=RATE,
        today=TODAY,
        promised=promised,
        lane=AMSTERDAM,
        remaining=quantity,
    )
    allocated = domain.allocate(ranked, quantity, room=3)
    assert [a.quantity for a in allocated] == parts
    assert all(a.evaluation.score >= SCORING.min_score for a in allocated)
    assert sum(a.quantity for a in allocated) <= quantity
    [capacity] = [p for p in allocated[0].evaluation.parts if p.criterion == "capacity"]
    assert capacity.reason_en.startswith(
        f"Can supply {allocated[0].evaluation.quantity} of the {quantity} still needed"
    )


@pytest.mark.parametrize(
    ("needed_by", "promised", "left", "free_and_supplied_or_refusal"),
    [
        (None, 0, 600, (4_500, 600)),  # no needed-by date: 90 days of 1,500 a month
        (None, 3_900, 600, (600, 600)),  # what open proposals and orders hold is not free
        (None, 4_000, 600, (500, 500)),  # it can supply 500 of the 600
        (None, 4_450, 600, "50 of 4500 units it can make by 2027-02-26 are free (4450 promised)"),  # below 100
        (None, 0, 250, (4_500, 250)),  # only what is left of the request
        (None, 0, 0, "covered by open proposals and confirmed orders"),
        # needed in 24 days: it flies (30 days' shelf life), 12 days of waiting, cutoff and transit, 12 to make it
        (TODAY + timedelta(days=24), 0, 600, (600, 600)),
        (TODAY + timedelta(days=23), 0, 600, (550, 550)),
        (TODAY + timedelta(days=13), 0, 600, "50 of 50 units it can make by 2026-11-29"),
        (TODAY + timedelta(days=12), 0, 600, "0 of 0 units it can make by 2026-11-28"),
        (TODAY, 0, 600, "the request was needed by 2026-11-28"),
        (TODAY - timedelta(days=1), 0, 600, "needed by 2026-11-27"),
    ],
)
def test_proposals_fit_the_free_capacity_before_the_needed_by_date(
    needed_by, promised, left, free_and_supplied_or_refusal
):
    result = evaluate(offer(capacity=1_500), demand(needed_by=needed_by), promised=promised, left=left)
    if isinstance(free_and_supplied_or_refusal, str):
        assert isinstance(result, domain.Refusal) and free_and_supplied_or_refusal in result.reason, result
        return
    free, supplied = free_and_supplied_or_refusal
    assert isinstance(result, domain.Evaluation), result
    assert result.ready_by == (needed_by - timedelta(days=12) if needed_by else TODAY + timedelta(days=90))
    assert (result.quantity, result.smallest) == (supplied, 100)
    [part] = [p for p in result.parts if p.criterion == "capacity"]
    assert part.reason_en.endswith(f"{free} units free by {result.ready_by:%Y-%m-%d}")


@pytest.mark.parametrize(
    ("shelf_life_days", "mode", "lead_days"),
    [(30, "air", 7 + 2 + 3), (44, "air", 12), (45, "sea_lcl", 7 + 5 + 32), (None, "sea_lcl", 44)],
)
def test_perishables_fly_and_the_rest_sail_so_production_ends_earlier(shelf_life_days, mode, lead_days):
    product = offer().product.model_copy(update={"shelf_life_days": shelf_life_days})
    assert AMSTERDAM.schedule_for(product).mode == mode and AMSTERDAM.lead_days(product) == lead_days


def test_no_proposal_without_a_served_lane_and_a_request_for_an_unserved_city_names_the_served_ones():
    assert evaluate(lane=None).reason == "no shipping lane reaches Amsterdam"
    assert "no shipping lane" in evaluate(lane=AMSTERDAM.model_copy(update={"served": False})).reason
    sydney = AMSTERDAM.model_copy(update={"destination_city": "Sydney", "country": "AU", "port": "Sydney"})
    lanes = [AMSTERDAM, sydney]
    assert domain.unserved("Amsterdam", "NL", lanes) is None
    assert (
        domain.unserved("Berlin", "NL", lanes)
        == "no shipping lane reaches Berlin, NL; served: Amsterdam (port of Rotterdam)"
    )
    assert domain.unserved("Sydney", "NL", lanes).endswith("served: Amsterdam (port of Rotterdam)"), (
        "a partner's own country"
    )
    assert domain.unserved("Perth", "AU", [sydney.model_copy(update={"served": False})]).endswith("served: none yet")


def proposed() -> domain.Change:
    change = domain.propose(None, whole(evaluate()), "kota-kediri", NOW, timedelta(days=7))
    assert change is not None, "a first proposal for a new pair"
    return change


def test_one_open_proposal_per_pair_and_confirmation_needs_both_sides_once():
    change = proposed()
    assert [type(e) for e in change.events] == [MatchProposed]
    pair, match = change.pair, change.pair.current.match_id
    assert domain.propose(pair, whole(evaluate()), "kota-kediri", NOW, timedelta(days=7)) is None
    partner_side = domain.accept(pair, match, "partner", NOW, 600, RATE)
    assert partner_side.events == [] and partner_side.pair.current.accepted_by == ["partner"]
    assert domain.accept(partner_side.pair, match, "partner", NOW, 600, RATE).pair == partner_side.pair
    confirmed = domain.accept(partner_side.pair, match, "msme", NOW, 600, RATE)
    assert [type(e) for e in confirmed.events] == [MatchConfirmed]
    assert domain.accept(confirmed.pair, match, "msme", NOW, 600, RATE).events == []
    assert domain.propose(confirmed.pair, whole(evaluate()), "kota-kediri", NOW, timedelta(days=7)) is None


def test_expiry_allows_a_new_round_and_a_decline_ends_the_pair():
    pair = proposed().pair
    match = pair.current.match_id
    later = NOW + timedelta(days=7)
    with pytest.raises(NotAllowed, match="expired"):
        domain.accept(pair, match, "partner", later, 600, RATE)
    expired = domain.expire(pair, later)
    assert [type(e) for e in expired.events] == [MatchExpired]
    again = domain.propose(expired.pair, whole(evaluate()), "kota-kediri", later, timedelta(days=7))
    assert again.pair.current.match_id.endswith("-2") and len(again.pair.rounds) == 2
    declined = domain.decline(again.pair, again.pair.current.match_id, "msme", "capacity booked", later)
    assert isinstance(declined.events[0], MatchDeclined) and declined.events[0].declined_by == "msme"
    assert domain.propose(declined.pair, whole(evaluate()), "kota-kediri", later, timedelta(days=7)) is None


def test_a_confirmation_past_the_requested_quantity_is_refused():
    pair = proposed().pair  # its part: all 600
    match = pair.current.match_id
    half = domain.accept(pair, match, "partner", NOW, 600, RATE).pair
    with pytest.raises(NotAllowed, match="only 200 of it are not confirmed yet"):
        domain.accept(half, match, "msme", NOW, unconfirmed=200, rate=RATE)
    assert domain.accept(half, match, "msme", NOW, unconfirmed=600, rate=RATE).pair.current.status == "confirmed"


def test_a_fill_counts_open_and_confirmed_parts_only():
    def part_in(status, quantity):
        change = domain.propose(None, domain.Allocation(evaluate(), quantity), "kota-kediri", NOW, timedelta(days=7))
        current = change.pair.current.model_copy(update={"status": status})
        return change.pair.model_copy(update={"rounds": [current]})

    parts = [part_in("confirmed", 200), part_in("proposed", 150), part_in("declined", 100), part_in("expired", 50)]
    fill = domain.fill_of(600, parts)
    assert (fill.requested, fill.proposed, fill.confirmed, fill.parts, fill.remaining) == (600, 150, 200, 2, 250)
    assert domain.fill_of(300, [part_in("confirmed", 400)]).remaining == 0
    named = [part.model_copy(update={"product_id": part.current.status}) for part in parts]
    assert domain.with_a_part(named) == {"confirmed", "proposed", "declined"}, "an expired part may be offered again"


def test_withdrawal_closes_only_an_open_proposal_and_it_cannot_be_confirmed_after():
    pair = proposed().pair
    match = pair.current.match_id
    half = domain.accept(pair, match, "partner", NOW, 600, RATE).pair
    withdrawn = domain.withdraw(half, "product_not_ready", "no longer ready", "tidak lagi siap", NOW)
    [event] = withdrawn.events
    assert (
        isinstance(event, MatchWithdrawn) and event.terms.match_id == match and event.reason_code == "product_not_ready"
    )
    assert withdrawn.pair.current.status == "withdrawn" and withdrawn.pair.current.holds_until == TODAY + timedelta(90)
    with pytest.raises(NotAllowed, match="withdrawn"):
        domain.accept(withdrawn.pair, match, "msme", NOW, 600, RATE)
    assert domain.withdraw(withdrawn.pair, "demand_closed", "closed", "ditutup", NOW) is None
    confirmed = domain.accept(half, match, "msme", NOW, 600, RATE).pair
    assert domain.withdraw(confirmed, "product_not_ready", "no longer ready", "tidak lagi siap", NOW) is None


def test_sales_are_reported_only_on_confirmed_matches():
    pair = proposed().pair
    match = pair.current.match_id
    report = domain.SalesReport(
        units_sold=550,
        revenue_amount=132_000,
        revenue_currency="EUR",
        returns=3,
        rating=5,
        comment="Laris",
        will_reorder=True,
    )
    with pytest.raises(NotAllowed, match="confirmed"):
        domain.report_sales(pair, match, report, "rep-1", NOW)
    confirmed = domain.accept(
        domain.accept(pair, match, "partner", NOW, 600, RATE).pair, match, "msme", NOW, 600, RATE
    ).pair
    change = domain.report_sales(confirmed, match, report, "rep-1", NOW)
    [event] = change.events
    assert isinstance(event, SalesReported) and event.msme_id == "msme-1" and event.units_sold == 550
    stats = domain.PartnerStats().with_report(event)
    assert stats.reports == 1 and stats.with_report(event) is None
    again = domain.report_sales(change.pair, match, report, "rep-1", NOW)
    assert again.events == [] and again.pair.current.reports == ["rep-1"]
    assert confirmed.current.holds_until is not None and change.pair.current.holds_until is None, "sold: made"


def test_the_partner_chooses_the_incoterm_fob_by_default():
    assert proposed().pair.current.terms.incoterm == "FOB"
    dap = domain.propose(None, whole(evaluate(d=demand(incoterm="DAP"))), "kota-kediri", NOW, timedelta(days=7))
    assert dap.pair.current.terms.incoterm == "DAP"
