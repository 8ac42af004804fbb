"""Every event type the platform knows, by its versioned CloudEvents type."""

from ekspora_contracts.envelope import EventData
from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered

EVENT_TYPES: dict[str, type[EventData]] = {model.event_type: model for model in (MsmeRegistered, MsmeContactChanged)}
