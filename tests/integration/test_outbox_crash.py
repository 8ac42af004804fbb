"""A registry killed with SIGKILL between storing and publishing loses nothing and duplicates nothing."""

import asyncio

import httpx
import pytest

from ekspora_contracts.topics import REGISTRY_MSME
from tests.integration.support import OPERATOR, eventually, handled, metric, read_topic
from tests.integration.test_skeleton_flow import new_umkm, operator_feed


@pytest.mark.parametrize(
    ("fault_point", "records_before_restart"),
    [("relay.before_publish", 0), ("relay.after_publish", 1)],
)
async def test_crash_between_store_and_publish(platform, fault_point, records_before_restart):
    notifications = platform.start("notifications")
    registry = platform.start("registry", fault_point=fault_point)
    umkm = new_umkm(platform.region)
    try:
        async with httpx.AsyncClient(base_url=registry.url, headers=OPERATOR) as client:
            await client.post("/msmes", json=umkm)
    except httpx.TransportError:
        pass  # the process may die before its response is written; the state is what matters
    assert await asyncio.to_thread(registry.wait_exit, 30) == -9, "the fault point kills with SIGKILL"

    registry_db = platform.database("registry")
    stored = await registry_db.msmes.find_one({"nib": umkm["nib"]})
    assert stored is not None, "the state change was stored before the crash"
    record = await registry_db.msmes_changes.find_one({"_id": f"{stored['_id']}:1"})
    assert record is not None
    assert [e["type"].split(".", 2)[2] for e in record["outbox"]] == [
        "msme.registered.v2",
        "msme.contact_changed.v1",
        "supplier.changed.v1",
        "readiness.assessed.v1",
        "readiness.assessed.v2",
    ], "the events wait in the change record of the stored version"
    msme_topic = platform.topic(REGISTRY_MSME)
    assert len(await read_topic(msme_topic, timeout=1)) == records_before_restart

    platform.start("registry", name="registry-restarted", env={"EKSPORA_INSTANCE": "registry"})

    async def notified():
        return [n for n in await operator_feed(notifications, platform.region) if n["subject"] == stored["_id"]]

    await eventually(notified, what="the notification after restart")
    registered_type = "ekspora.registry.msme.registered.v2"
    await handled(notifications, registered_type, at_least=records_before_restart + 1)  # the re-publish too
    assert len(await notified()) == 1, "recorded exactly once"

    records = await read_topic(msme_topic, at_least=records_before_restart + 3)
    registered = [r.value for r in records if b"msme.registered" in r.value]
    assert len(registered) == records_before_restart + 1, "re-published once after the crash, never lost"
    assert len(set(registered)) == 1, "a re-publish is the same event (same id)"
    assert sum(b"readiness.assessed.v1" in r.value for r in records) == 1
    assert sum(b"readiness.assessed.v2" in r.value for r in records) == 1
    after = await registry_db.msmes_changes.find_one({"_id": record["_id"]})
    assert "outbox" not in after and "apply" not in after and "has_outbox" not in after, "published, then settled"
    assert after["events"] == [entry["id"] for entry in record["outbox"]]
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{notifications.url}/metrics")).text
    assert metric(text, "ekspora_duplicates_skipped_total") == records_before_restart
