"""One filler per demand on the real store: a request heard from its partner and its makers' products
heard at the same moment, by two instances, is proposed no more than it asked for."""

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest
from pymongo import AsyncMongoClient

from ekspora_kit.clock import Clock
from ekspora_kit.domain import Busy
from ekspora_kit.leases import Exclusive, Leases
from tests.integration.support import MONGO
from tests.integration.test_partner_stats import two_instances
from tests.unit.test_matching_domain import AMSTERDAM, PARTNER, demand, offer

CLOCK = Clock.from_environment()
REGION = "kota-kediri"
SIX_WEEKS = CLOCK.now().date() + timedelta(days=42)  # tahu flies: 12 days of waiting and transit leave 30 to make it


@pytest.fixture
async def database():
    name = f"test_filling_{uuid4().hex[:8]}"
    clients = [AsyncMongoClient(MONGO, tz_aware=True, maxPoolSize=8) for _ in range(2)]
    yield [client[name] for client in clients]
    await clients[0].drop_database(name)
    for client in clients:
        await client.close()


async def test_a_request_and_its_makers_heard_together_by_two_instances_are_proposed_what_it_asked(database):
    services = two_instances(database)
    store = services[0].store
    await store.ensure_indexes()
    await store.keep_lane(AMSTERDAM)
    await store.keep_partner(PARTNER)
    for round_ in range(3):  # each round a new request of 400 and three new makers of 200, all heard at once
        request = demand(
            demand_id=f"dmd-{uuid4().hex[:10]}", quantity=400, required_certificates=[], needed_by=SIX_WEEKS
        )
        await store.keep_demand(request)
        makers = [offer(f"prd-tahu-{round_}-{n}", capacity=200, moq=50) for n in range(3)]
        for maker in makers:
            await store.save_offer(REGION, maker)
        await asyncio.gather(
            services[0].match_demand(request, REGION),
            services[1].match_demand(request, REGION),
            *(services[n % 2].match_offer(maker, REGION) for n, maker in enumerate(makers)),
        )
        parts = [pair.current for pair in await store.pairs_of_demand(request.demand_id) if pair.current]
        assert sum(part.terms.quantity for part in parts) == 400, f"round {round_}: {[p.terms for p in parts]}"
        assert [part.terms.quantity for part in parts] == [200, 200]
        for maker in makers:  # the next round's makers are new; these are spoken for
            await store.save_offer(REGION, maker.model_copy(update={"ready": False}))
    assert await store.allocation_leases.count_documents({}) == 0, "every lease handed back"


async def test_one_holder_at_a_time_across_instances_and_within_one_and_a_dead_holder_costs_its_lease(database):
    collection = database[0]["leases"]
    instances = [
        Exclusive(Leases(db["leases"], holder=f"i{n}", seconds=30, clock=CLOCK), patience_seconds=5)
        for n, db in enumerate(database)
    ]
    inside, most, entered = [0], [0], []

    async def work(exclusive: Exclusive, n: int) -> None:
        async with exclusive.hold("demand:x"):
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            await asyncio.sleep(0.01)
            entered.append(n)
            inside[0] -= 1

    await asyncio.gather(*(work(instances[n % 2], n) for n in range(8)))
    assert most[0] == 1 and sorted(entered) == list(range(8))
    assert await collection.count_documents({}) == 0

    await collection.insert_one({"_id": "demand:y", "holder": "crashed", "until": CLOCK.now() + timedelta(seconds=30)})
    impatient = Exclusive(Leases(collection, holder="i0", seconds=30, clock=CLOCK), patience_seconds=0.1)
    with pytest.raises(Busy, match="demand:y is being worked on elsewhere"):
        async with impatient.hold("demand:y"):
            pytest.fail("entered a held lease")
    later = Clock(CLOCK.offset.total_seconds() + 31)  # past the crashed holder's lease
    async with Exclusive(Leases(collection, holder="i1", seconds=30, clock=later), patience_seconds=0.1).hold(
        "demand:y"
    ):
        assert (await collection.find_one({"_id": "demand:y"}))["holder"] == "i1"
    assert await collection.count_documents({}) == 0
