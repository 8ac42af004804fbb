"""Mentors on real processes, broker and store: each signs in with an account of its own (identity's
role mentor), reads its region, and takes attendance and records milestones with their evidence in
the cohorts it mentors, and nowhere else; whatever it records says it was them."""

import asyncio
from datetime import timedelta

import httpx

from ekspora_ops.people import add_mentor, add_person, person_token
from tests.factories import CLOCK, scanned_pdf
from tests.integration.support import OPERATOR_TOKEN, eventually
from tests.integration.test_identity import PASSWORD, person, signed_in
from tests.integration.test_registry import Registry

SITI = {"name": "Siti Rahmah", "organisation": "Bank Indonesia Kediri", "email": "siti.rahmah@bi.example"}
BUDI = {"name": "Budi Santoso", "organisation": "Kadin Kota Kediri", "email": "budi@kadin.example"}


async def cohort_of_two(registry: Registry, region: str, name: str) -> tuple[dict, list[str]]:
    cohort = await registry.ok(
        "POST", "/cohorts", {"region": region, "name": name, "starts_on": CLOCK.today("Asia/Jakarta").isoformat()}
    )
    members = [(await registry.umkm(verified=False, listings=0, certificates=()))[0] for _ in range(2)]
    for msme_id in members:
        await registry.ok("POST", f"/cohorts/{cohort['cohort_id']}/enrollments", {"msme_id": msme_id})
    return cohort, members


async def an_operator_makes_a_mentor(identity_url: str, region: str) -> str:
    """Siti's account, as the region's operator makes it (and no other kind): her person id."""
    await add_person(identity_url, OPERATOR_TOKEN, person("operator", "sari@kediri.example", regions=[region]))
    sari = await person_token(identity_url, "sari@kediri.example", PASSWORD)
    async with signed_in(identity_url, sari) as operator:
        made = await operator.post("/people", json=person("mentor", "Siti.Rahmah@bi.example", regions=[region]))
        assert made.status_code == 201, made.text
        elsewhere = await operator.post("/people", json=person("mentor", "x@blitar.example", regions=["blitar"]))
        viewer = await operator.post("/people", json=person("viewer", "v@kediri.example", regions=[region]))
        assert (elsewhere.status_code, viewer.status_code) == (403, 403), "an operator makes its region's mentors only"
        found = (await operator.get("/people", params={"email": "SITI.RAHMAH@bi.example"})).json()
        assert [(p["person_id"], p["role"]) for p in found] == [(made.json()["person_id"], "mentor")]
    return str(made.json()["person_id"])


