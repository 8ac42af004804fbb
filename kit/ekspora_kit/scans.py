"""Store queries that would read every document of a collection, caught as they are sent.

FerretDB on PostgreSQL hands equality on a top-level field to PostgreSQL; anything else (a dotted
path, `$in`, `$exists`, a range, an empty filter) it answers by decoding every document of the
collection, which grows with the region. So a hot-path query carries `_id`, or an equality on a
top-level field and no dotted path. One document of no filter and no sort is the exception: FerretDB
pushes that LIMIT down (GridFS asks it before every upload; 10 ms on 60 MB of chunks, where counting
them took 1.8 s). A query that has to read a whole
collection says why with `comment="scan: <why>"`; any other is counted in
`ekspora_store_scans_total` and logged once per shape, and the integration tests fail on it.
"""

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram
from pymongo import monitoring

logger = logging.getLogger(__name__)
EXPLAINED = "scan:"
SCALARS = (str, int, float, bool, datetime)
SLOW_SECONDS = 0.1
WATCHED = {"find", "count", "update", "delete", "findAndModify", "aggregate", "insert"}


def pushed_down(query: Mapping[str, Any]) -> bool:
    """Whether the store narrows this filter itself: by `_id`, or by equality of a top-level field
    with a scalar (directly or with `$eq`, here or in one branch of an `$and`) and with no dotted
    path beside it (a nested field selected by belongs at the top level, where it is narrowed too)."""
    if _equality(query.get("_id")):
        return True
    return _narrowed(query) and not any("." in field for field in _fields(query))


def _narrowed(query: Mapping[str, Any]) -> bool:
    for field, value in query.items():
        if field == "$and" and isinstance(value, list):
            if any(isinstance(branch, Mapping) and _narrowed(branch) for branch in value):
                return True
        elif not field.startswith("$") and _equality(value):
            return True
    return False


def _fields(query: Mapping[str, Any]) -> Iterator[str]:
    for field, value in query.items():
        if field in ("$and", "$or", "$nor") and isinstance(value, list):
            for branch in value:
                if isinstance(branch, Mapping):
                    yield from _fields(branch)
        elif not field.startswith("$"):
            yield field


def _equality(value: Any) -> bool:
    if isinstance(value, Mapping):
        return list(value) == ["$eq"] and isinstance(value["$eq"], SCALARS)
    return isinstance(value, SCALARS)


def shape(query: Any) -> Any:
    """The filter with its values left out, for logs: {"product.product_id": "?"}."""
    if isinstance(query, Mapping):
        return {
            field: shape(value) if field.startswith("$") or isinstance(value, Mapping) else "?"
            for field, value in query.items()
        }
    if isinstance(query, list):
        return [shape(item) for item in query]
    return "?"


def filters_of(command_name: str, command: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The filters a command selects documents by (none for inserts and index builds)."""
    if command_name == "find":
        yield command.get("filter") or {}
    elif command_name in ("count", "findAndModify"):
        yield command.get("query") or {}
    elif command_name == "update":
        yield from (statement.get("q") or {} for statement in command.get("updates", []))
    elif command_name == "delete":
        yield from (statement.get("q") or {} for statement in command.get("deletes", []))
    elif command_name == "aggregate":
        pipeline = command.get("pipeline") or [{}]
        yield pipeline[0].get("$match", {}) if isinstance(pipeline[0], Mapping) else {}


def _any_one(command_name: str, command: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    return command_name == "find" and not query and command.get("limit") == 1 and not command.get("sort")


class ScanWatch(monitoring.CommandListener):
    """A PyMongo listener for one service's client: counts and logs the scans nobody explained,
    times every command, and logs the ones slower than SLOW_SECONDS with their filter's shape."""

    def __init__(self, service: str, counter: Counter, durations: Histogram) -> None:
        self.service, self.counter, self.durations = service, counter, durations
        self.seen: set[str] = set()
        self.in_flight: dict[int, tuple[str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        collection = str(command.get(event.command_name, ""))
        if event.command_name in WATCHED:
            filters = [shape(query) for query in filters_of(event.command_name, command)]
            self.in_flight[event.request_id] = (collection, f"{event.command_name} {collection} {filters}")
        comment = command.get("comment")
        if isinstance(comment, str) and comment.startswith(EXPLAINED):
            return
        for query in filters_of(event.command_name, command):
            if pushed_down(query) or _any_one(event.command_name, command, query):
                continue
            self.counter.labels(self.service, collection).inc()
            described = f"{event.command_name} {collection} {shape(query)}"
            if described not in self.seen:
                self.seen.add(described)
                logger.warning("store query reads the whole collection: %s", described)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finished(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finished(event)

    def _finished(self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent) -> None:
        started = self.in_flight.pop(event.request_id, None)
        if started is None:
            return
        collection, described = started
        seconds = event.duration_micros / 1e6
        self.durations.labels(self.service, event.command_name, collection).observe(seconds)
        if seconds >= SLOW_SECONDS:
            logger.warning("slow store command (%.0f ms): %s", seconds * 1000, described)
