"""Demand-driven incubation, table-driven: product x gap x demand in, the requests a gap keeps the
product from and their value out."""

from datetime import timedelta

import pytest

from ekspora_matching.domain.opportunities import Prospect, Terms, closed, opportunities
from tests.unit.test_matching_domain import AMSTERDAM, PARTNER, RATE, RULES, SCORING, TODAY, demand, offer

TERMS = Terms(rules=RULES, scoring=SCORING, rate=RATE, today=TODAY)
HALAL_SHOP = demand(demand_id="dmd-halal", quantity=600, required_certificates=["halal"])
ANY_SHOP = demand(demand_id="dmd-any", quantity=300, required_certificates=[])
SIX_WEEKS = TODAY + timedelta(days=42)  # tahu flies: 12 days of waiting and transit leave 30 days to make it


def prospects(*demands) -> list[Prospect]:
    return [Prospect(d, PARTNER, AMSTERDAM, d.quantity) for d in demands]


CASES = [
    # (description, product kwargs, gaps, demands, once-ready demand ids, {gap: unlocked demand ids})
    (
        "halal opens the shop that asks for it; the other is open to it as it is",
        dict(certificates=("pirt",)),
        ["certificate.halal"],
        [HALAL_SHOP, ANY_SHOP],
        ["dmd-any"],
        {"certificate.halal": ["dmd-halal"]},
    ),
    (
        "a gap matching does not compare opens nothing of its own",
        dict(certificates=("pirt", "halal")),
        ["legality.nib_unverified", "packaging.no_english_label", "marketplace.no_listing"],
        [HALAL_SHOP, ANY_SHOP],
        ["dmd-any", "dmd-halal"],
        {},
    ),
    (
        "a permit gap of any-of adds the first kind and opens nothing the shop does not ask for",
        dict(certificates=("halal",)),
        ["certificate.pirt|bpom_md"],
        [HALAL_SHOP],
        ["dmd-halal"],
        {},
    ),
    (
        "doubled capacity lets a small maker supply its smallest part in time",
        dict(certificates=("pirt", "halal"), capacity=60, moq=100),
        ["capacity.below_typical_order"],
        [demand(demand_id="dmd-soon", quantity=400, required_certificates=[], needed_by=SIX_WEEKS)],
        [],
        {"capacity.below_typical_order": ["dmd-soon"]},
    ),
    (
        "nothing open in its category: nothing to unlock",
        dict(certificates=("pirt",), category="snack", hs="190590"),
        ["certificate.halal"],
        [HALAL_SHOP, ANY_SHOP],
        [],
        {},
    ),
]


@pytest.mark.parametrize(
    ("description", "product", "gaps", "demands", "as_it_is", "unlocked"), CASES, ids=[c[0] for c in CASES]
)
def test_each_gap_opens_the_requests_that_need_it(description, product, gaps, demands, as_it_is, unlocked):
    ready, opened = opportunities(offer(**product).product, gaps, prospects(*demands), TERMS)
    assert (ready.demand_ids if ready else []) == as_it_is
    assert {u.gap_code: u.demand_ids for u in opened} == unlocked


def test_the_value_is_the_products_part_at_its_quoted_price_and_the_largest_comes_first():
    small = demand(demand_id="dmd-small", quantity=100, required_certificates=["halal"])
    sydney_like = demand(demand_id="dmd-big-halal", quantity=900, required_certificates=["halal"])
    _, opened = opportunities(
        offer(certificates=("pirt",)).product, ["certificate.halal"], prospects(small, sydney_like), TERMS
    )
    [halal] = opened
    assert halal.requests == 2 and halal.units == 100 + 900
    [eur] = halal.value
    assert eur.currency == "EUR" and eur.minor_units > 0
    assert halal.value_idr == pytest.approx(eur.minor_units / 100 * RATE.idr_per["EUR"], rel=0.01)

    with_capacity_too, _ = opportunities(offer(certificates=("pirt", "halal")).product, [], prospects(small), TERMS)
    assert with_capacity_too is not None and with_capacity_too.units == 100


def test_closing_a_gap_changes_only_what_it_names():
    product = offer(certificates=("pirt",), capacity=60).product
    halal = closed(product, "certificate.halal", TODAY)
    assert halal is not None and {c.kind for c in halal.certificates} == {"pirt", "halal"}
    assert halal.monthly_capacity == 60
    more = closed(product, "capacity.below_typical_order", TODAY)
    assert more is not None and more.monthly_capacity == 120 and more.certificates == product.certificates
    assert closed(product, "track_record.none", TODAY) is None
