"""Idempotency-Key on every POST (ekspora_kit.idempotency), on a real service and store: a client
that never heard the answer sends again and gets the first answer, and nothing is created twice."""

import asyncio

import httpx

from tests.integration.support import OPERATOR


def cohort(region: str, name: str = "UMKM Kita Bisa 2026/1") -> dict:
    return {"region": region, "name": name, "starts_on": "2026-12-07"}


async def test_a_repeated_post_gets_the_first_answer_and_creates_nothing_twice(platform):
    registry = platform.start("registry")
    async with httpx.AsyncClient(base_url=registry.url, headers=OPERATOR, timeout=10) as client:
        key = {"Idempotency-Key": "cohort-2026-1-attempt"}
        first = await client.post("/cohorts", json=cohort(platform.region), headers=key)
        again = await client.post("/cohorts", json=cohort(platform.region), headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers

        other = await client.post("/cohorts", json=cohort(platform.region, "Another name"), headers=key)
        assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"

        at_once = await asyncio.gather(
            *(
                client.post("/cohorts", json=cohort(platform.region, "At once"), headers={"Idempotency-Key": "same"})
                for _ in range(4)
            )
        )
        assert sorted({r.status_code for r in at_once}) in ([201], [201, 409]), [r.text for r in at_once]
        made = {r.json()["cohort_id"] for r in at_once if r.status_code == 201}
        assert len(made) == 1, "one cohort however many arrive at once"

        listed = (await client.get("/cohorts", params={"region": platform.region})).json()
        assert sorted(c["name"] for c in listed) == ["At once", "UMKM Kita Bisa 2026/1"]

        incomplete = {"region": platform.region}
        refused = await client.post("/cohorts", json=incomplete, headers={"Idempotency-Key": "incomplete"})
        again = await client.post("/cohorts", json=incomplete, headers={"Idempotency-Key": "incomplete"})
        assert refused.status_code == again.status_code == 422, "a refusal is an answer too"
        assert again.json() == refused.json() and again.headers["Idempotent-Replayed"] == "true"
        bad_key = await client.post("/cohorts", json=cohort(platform.region), headers={"Idempotency-Key": "spasi ada"})
        assert bad_key.status_code == 422 and bad_key.json()["errors"][0]["field"] == "Idempotency-Key"

    async with httpx.AsyncClient(base_url=registry.url, headers={"Authorization": "Bearer someone-else"}) as other:
        assert (await other.post("/cohorts", json=cohort(platform.region), headers=key)).status_code == 401, (
            "another caller's same key is its own, and it is not signed in"
        )
