"""The one event envelope: CloudEvents 1.0 in structured JSON mode, plus Ekspora's extensions.

Kafka binding: structured mode. The record value is the whole event as JSON
(`content-type: application/cloudevents+json` header); the record key is the event's `subject`
(the aggregate id), so every event of one aggregate lands on one partition, in order.
CloudEvents extension names must be lower-case alphanumerics, hence `correlationid`/`causationid`.
"""

import re
from datetime import datetime
from typing import Annotated, ClassVar, Generic, Literal, TypeVar
from uuid import uuid4

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ekspora_contracts.topics import Stream

CONTENT_TYPE = "application/cloudevents+json"
REGION_PATTERN = r"^[a-z][a-z0-9-]{1,40}$"
EVENT_TYPE_PATTERN = re.compile(r"^ekspora\.[a-z_]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$")


def _valid_event_type(value: str) -> str:
    if not EVENT_TYPE_PATTERN.match(value):
        raise ValueError("type must look like ekspora.<service>.<thing>.<past_tense_verb>.v<N>")
    return value


Region = Annotated[str, Field(pattern=REGION_PATTERN, description="Region slug, e.g. kota-kediri")]


class EventData(BaseModel):
    """Base of every event payload. Subclasses name their type, stream and aggregate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    stream: ClassVar[Stream]

    def aggregate_id(self) -> str:
        raise NotImplementedError


DataT = TypeVar("DataT", bound=BaseModel)


class CloudEvent(BaseModel, Generic[DataT]):
    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, description="Unique per source; a repeated source+id is a duplicate")
    source: str = Field(min_length=1, description="URI-reference of the producer, e.g. /ekspora/registry/kota-kediri")
    type: Annotated[str, AfterValidator(_valid_event_type)]
    time: datetime
    subject: str = Field(min_length=1, description="Aggregate id; also the Kafka record key")
    datacontenttype: Literal["application/json"] = "application/json"
    region: Region
    correlationid: str = Field(min_length=1, description="Id of the request or event chain this event belongs to")
    causationid: str | None = Field(default=None, description="Id of the event or request that caused this one")
    data: DataT


def event_model(data_type: type[EventData]) -> type[CloudEvent]:
    """CloudEvent of a payload type known only at run time, so its data validates and serialises as that type."""
    return CloudEvent[data_type]  # type: ignore[valid-type]


def new_event(
    data: EventData,
    *,
    region: str,
    producer: str,
    correlation_id: str,
    causation_id: str | None = None,
    time: datetime,
    event_id: str | None = None,
) -> CloudEvent:
    """An event of `data` at `time`, which the producer takes from its clock (never the wall clock)."""
    region = data.stream.event_region(region)
    return event_model(type(data))(
        id=event_id or str(uuid4()),
        source=f"/ekspora/{producer}/{region}",
        type=data.event_type,
        time=time,
        subject=data.aggregate_id(),
        region=region,
        correlationid=correlation_id,
        causationid=causation_id,
        data=data,
    )
