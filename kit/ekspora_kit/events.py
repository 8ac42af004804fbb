"""Wrapping a use case's domain events into envelopes that carry the request's correlation id."""

from collections.abc import Sequence
from datetime import datetime
from uuid import uuid4

from ekspora_contracts.envelope import CloudEvent, EventData, new_event
from ekspora_kit.logs import correlation_id


def envelopes(
    events: Sequence[EventData], *, region: str, producer: str, time: datetime, causation_id: str | None = None
) -> list[CloudEvent]:
    correlation = correlation_id.get() or str(uuid4())
    return [
        new_event(
            event, region=region, producer=producer, correlation_id=correlation, causation_id=causation_id, time=time
        )
        for event in events
    ]