async def test_a_mentor_signs_in_and_coaches_only_the_cohorts_they_mentor(platform):
    identity, region = platform.identity(), platform.region
    registry = Registry(platform.start("registry").url, region)
    siti_id = await an_operator_makes_a_mentor(identity.url, region)
    mentored, (first, second) = await cohort_of_two(registry, region, "UMKM Kita Bisa 2026/4")
    other, (stranger, _) = await cohort_of_two(registry, region, "UMKM Kita Bisa 2026/5")
    with_siti = await add_mentor(identity.url, registry.client, OPERATOR_TOKEN, mentored, SITI, PASSWORD)
    assert [(m["name"], m["person_id"]) for m in with_siti["mentors"]] == [("Siti Rahmah", siti_id)]
    await add_mentor(identity.url, registry.client, OPERATOR_TOKEN, other, BUDI, PASSWORD)
    siti = await person_token(identity.url, SITI["email"], PASSWORD)

    starts = CLOCK.now() + timedelta(seconds=3)
    session = {"title": "Klinik halal", "starts_at": starts.isoformat(), "place": "Aula", "mentor": "Siti Rahmah"}
    session_id = (await registry.ok("POST", f"/cohorts/{mentored['cohort_id']}/sessions", session))["session"][
        "session_id"
    ]
    await asyncio.sleep(max(0.0, (starts - CLOCK.now()).total_seconds()) + 0.5)

    async with signed_in(registry.client.base_url, siti) as mentor:

        async def reads() -> bool:  # the registry learns identity's keys from the bus
            return (await mentor.get(f"/cohorts/{mentored['cohort_id']}")).status_code == 200

        await eventually(reads, timeout=30, what="the registry to take a mentor's token")
        attendance = f"/cohorts/{mentored['cohort_id']}/sessions/{session_id}/attendance"
        taken = await mentor.put(attendance, json={"present": [first]})
        assert taken.status_code == 200, taken.text
        assert {m["msme_id"]: m["sessions_attended"] for m in taken.json()} == {first: 1, second: 0}

        milestone = f"/msmes/{first}/incubation/milestones/halal_certification"
        photo = scanned_pdf("Sertifikat Halal ID35110000123450926")
        query = {"note": "Halal certificate issued through self-declare, seen at the clinic", "filename": "halal.pdf"}
        headers = {"Content-Type": "application/pdf"}
        for _ in range(2):  # the same upload again (a retry) records nothing more
            done = await mentor.put(f"{milestone}/evidence", params=query, content=photo, headers=headers)
            assert done.status_code == 200, done.text
        step = next(m for m in done.json()["incubation"]["milestones"] if m["code"] == "halal_certification")
        assert (step["completed_by"], step["recorded_by"], step["note"]) == (
            "operator",
            f"person:{siti_id}",
            query["note"],
        )
        assert (step["evidence"]["filename"], step["evidence"]["size"]) == ("halal.pdf", len(photo))
        kept = await registry.client.get(f"{milestone}/evidence")
        assert (kept.status_code, kept.content, kept.headers["content-type"]) == (200, photo, "application/pdf")
        noted = await mentor.post(f"/msmes/{second}/incubation/milestones/nib_verification/completion", json={})
        assert noted.status_code == 422 and noted.json()["errors"][0]["field"] == "note", "say what was seen"

        # not theirs: another cohort, an operator's change, a file that is not a scan
        other_attendance = await mentor.put(
            f"/cohorts/{other['cohort_id']}/sessions/ses-x/attendance", json={"present": []}
        )
        elsewhere = await mentor.post(
            f"/msmes/{stranger}/incubation/milestones/halal_certification/completion", json={"note": "seen it"}
        )
        enrol = await mentor.post(f"/cohorts/{mentored['cohort_id']}/enrollments", json={"msme_id": stranger})
        schedule = await mentor.post(f"/cohorts/{mentored['cohort_id']}/sessions", json=session)
        assert [r.status_code for r in (other_attendance, elsewhere, enrol, schedule)] == [403, 403, 403, 403]
        assert "do not mentor" in other_attendance.json()["message"]
        assert "mentor reads" in enrol.json()["message"]
        text = await mentor.put(
            f"/msmes/{second}/incubation/milestones/halal_certification/evidence",
            params=query,
            content=b"just words",
            headers={"Content-Type": "text/plain"},
        )
        assert text.status_code == 415
    view = await registry.ok("GET", f"/cohorts/{mentored['cohort_id']}")
    assert {m["msme_id"]: m["milestones_done"] for m in view["members"]} == {first: 1, second: 0}, "none half-done"
    [held] = view["sessions"]
    assert (held["session"]["session_id"], sorted(held["invited"]), held["attended"], held["begun"]) == (
        session_id,
        sorted([first, second]),
        [first],
        True,
    )
    budi_elsewhere = await person_token(identity.url, BUDI["email"], PASSWORD)
    async with httpx.AsyncClient(
        base_url=registry.client.base_url, headers={"Authorization": f"Bearer {budi_elsewhere}"}
    ) as budi:
        refused = await budi.put(f"/msmes/{second}/incubation/milestones/halal_certification/evidence", params=query)
        assert refused.status_code == 403, "refused before the upload is read"


async def test_a_mentor_added_before_mentors_had_accounts_is_replaced_by_the_one_with_an_account(platform):
    identity, region = platform.identity(), platform.region
    registry = Registry(platform.start("registry").url, region)
    cohort, _ = await cohort_of_two(registry, region, "UMKM Kita Bisa 2026/1")
    stored = platform.database("registry")["cohorts"]
    await stored.update_one({"_id": cohort["cohort_id"]}, {"$set": {"mentors": [SITI]}})  # as stop 31 kept it
    before = await registry.ok("GET", f"/cohorts/{cohort['cohort_id']}")
    assert before["cohort"]["mentors"] == [SITI | {"person_id": None}], "read as it is, coaching nothing"
    after = await add_mentor(identity.url, registry.client, OPERATOR_TOKEN, cohort, SITI, PASSWORD)
    [siti] = after["mentors"]
    assert siti["email"] == SITI["email"] and siti["person_id"].startswith("psn-")
