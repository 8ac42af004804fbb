"""Event handlers of the matching service."""

from ekspora_contracts.topics import REGISTRY_PRODUCT
from ekspora_kit.consumer import EventRoutes


def build_routes() -> list[EventRoutes]:
    return [EventRoutes(REGISTRY_PRODUCT)]
