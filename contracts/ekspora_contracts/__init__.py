from ekspora_contracts.catalog import EVENT_TYPES
from ekspora_contracts.envelope import CONTENT_TYPE, CloudEvent, EventData, new_event
from ekspora_contracts.topics import CATALOGUE, Stream

__all__ = ["CATALOGUE", "CONTENT_TYPE", "EVENT_TYPES", "CloudEvent", "EventData", "Stream", "new_event"]
