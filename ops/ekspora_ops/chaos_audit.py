"""What the chaos run counts at its end, from the stores and the topics (never from logs).

Lost: an effect the input called for that is not there (an UMKM, an offer, an order, a
notification, a webhook). Duplicated: one fact recorded twice under different identities (two
UMKM for one NIB, two proposal events for one match, two orders for one match, a text sent twice).
A record delivered again under the same id (a webhook's retry, a redelivered event) is at least
once delivery working, and is shown as redelivered, not as a duplicate.
"""

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient

from ekspora_contracts.topics import (
    CATALOGUE,
    DEAD_LETTER,
    MATCHING_MATCH,
    MATCHING_SALES,
    REGISTRY_MSME,
    REGISTRY_PRODUCT,
)
from ekspora_kit.bus import BusAccess
from ekspora_kit.lag import groups_of
from ekspora_kit.table import table
from ekspora_kit.topic_reader import group_lag, read_from_beginning
from ekspora_ops.messaging import WebhookCall

EXPORT_READY = "ekspora.registry.product.export_ready.v1"
REGISTERED = "ekspora.registry.msme.registered.v2"
PROPOSED = "ekspora.matching.match.proposed.v1"
CONFIRMED = "ekspora.matching.match.confirmed.v1"
SALES_REPORTED = "ekspora.matching.sales.reported.v1"


@dataclass(frozen=True)
class Poison:
    topic: str
    key: str
    kind: str


@dataclass
class Expectations:
    region: str
    registered: Mapping[str, str]  # msme id -> business name, as the clients were answered
    products: Mapping[str, int]  # msme id -> products it was given
    partners: Mapping[str, str]  # the run's partner ids -> when their webhook endpoint was created
    poison: list[Poison]
    texts: list[dict]
    webhooks: list[WebhookCall]


@dataclass
class Check:
    what: str
    expected: int
    lost: int
    duplicated: int
    note: str = ""


