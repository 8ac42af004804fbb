"""Delivering events to partner webhook endpoints: at least once, in order per aggregate.

Each consumed event the endpoint subscribed to becomes one delivery record per endpoint (a
redelivered event adds none). One dispatcher at a time works an (endpoint, region), under a lease,
so two instances never send the same delivery together. Within it deliveries go out in arrival
order; while one is waiting for its retry, later deliveries *of the same aggregate* wait behind it,
and other aggregates carry on. A 410 disables the endpoint, and so does a failure run longer than
the configured limit; either way its owner is told.
"""

import asyncio
import contextlib
import logging
import random
import time
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.clock import Clock
from ekspora_kit.leases import Leases, aware
from ekspora_notifications import webhooks
from ekspora_notifications.channels import WebhookSender
from ekspora_notifications.delivery import Notifier, Occasion
from ekspora_notifications.domain import endpoint_disabled_message
from ekspora_notifications.store import WebhookStore
from ekspora_notifications.webhooks import Endpoint

logger = logging.getLogger(__name__)
LEASE_SECONDS = 60
ENDPOINT_FRESH_SECONDS = 1.0


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "ekspora_webhook_attempts_total",
            "Webhook delivery attempts by outcome: delivered, retried, failed, gone, blocked",
            ["outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "ekspora_webhook_delivery_seconds",
            "Time from the event to the partner endpoint's 2xx",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=registry,
        )


