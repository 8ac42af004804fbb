"""The scan rule (ekspora_kit.scans) agrees with what the real store says it narrows itself."""

from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from ekspora_kit.scans import pushed_down
from tests.integration.support import MONGO

NOW = datetime(2026, 12, 2, tzinfo=UTC)
QUERIES = [
    {"_id": "msme-1"},
    {"nib": "1234567890123"},
    {"region": "kota-kediri", "tier": "siap"},
    {"product_ids": "prd-1"},
    {"has_outbox": True},
    {"status": "pending", "next_at": {"$lte": NOW}},
    {},
    {"profile.nib": "1234567890123"},
    {"outbox_since": {"$exists": True}},
    {"status": {"$in": ["planned", "booked"]}},
    {"release_at": {"$lte": NOW}},
]


@pytest.fixture
async def collection():
    client: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    db = client["test_store_scans"]
    await db.msmes.insert_many(
        [
            {"_id": f"msme-{n}", "nib": str(n), "region": "kota-kediri", "profile": {"nib": str(n)}, "product_ids": []}
            for n in range(20)
        ]
    )
    yield db.msmes
    await client.drop_database("test_store_scans")
    await client.close()


async def test_filters_the_rule_lets_through_are_the_ones_the_store_narrows(collection):
    info = await collection.database.client.admin.command("buildInfo")
    if "ferretdbVersion" not in info:
        pytest.skip("filter pushdown is what FerretDB reports; MongoDB uses its indexes")
    for query in QUERIES:
        explained = await collection.database.command("explain", {"find": collection.name, "filter": query})
        assert explained["filterPushdown"] is pushed_down(query), query