@dataclass
class Audit:
    bus: BusAccess
    mongo: str
    databases: Mapping[str, str]
    checks: list[Check] = field(default_factory=list)
    poison_rows: list[tuple] = field(default_factory=list)
    poison_missing: int = 0
    lag: int = 0
    faults: list[tuple] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    confirmed_by_clients: int = 0

    @property
    def lost(self) -> int:
        return sum(c.lost for c in self.checks)

    @property
    def duplicated(self) -> int:
        return sum(c.duplicated for c in self.checks)

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.poison_missing == 0 and self.lag == 0

    def report(self) -> str:
        parts = [
            table(("fault", "records in flight", "caught up after (s)"), self.faults),
            table(
                ("check (from stores and topics)", "expected", "lost", "duplicated", "note"),
                [(c.what, c.expected, c.lost, c.duplicated, c.note) for c in self.checks],
            ),
            table(("poison topic", "kind", "injected", "dead-lettered", "reasons"), self.poison_rows),
            table(
                ("what the clients met", "times"),
                sorted(self.answers.items()) or [("every call answered", 0)],
            ),
        ]
        verdict = "CLEAN" if self.clean else "NOT CLEAN"
        summary = (
            f"{verdict}: {self.lost} lost, {self.duplicated} duplicated, "
            f"{self.poison_missing} poison records not dead-lettered, consumer lag at the end {self.lag}"
        )
        return "\n\n".join([*parts, summary])

    async def count(self, expected: Expectations) -> None:
        topics = await read_region(self.bus, expected.region)
        events = {
            name: [e for e in records if not str(e.get("id", "")).startswith("poison-")]
            for name, records in topics.items()
        }
        mongo: AsyncMongoClient = AsyncMongoClient(self.mongo, tz_aware=True)
        try:
            stores = {service: mongo[name] for service, name in self.databases.items()}
            await self.count_registry(stores["registry"], events, expected)
            await self.count_matching(stores["matching"], stores["shipping"], events)
            await self.count_notifications(stores["notifications"], events, expected)
        finally:
            await mongo.close()
        self.count_poison(await dead_letters(self.bus, expected.region), expected)
        self.lag = await total_lag(self.bus, expected.region)

    async def count_registry(self, registry: Any, events: dict[str, list[dict]], expected: Expectations) -> None:
        shown = {"nib": 1, "products": 1, "applied_report_ids": 1}
        stored = [d async for d in registry["msmes"].find({"region": expected.region}, shown)]
        ids = {d["_id"] for d in stored}
        nibs = Counter(d["nib"] for d in stored)
        unknown = len(ids - set(expected.registered))
        self.checks.append(
            Check(
                "UMKM registered (registry store)",
                len(expected.registered),
                len(set(expected.registered) - ids),
                sum(n - 1 for n in nibs.values()) + unknown,
                "by NIB",
            )
        )
        products = {d["_id"]: [p["name"] for p in d.get("products", [])] for d in stored}
        want = sum(expected.products.values())
        have = {msme: len(names) for msme, names in products.items()}
        self.checks.append(
            Check(
                "products (registry store)",
                want,
                sum(max(0, n - have.get(msme, 0)) for msme, n in expected.products.items()),
                sum(max(0, have.get(msme, 0) - n) for msme, n in expected.products.items()),
                "per UMKM",
            )
        )
        applied = {d["_id"]: d.get("applied_report_ids", []) for d in stored}
        reports = distinct_ids(events["matching.sales"], SALES_REPORTED, key="match_id")
        reported = {report for ids in reports.values() for report in ids}
        kept = Counter(report for ids in applied.values() for report in ids)
        self.checks.append(
            Check(
                "sales reports in track records (registry store)",
                len(reported),
                len(reported - set(kept)),
                sum(len(ids) - 1 for ids in reports.values()) + sum(n - 1 for n in kept.values()),
                "one report per confirmed match",
            )
        )
        registered = distinct_ids(events["registry.msme"], REGISTERED)
        self.checks.append(
            Check(
                "msme.registered on the bus, one per UMKM",
                len(ids),
                len(ids - set(registered)),
                sum(len(v) - 1 for v in registered.values()),
            )
        )

    async def count_matching(self, matching: Any, shipping: Any, events: dict[str, list[dict]]) -> None:
        ready = {e["subject"] for e in events["registry.product"] if e["type"] == EXPORT_READY}
        offers = {d["_id"] async for d in matching["offers"].find({}, {"_id": 1})}
        self.checks.append(Check("export-ready products offered (matching store)", len(ready), len(ready - offers), 0))

        proposed = distinct_ids(events["matching.match"], PROPOSED)
        per_pair: dict[tuple, set] = defaultdict(set)
        for e in events["matching.match"]:
            if e["type"] == PROPOSED:
                terms = e["data"]["terms"]
                per_pair[(terms["demand_id"], terms["product_id"])].add(terms["match_id"])
        pairs = [d async for d in matching["pairs"].find({}, {"current_match_id": 1})]
        stored_matches = {d["current_match_id"] for d in pairs if d.get("current_match_id")}
        self.checks.append(
            Check(
                "proposals: stored and announced once",
                len(stored_matches),
                len(stored_matches - set(proposed)),
                sum(len(v) - 1 for v in proposed.values()) + sum(len(v) - 1 for v in per_pair.values()),
                "per match and per (demand, product)",
            )
        )
        confirmed = {e["subject"] for e in events["matching.match"] if e["type"] == CONFIRMED}
        shipments = [s async for s in shipping["shipments"].find({}, {"orders": 1})]
        lines = Counter(order["line"]["match_id"] for s in shipments for order in s.get("orders", []))
        self.checks.append(
            Check(
                "confirmed matches -> export orders (shipping store)",
                len(confirmed),
                len(confirmed - set(lines)),
                sum(n - 1 for n in lines.values()),
                f"{len(lines)} orders",
            )
        )

    async def count_notifications(
        self, notifications: Any, events: dict[str, list[dict]], expected: Expectations
    ) -> None:
        registered_events = {e["id"] for e in events["registry.msme"] if e["type"] == REGISTERED}
        operators = {"recipient": f"operator:{expected.region}"}
        told = Counter([d["event_id"] async for d in notifications["notifications"].find(operators, {"event_id": 1})])
        self.checks.append(
            Check(
                "operators told of each registration (notifications store)",
                len(registered_events),
                len(registered_events - set(told)),
                sum(told[e] - 1 for e in registered_events if told[e] > 1),
            )
        )
        await self.count_texts(notifications, expected)
        self.count_webhooks(events, expected)

    async def count_texts(self, notifications: Any, expected: Expectations) -> None:
        """A delivery is claimed ("sending") before the provider is called and marked sent after; one
        whose process died in between is settled later by asking the provider (settled: taken) or
        sending it (settled: resent). A text the provider never got counts as lost, one it got twice
        as duplicated."""
        claimed: Counter = Counter()
        unconfirmed, settled = 0, Counter[str]()
        async for d in notifications["deliveries"].find({"channel": {"$in": ["whatsapp", "sms"]}}):
            key = (d["address"], f"{d['subject']}\n{d['text']}")
            if d.get("status") in ("sent", "sending"):
                claimed[key] += 1
            unconfirmed += d.get("status") == "sending"
            settled[d.get("settled", "")] += 1
        received = Counter((t["to"], t["text"]) for t in expected.texts)
        self.checks.append(
            Check(
                "WhatsApp/SMS sent (provider vs delivery records)",
                sum(claimed.values()),
                sum(max(0, n - received[k]) for k, n in claimed.items()),
                sum(max(0, n - claimed[k]) for k, n in received.items()),
                f"settled after a process died: {settled['taken']} the provider had, {settled['resent']} sent then;"
                f" {unconfirmed} unsettled",
            )
        )

    def count_webhooks(self, events: dict[str, list[dict]], expected: Expectations) -> None:
        wanted: set[tuple[str, str]] = set()
        for e in events["registry.product"]:
            if e["type"] == EXPORT_READY:
                at = datetime.fromisoformat(e["time"])
                wanted |= {
                    (p, e["id"]) for p, since in expected.partners.items() if at >= datetime.fromisoformat(since)
                }
        for e in events["matching.match"]:
            if e["type"] in (PROPOSED, CONFIRMED) and e["data"]["terms"]["partner_id"] in expected.partners:
                wanted.add((e["data"]["terms"]["partner_id"], e["id"]))
        calls = Counter((call.partner, call.headers["webhook-id"].removeprefix("msg_")) for call in expected.webhooks)
        self.checks.append(
            Check(
                "partner webhooks (topics vs endpoints)",
                len(wanted),
                len(wanted - set(calls)),
                0,
                f"{sum(n - 1 for n in calls.values())} redelivered with the same id",
            )
        )

    def count_poison(self, letters: list[tuple[str, dict[str, str]]], expected: Expectations) -> None:
        by_key: dict[str, list[dict[str, str]]] = defaultdict(list)
        for key, headers in letters:
            by_key[key].append(headers)
        valid = [headers for key, headers in letters if not key.startswith("poison-")]
        groups: dict[tuple[str, str], list[Poison]] = defaultdict(list)
        for poison in expected.poison:
            groups[(poison.topic.split(".", 2)[2], poison.kind)].append(poison)
        self.poison_missing = 0
        for (stream, kind), injected in sorted(groups.items()):
            caught = [p for p in injected if by_key.get(p.key)]
            self.poison_missing += len(injected) - len(caught)
            reasons = sorted({h["dlt-reason"] for p in caught for h in by_key[p.key]})
            self.poison_rows.append((stream, kind, len(injected), len(caught), ", ".join(reasons)))
        self.checks.append(
            Check("valid events dead-lettered", 0, len(valid), 0, ", ".join(sorted({h["dlt-reason"] for h in valid})))
        )


