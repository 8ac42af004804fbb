"""Helpers for tests against the real broker and store: service processes, topics, polling."""

import asyncio
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from ekspora_contracts.topics import SHIPPING_LANES
from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock
from ekspora_kit.events import envelopes
from ekspora_kit.provision import provision_regions, retire_regions
from ekspora_kit.topic_reader import delete_region_topics, read_from_beginning
from ekspora_ops.partners import accepted_by as until_accepted
from ekspora_ops.partners import sign_in
from ekspora_ops.processes import ServiceProcess, load_local_bus_credentials
from ekspora_shipping.domain import lane_announcements
from ekspora_shipping.policy import load_lanes

ROOT = Path(__file__).resolve().parents[2]
load_local_bus_credentials()  # tests act as the bus administrator; each service signs in as itself
BUS = BusAccess()
MONGO = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
LOG_DIR = ROOT / ".local" / "test-logs"
OPERATOR_TOKEN = "test-operator"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
T = TypeVar("T")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Platform:
    """Services of one test, in a region of their own (own topics, groups and databases)."""

    def __init__(self, test_name: str) -> None:
        self.region = f"t{uuid4().hex[:10]}"
        self.log_dir = LOG_DIR / f"{test_name[:60]}-{self.region}"
        self.processes: list[ServiceProcess] = []
        self.mongo: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
        self.regions: list[str] = []
        self.identity_process: ServiceProcess | None = None

    async def provision(self, *more: str) -> None:
        """The region's topics and the services' grants, as an operator adds a region (and `more`
        regions beside it, which close() takes away too)."""
        self.regions = [*self.regions, *(more or [self.region])]
        await provision_regions(BUS, self.regions)
        await announce_lanes()

    def database_name(self, service: str) -> str:
        return f"test_{self.region}_{service}"

    def database(self, service: str) -> AsyncDatabase:
        return self.mongo[self.database_name(service)]

    def topic(self, stream) -> str:
        return stream.topic(self.region)

    def start(
        self,
        service: str,
        *,
        name: str | None = None,
        fault_point: str = "",
        wait: bool = True,
        env: dict[str, str] | None = None,
    ) -> ServiceProcess:
        process = ServiceProcess(
            service,
            port=free_port(),
            log_dir=self.log_dir,
            name=name,
            env={
                "EKSPORA_REGIONS": self.region,
                "EKSPORA_MONGO_DATABASE": self.database_name(service),
                "EKSPORA_KAFKA_BOOTSTRAP": BUS.bootstrap,
                "EKSPORA_MONGO_URL": MONGO,
                "EKSPORA_OUTBOX_POLL_SECONDS": "0.2",
                "EKSPORA_FAULT_POINT": fault_point,
                "EKSPORA_INSTANCE": name or service,
                "EKSPORA_OPERATOR_TOKENS": f"{self.region}={OPERATOR_TOKEN}",
                "EKSPORA_DEFAULT_QUIET_HOURS": "",  # tests run at any hour; quiet hours are tested on purpose
                "EKSPORA_DIGEST_ENABLED": "false",  # nor does the daily digest arrive unasked; its tests ask for it
                **(env or {}),
            },
        )
        self.processes.append(process.start())
        return process.wait_ready() if wait else process

    def identity(self) -> ServiceProcess:
        """The region's identity service, started at the first call."""
        if self.identity_process is None:
            self.identity_process = self.start("identity")
        return self.identity_process

    async def partner_token(self, partner_id: str, *, accepted_by: tuple[str, str] | None = None) -> str:
        """An access token for the partner from identity (which learns partners from the bus), and,
        with `accepted_by` (a service's URL and a path), once that service takes it."""
        token = await sign_in(self.identity().url, OPERATOR_TOKEN, partner_id)
        if accepted_by:
            await until_accepted(*accepted_by, token)
        return token

    async def close(self) -> None:
        scans = [found for process in self.processes if (found := await unexplained_scans(process))]
        for process in self.processes:
            process.stop()
        for service in {p.service for p in self.processes}:
            await self.mongo.drop_database(self.database_name(service))
        await self.mongo.close()
        for region in self.regions:
            await delete_region_topics(BUS, region, with_global=True)
        await retire_regions(BUS, self.regions)
        assert not scans, "store queries read whole collections (see ekspora_kit.scans):\n" + "\n".join(scans)


