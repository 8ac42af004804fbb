"""Keberlanjutan: a standing interest's recurring orders and one-call reorders. Each is a plain
request for quotation that repeats an earlier one and offers the same suppliers their part first;
there is no cap on how often a product and a partner trade."""

import calendar
from datetime import date, timedelta

from ekspora_contracts.matching import MatchTerms, Schedule
from ekspora_kit.domain import NotAllowed
from ekspora_matching.domain.scoring import Evaluation
from ekspora_matching.domain.views import Demand

MONTHS: dict[Schedule, int] = {"monthly": 1, "quarterly": 3}
DEFAULT_NEEDED_WITHIN_DAYS = 60


def months_later(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 January: 28 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def recurring_order(interest: Demand, today: date, suppliers: list[str]) -> tuple[Demand, Demand] | None:
    """The order a standing interest places when its day has come, and the interest moved on to its next
    day (days missed while nothing ran are skipped, not placed late); None when nothing is due.
    `suppliers`: the products confirmed in its last order, offered first unless the partner named others."""
    if interest.schedule is None or interest.status != "open" or interest.next_order_on is None:
        return None
    if interest.next_order_on > today:
        return None
    number = interest.orders_placed + 1
    within = interest.needed_within_days or DEFAULT_NEEDED_WITHIN_DAYS
    order = interest.model_copy(
        update={
            "demand_id": f"{interest.demand_id}-{number}",
            "version": 1,
            "kind": "rfq",
            "schedule": None,
            "needed_within_days": None,
            "next_order_on": None,
            "orders_placed": 0,
            "needed_by": today + timedelta(days=within),
            "origin": "recurring",
            "repeats": interest.demand_id,
            "preferred_products": interest.preferred_products or suppliers,
        }
    )
    following = interest.next_order_on
    while following <= today:
        following = months_later(following, MONTHS[interest.schedule])
    moved = interest.model_copy(
        update={"orders_placed": number, "next_order_on": following, "version": interest.version + 1}
    )
    return order, moved


def previous_order_id(interest: Demand) -> str | None:
    return f"{interest.demand_id}-{interest.orders_placed}" if interest.orders_placed else None


def reorder(
    original: Demand, terms: MatchTerms, status: str, demand_id: str, needed_by: date, quantity: int | None
) -> Demand:
    """A new request repeating a confirmed order: the same product first, the same terms of trade."""
    if status != "confirmed":
        raise NotAllowed(f"match {terms.match_id} is {status}: only a confirmed order can be reordered")
    return original.model_copy(
        update={
            "demand_id": demand_id,
            "version": 1,
            "kind": "rfq",
            "status": "open",
            "schedule": None,
            "needed_within_days": None,
            "next_order_on": None,
            "orders_placed": 0,
            "quantity": quantity or terms.quantity,
            "needed_by": needed_by,
            "origin": "reorder",
            "repeats": terms.match_id,
            "preferred_products": [terms.product_id],
        }
    )


def preferred_first(ranked: list[Evaluation], preferred: list[str]) -> list[Evaluation]:
    """The same suppliers first, each in its rank, then the others in theirs."""
    return sorted(ranked, key=lambda evaluation: evaluation.offer.product.product_id not in preferred)
