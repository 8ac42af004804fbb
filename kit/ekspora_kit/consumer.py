"""Consuming events: typed handlers, bounded retries, dead letters, offsets committed after effects.

One FastStream batch subscriber per (service, region) with `AckPolicy.NACK_ON_ERROR`: the offsets
of a poll are committed only after every record in it was handled (its effect stored). Within a
poll, records of different keys are handled at once and each key's records in their order (Kafka
orders nothing else), so a consumer is not bound by one event's round trips to the store; when a
record cannot be settled, the poll is nacked and redelivered whole, and effects keyed by event
id make the repeats change nothing. A message that is not valid
JSON, not a valid event, or keeps failing after bounded retries is written to the region's
dead-letter topic and then acknowledged, so the consumer moves on. Only when the dead-letter
write itself fails is the message nacked, and Kafka redelivers it.

An unreachable store, or an aggregate other instances keep changing (`Busy`), is not the message's
fault: the handler is retried until the store answers and the rivals are done (the consumer's
partitions wait, and lag shows it), and the message is never dead-lettered for it.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure

from ekspora_contracts.envelope import CloudEvent, EventData, event_model
from ekspora_contracts.topics import DEAD_LETTER, Stream
from ekspora_kit.clock import Clock
from ekspora_kit.domain import Busy
from ekspora_kit.logs import acting, correlation_id, log_fields
from ekspora_kit.metrics import KitMetrics
from ekspora_kit.outbox import RecordPublisher

logger = logging.getLogger(__name__)
WAITED_OUT: tuple[type[Exception], ...] = (ConnectionFailure, Busy)
UNAVAILABLE_BACKOFF_CAP_SECONDS = 5.0
Handler = Callable[[CloudEvent], Awaitable[None]]
# FastStream sleeps this long again after a poll that found nothing: it bounds the delay added to
# the first record after a quiet spell
POLL_TIMEOUT_MS = 50


class PermanentFailure(Exception):
    """Raised by a handler for an event that can never succeed; it goes to the dead-letter topic at once."""


@dataclass(frozen=True)
class Route:
    model: type[EventData]
    handler: Handler


Lane = Hashable


class EventRoutes:
    """The event types a service consumes from one stream, each with its typed handler.

    `contended_by` names, from a record's JSON, what its handling changes that records of other
    keys change too (shipping: the destination whose open shipment every order joins): records
    that name the same thing are worked one after another, so that they do not conflict."""

    def __init__(self, stream: Stream, *, contended_by: Callable[[dict[str, Any]], Lane] | None = None) -> None:
        self.stream = stream
        self.routes: dict[str, Route] = {}
        self.contended_by = contended_by

    def lane(self, record: ConsumerRecord) -> Lane:
        """Records in one lane are worked in their order; lanes at once (see in_key_order)."""
        if self.contended_by is not None:
            try:
                return ("contended", self.contended_by(json.loads(record.value)))
            except (ValueError, TypeError, KeyError, AttributeError):
                pass  # a record it cannot read goes its own key's way, to its dead letter
        return (record.topic, record.partition, record.key)

    def on(self, model: type[EventData]) -> Callable[[Handler], Handler]:
        if model.stream != self.stream:
            raise ValueError(f"{model.event_type} is published on {model.stream.name}, not {self.stream.name}")

        def register(handler: Handler) -> Handler:
            self.routes[model.event_type] = Route(model, handler)
            return handler

        return register


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    error: str


class Dispatcher:
    def __init__(
        self,
        routes: EventRoutes,
        *,
        region: str,
        group: str,
        publisher: RecordPublisher,
        metrics: KitMetrics,
        max_attempts: int,
        backoff_seconds: float,
        clock: Clock,
    ) -> None:
        self.routes = routes
        self.region = region
        self.group = group
        self.publisher = publisher
        self.metrics = metrics
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.clock = clock

    async def dispatch(self, record: ConsumerRecord) -> None:
        outcome = await self._handle(record)
        if isinstance(outcome, DeadLetter):
            await self._dead_letter(record, outcome)

    async def _handle(self, record: ConsumerRecord) -> DeadLetter | None:
        try:
            raw = json.loads(record.value)
            event_type = raw["type"]
        except (ValueError, TypeError, KeyError) as error:
            return DeadLetter("malformed", f"not a CloudEvents JSON object: {error!r}")
        route = self.routes.routes.get(event_type)
        if route is None:
            self.metrics.events_ignored.labels(self.metrics.service, record.topic).inc()
            return None
        try:
            event = event_model(route.model).model_validate(raw)
        except ValidationError as error:
            return DeadLetter("invalid", _summarise(error))
        expected_region = self.routes.stream.event_region(self.region)
        if event.region != expected_region:
            return DeadLetter("wrong_region", f"event for region {event.region} on a topic of {expected_region}")

        token, cause = correlation_id.set(event.correlationid), acting.set(f"event:{event.type}:{event.id}")
        try:
            return await self._call_with_retries(route, event)
        finally:
            correlation_id.reset(token)
            acting.reset(cause)

    async def _call_with_retries(self, route: Route, event: CloudEvent) -> DeadLetter | None:
        attempt, outages = 1, 0
        while True:
            try:
                await route.handler(event)
            except PermanentFailure as error:
                return DeadLetter("rejected", str(error))
            except WAITED_OUT as error:
                outages += 1
                await self._wait_out(event, f"store unavailable or busy ({outages} tries)", error, outages)
            except Exception as error:
                if attempt == self.max_attempts:
                    logger.exception(
                        "handler failed %d times, dead-lettering",
                        attempt,
                        extra=log_fields(event_id=event.id, event_type=event.type),
                    )
                    return DeadLetter("handler_failed", f"{self.max_attempts} attempts, last: {error!r}")
                await self._wait_out(event, f"handler failed (attempt {attempt})", error, attempt)
                attempt += 1
            else:
                self.metrics.events_handled.labels(self.metrics.service, event.type).inc()
                return None

    async def _wait_out(self, event: CloudEvent, what: str, error: Exception, tries: int) -> None:
        self.metrics.handler_retries.labels(self.metrics.service, event.type).inc()
        logger.warning("%s, retrying: %r", what, error, extra=log_fields(event_id=event.id, event_type=event.type))
        await asyncio.sleep(min(UNAVAILABLE_BACKOFF_CAP_SECONDS, self.backoff_seconds * 2 ** (tries - 1)))

    async def _dead_letter(self, record: ConsumerRecord, letter: DeadLetter) -> None:
        headers = {
            "dlt-reason": letter.reason,
            "dlt-error": letter.error[:2000],
            "dlt-original-topic": record.topic,
            "dlt-original-partition": str(record.partition),
            "dlt-original-offset": str(record.offset),
            "dlt-consumer-group": self.group,
            "dlt-failed-at": self.clock.now().isoformat(),
        }
        key = record.key.decode(errors="replace") if record.key else ""
        await self.publisher.publish_record(DEAD_LETTER.topic(self.region), key, record.value or b"", headers)
        self.metrics.dead_letters.labels(self.metrics.service, record.topic, letter.reason).inc()
        logger.error(
            "dead-lettered %s:%s@%s: %s",
            record.topic,
            record.partition,
            record.offset,
            letter.error,
            extra=log_fields(reason=letter.reason, group=self.group),
        )


def _summarise(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


async def in_key_order(
    records: Sequence[ConsumerRecord],
    work: Callable[[ConsumerRecord], Awaitable[None]],
    *,
    concurrency: int,
    lane_of: Callable[[ConsumerRecord], Lane] = lambda record: (record.topic, record.partition, record.key),
) -> None:
    """Works the records of up to `concurrency` lanes at once (a lane is a key, unless the routes
    say what their records contend on), each lane's records one after another in their order.
    When a record fails, the rest of its lane waits for the redelivery; the others finish, and
    then the first failure is raised."""
    lanes: dict[Lane, list[ConsumerRecord]] = {}
    for record in records:
        lanes.setdefault(lane_of(record), []).append(record)
    gate = asyncio.Semaphore(concurrency)

    async def lane(keyed: list[ConsumerRecord]) -> None:
        async with gate:
            for record in keyed:
                await work(record)

    outcomes = await asyncio.gather(*(lane(keyed) for keyed in lanes.values()), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


def subscribe_group(
    broker: KafkaBroker, dispatchers: Sequence[Dispatcher], *, group: str, batch_size: int, concurrency: int
) -> Any:
    """One consumer in `group` for all the regional topics a service reads for one region.

    One member per instance and region (not one per topic) keeps a start or a scale-out to a
    single rebalance of the group, and each record still goes to the routes of its own topic.
    Each poll takes up to `batch_size` records, worked `concurrency` keys at a time."""
    by_topic = {d.routes.stream.topic(d.region): d for d in dispatchers}
    subscriber = broker.subscriber(
        *by_topic,
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=POLL_TIMEOUT_MS,
        title=group,
        description="; ".join(f"{topic}: {sorted(d.routes.routes)}" for topic, d in by_topic.items()),
    )

    @subscriber
    async def consume(message: KafkaMessage) -> None:
        records: tuple[ConsumerRecord, ...] = message.raw_message  # type: ignore[assignment]
        await in_key_order(
            records,
            lambda record: by_topic[record.topic].dispatch(record),
            concurrency=concurrency,
            lane_of=lambda record: by_topic[record.topic].routes.lane(record),
        )

    return subscriber


def subscribe_reference_data(broker: KafkaBroker, dispatcher: Dispatcher) -> Any:
    """Compacted reference data (partners, demand) is read whole from the start on every start,
    with no consumer group: every instance rebuilds its view, however many there are and whatever
    its database holds. The view writes keep the newest version, so reading again changes nothing."""
    topic = dispatcher.routes.stream.topic(dispatcher.region)
    subscriber = broker.subscriber(
        topic,
        group_id=None,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK_FIRST,
        title=f"{dispatcher.group}:{topic}",
        description=f"every instance of {dispatcher.group} reads {sorted(dispatcher.routes.routes)}",
    )

    @subscriber
    async def consume(message: KafkaMessage) -> None:
        await dispatcher.dispatch(message.raw_message)  # type: ignore[arg-type]

    return subscriber
