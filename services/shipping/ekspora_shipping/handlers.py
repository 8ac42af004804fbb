"""Event handlers of the shipping service."""

from ekspora_contracts.topics import MATCHING_MATCH
from ekspora_kit.consumer import EventRoutes


def build_routes() -> list[EventRoutes]:
    return [EventRoutes(MATCHING_MATCH)]
