"""Keberlanjutan: a standing interest's recurring orders and one-call reorders, in tables."""

from datetime import date, timedelta

import pytest

from ekspora_kit.domain import NotAllowed
from ekspora_matching import domain
from ekspora_matching.domain.continuity import months_later
from tests.unit.test_matching_domain import NOW, demand, evaluate, offer, whole

TODAY = date(2026, 12, 3)


def interest(**overrides) -> domain.Demand:
    fields = dict(
        demand_id="dmd-si",
        kind="standing_interest",
        schedule="monthly",
        needed_within_days=45,
        next_order_on=TODAY,
    )
    return demand(**(fields | overrides))


@pytest.mark.parametrize(
    ("day", "months", "later"),
    [
        (date(2026, 12, 3), 1, date(2027, 1, 3)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 12, date(2027, 12, 15)),
    ],
)
def test_a_month_later_is_the_same_day_or_the_months_last(day, months, later):
    assert months_later(day, months) == later


def test_a_standing_interest_places_its_order_on_its_day_and_moves_on_a_month():
    assert domain.recurring_order(interest(next_order_on=TODAY + timedelta(days=1)), TODAY, []) is None
    order, moved = domain.recurring_order(interest(), TODAY, ["prd-a"])
    assert (order.demand_id, order.kind, order.origin, order.repeats) == ("dmd-si-1", "rfq", "recurring", "dmd-si")
    assert (order.quantity, order.needed_by, order.schedule) == (600, TODAY + timedelta(days=45), None)
    assert order.preferred_products == ["prd-a"], "the same suppliers as last time"
    assert (moved.orders_placed, moved.next_order_on, moved.version) == (1, date(2027, 1, 3), 2)
    second, _ = domain.recurring_order(moved, date(2027, 1, 3), [])
    assert second.demand_id == "dmd-si-2" and domain.previous_order_id(moved) == "dmd-si-1"


@pytest.mark.parametrize(
    ("changes", "today", "placed"),
    [
        ({"status": "closed"}, TODAY, False),
        ({"schedule": None}, TODAY, False),
        ({"schedule": "quarterly"}, TODAY, True),
        ({}, TODAY - timedelta(days=1), False),
    ],
)
def test_only_an_open_scheduled_interest_whose_day_has_come_places_an_order(changes, today, placed):
    assert (domain.recurring_order(interest(**changes), today, []) is not None) is placed


def test_days_missed_are_skipped_and_the_partners_own_suppliers_win():
    order, moved = domain.recurring_order(
        interest(schedule="quarterly", preferred_products=["prd-b"]), date(2027, 7, 10), ["prd-a"]
    )
    assert moved.next_order_on == date(2027, 9, 3) and moved.orders_placed == 1
    assert order.preferred_products == ["prd-b"]


def test_a_confirmed_order_is_reordered_with_its_product_first_and_others_are_refused():
    proposed = domain.propose(None, whole(evaluate()), "kota-kediri", NOW, timedelta(days=7)).pair.current
    with pytest.raises(NotAllowed, match="only a confirmed order can be reordered"):
        domain.reorder(demand(), proposed.terms, "proposed", "dmd-2", TODAY, None)
    again = domain.reorder(demand(), proposed.terms, "confirmed", "dmd-2", TODAY + timedelta(days=60), 800)
    assert (again.demand_id, again.origin, again.repeats, again.quantity) == (
        "dmd-2",
        "reorder",
        proposed.match_id,
        800,
    )
    assert again.preferred_products == [proposed.terms.product_id] and again.status == "open"


def test_a_scheduled_interest_gets_no_proposals_itself():
    assert "served by the orders it places" in evaluate(d=interest()).reason


def test_the_same_suppliers_come_first_each_in_its_rank():
    ranked = [evaluate(o=offer(product_id=f"prd-{name}")) for name in "abc"]
    ordered = domain.preferred_first(ranked, ["prd-c", "prd-b"])
    assert [e.offer.product.product_id for e in ordered] == ["prd-b", "prd-c", "prd-a"]


def test_an_order_placed_again_is_marked_and_its_sales_count_as_a_repeat_order():
    def confirmed_for(d):
        pair = domain.propose(None, whole(evaluate(d=d)), "kota-kediri", NOW, timedelta(days=7)).pair
        match = pair.current.match_id
        for side in ("partner", "msme"):
            pair = domain.accept(pair, match, side, NOW, 600, None).pair
        return pair, match

    sold = domain.SalesReport(
        units_sold=500, revenue_amount=90_000, revenue_currency="EUR", returns=0, rating=5, will_reorder=True
    )
    for origin, repeat in (("posted", False), ("recurring", True), ("reorder", True)):
        pair, match = confirmed_for(demand(origin=origin))
        assert pair.current.terms.repeat is repeat
        [event] = domain.report_sales(pair, match, sold, "rep-1", NOW).events
        assert event.repeat_order is repeat