def is_poison(event: dict) -> bool:
    return str(event.get("id", "")).startswith("poison-")


def distinct_ids(events: list[dict], event_type: str, key: str = "") -> dict[str, set[str]]:
    """Subject (or the data's `key`) -> the distinct event ids of `event_type` about it (with `key`,
    the distinct report ids)."""
    found: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e["type"] == event_type:
            if key:
                found[e["data"][key]].add(e["data"]["report_id"])
            else:
                found[e["subject"]].add(e["id"])
    return found


async def read_region(bus: BusAccess, region: str) -> dict[str, list[dict]]:
    streams = (REGISTRY_MSME, REGISTRY_PRODUCT, MATCHING_MATCH, MATCHING_SALES)
    records = await asyncio.gather(*(read_from_beginning(bus, s.topic(region)) for s in streams))
    parsed: dict[str, list[dict]] = {}
    for stream, found in zip(streams, records, strict=True):
        parsed[stream.name] = [event for r in found if (event := as_event(r.value))]
    return parsed


def as_event(value: bytes | None) -> dict | None:
    try:
        event = json.loads(value or b"")
    except ValueError:
        return None
    return event if isinstance(event, dict) and "type" in event else None


async def dead_letters(bus: BusAccess, region: str) -> list[tuple[str, dict[str, str]]]:
    found = await read_from_beginning(bus, DEAD_LETTER.topic(region))
    return [((r.key or b"").decode(), {k: v.decode() for k, v in r.headers}) for r in found]


async def region_groups(bus: BusAccess, region: str, patience: float = 120) -> list[str]:
    """The region's consumer groups, waiting out a broker that is still loading them after a restart."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return await groups_of(bus, region)
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


async def end_offsets(bus: BusAccess, region: str) -> dict[TopicPartition, int]:
    """The end of every regional topic's partitions now."""
    consumer = AIOKafkaConsumer(**bus.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(s.topic(region), n)
            for s in CATALOGUE
            if s.scope == "region" and s is not DEAD_LETTER
            for n in range(s.partitions)
        ]
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def caught_up_with(bus: BusAccess, groups: list[str], ends: Mapping[TopicPartition, int], timeout: float) -> int:
    """Waits (up to timeout) until every group has committed past `ends` on the topics it reads; returns
    how many records they are still behind those ends."""
    deadline = time.monotonic() + timeout
    while True:
        behind = 0
        admin = AIOKafkaAdminClient(**bus.client_options())
        try:
            await admin.start()
            for group in groups:
                committed = await admin.list_consumer_group_offsets(group)
                if not committed:  # a coordinator still loading the group after a restart answers nothing
                    raise KafkaError(f"no committed offsets for {group} yet")
                topics = {tp.topic for tp in committed}
                for tp, end in ends.items():
                    if tp.topic in topics:
                        offset = committed.get(tp)
                        behind += max(0, end - (offset.offset if offset and offset.offset >= 0 else 0))
        except KafkaError:  # the broker is coming back: not caught up yet
            behind = -1
        finally:
            await admin.close()
        if behind == 0 or time.monotonic() >= deadline:
            return behind
        await asyncio.sleep(0.5)


async def total_lag(bus: BusAccess, region: str) -> int:
    return sum([sum((await group_lag(bus, group)).values()) for group in await region_groups(bus, region)])