async def announce_lanes() -> None:
    """The lanes shipping serves, on the global lanes topic (which each test's close deletes) as any
    shipping instance announces them at its start: matching refuses requests for a destination no lane
    reaches, and plans production to the lanes' schedules."""
    lanes = envelopes(
        lane_announcements(load_lanes(), {}), region="global", producer="shipping", time=Clock.from_environment().now()
    )
    for lane in lanes:
        await publish(SHIPPING_LANES.topic("global"), lane.subject.encode(), lane.model_dump_json().encode())


async def unexplained_scans(process: ServiceProcess) -> str:
    """What a running service logged about queries that read a whole collection, if it counted any."""
    if not process.running:
        return ""
    try:
        count = await metric_of(process, "ekspora_store_scans_total")
    except httpx.HTTPError:
        return ""
    if not count:
        return ""
    logged = [line for line in process.log_path.read_text().splitlines() if "reads the whole collection" in line]
    return f"{process.name}: {count:.0f} scans\n" + "\n".join(logged)


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 30, what: str = "condition") -> T:
    """Polls until probe returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {result!r})")
        await asyncio.sleep(0.2)


async def read_topic(topic: str, *, at_least: int = 0, timeout: float = 10) -> list[ConsumerRecord]:
    return await read_from_beginning(BUS, topic, at_least=at_least, timeout=timeout)


async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str] | None = None) -> None:
    producer = AIOKafkaProducer(**BUS.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in (headers or {}).items()]
        )
    finally:
        await producer.stop()


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of a Prometheus metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        label_text, value = line[len(name) + 1 :].rsplit("} ", 1)
        if all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            total += float(value)
    return total


async def metric_of(process: ServiceProcess, name: str, **labels: str) -> float:
    async with httpx.AsyncClient(timeout=10) as client:
        return metric((await client.get(f"{process.url}/metrics")).text, name, **labels)


async def handled(process: ServiceProcess, event_type: str, *, at_least: int, timeout: float = 30) -> None:
    """Waits until `process` has handled `at_least` events of `event_type`: the positive signal to
    wait for before asserting that handling them did *not* cause something."""

    async def counted() -> bool:
        return await metric_of(process, "ekspora_events_handled_total", event_type=event_type) >= at_least

    await eventually(counted, timeout=timeout, what=f"{process.name} to handle {at_least} {event_type}")


async def periodic_rounds(process: ServiceProcess, job: str, *, after: float, timeout: float = 30) -> float:
    """Waits until the periodic `job` of `process` has run to completion at least once more than
    `after` rounds; returns the new count."""

    async def rounds() -> float:
        done = await metric_of(process, "ekspora_periodic_runs_total", job=job, outcome="ok")
        return done if done > after else 0

    return await eventually(rounds, timeout=timeout, what=f"a round of {job} in {process.name}")


class Provider:
    """Plays the messaging provider: records every request, answers 503 for failing channels, takes
    the text and hangs up without an answer for answerless ones, and answers lookups by reference."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.failing: set[str] = set()
        self.answerless: set[str] = set()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                reference = parse_qs(urlsplit(self.path).query)["reference"][0]
                taken = [r for r in provider.requests if r.get("reference") == reference]
                self.send_response(200 if taken else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"id": f"msg-{reference}"} if taken else {"error": "none"}).encode())

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                provider.requests.append(body | {"auth": self.headers.get("Authorization")})
                if body["channel"] in provider.answerless:
                    self.close_connection = True  # taken, but the answer is lost on the way
                    return
                failed = body["channel"] in provider.failing
                self.send_response(503 if failed else 201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"error": "unavailable"} if failed else {"id": "msg-1"}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def sent(self, channel: str) -> list[dict]:
        return [r for r in self.requests if r["channel"] == channel]
