"""Consuming events: typed handlers, bounded retries, dead letters, offsets committed after effects.

One FastStream subscriber per (stream, region) with `AckPolicy.NACK_ON_ERROR`: the offset is
committed only after the handler returned (its effect is stored). A message that is not valid
JSON, not a valid event, or keeps failing after bounded retries is written to the region's
dead-letter topic and then acknowledged, so the consumer moves on. Only when the dead-letter
write itself fails is the message nacked, and Kafka redelivers it.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from ekspora_contracts.envelope import CloudEvent, EventData, event_model
from ekspora_contracts.topics import DEAD_LETTER, Stream
from ekspora_kit.clock import Clock
from ekspora_kit.logs import correlation_id, log_fields
from ekspora_kit.metrics import KitMetrics
from ekspora_kit.outbox import RecordPublisher

logger = logging.getLogger(__name__)
Handler = Callable[[CloudEvent], Awaitable[None]]


class PermanentFailure(Exception):
    """Raised by a handler for an event that can never succeed; it goes to the dead-letter topic at once."""


@dataclass(frozen=True)
class Route:
    model: type[EventData]
    handler: Handler


class EventRoutes:
    """The event types a service consumes from one stream, each with its typed handler."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.routes: dict[str, Route] = {}

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

        token = correlation_id.set(event.correlationid)
        try:
            return await self._call_with_retries(route, event)
        finally:
            correlation_id.reset(token)

    async def _call_with_retries(self, route: Route, event: CloudEvent) -> DeadLetter | None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                await route.handler(event)
            except PermanentFailure as error:
                return DeadLetter("rejected", str(error))
            except Exception as error:
                if attempt == self.max_attempts:
                    logger.exception(
                        "handler failed %d times, dead-lettering",
                        attempt,
                        extra=log_fields(event_id=event.id, event_type=event.type),
                    )
                    return DeadLetter("handler_failed", f"{self.max_attempts} attempts, last: {error!r}")
                self.metrics.handler_retries.labels(self.metrics.service, event.type).inc()
                logger.warning(
                    "handler failed (attempt %d), retrying: %r",
                    attempt,
                    error,
                    extra=log_fields(event_id=event.id, event_type=event.type),
                )
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            else:
                self.metrics.events_handled.labels(self.metrics.service, event.type).inc()
                return None
        return None

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


def subscribe_group(broker: KafkaBroker, dispatchers: Sequence[Dispatcher], *, group: str) -> Any:
    """One consumer in `group` for all the regional topics a service reads for one region.

    One member per instance and region (not one per topic) keeps a start or a scale-out to a
    single rebalance of the group, and each record still goes to the routes of its own topic."""
    by_topic = {d.routes.stream.topic(d.region): d for d in dispatchers}
    subscriber = broker.subscriber(
        *by_topic,
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=group,
        description="; ".join(f"{topic}: {sorted(d.routes.routes)}" for topic, d in by_topic.items()),
    )

    @subscriber
    async def consume(message: KafkaMessage) -> None:
        record = message.raw_message
        await by_topic[record.topic].dispatch(record)  # type: ignore[union-attr]

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