class WebhookDispatcher:
    def __init__(
        self,
        store: WebhookStore,
        catalogue: webhooks.Catalogue,
        sender: WebhookSender,
        notifier: Notifier,
        metrics: WebhookMetrics,
        *,
        regions: list[str],
        instance: str,
        schedule: list[float],
        jitter: float,
        disable_after_seconds: float,
        poll_seconds: float,
        clock: Clock,
    ) -> None:
        self.store, self.catalogue, self.sender = store, catalogue, sender
        self.notifier, self.metrics = notifier, metrics
        self.regions, self.schedule, self.jitter = regions, schedule, jitter
        self.disable_after = timedelta(seconds=disable_after_seconds)
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.leases = Leases(store.leases, holder=instance, seconds=LEASE_SECONDS, clock=clock)
        self.rng = random.Random()
        self._wake = asyncio.Event()

    async def enqueue(self, event: CloudEvent, partners_concerned: list[str]) -> int:
        """Queues `event` for every endpoint that subscribed to it and may see it."""
        audience = self.catalogue.audiences.get(event.type)
        if audience is None:
            return 0
        now = self.clock.now()
        seq = int(now.timestamp()) * 10**9 + now.microsecond * 1000  # arrival order, for order per aggregate
        deliveries: list[dict[str, object]] = [
            {
                "_id": f"{endpoint.endpoint_id}:{event.id}",
                "endpoint_id": endpoint.endpoint_id,
                "partner_id": endpoint.partner_id,
                "region": event.region,
                "subject": event.subject,
                "seq": seq,
                "message_id": webhooks.message_id(event.id),
                "event_type": event.type,
                "event_time": event.time,
                "body": webhooks.body(event),
                "status": "pending" if endpoint.enabled else "skipped",
                "next_at": now,
                "attempts": [],
                "created_at": now,
            }
            for endpoint in await self.store.subscribed_to(event.type)
            if endpoint.wants(event.type, event.region)
            and event.time >= endpoint.created_at  # a subscription covers what happens from then on
            and (audience == "everyone" or endpoint.partner_id in partners_concerned)
        ]
        queued = await self.store.enqueue(deliveries)
        if queued:
            self._wake.set()
        return queued

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("webhook round failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def deliver_due(self) -> None:
        """Works every (endpoint, region) with something due, each on its own so one slow
        endpoint holds no other back."""
        due = await self.store.due(self.regions, self.clock.now())
        await asyncio.gather(*(self._work(endpoint_id, region) for endpoint_id, region in due))

    async def _work(self, endpoint_id: str, region: str) -> None:
        lease_id = f"{endpoint_id}:{region}"
        if not await self.leases.take(lease_id):
            return
        try:
            await self._deliver_in_order(endpoint_id, region)
        finally:
            await self.leases.release(lease_id)

    async def _deliver_in_order(self, endpoint_id: str, region: str) -> None:
        waiting: set[str] = set()
        # stay well inside the lease: a slow endpoint (15 s a try) must not outlive it mid-batch
        budget = time.monotonic() + LEASE_SECONDS / 4
        current = EndpointOnFile(self.store, endpoint_id)
        for delivery in await self.store.pending(endpoint_id, region):
            if time.monotonic() > budget:
                return
            endpoint = await current.get()
            if endpoint is None or not endpoint.enabled:
                return
            if delivery["subject"] in waiting:
                continue
            if aware(delivery["next_at"]) > self.clock.now():
                waiting.add(delivery["subject"])
                continue
            if not await self._attempt(endpoint, delivery):
                waiting.add(delivery["subject"])
                current.forget()  # the failure may have disabled it or marked it failing

    async def _attempt(self, endpoint: Endpoint, delivery: dict) -> bool:
        now = self.clock.now()
        body = delivery["body"].encode()
        timestamp = int(now.timestamp())
        headers = webhooks.headers(endpoint.valid_secrets(now), delivery["message_id"], timestamp, body)
        started = time.monotonic()
        answer = await self.sender.post(endpoint.url, headers, body)
        outcome = webhooks.classify(answer.status) if answer.address else "blocked"
        attempt = {
            "at": now,
            "status": answer.status,
            "address": answer.address,
            "duration_ms": round((time.monotonic() - started) * 1000),
            "response": answer.error,
        }
        if outcome == "delivered":
            await self.store.record_attempt(delivery["_id"], attempt, {"status": "delivered", "delivered_at": now})
            self.metrics.attempts.labels("delivered").inc()
            self.metrics.latency.observe(max(0.0, (now - aware(delivery["event_time"])).total_seconds()))
            if endpoint.failing_since:
                await self.store.update_endpoint(endpoint.model_copy(update={"failing_since": None}), ["failing_since"])
            return True
        if outcome == "gone":
            await self.store.record_attempt(delivery["_id"], attempt, {"status": "failed", "reason": "410 Gone"})
            self.metrics.attempts.labels("gone").inc()
            await self._disable(endpoint, "it answered 410 Gone")
            return False
        made = len(delivery["attempts"]) + 1
        next_at = webhooks.next_attempt_at(
            attempts_made=made,
            schedule=self.schedule,
            now=now,
            retry_after=webhooks.parse_retry_after(answer.retry_after, now),
            jitter=self.jitter,
            rng=self.rng,
        )
        reason = f"HTTP {answer.status}" if answer.status else answer.error
        fields: dict[str, object]
        if next_at is None:
            fields = {"status": "failed", "reason": f"gave up after {made} attempts; last: {reason}"}
            self.metrics.attempts.labels("failed").inc()
        else:
            fields = {"next_at": next_at, "reason": reason}
            self.metrics.attempts.labels("retried" if outcome == "retry" else "blocked").inc()
        await self.store.record_attempt(delivery["_id"], attempt, fields)
        failing_since = endpoint.failing_since or now
        if not endpoint.failing_since:
            await self.store.update_endpoint(endpoint.model_copy(update={"failing_since": now}), ["failing_since"])
        if now - aware(failing_since) >= self.disable_after:
            await self._disable(endpoint, f"every delivery failed since {failing_since:%Y-%m-%d %H:%M} UTC ({reason})")
        return False

    async def _disable(self, endpoint: Endpoint, reason: str) -> None:
        logger.warning("webhook endpoint %s disabled: %s", endpoint.endpoint_id, reason)
        disabled = endpoint.model_copy(update={"enabled": False, "disabled_reason": reason})
        await self.store.update_endpoint(disabled, ["enabled", "disabled_reason"])
        recipient = await self.notifier.partner(endpoint.partner_id, "global")
        if recipient is None:
            return
        message = endpoint_disabled_message(
            recipient, self.notifier.templates, url=endpoint.url, endpoint_id=endpoint.endpoint_id, reason=reason
        )
        occasion = Occasion(
            f"endpoint-disabled:{endpoint.endpoint_id}:{self.clock.now():%Y%m%dT%H%M%S}",
            "ekspora.webhook.endpoint.disabled",
            endpoint.endpoint_id,
            self.clock.now(),
        )
        await self.notifier.notify(occasion, recipient, message)


class EndpointOnFile:
    """The endpoint as stored, read again once a second old or after a failure: deliveries stop
    within a second of it being disabled or deleted, without one read per delivery."""

    def __init__(self, store: WebhookStore, endpoint_id: str) -> None:
        self.store = store
        self.endpoint_id = endpoint_id
        self.read_at: float | None = None
        self.endpoint: Endpoint | None = None

    async def get(self) -> Endpoint | None:
        if self.read_at is None or time.monotonic() - self.read_at >= ENDPOINT_FRESH_SECONDS:
            self.endpoint = await self.store.endpoint(self.endpoint_id)
            self.read_at = time.monotonic()
        return self.endpoint

    def forget(self) -> None:
        self.read_at = None
