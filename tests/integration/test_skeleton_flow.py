"""The walking skeleton on the real broker and store: UMKM -> outbox -> Kafka -> notification."""

import json
import random

import httpx
import pytest

from ekspora_contracts.topics import REGISTRY_CONTACTS, REGISTRY_MSME
from tests.integration.support import OPERATOR, eventually, metric, read_topic

pytestmark = pytest.mark.clock  # times of day, local dates, expiries: CI runs it at shifted hours


def new_umkm(region: str, **overrides) -> dict:
    return {
        "region": region,
        "business_name": "Stik Tahu Sumber Rejeki",
        "owner_name": "Wahyu Hidayat",
        "nib": f"{random.randrange(10**12, 10**13)}",
        "sector": "food",
        "kelurahan": "Banjaran",
        "kecamatan": "Kota",
        "whatsapp": "+6285712345678",
        "email": "wahyu@stiktahu.id",
        **overrides,
    }


async def operator_feed(notifications, region: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=notifications.url, headers=OPERATOR) as client:
        return (await client.get(f"/feeds/operator:{region}")).json()["items"]


async def test_all_four_services_start_subscribe_and_answer_health(platform):
    services = [platform.start(name) for name in ("registry", "matching", "shipping", "notifications")]
    async with httpx.AsyncClient() as client:
        for service in services:
            assert (await client.get(f"{service.url}/healthz")).json()["status"] == "alive"
            ready = await client.get(f"{service.url}/readyz")
            assert ready.status_code == 200 and ready.json()["checks"] == {"kafka": True, "mongo": True}
            metrics = (await client.get(f"{service.url}/metrics")).text
            assert "ekspora_outbox_lag_seconds" in metrics and "ekspora_dead_letters_total" in metrics
            assert (await client.get(f"{service.url}/openapi.json")).status_code == 200


async def test_registered_umkm_reaches_the_operator_once_with_its_correlation_id(platform):
    registry, notifications = platform.start("registry"), platform.start("notifications")
    umkm = new_umkm(platform.region)
    async with httpx.AsyncClient(base_url=registry.url, headers=OPERATOR) as client:
        response = await client.post("/msmes", json=umkm, headers={"X-Correlation-Id": "req-kediri-1"})
    assert response.status_code == 201, response.text
    msme_id = response.json()["msme_id"]

    async def notified():
        return [n for n in await operator_feed(notifications, platform.region) if n["subject"] == msme_id]

    [notification] = await eventually(notified, what="operator notification")
    assert notification["language"] == "id"
    assert notification["text"].startswith(f"UMKM baru terdaftar di {platform.region}: Stik Tahu Sumber Rejeki")

    records = await read_topic(platform.topic(REGISTRY_MSME), at_least=2)
    [record] = [r for r in records if json.loads(r.value)["type"] == "ekspora.registry.msme.registered.v2"]
    event = json.loads(record.value)
    assert record.key.decode() == msme_id == event["subject"]
    assert event["type"] == "ekspora.registry.msme.registered.v2"
    assert event["correlationid"] == "req-kediri-1"
    assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
    assert umkm["whatsapp"] not in record.value.decode() and umkm["email"] not in record.value.decode()

    [contact_record] = await read_topic(platform.topic(REGISTRY_CONTACTS), at_least=1)
    assert json.loads(contact_record.value)["data"]["whatsapp"] == umkm["whatsapp"]
    contact = await eventually(
        lambda: platform.database("notifications").contacts.find_one({"_id": msme_id}),
        what="contact copy in the notifications store",
    )
    assert contact["email"] == umkm["email"]


async def test_bad_input_is_refused_with_field_messages_and_nothing_is_stored(platform):
    registry = platform.start("registry")
    umkm = new_umkm(platform.region)
    async with httpx.AsyncClient(base_url=registry.url, headers=OPERATOR) as client:
        assert (await client.post("/msmes", json=umkm)).status_code == 201
        bad = await client.post("/msmes", json=umkm | {"nib": "12-3", "whatsapp": "0812", "sector": "weapons"})
        duplicate = await client.post("/msmes", json=umkm | {"business_name": "Another"})
        other_region = await client.post("/msmes", json=new_umkm("blitar"))
        unknown = await client.get("/msmes/msme-nope")
        not_json = await client.post("/msmes", content=b"{", headers={"content-type": "application/json"})
        listing = (await client.get("/msmes", params={"region": platform.region})).json()

    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"nib", "whatsapp", "sector"}
    assert duplicate.status_code == 409 and "NIB" in duplicate.json()["message"]
    assert other_region.status_code == 422 and other_region.json()["errors"][0]["field"] == "region"
    assert unknown.status_code == 404
    assert not_json.status_code == 422
    assert listing["total"] == 1


async def test_metrics_count_what_the_relay_published(platform):
    registry = platform.start("registry")
    async with httpx.AsyncClient(base_url=registry.url, headers=OPERATOR) as client:
        await client.post("/msmes", json=new_umkm(platform.region))

        async def published():
            text = (await client.get("/metrics")).text
            # registered, the contact, the supplier for shipping, the first assessment (v1 and v2)
            return metric(text, "ekspora_outbox_published_total") == 5 and text

        text = await eventually(published, what="five published events in the metrics")
    assert metric(text, "ekspora_outbox_pending_events") == 0
