"""One filler per demand on the real store: a request heard from its partner and its makers' products
heard at the same moment, by two instances, is proposed no more than it asked for."""

import asyncio
from datetime import date, timedelta
from uuid import uuid4

import pytest
from pymongo import AsyncMongoClient

from ekspora_contracts.registry import Certificate, ProductFacts
from ekspora_kit.clock import Clock
from ekspora_kit.domain import Busy
from ekspora_kit.leases import Exclusive, Leases
from ekspora_matching import domain
from ekspora_matching.app import demand_filling
from ekspora_matching.policy import RulesHolder, load_exchange_rates, load_scoring
from ekspora_matching.service import MatchingService
from ekspora_matching.store import MatchingStore
from ekspora_shipping.domain import lane_of
from ekspora_shipping.policy import load_lanes
from tests.integration.support import MONGO

CLOCK = Clock.from_environment()
REGION = "kota-kediri"


@pytest.fixture
async def database():
    name = f"test_filling_{uuid4().hex[:8]}"
    clients = [AsyncMongoClient(MONGO, tz_aware=True, maxPoolSize=8) for _ in range(2)]
    yield [client[name] for client in clients]
    await clients[0].drop_database(name)
    for client in clients:
        await client.close()


def maker(number: int) -> domain.Offer:
    facts = ProductFacts(
        product_id=f"prd-tahu-{number}",
        msme_id=f"msme-tahu-{number}",
        region=REGION,
        name="Tahu Takwa",
        description_id="-",
        description_en="-",
        category="processed_food",
        hs_code="210690",
        unit="pack 500 g",
        unit_price_idr=25_000,
        minimum_order_quantity=50,
        monthly_capacity=200,
        net_weight_grams=500,
        shelf_life_days=30,  # it flies: made within a month of a request needed in six weeks
        english_label=True,
        certificates=[
            Certificate(kind=kind, number="x", expires_on=CLOCK.now().date() + timedelta(days=700))
            for kind in ("pirt", "halal")
        ],
    )
    return domain.Offer(product=facts, readiness_score=90, ready=True)


def request_of(partner: domain.Partner, quantity: int, today: date) -> domain.Demand:
    return domain.Demand(
        demand_id=f"dmd-{uuid4().hex[:10]}",
        kind="rfq",
        partner_id=partner.partner_id,
        category="processed_food",
        hs_prefix=None,
        quantity=quantity,
        target_price_min=None,
        target_price_max=300,
        required_certificates=[],
        currency="EUR",
        needed_by=today + timedelta(days=42),
        destination_city="Amsterdam",
        destination_country="NL",
    )


async def test_a_request_and_its_makers_heard_together_by_two_instances_are_proposed_what_it_asked(database):
    stores = [MatchingStore(db) for db in database]
    services = [
        MatchingService(
            store,
            rules=RulesHolder().get,
            scoring=load_scoring(),
            exchange_rates=load_exchange_rates(),
            clock=CLOCK,
            expiry=timedelta(days=7),
            filling=demand_filling(store, CLOCK, holder=f"matching-{number}"),
        )
        for number, store in enumerate(stores)
    ]
    store = stores[0]
    await store.ensure_indexes()
    await store.keep_lane(domain.Lane.of(lane_of("Amsterdam", load_lanes())))
    partner = domain.Partner(
        partner_id="ptn-toko",
        kind="diaspora_business",
        name="Toko Indonesia Amsterdam",
        country="NL",
        city="Amsterdam",
        categories=["processed_food"],
        min_order_units=0,
        max_order_units=10_000,
        languages=["en"],
        contact_email="toko@example.nl",
        verified=True,
    )
    await store.keep_partner(partner)
    today = CLOCK.now().date()
    for round_ in range(3):  # each round a new request of 400 and three new makers of 200, all heard at once
        demand = request_of(partner, 400, today)
        await store.keep_demand(demand)
        offers = [maker(round_ * 3 + n) for n in range(3)]
        for offer in offers:
            await store.save_offer(REGION, offer)
        await asyncio.gather(
            services[0].match_demand(demand, REGION),
            services[1].match_demand(demand, REGION),
            *(services[n % 2].match_offer(offer, REGION) for n, offer in enumerate(offers)),
        )
        parts = [pair.current for pair in await store.pairs_of_demand(demand.demand_id) if pair.current]
        assert sum(part.terms.quantity for part in parts) == 400, f"round {round_}: {[p.terms for p in parts]}"
        assert [part.terms.quantity for part in parts] == [200, 200]
        for offer in offers:  # the next round's makers are new; these are spoken for
            await store.save_offer(REGION, offer.model_copy(update={"ready": False}))
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
