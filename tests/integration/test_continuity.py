"""Keberlanjutan on the real broker and store: a standing interest places its first order at once and
its second a month later (matching restarted with its clock a month on), offered to the supplier
confirmed the first time; a confirmed order reordered in one call goes to the same maker first."""

from datetime import UTC, datetime, timedelta

import pytest

from ekspora_kit.clock import Clock
from ekspora_matching.domain.continuity import months_later
from tests.integration.support import eventually
from tests.integration.test_matching import RFQ, Matching, matching_env, proposals
from tests.integration.test_registry import Registry

pytestmark = pytest.mark.clock  # a month later is a date: CI runs it at shifted hours

CLOCK = Clock.from_environment()
SOLD = {
    "units_sold": 0,
    "revenue_amount": 90_000,
    "revenue_currency": "EUR",
    "returns": 0,
    "rating": 5,
    "will_reorder": True,
}
MONTHLY = {**RFQ, "kind": "standing_interest", "schedule": "monthly", "needed_within_days": 45, "quantity": 300}


async def orders_of(client, interest_id: str, count: int) -> list[dict]:
    async def placed():
        found = [d for d in (await client.get("/demands")).json() if d.get("repeats") == interest_id]
        return sorted(found, key=lambda d: d["demand_id"]) if len(found) >= count else None

    return await eventually(placed, what=f"{count} order(s) placed by {interest_id}")


async def confirmed(matching: Matching, partner, demand_id: str) -> dict:
    [proposal] = await eventually(lambda: proposals(partner, demand_id=demand_id), what=f"a proposal for {demand_id}")
    for side in (partner, matching.operator):
        assert (await side.post(f"/matches/{proposal['match_id']}/acceptance")).status_code == 200
    return proposal


async def test_a_standing_interest_places_its_second_monthly_order_with_the_same_supplier(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    env = matching_env(platform.region)
    first = platform.start("matching", env=env)
    matching = Matching(first.url, platform)
    _, partner = await matching.verified_partner()
    _, product_id = await registry.umkm(certificates=("pirt", "halal"))

    posted = await partner.post("/demands", json=MONTHLY)
    assert posted.status_code == 201, posted.text
    interest = posted.json()
    next_month = months_later(CLOCK.now().date(), 1)
    assert (interest["orders_placed"], interest["next_order_on"]) == (1, next_month.isoformat())
    [order] = await orders_of(partner, interest["demand_id"], 1)
    assert (order["kind"], order["origin"], order["quantity"]) == ("rfq", "recurring", 300)
    assert order["needed_by"] == (CLOCK.now().date() + timedelta(days=45)).isoformat()
    assert (await proposals(partner, demand_id=interest["demand_id"])) == [], "the interest itself gets none"
    await confirmed(matching, partner, order["demand_id"])

    first.stop()
    # The same matching a month later (its clock shifted), at whatever hour it is now.
    next_day = datetime.combine(next_month, CLOCK.now().time(), UTC)
    shifted = {**env, "EKSPORA_CLOCK_OFFSET_SECONDS": str(CLOCK.offset_to(next_day))}
    operator = Matching(platform.start("matching", env=shifted).url, platform).operator

    _, second = await orders_of(operator, interest["demand_id"], 2)
    assert second["demand_id"] == f"{interest['demand_id']}-2" and second["preferred_products"] == [product_id]
    [proposal] = await eventually(
        lambda: proposals(operator, demand_id=second["demand_id"]), what="the second order's proposal"
    )
    assert proposal["terms"]["product_id"] == product_id and proposal["terms"]["quantity"] == 300


async def test_a_confirmed_order_is_reordered_in_one_call_and_goes_to_the_same_maker(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    _, partner = await matching.verified_partner()
    await registry.umkm(certificates=("pirt", "halal"))
    posted = await partner.post("/demands", json={**RFQ, "required_certificates": [], "quantity": 300})
    first = await confirmed(matching, partner, posted.json()["demand_id"])
    await registry.umkm(certificates=("pirt", "halal"))  # another maker that could make it all

    needed_by = (CLOCK.now().date() + timedelta(days=60)).isoformat()
    refused = await partner.post(f"/matches/{first['match_id']}/reorder", json={"needed_by": "2020-01-01"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "needed_by"
    again = await partner.post(f"/matches/{first['match_id']}/reorder", json={"needed_by": needed_by})
    assert again.status_code == 201, again.text
    reorder = again.json()
    assert (reorder["origin"], reorder["repeats"], reorder["quantity"]) == ("reorder", first["match_id"], 300)
    [proposal] = await eventually(
        lambda: proposals(partner, demand_id=reorder["demand_id"]), what="the reorder's proposal"
    )
    assert proposal["terms"]["product_id"] == first["terms"]["product_id"], "the same maker first"
    assert proposal["terms"]["repeat"] and not first["terms"]["repeat"]

    for side in (partner, matching.operator):
        assert (await side.post(f"/matches/{proposal['match_id']}/acceptance")).status_code == 200
    sold = {**SOLD, "units_sold": 280}
    assert (await partner.post(f"/matches/{proposal['match_id']}/sales-reports", json=sold)).status_code == 201
    msme_id = proposal["terms"]["msme_id"]

    async def counted():
        record = (await registry.client.get(f"/msmes/{msme_id}")).json()["track_record"]
        return record if record["repeat_orders"] == 1 else None

    record = await eventually(counted, what="the repeat order in the UMKM's track record")
    assert record["reports"] == 1 and record["units_sold"] == 280


async def test_the_partner_names_the_suppliers_of_its_standing_interest(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    _, partner = await matching.verified_partner()
    _, product_id = await registry.umkm(certificates=("pirt", "halal"))
    interest = (await partner.post("/demands", json=MONTHLY)).json()
    [order] = await orders_of(partner, interest["demand_id"], 1)

    changed = await partner.patch(f"/demands/{interest['demand_id']}", json={"preferred_products": [product_id]})
    assert changed.status_code == 200 and changed.json()["preferred_products"] == [product_id]
    not_kept = await partner.patch(f"/demands/{order['demand_id']}", json={"preferred_products": [product_id]})
    assert not_kept.status_code == 422 and not_kept.json()["errors"][0]["field"] == "preferred_products"
    assert (await partner.patch(f"/demands/{interest['demand_id']}", json={})).status_code == 422
    wrong = await partner.post("/demands", json={**MONTHLY, "kind": "rfq"})
    assert wrong.status_code == 422 and "only a standing interest has a schedule" in wrong.text
