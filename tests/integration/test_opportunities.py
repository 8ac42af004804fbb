"""Demand-driven incubation on the real broker and store: a partner's request for halal tahu moves
halal certification to the top of a not-ready maker's next steps, with the request it would open;
closing the request puts the steps back."""

import json

import pytest

from ekspora_contracts.topics import MATCHING_OPPORTUNITIES
from tests.integration.support import eventually, read_topic
from tests.integration.test_matching import RFQ, Matching, matching_env
from tests.integration.test_orders_stay_true import needed_in
from tests.integration.test_registry import Registry

pytestmark = pytest.mark.clock  # needed-by dates are dates: CI runs it at shifted hours


async def test_posting_a_request_reorders_a_not_ready_makers_next_steps_by_the_demand_it_would_open(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    _, partner = await matching.verified_partner()
    msme_id, product_id = await registry.umkm(certificates=())  # no food permit, no halal: not ready

    async def road(first: str):
        msme = await registry.get(msme_id)
        advice = msme["assessment"]["road"]
        return advice if advice["next_steps"][0]["code"] == first else None

    before = await eventually(lambda: road("certificate.pirt|bpom_md"), what="the permit first")
    assert before["road"] == "incubate_first" and before["unlocked"] == []
    assert [s["code"] for s in before["next_steps"][:2]] == ["certificate.pirt|bpom_md", "certificate.halal"]

    posted = await partner.post("/demands", json={**RFQ, "quantity": 400, "needed_by": needed_in(42)})
    assert posted.status_code == 201, posted.text
    demand_id = posted.json()["demand_id"]

    after = await eventually(lambda: road("certificate.halal"), what="halal first once a request needs it")
    assert [s["code"] for s in after["next_steps"][:2]] == ["certificate.halal", "certificate.pirt|bpom_md"]
    [halal] = after["unlocked"]
    assert (halal["gap_code"], halal["requests"], halal["demand_ids"]) == ("certificate.halal", 1, [demand_id])
    assert halal["units"] == 400 and halal["value"][0]["currency"] == "EUR" and halal["value_idr"] > 0
    product = next(p for p in (await registry.get(msme_id))["products"] if p["product_id"] == product_id)
    assert product["unlocked"][0]["demand_ids"] == [demand_id]

    selected = await registry.ok("GET", f"/opportunities?region={platform.region}&gap_code=certificate.halal")
    assert [(row["msme_id"], row["product_id"], row["requests"]) for row in selected] == [(msme_id, product_id, 1)]
    assert selected[0]["next_step_en"] == "Apply for a halal certificate with BPJPH"
    assert await registry.ok("GET", f"/opportunities?region={platform.region}&gap_code=certificate.svlk") == []

    records = await read_topic(platform.topic(MATCHING_OPPORTUNITIES), at_least=1)
    published = [json.loads(r.value) for r in records]
    assert {e["subject"] for e in published} == {product_id}
    assert published[-1]["data"]["opportunities"][0]["gap_code"] == "certificate.halal"

    closed = await partner.post(f"/demands/{demand_id}/closure")
    assert closed.status_code == 200, closed.text
    again = await eventually(lambda: road("certificate.pirt|bpom_md"), what="the permit first again")
    assert again["unlocked"] == []
    assert await registry.ok("GET", f"/opportunities?region={platform.region}") == []
