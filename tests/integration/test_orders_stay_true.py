"""Orders that stay true, on the real broker and store: capacity held by proposals and confirmed orders,
proposals withdrawn when their product leaves export, and requests closed at their needed-by date."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from ekspora_contracts.topics import MATCHING_MATCH
from ekspora_kit.clock import Clock
from tests.integration.support import eventually, read_topic
from tests.integration.test_matching import RFQ, Matching, matching_env, proposals
from tests.integration.test_registry import TAHU, Registry

pytestmark = pytest.mark.clock  # needed-by dates and production windows are dates: CI runs it at shifted hours

CLOCK = Clock.from_environment()


def needed_in(days: int) -> str:
    return (CLOCK.now().date() + timedelta(days=days)).isoformat()


async def proposed_products(partner, demand_id: str, count: int) -> list[str]:
    async def made():
        found = await proposals(partner, demand_id=demand_id, status="proposed")
        return found if len(found) >= count else None

    return sorted(p["terms"]["product_id"] for p in await eventually(made, what=f"{count} proposal(s) for {demand_id}"))


async def post(partner, **changes) -> str:
    response = await partner.post("/demands", json={**RFQ, "required_certificates": [], **changes})
    assert response.status_code == 201, response.text
    return response.json()["demand_id"]


async def test_capacity_is_held_so_the_next_request_goes_to_someone_else_until_a_decline_frees_it(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    _, partner = await matching.verified_partner()
    # Needed in 57 days; tahu keeps 30 days, so it flies: production ends 12 days before (a week's wait
    # for the departure, the cutoff and the transit), and 1,200 a month over 45 days makes 1,800.
    _, small = await registry.umkm(certificates=("pirt", "halal"))
    window = needed_in(57)

    first = await post(partner, quantity=1_000, needed_by=window)
    [confirmed] = await eventually(lambda: proposals(partner, demand_id=first), what="a proposal")
    assert confirmed["terms"]["product_id"] == small and confirmed["ready_by"] == needed_in(45)
    for side in (partner, matching.operator):
        assert (await side.post(f"/matches/{confirmed['match_id']}/acceptance")).status_code == 200
    second = await post(partner, quantity=800, needed_by=window)
    [held] = await proposed_products(partner, second, 1)
    assert held == small, "800 of its 1,800 are still free"

    # 400 a month makes 600 in the window: the next request takes all of it
    _, large = await registry.umkm(product={**TAHU, "monthly_capacity": 400}, certificates=("pirt", "halal"))
    third = await post(partner, quantity=600, needed_by=window)
    assert await proposed_products(partner, third, 1) == [large], "nothing free: the small maker is not proposed again"
    match = (await partner.get(f"/matches?demand_id={third}")).json()[0]
    capacity = next(p for p in match["breakdown"] if p["criterion"] == "capacity")
    assert "600 units free by" in capacity["reason_en"] and "600 unit bebas sampai" in capacity["reason_id"]

    [second_proposal] = await proposals(partner, demand_id=second)
    declined = await matching.operator.post(f"/matches/{second_proposal['match_id']}/decline", json={"reason": "-"})
    assert declined.json()["status"] == "declined"
    fourth = await post(partner, quantity=600, needed_by=window)
    assert await proposed_products(partner, fourth, 1) == [small], "the decline freed 800; the other maker is full"


async def one_proposal(platform) -> tuple:
    """An UMKM whose product is proposed for a request of 300: (registry, matching, partner, UMKM id,
    product id, the proposal)."""
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    _, partner = await matching.verified_partner()
    msme_id, product_id = await registry.umkm(certificates=("pirt", "halal"))
    demand_id = await post(partner, quantity=300)
    [proposal] = await eventually(lambda: proposals(partner, demand_id=demand_id), what="a proposal")
    return registry, matching, partner, msme_id, product_id, proposal


async def test_open_proposals_are_withdrawn_when_the_umkm_withdraws_and_cannot_be_accepted(platform):
    registry, matching, partner, msme_id, product_id, proposal = await one_proposal(platform)
    assert (await partner.post(f"/matches/{proposal['match_id']}/acceptance")).status_code == 200

    withdrawn = await registry.client.request("DELETE", f"/msmes/{msme_id}", json={"reason": "usaha tutup"})
    assert withdrawn.status_code == 200, withdrawn.text

    await eventually(lambda: _with_status(partner, proposal["match_id"], "withdrawn"), what="the proposal withdrawn")
    refused = await matching.operator.post(f"/matches/{proposal['match_id']}/acceptance")
    assert refused.status_code == 409 and "withdrawn" in refused.json()["message"]
    events = [json.loads(r.value) for r in await read_topic(platform.topic(MATCHING_MATCH), at_least=2)]
    [event] = [e for e in events if e["subject"] == proposal["match_id"] and e["type"].endswith("withdrawn.v1")]
    assert event["data"]["reason_code"] == "product_not_ready"
    assert "usaha tutup" in event["data"]["reason_en"] and event["data"]["terms"]["product_id"] == product_id


async def test_an_open_proposal_is_withdrawn_when_its_product_loses_export_readiness(platform):
    registry, _, partner, msme_id, product_id, proposal = await one_proposal(platform)

    # without its halal certificate the UMKM is no longer siap, so the product is no longer export-ready
    removed = await registry.client.delete(f"/msmes/{msme_id}/products/{product_id}/certificates/halal")
    assert removed.status_code == 200, removed.text
    match = await eventually(
        lambda: _with_status(partner, proposal["match_id"], "withdrawn"), what="the proposal withdrawn"
    )
    assert match["terms"]["product_id"] == product_id
    refused = await partner.post(f"/matches/{proposal['match_id']}/acceptance")
    assert refused.status_code == 409 and "withdrawn" in refused.json()["message"]
    events = [json.loads(r.value) for r in await read_topic(platform.topic(MATCHING_MATCH), at_least=2)]
    [event] = [e for e in events if e["subject"] == proposal["match_id"] and e["type"].endswith("withdrawn.v1")]
    assert event["data"]["reason_code"] == "product_not_ready"


async def test_a_request_closes_at_its_needed_by_date_and_its_open_proposals_are_withdrawn(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    env = matching_env(platform.region, EKSPORA_PROPOSAL_EXPIRY_DAYS="60")
    first = platform.start("matching", env=env)
    matching = Matching(first.url, platform)
    _, partner = await matching.verified_partner()
    await registry.umkm(certificates=("pirt", "halal"))
    needed_by = needed_in(20)
    demand_id = await post(partner, quantity=300, needed_by=needed_by)
    [proposal] = await eventually(lambda: proposals(partner, demand_id=demand_id), what="a proposal")
    assert [d["status"] for d in (await partner.get("/demands")).json()] == ["open"]

    first.stop()
    # The same matching, restarted on the needed-by date (its clock shifted), at whatever hour it is now.
    arrived = datetime.combine(datetime.fromisoformat(needed_by).date(), CLOCK.now().time(), UTC)
    offset = CLOCK.offset_to(arrived)
    matching = Matching(
        platform.start("matching", env={**env, "EKSPORA_CLOCK_OFFSET_SECONDS": str(offset)}).url, platform
    )
    operator = matching.operator  # a partner's signed token would read as expired to the shifted clock

    async def closed():
        demands = (await operator.get("/demands")).json()
        return [d["status"] for d in demands if d["demand_id"] == demand_id] == ["closed"]

    await eventually(closed, what="the request closed at its needed-by date")
    match = await eventually(
        lambda: _with_status(operator, proposal["match_id"], "withdrawn"), what="its open proposal withdrawn"
    )
    assert match["status"] == "withdrawn"
    events = [json.loads(r.value) for r in await read_topic(platform.topic(MATCHING_MATCH), at_least=2)]
    [event] = [e for e in events if e["subject"] == proposal["match_id"] and e["type"].endswith("withdrawn.v1")]
    assert event["data"]["reason_code"] == "demand_closed"


async def _with_status(client, match_id: str, status: str) -> dict | None:
    match = (await client.get(f"/matches/{match_id}")).json()
    return match if match["status"] == status else None
