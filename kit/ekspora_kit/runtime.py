"""One service process: its broker, its database, its outbox relay and its subscribers, wired once."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Union

from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from ekspora_contracts.catalog import EVENT_TYPES
from ekspora_contracts.envelope import CONTENT_TYPE, CloudEvent
from ekspora_contracts.identity import CredentialRevoked, SigningKeyPublished
from ekspora_contracts.topics import CATALOGUE, DEAD_LETTER, IDENTITY_KEYS
from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock
from ekspora_kit.consumer import Dispatcher, EventRoutes, subscribe_group, subscribe_reference_data
from ekspora_kit.faults import FaultPoints
from ekspora_kit.metrics import KitMetrics, StateCounts
from ekspora_kit.outbox import OutboxRelay
from ekspora_kit.scans import ScanWatch
from ekspora_kit.settings import ServiceSettings
from ekspora_kit.tallies import Tally, TallyGauge, subscribe_tally
from ekspora_kit.tokens import TokenVerifier
from ekspora_kit.topic_reader import read_from_beginning

logger = logging.getLogger(__name__)


class KafkaRecordPublisher:
    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    async def publish_record(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None:
        await self.broker.publish(
            value, topic=topic, key=key.encode(), headers={"content-type": CONTENT_TYPE, **headers}
        )


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.metrics = KitMetrics(settings.service)
        self.faults = FaultPoints(settings.fault_point)
        self.broker = KafkaBroker(
            settings.bus.bootstrap,
            security=settings.bus.broker_security(),
            allow_auto_create_topics=False,  # provisioning a region makes its topics (ekspora_kit.provision)
            client_id=f"{settings.service}-{settings.instance}",
            acks="all",
            enable_idempotence=True,
            logger=logging.getLogger("ekspora.broker"),
            middlewares=[KafkaPrometheusMiddleware(registry=self.metrics.registry, app_name=settings.service)],
        )
        self.publisher = KafkaRecordPublisher(self.broker)
        self.mongo: AsyncMongoClient = AsyncMongoClient(
            settings.mongo_url,
            tz_aware=True,
            serverSelectionTimeoutMS=5000,
            maxPoolSize=settings.mongo_max_pool_size,
            event_listeners=[ScanWatch(settings.service, self.metrics.store_scans, self.metrics.store_seconds)],
        )
        self.db: AsyncDatabase = self.mongo[settings.database_name]
        self.clock = Clock(settings.clock_offset_seconds)
        self.relay: OutboxRelay | None = None
        self._periodic: list[tuple[str, float, Callable[[], Awaitable[object]]]] = []
        self._background: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        self._routes: list[tuple[str, EventRoutes]] = []
        self.verifier = TokenVerifier(self.clock)
        self._token_keys = EventRoutes(IDENTITY_KEYS)
        self._token_keys.on(SigningKeyPublished)(self.verifier.signing_key_published)
        self._token_keys.on(CredentialRevoked)(self.verifier.credential_revoked)
        self._routes.append((settings.regions[0], self._token_keys))  # one reader of the global topic
        self._tallies: list[Tally] = []
        self._tasks: list[asyncio.Task] = []

    def consume(self, routes: EventRoutes) -> None:
        """Subscribe this service's consumer group for every region it serves."""
        self.consume_per_region(lambda _: [routes])

    def consume_per_region(self, build: Callable[[str], Sequence[EventRoutes]]) -> None:
        """Like consume, for handlers that need the region they run for (e.g. on global topics)."""
        for region in self.settings.regions:
            self._routes += [(region, routes) for routes in build(region)]

    def keep(self, tally: Tally, *, gauge: str, documentation: str, label: str, steps: Sequence[str]) -> None:
        """Keeps `tally` from its stream in every region served, in group `<service>.<region>.<tally>`,
        and shows its `steps` as the gauge `gauge{region, label}`, read every 30 seconds."""
        self._tallies.append(tally)
        shown = TallyGauge(
            self.metrics.registry,
            tally,
            name=gauge,
            documentation=documentation,
            label=label,
            steps=steps,
            regions=self.settings.regions,
        )
        self.every(f"read {gauge}", 30, shown.read)

    def subscribe(self) -> None:
        """Turns what the service consumes into subscribers, once, when the app is built: per
        region one consumer in group `<service>.<region>` for its regional topics, and one
        group-less reader per compacted reference-data topic."""
        for region in self.settings.regions:
            group = f"{self.settings.service}.{region}"
            dispatchers = [
                self._dispatcher(routes, region, group)
                for routes_region, routes in self._routes
                if routes_region == region
            ]
            self._document_what_is_published(region)
            regional = [d for d in dispatchers if not d.routes.stream.compacted]
            if regional:
                subscribe_group(
                    self.broker,
                    regional,
                    group=group,
                    batch_size=self.settings.consumer_batch_size,
                    concurrency=self.settings.consumer_concurrency,
                )
            for dispatcher in dispatchers:
                if dispatcher.routes.stream.compacted:
                    subscribe_reference_data(self.broker, dispatcher)
            for tally in self._tallies:
                subscribe_tally(self.broker, tally, self._dispatcher(tally.routes, region, f"{group}.{tally.name}"))

    def _dispatcher(self, routes: EventRoutes, region: str, group: str) -> Dispatcher:
        return Dispatcher(
            routes,
            region=region,
            group=group,
            publisher=self.publisher,
            metrics=self.metrics,
            max_attempts=self.settings.consumer_max_attempts,
            backoff_seconds=self.settings.consumer_retry_backoff_seconds,
            clock=self.clock,
        )

    def _document_what_is_published(self, region: str) -> None:
        """Declares the streams this service produces (the outbox relay publishes the bytes), so the
        AsyncAPI document generated from the app shows each topic with its events' schema."""
        for stream in CATALOGUE:
            models = [m for m in EVENT_TYPES.values() if m.stream == stream]
            if stream == DEAD_LETTER and self._routes:
                self.broker.publisher(
                    stream.topic(region),
                    title=f"{stream.topic(region)}:publish",
                    description=(
                        f"{stream.description} The value is the original record's bytes; headers dlt-reason, "
                        "dlt-error, dlt-original-topic, dlt-original-partition, dlt-original-offset, "
                        "dlt-consumer-group, dlt-failed-at."
                    ),
                )
            if stream.producer != self.settings.service or not models:
                continue
            payload = models[0] if len(models) == 1 else Union[tuple(models)]  # noqa: UP007
            self.broker.publisher(
                stream.topic(region),
                title=f"{stream.topic(region)}:publish",
                description=f"{stream.description} Visibility: {stream.visibility}.",
                schema=CloudEvent[payload],  # type: ignore[valid-type]
            )

    async def _learn_token_keys(self) -> None:
        """Reads identity's keys and revocations whole before the service answers, so a token
        identity issued before this start is verified at once (its subscriber then follows)."""
        learn = self._dispatcher(self._token_keys, self.settings.regions[0], f"{self.settings.service}.start")
        for record in await read_from_beginning(self.settings.bus, IDENTITY_KEYS.topic("global"), timeout=10):
            await learn.dispatch(record)

    def _topics_used(self) -> list[str]:
        """The topics this service writes (its own streams, dead letters) or reads, in its regions."""
        consumed = {routes.stream for _, routes in self._routes}
        used = [s for s in CATALOGUE if s.producer == self.settings.service or s in consumed or s == DEAD_LETTER]
        return sorted({stream.topic(region) for stream in used for region in self.settings.regions})

    def relay_outboxes_of(self, collections: Sequence[AsyncCollection]) -> None:
        self.relay = OutboxRelay(
            collections,
            self.publisher,
            instance=f"{self.settings.service}-{self.settings.instance}",
            metrics=self.metrics,
            faults=self.faults,
            clock=self.clock,
            poll_seconds=self.settings.outbox_poll_seconds,
            lease_seconds=self.settings.outbox_lease_seconds,
        )

    def every(self, name: str, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        """Runs `job` every `seconds` while the service runs; a failed round is logged and retried."""
        self._periodic.append((name, seconds, job))

    def alongside(self, name: str, job: Callable[[], Awaitable[object]]) -> None:
        """Runs a long-lived job (a loop of its own, e.g. a delivery worker) while the service runs."""
        self._background.append((name, job))

    def count_states(
        self,
        collection: AsyncCollection,
        *,
        name: str,
        documentation: str,
        region: str,
        state: str,
        label: str,
        states: Sequence[str],
    ) -> None:
        """A gauge `name{region, label}` of the aggregates in each of `states`, per region this
        instance serves, recounted every 30 seconds."""
        counts = StateCounts(
            self.metrics.registry,
            collection,
            name=name,
            documentation=documentation,
            region_field=region,
            state_field=state,
            state_label=label,
            regions=self.settings.regions,
            states=states,
        )
        self.every(f"count {name}", 30, counts.recount)

    async def start(self) -> None:
        await require_topics(self.settings.bus, self._topics_used())
        await self._learn_token_keys()
        if self.relay:
            await self.relay.ensure_indexes()
        await self.broker.start()
        if self.relay:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        self._tasks += [asyncio.create_task(self._repeat(*spec), name=spec[0]) for spec in self._periodic]
        self._tasks += [asyncio.create_task(job(), name=name) for name, job in self._background]  # type: ignore[arg-type]
        logger.info("%s started for regions %s", self.settings.service, ",".join(self.settings.regions))

    async def _repeat(self, name: str, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        runs = self.metrics.periodic_runs
        while True:
            try:
                await job()
                runs.labels(self.settings.service, name, "ok").inc()
            except Exception:
                runs.labels(self.settings.service, name, "failed").inc()
                logger.exception("periodic job %s failed; retrying in %ss", name, seconds)
            await asyncio.sleep(seconds)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.broker.stop()
        await self.mongo.close()

    async def readiness(self) -> dict[str, bool]:
        checks = {"kafka": False, "mongo": False}
        try:
            checks["kafka"] = bool(await self.broker.ping(timeout=2))
        except Exception:
            logger.warning("kafka readiness check failed", exc_info=True)
        try:
            await asyncio.wait_for(self.mongo.admin.command("ping"), timeout=2)
            checks["mongo"] = True
        except Exception:
            logger.warning("mongo readiness check failed", exc_info=True)
        return checks


class TopicsMissing(RuntimeError):
    pass


async def require_topics(access: BusAccess, topics: Sequence[str]) -> None:
    """Checks that the topics a service uses exist. A region's topics and grants are made when it is
    provisioned (`python -m ekspora_kit.provision region <region>`), never by a service, which may not."""
    admin = AIOKafkaAdminClient(**access.client_options())
    await admin.start()
    try:
        missing = sorted(set(topics) - set(await admin.list_topics()))
    finally:
        await admin.close()
    if missing:
        raise TopicsMissing(
            f"topics missing or not granted to {access.username or 'this client'}: {', '.join(missing)};"
            " provision the region first: python -m ekspora_kit.provision region <region>"
        )
