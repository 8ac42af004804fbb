"""A partner's sales reports arrive on every partition of the sales topic, so two matching
instances (each with several store connections) update its statistics at once: none is lost on
FerretDB, which does not isolate concurrent updates of one document (FerretDB#3040)."""

import asyncio
from datetime import timedelta
from uuid import uuid4

from aiokafka import ConsumerRecord
from pymongo import AsyncMongoClient

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import SalesReported
from ekspora_contracts.topics import MATCHING_SALES
from ekspora_kit.consumer import Dispatcher
from ekspora_kit.metrics import KitMetrics
from ekspora_matching.app import demand_filling
from ekspora_matching.handlers import build_routes
from ekspora_matching.policy import RulesHolder, load_exchange_rates, load_scoring
from ekspora_matching.service import MatchingService
from ekspora_matching.store import MatchingStore
from tests.factories import CLOCK
from tests.integration.support import MONGO

REPORTS_PER_INSTANCE = 25


def report(number: int, partner_id: str):
    data = SalesReported(
        report_id=f"rep-{number}",
        match_id=f"m-{number}",
        msme_id=f"msme-{number % 7}",
        product_id=f"prd-{number % 7}",
        partner_id=partner_id,
        region="kota-kediri",
        units_sold=10,
        revenue_amount=10_000,
        revenue_currency="EUR",
        returns=0,
        rating=1 + number % 5,
        will_reorder=number % 3 == 0,
        reported_at=CLOCK.now(),
    )
    return new_event(data, region="kota-kediri", producer="test", correlation_id=data.report_id, time=CLOCK.now())


class DroppedLetters:
    async def publish_record(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None:
        pass


def sales_consumer(service: MatchingService) -> Dispatcher:
    """The matching consumer's own routes and retries for the sales topic, as each instance runs them."""
    (routes,) = [r for r in build_routes(service, "kota-kediri") if r.stream == MATCHING_SALES]
    return Dispatcher(
        routes,
        region="kota-kediri",
        group="matching.kota-kediri",
        publisher=DroppedLetters(),
        metrics=KitMetrics("matching"),
        max_attempts=3,
        backoff_seconds=0.2,
        clock=CLOCK,
    )


def as_record(event, offset: int) -> ConsumerRecord:
    value = event.model_dump_json().encode()
    topic = MATCHING_SALES.topic("kota-kediri")
    return ConsumerRecord(topic, 0, offset, 0, 0, b"ptn-warung", value, None, 10, len(value), ())


def two_instances(databases: list) -> list[MatchingService]:
    """Matching as two instances run it: each its own client of the same database, its own holder name."""
    return [
        MatchingService(
            MatchingStore(database),
            rules=RulesHolder().get,
            scoring=load_scoring(),
            exchange_rates=load_exchange_rates(),
            clock=CLOCK,
            expiry=timedelta(days=7),
            filling=demand_filling(MatchingStore(database), CLOCK, holder=f"matching-{number}"),
        )
        for number, database in enumerate(databases)
    ]


async def test_two_instances_count_every_sales_report_of_a_partner_once():
    database = f"test_stats_{uuid4().hex[:8]}"
    clients = [AsyncMongoClient(MONGO, tz_aware=True, maxPoolSize=8) for _ in range(2)]
    services = two_instances([client[database] for client in clients])
    topic = MATCHING_SALES.topic("kota-kediri")
    events = [report(n, "ptn-warung") for n in range(2 * REPORTS_PER_INSTANCE)]
    halves = [events[:REPORTS_PER_INSTANCE], events[REPORTS_PER_INSTANCE:]]
    try:
        await services[0].store.ensure_indexes()

        async def consume(service: MatchingService, records: list) -> None:
            dispatcher = sales_consumer(service)
            for offset, event in enumerate(records):  # a consumer works its partitions' records one after another
                await dispatcher.dispatch(as_record(event, offset))
            assert dispatcher.metrics.dead_letters.labels("matching", topic, "handler_failed")._value.get() == 0

        # the first instance also gets five of the second's again, as after a rebalance: each counts once
        await asyncio.gather(consume(services[0], halves[0] + halves[1][:5]), consume(services[1], halves[1]))
        stats = await services[1].store.stats("ptn-warung")
        assert stats.reports == 2 * REPORTS_PER_INSTANCE
        assert stats.rating_sum == sum(1 + n % 5 for n in range(2 * REPORTS_PER_INSTANCE))
        assert stats.reorders == sum(n % 3 == 0 for n in range(2 * REPORTS_PER_INSTANCE))
        assert sorted(stats.applied_report_ids) == sorted(event.data.report_id for event in events)
    finally:
        await clients[0].drop_database(database)
        for client in clients:
            await client.close()
