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
from ekspora_contracts.shipping import ModeSchedule
from ekspora_kit.domain import NotAllowed
from ekspora_matching import domain
from ekspora_matching.policy import load_rules, load_scoring

RULES, SCORING = load_rules(), load_scoring()
RATES = domain.Rates({"EUR": 17_500, "AUD": 10_400})
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
        ModeSchedule(mode="sea_lcl", departures_every_days=7, cutoff_days_before=5, transit_days=32),
        ModeSchedule(mode="air", departures_every_days=7, cutoff_days_before=2, transit_days=3),
    ],
    air_when_shelf_life_below_days=45,
)


def evaluate(o=None, d=None, p=PARTNER, stats=NO_HISTORY, open_for_partner=0, promised=0, lane=AMSTERDAM):
    return domain.evaluate(
        o or offer(),
        d or demand(),
        p,
        stats=stats,
        open_for_partner=open_for_partner,
        rules=RULES,
        scoring=SCORING,
        rates=RATES,
        today=TODAY,
        promised=promised,
        lane=lane,
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
    assert result.score == 90.0 and result.unit_price == 160
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
        (offer(capacity=300), demand(), domain.PartnerStats(), 0, "capacity", 10.0),
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


def test_best_for_demand_keeps_the_best_few_above_the_minimum():
    candidates = [offer(f"prd-{n}", capacity=100 * n) for n in range(1, 8)]
    best = domain.best_for_demand(
        candidates,
        demand(),
        PARTNER,
        stats=domain.PartnerStats(),
        open_for_partner=0,
        rules=RULES,
        scoring=SCORING,
        rates=RATES,
        today=TODAY,
        promised={"prd-6": 4_000},
        lane=AMSTERDAM,
    )
    assert [e.offer.product.product_id for e in best] == ["prd-7", "prd-5", "prd-4"], "prd-6 is booked"
    assert all(e.score >= SCORING.min_score for e in best)


@pytest.mark.parametrize(
    ("capacity", "needed_by", "promised", "quantity", "free_or_refusal"),
    [
        (1_500, None, 0, 600, 4_500),  # no needed-by date: the 90-day planning window
        (1_500, None, 3_900, 600, 600),  # what open proposals and orders hold is not free
        (1_500, None, 4_000, 600, "500 of 4500 units it can make by 2027-02-26 are free (4000 promised)"),
        # needed in 24 days: it flies (30 days' shelf life), 12 days of waiting, cutoff and transit, 12 to make it
        (1_500, TODAY + timedelta(days=24), 0, 600, 600),
        (1_500, TODAY + timedelta(days=23), 0, 600, "550 of 550 units it can make by 2026-12-09"),
        (1_500, TODAY + timedelta(days=12), 0, 600, "0 of 0 units it can make by 2026-11-28"),
        (1_500, TODAY, 0, 600, "the request was needed by 2026-11-28"),
        (1_500, TODAY - timedelta(days=1), 0, 600, "needed by 2026-11-27"),
    ],
)
def test_proposals_fit_the_free_capacity_before_the_needed_by_date(
    capacity, needed_by, promised, quantity, free_or_refusal
):
    result = evaluate(offer(capacity=capacity), demand(needed_by=needed_by, quantity=quantity), promised=promised)
    if isinstance(free_or_refusal, str):
        assert isinstance(result, domain.Refusal) and free_or_refusal in result.reason, result
        return
    assert isinstance(result, domain.Evaluation), result
    assert result.ready_by == (needed_by - timedelta(days=12) if needed_by else TODAY + timedelta(days=90))
    [part] = [p for p in result.parts if p.criterion == "capacity"]
    assert part.reason_en.endswith(f"{free_or_refusal} units free by {result.ready_by:%Y-%m-%d}")


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
    change = domain.propose(None, evaluate(), "kota-kediri", NOW, timedelta(days=7))
    assert change is not None, "a first proposal for a new pair"
    return change


def test_one_open_proposal_per_pair_and_confirmation_needs_both_sides_once():
    change = proposed()
    assert [type(e) for e in change.events] == [MatchProposed]
    pair, match = change.pair, change.pair.current.match_id
    assert domain.propose(pair, evaluate(), "kota-kediri", NOW, timedelta(days=7)) is None
    partner_side = domain.accept(pair, match, "partner", NOW)
    assert partner_side.events == [] and partner_side.pair.current.accepted_by == ["partner"]
    assert domain.accept(partner_side.pair, match, "partner", NOW).pair == partner_side.pair
    confirmed = domain.accept(partner_side.pair, match, "msme", NOW)
    assert [type(e) for e in confirmed.events] == [MatchConfirmed]
    assert domain.accept(confirmed.pair, match, "msme", NOW).events == []
    assert domain.propose(confirmed.pair, evaluate(), "kota-kediri", NOW, timedelta(days=7)) is None


def test_expiry_and_decline_close_a_proposal_and_allow_a_new_round():
    pair = proposed().pair
    match = pair.current.match_id
    later = NOW + timedelta(days=7)
    with pytest.raises(NotAllowed, match="expired"):
        domain.accept(pair, match, "partner", later)
    expired = domain.expire(pair, later)
    assert [type(e) for e in expired.events] == [MatchExpired]
    again = domain.propose(expired.pair, evaluate(), "kota-kediri", later, timedelta(days=7))
    assert again.pair.current.match_id.endswith("-2") and len(again.pair.rounds) == 2
    declined = domain.decline(again.pair, again.pair.current.match_id, "msme", "capacity booked", later)
    assert isinstance(declined.events[0], MatchDeclined) and declined.events[0].declined_by == "msme"


def test_withdrawal_closes_only_an_open_proposal_and_it_cannot_be_confirmed_after():
    pair = proposed().pair
    match = pair.current.match_id
    half = domain.accept(pair, match, "partner", NOW).pair
    withdrawn = domain.withdraw(half, "product_not_ready", "no longer ready", "tidak lagi siap", NOW)
    [event] = withdrawn.events
    assert (
        isinstance(event, MatchWithdrawn) and event.terms.match_id == match and event.reason_code == "product_not_ready"
    )
    assert withdrawn.pair.current.status == "withdrawn" and withdrawn.pair.current.holds_until == TODAY + timedelta(90)
    with pytest.raises(NotAllowed, match="withdrawn"):
        domain.accept(withdrawn.pair, match, "msme", NOW)
    assert domain.withdraw(withdrawn.pair, "demand_closed", "closed", "ditutup", NOW) is None
    confirmed = domain.accept(half, match, "msme", NOW).pair
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
    confirmed = domain.accept(domain.accept(pair, match, "partner", NOW).pair, match, "msme", NOW).pair
    change = domain.report_sales(confirmed, match, report, "rep-1", NOW)
    [event] = change.events
    assert isinstance(event, SalesReported) and event.msme_id == "msme-1" and event.units_sold == 550
    stats = domain.PartnerStats().with_report(event)
    assert stats.reports == 1 and stats.with_report(event) is None
    again = domain.report_sales(change.pair, match, report, "rep-1", NOW)
    assert again.events == [] and again.pair.current.reports == ["rep-1"]


def test_the_partner_chooses_the_incoterm_fob_by_default():
    assert proposed().pair.current.terms.incoterm == "FOB"
    dap = domain.propose(None, evaluate(d=demand(incoterm="DAP")), "kota-kediri", NOW, timedelta(days=7))
    assert dap.pair.current.terms.incoterm == "DAP"
