"""Requests filled by several UMKM, on the real broker and store: one RFQ of 600 from three makers of
200, accepted as one offer and shipped together; a confirmation past the request refused; a declined
part filled by the next maker."""

from datetime import timedelta

import httpx
import pytest

from ekspora_kit.clock import Clock
from tests.integration.support import OPERATOR, eventually
from tests.integration.test_matching import Matching, matching_env
from tests.integration.test_orders_stay_true import post
from tests.integration.test_registry import TAHU, Registry

pytestmark = pytest.mark.clock  # needed-by dates and production windows are dates: CI runs it at shifted hours

CLOCK = Clock.from_environment()
SMALL_MAKER = {**TAHU, "monthly_capacity": 200}


def month_of_production() -> str:
    """Needed by then, a tahu maker (it flies: 12 days of waiting, cutoff and transit) has 30 days."""
    return (CLOCK.now().date() + timedelta(days=42)).isoformat()


async def offer_of(client, demand_id: str, **expected) -> dict:
    seen: list[dict] = [{}]

    async def reached():
        seen[0] = (await client.get(f"/demands/{demand_id}/offer")).json()
        return seen[0] if all(seen[0].get(k) == v for k, v in expected.items()) else None

    try:
        return await eventually(reached, what=f"the offer for {demand_id} with {expected}")
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; the offer was {seen[0]}") from None


async def makers(registry: Registry, count: int) -> list[str]:
    return [(await registry.umkm(product=SMALL_MAKER, certificates=("pirt", "halal")))[1] for _ in range(count)]


async def test_three_makers_of_200_fill_an_rfq_of_600_and_ship_together(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    shipping = platform.start("shipping")
    partner_id, partner = await matching.verified_partner()
    products = await makers(registry, 3)
    demand_id = await post(partner, quantity=600, needed_by=month_of_production())

    offer = await offer_of(partner, demand_id, proposed=600)
    assert (offer["requested"], offer["confirmed"], offer["remaining"]) == (600, 0, 0)
    assert sorted(p["terms"]["product_id"] for p in offer["parts"]) == sorted(products)
    assert [p["terms"]["quantity"] for p in offer["parts"]] == [200, 200, 200]
    for part in offer["parts"]:
        capacity = next(b for b in part["breakdown"] if b["criterion"] == "capacity")
        assert capacity["reason_en"].startswith("Can supply 200 of the 600 still needed")

    accepted = await partner.post(f"/demands/{demand_id}/offer/acceptance", json={})
    assert accepted.status_code == 200 and {p["accepted_by"][0] for p in accepted.json()["parts"]} == {"partner"}
    for part in offer["parts"]:
        assert (await matching.operator.post(f"/matches/{part['match_id']}/acceptance")).status_code == 200
    confirmed = await offer_of(partner, demand_id, confirmed=600)
    assert (confirmed["proposed"], confirmed["remaining"]) == (0, 0)

    async with httpx.AsyncClient(base_url=shipping.url, headers=OPERATOR) as operator:

        async def orders():
            found = (await operator.get("/orders", params={"partner_id": partner_id})).json()
            return found if len(found) == 3 else None

        shipped = await eventually(orders, what="three orders from the three parts")
    assert {o["order"]["quantity"] for o in shipped} == {200} and {o["order"]["partner_id"] for o in shipped} == {
        partner_id
    }
    assert len({o["shipment_id"] for o in shipped}) == 1, "one consignment to the partner, consolidated"


async def test_a_confirmation_past_the_request_is_refused_and_a_decline_is_filled_by_the_next_maker(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    _, partner = await matching.verified_partner()
    await makers(registry, 3)
    demand_id = await post(partner, quantity=400, needed_by=month_of_production())
    offer = await offer_of(partner, demand_id, proposed=400)
    first, second = offer["parts"]

    declined = await matching.operator.post(f"/matches/{first['match_id']}/decline", json={"reason": "kapasitas penuh"})
    assert declined.json()["status"] == "declined"
    refilled = await offer_of(partner, demand_id, proposed=400)
    assert len([p for p in refilled["parts"] if p["status"] == "proposed"]) == 2, "the third maker took its part"

    lowered = await partner.patch(f"/demands/{demand_id}", json={"quantity": 300})
    assert lowered.status_code == 200 and lowered.json()["quantity"] == 300
    await offer_of(partner, demand_id, requested=300)
    open_parts = [p for p in (await offer_of(partner, demand_id, requested=300))["parts"] if p["status"] == "proposed"]
    for part in open_parts:
        assert (await partner.post(f"/matches/{part['match_id']}/acceptance")).status_code == 200
    assert (await matching.operator.post(f"/matches/{open_parts[0]['match_id']}/acceptance")).status_code == 200
    refused = await matching.operator.post(f"/matches/{open_parts[1]['match_id']}/acceptance")
    assert refused.status_code == 409
    assert "only 100 of it are not confirmed yet" in refused.json()["message"]
    final = await offer_of(partner, demand_id, confirmed=200)
    assert final["requested"] == 300 and second["match_id"] in {p["match_id"] for p in final["parts"]}
