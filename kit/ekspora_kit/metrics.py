"""The kit's own Prometheus metrics, one registry per service process, and business state counts."""

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pymongo.asynchronous.collection import AsyncCollection


class KitMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.outbox_pending = Gauge(
            "ekspora_outbox_pending_events",
            "Events stored in outboxes and not yet published",
            ["service"],
            registry=self.registry,
        ).labels(service)
        self.outbox_lag = Gauge(
            "ekspora_outbox_lag_seconds",
            "Age of the oldest unpublished outbox event",
            ["service"],
            registry=self.registry,
        ).labels(service)
        self.outbox_published = Counter(
            "ekspora_outbox_published_total",
            "Events published by the outbox relay",
            ["service", "topic"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "ekspora_dead_letters_total",
            "Messages sent to the dead-letter topic",
            ["service", "topic", "reason"],
            registry=self.registry,
        )
        self.duplicates_skipped = Counter(
            "ekspora_duplicates_skipped_total",
            "Redelivered events whose effect already existed",
            ["service", "event_type"],
            registry=self.registry,
        )
        self.events_handled = Counter(
            "ekspora_events_handled_total",
            "Events handled successfully",
            ["service", "event_type"],
            registry=self.registry,
        )
        self.events_ignored = Counter(
            "ekspora_events_ignored_total",
            "Events of types this service does not consume",
            ["service", "topic"],
            registry=self.registry,
        )
        self.handler_retries = Counter(
            "ekspora_handler_retries_total",
            "Handler attempts that failed and were retried",
            ["service", "event_type"],
            registry=self.registry,
        )
        self.periodic_runs = Counter(
            "ekspora_periodic_runs_total",
            "Rounds of a periodic job (expiry, reminders, digest, quiet hours), by outcome: ok or failed",
            ["service", "job", "outcome"],
            registry=self.registry,
        )
        self.store_scans, self.store_seconds = store_metrics(self.registry)
        self.service = service


def store_metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    """What ekspora_kit.scans.ScanWatch counts and times of a service's store commands."""
    scans = Counter(
        "ekspora_store_scans_total",
        "Store queries that read the whole collection without saying why (see ekspora_kit.scans)",
        ["service", "collection"],
        registry=registry,
    )
    seconds = Histogram(
        "ekspora_store_command_seconds",
        "Time the store took to answer a command, by command and collection",
        ["service", "command", "collection"],
        buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        registry=registry,
    )
    return scans, seconds


class StateCounts:
    """Business figures for dashboards: how many aggregates are in each state, per region,
    recounted from the service's own store (so the gauge is right after any restart). One count
    per region and state, each by equality on top-level fields, which the store answers without
    reading every document (a `$group` over the collection would)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        collection: AsyncCollection,
        *,
        name: str,
        documentation: str,
        region_field: str,
        state_field: str,
        state_label: str,
        regions: Sequence[str],
        states: Sequence[str],
    ) -> None:
        self.collection, self.region_field, self.state_field = collection, region_field, state_field
        self.labels = [(region, state) for region in regions for state in states]
        self.gauge = Gauge(name, documentation, ["region", state_label], registry=registry)

    async def recount(self) -> None:
        for region, state in self.labels:
            count = await self.collection.count_documents({self.region_field: region, self.state_field: state})
            self.gauge.labels(region, state).set(count)
