"""The region's export funnel from what the services answer, without I/O: how many UMKM are at each
step, and the value of confirmed orders per destination."""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

STEPS = (
    "registered",
    "siap",
    "setengah",
    "didorong",
    "incubation",
    "graduated",
    "proposed",
    "matched",
    "shipped",
    "delivered",
    "reordered",
)
DEPARTED = frozenset({"departed", "arrived", "import_cleared", "out_for_delivery", "delivered"})


@dataclass(frozen=True)
class Step:
    key: str
    count: int
    share: float  # of the widest step, for the bar's length


@dataclass(frozen=True)
class Value:
    country: str
    currency: str
    orders: int
    minor_units: int
    repeats: int


def steps(registry: dict[str, Any], matches: list[dict], shipments: list[dict]) -> list[Step]:
    """`registry` is the registry's funnel of the region: registered, tiers, in_incubation, graduated."""
    orders = [order for view in shipments for order in view["shipment"]["orders"]]
    shipped = [
        order for view in shipments if view["shipment"]["status"] in DEPARTED for order in view["shipment"]["orders"]
    ]
    counts = {
        "registered": registry["registered"],
        **{tier: registry["tiers"].get(tier, 0) for tier in ("siap", "setengah", "didorong")},
        "incubation": registry["in_incubation"],
        "graduated": registry["graduated"],
        "proposed": len({m["terms"]["msme_id"] for m in matches if m["status"] == "proposed"}),
        "matched": len({m["terms"]["msme_id"] for m in matches if m["status"] == "confirmed"}),
        "shipped": len({order["line"]["msme_id"] for order in shipped}),
        "delivered": len({order["line"]["msme_id"] for order in orders if order.get("delivered_at")}),
        "reordered": len(ordered_again(matches)),
    }
    widest = max(counts.values()) or 1
    return [Step(key, counts[key], counts[key] / widest) for key in STEPS]


def ordered_again(matches: list[dict]) -> set[str]:
    """The UMKM a partner ordered from again: confirmed orders of one partner from one UMKM for more
    than one of the partner's requests."""
    requests: dict[tuple[str, str], set[str]] = defaultdict(set)
    for match in matches:
        if match["status"] == "confirmed":
            terms = match["terms"]
            requests[(terms["msme_id"], terms["partner_id"])].add(terms["demand_id"])
    return {msme for (msme, _), asked in requests.items() if len(asked) > 1}


def export_values(matches: list[dict]) -> list[Value]:
    """Confirmed orders' value per destination country and currency, largest first, and how many of
    the orders a partner placed again (recurring or reordered)."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for match in matches:
        if match["status"] != "confirmed":
            continue
        terms: dict[str, Any] = match["terms"]
        total = totals[(terms["destination_country"], terms["currency"])]
        total[0] += 1
        total[1] += terms["quantity"] * terms["unit_price"]
        total[2] += int(terms.get("repeat", False))
    values = [Value(country, currency, n, units, again) for (country, currency), (n, units, again) in totals.items()]
    return sorted(values, key=lambda value: -value.minor_units)
