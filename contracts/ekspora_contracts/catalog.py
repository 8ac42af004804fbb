"""Every event type the platform knows, by its versioned CloudEvents type."""

from ekspora_contracts import identity, matching, notifications, registry, shipping
from ekspora_contracts.envelope import EventData

EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for module in (registry, matching, shipping, notifications, identity)
    for model in vars(module).values()
    if isinstance(model, type) and issubclass(model, EventData) and model is not EventData
}
