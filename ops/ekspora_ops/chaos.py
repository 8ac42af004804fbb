"""The chaos run: the whole platform, several instances of every service, under faults.

UMKM with their products flow in through the registry's API, partners' requests for quotation
draw proposals, both sides confirm them, shipping turns them into orders and shipments, and
notifications tells owners, operators and partners' webhooks. Meanwhile, one fault at a time and
each while events are in flight: every service instance is killed with SIGKILL and restarted,
the Kafka broker is crashed and restarted, and the store (FerretDB and PostgreSQL) is crashed
and restarted; one input record in a hundred is malformed. At the end the run counts from the
stores and the topics, not from logs (see `audit`).

    bench/chaos.py (the full run)    tests/integration/test_chaos.py (a bounded one, in ./ekspora test)
"""

import asyncio
import itertools
import json
import subprocess
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient

from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock
from ekspora_kit.provision import provision_regions, retire_regions
from ekspora_kit.topic_reader import delete_region_topics
from ekspora_ops import seed
from ekspora_ops.chaos_audit import (
    Audit,
    Expectations,
    Poison,
    caught_up_with,
    end_offsets,
    region_groups,
)
from ekspora_ops.evidence import scan_of
from ekspora_ops.messaging import LocalMessaging
from ekspora_ops.partners import request_body, sign_in
from ekspora_ops.processes import SERVICES, ServiceProcess
from ekspora_ops.shops import last_sale_day, sales_export

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "deploy" / "local" / "infra.sh"
PARTNERS = Path(__file__).parent / "seed" / "partners.yaml"
TOKEN = "chaos-operator"
CLOCK = Clock.from_environment()
WEBHOOK_TYPES = [
    "ekspora.registry.product.export_ready.v1",
    "ekspora.matching.match.proposed.v1",
    "ekspora.matching.match.confirmed.v1",
]
POISON_TARGETS = [  # (stream name, an event type some service consumes from it)
    ("registry.product", "ekspora.registry.product.export_ready.v1"),
    ("registry.msme", "ekspora.registry.msme.registered.v2"),
    ("matching.match", "ekspora.matching.match.confirmed.v1"),
    ("matching.sales", "ekspora.matching.sales.reported.v1"),
    ("shipping.shipment", "ekspora.shipping.shipment.planned.v1"),
]
POISON_KINDS = ("not JSON", "no event type", "invalid data")


class ChaosFailed(Exception):
    pass


@dataclass(frozen=True)
class Plan:
    umkm: int
    instances: int = 2
    rate: float = 5.0  # UMKM registrations started per second
    demand_copies: int = 1  # each seed partner's requests for quotation, posted this many times
    poison_every: int = 100  # one malformed record per this many input records
    faults: tuple[str, ...] = ()
    bus: BusAccess = field(default_factory=BusAccess)
    mongo: str = "mongodb://127.0.0.1:27017"

    @staticmethod
    def every_fault(instances: int) -> tuple[str, ...]:
        kills = [f"kill {service}-{n}" for service in SERVICES for n in range(1, instances + 1)]
        return (*kills, "crash kafka", "crash store")


@dataclass
class FaultOutcome:
    fault: str
    in_flight: int
    recovery_seconds: float


@dataclass
class Traffic:
    """What the run's clients saw, for the report."""

    registered: dict[str, str] = field(default_factory=dict)  # msme id -> business name
    products: dict[str, int] = field(default_factory=dict)  # msme id -> products it is given
    confirmed: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)  # matches whose partner reported its sales
    answers: Counter = field(default_factory=Counter)  # "503", "500", "no answer", ...
    inputs: int = 0


class Unanswered(Exception):
    """A write got no answer: it may or may not have been applied."""


class Failover:
    """An HTTP client over a service's instances, as a load balancer would: a refused connection, or
    a 503 to a read, goes to the next instance; a write that got no answer or a 5xx is the caller's
    to reconcile, since it may have been applied."""

    def __init__(self, urls: list[str], headers: dict[str, str], traffic: Traffic, patience: float = 180) -> None:
        self.clients = [httpx.AsyncClient(base_url=url, headers=headers, timeout=30) for url in urls]
        self.turn = itertools.count()
        self.traffic = traffic
        self.patience = patience

    async def call(self, method: str, path: str, body: Any = None, **request: Any) -> httpx.Response:
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            client = self.clients[next(self.turn) % len(self.clients)]
            try:
                response = await client.request(method, path, json=body, **request)
            except httpx.ConnectError:
                self.traffic.answers["connection refused"] += 1
            except httpx.TransportError as error:
                self.traffic.answers["no answer"] += 1
                if method != "GET":
                    raise Unanswered(f"{method} {path}: {error!r}") from error
            else:
                if response.status_code == 409 and response.json().get("error") == "busy":
                    self.traffic.answers["409 busy (a writer died mid-change, or others are changing it)"] += 1
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                    continue
                if response.status_code < 500:
                    return response
                self.traffic.answers[str(response.status_code)] += 1
                if method != "GET":
                    # a 503 may come after the store applied the write and before it answered
                    await asyncio.sleep(float(response.headers.get("retry-after", "0.3")))
                    raise Unanswered(f"{method} {path}: {response.status_code} {response.text[:200]}")
            await asyncio.sleep(0.3)
        raise ChaosFailed(f"{method} {path}: no instance answered for {self.patience:.0f}s")

    def urls(self) -> list[str]:
        return [str(client.base_url) for client in self.clients]

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


class Fleet:
    """`instances` processes of every service, sharing the region's databases and consumer groups."""

    def __init__(self, plan: Plan, region: str, env: dict[str, str]) -> None:
        log_dir = ROOT / ".local" / "chaos" / region
        self.processes = {
            service: [
                ServiceProcess(
                    service,
                    port=free_port(),
                    log_dir=log_dir,
                    name=f"{service}-{n}",
                    env=env | {"EKSPORA_MONGO_DATABASE": database_name(region, service), "EKSPORA_INSTANCE": f"{n}"},
                )
                for n in range(1, plan.instances + 1)
            ]
            for service in SERVICES
        }

    def all(self) -> list[ServiceProcess]:
        return [process for group in self.processes.values() for process in group]

    def urls(self, service: str) -> list[str]:
        return [process.url for process in self.processes[service]]

    def instance(self, name: str) -> ServiceProcess:
        return next(process for process in self.all() if process.name == name)

    async def start(self) -> None:
        for process in self.all():
            process.start()
        for process in self.all():
            await asyncio.to_thread(process.wait_ready, 90)

    def stop(self) -> None:
        for process in self.all():
            process.stop()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_name(region: str, service: str) -> str:
    return f"chaos_{region}_{service}"


def infra(*args: str) -> None:
    done = subprocess.run(["bash", str(INFRA), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ChaosFailed(f"infra.sh {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


class ChaosRun:
    def __init__(self, plan: Plan, *, progress: bool = True) -> None:
        self.plan = plan
        self.region = f"chaos-{uuid4().hex[:6]}"
        self.progress = progress
        self.traffic = Traffic()
        self.poison: list[Poison] = []
        self.poison_numbers = itertools.count()
        self.faults: list[FaultOutcome] = []
        self.partners: dict[str, dict[str, Any]] = {}  # partner id -> name, key, endpoint creation time
        self.requests: list[tuple[str, str]] = []  # (partner id, demand id) posted by the run
        self.flowing = asyncio.Event()  # the first UMKM are in: faults may start
        self.faults_done = asyncio.Event()

    def say(self, text: str) -> None:
        if self.progress:
            print(f"[chaos {CLOCK.now():%H:%M:%S}] {text}", flush=True)

    async def run(self) -> Audit:
        with LocalMessaging() as outside:
            env = {
                "EKSPORA_REGIONS": self.region,
                "EKSPORA_OPERATOR_TOKENS": f"{self.region}={TOKEN}",
                "EKSPORA_KAFKA_BOOTSTRAP": self.plan.bus.bootstrap,
                "EKSPORA_MONGO_URL": self.plan.mongo,
                "EKSPORA_OUTBOX_POLL_SECONDS": "0.5",
                "EKSPORA_TOKEN_TTL_SECONDS": "3600",  # the partners' tokens last the run
                "EKSPORA_DEFAULT_QUIET_HOURS": "",
                "EKSPORA_DIGEST_ENABLED": "false",
                # texts whose process was killed are settled within the run (the local provider answers at once)
                "EKSPORA_UNCONFIRMED_AFTER_SECONDS": "20",
                "EKSPORA_UNCONFIRMED_CHECK_SECONDS": "2",
                **outside.env(),
            }
            await provision_regions(self.plan.bus, [self.region])
            fleet = Fleet(self.plan, self.region, env)
            self.say(f"region {self.region}: {self.plan.instances} instances of each service starting")
            await fleet.start()
            producer = AIOKafkaProducer(**self.plan.bus.client_options(), acks="all", enable_idempotence=True)
            await producer.start()
            try:
                clients = self.clients(fleet)
                await self.set_up_partners(clients, outside)
                await asyncio.gather(
                    self.register_all(clients, producer),
                    self.confirm_proposals(clients),
                    self.inject_faults(fleet),
                )
                self.say("faults over and every UMKM in: waiting for the platform to settle")
                await self.settle(clients)
                return await self.audit(outside)
            finally:
                await producer.stop()
                await self.close_requests(fleet.urls("matching"))
                for client in clients.values():
                    await client.close()
                fleet.stop()
                await self.drop_databases()
                await delete_region_topics(self.plan.bus, self.region)
                await retire_regions(self.plan.bus, [self.region])

    async def close_requests(self, matching_urls: list[str]) -> None:
        """Requests are global: the run closes its own, so no other region's products are proposed to
        them once the run is over."""
        for partner_id, demand_id in self.requests:
            token = self.partners[partner_id]["token"]
            client = Failover(matching_urls, {"Authorization": f"Bearer {token}"}, Traffic(), patience=10)
            with suppress(Unanswered, ChaosFailed):  # a run that failed may have no matching left to answer
                await client.call("POST", f"/demands/{demand_id}/closure", None)
            await client.close()

    def clients(self, fleet: Fleet) -> dict[str, Failover]:
        operator = {"Authorization": f"Bearer {TOKEN}"}
        return {service: Failover(fleet.urls(service), operator, self.traffic) for service in SERVICES}

    def partner_client(self, urls: list[str], partner_id: str, headers: dict[str, str] | None = None) -> Failover:
        token = self.partners[partner_id]["token"]
        return Failover(urls, {"Authorization": f"Bearer {token}", **(headers or {})}, self.traffic)

    async def set_up_partners(self, clients: dict[str, Failover], outside: LocalMessaging) -> None:
        """The seed's partners, each with its requests for quotation and a webhook endpoint (before any fault)."""
        seeded = yaml.safe_load(PARTNERS.read_text())["partners"]
        rfqs = 0
        for item in seeded:
            fields = {k: v for k, v in item.items() if k != "demand"} | {"name": f"{item['name']} ({self.region})"}
            partner_id = (await self.ok(clients["matching"], "POST", "/partners", fields))["partner_id"]
            await self.ok(clients["matching"], "POST", f"/partners/{partner_id}/verification")
            token = await sign_in(clients["identity"].urls()[0], TOKEN, partner_id)  # before any fault
            self.partners[partner_id] = {"name": item["name"], "token": token}
            matching = self.partner_client(clients["matching"].urls(), partner_id)
            notifications = self.partner_client(clients["notifications"].urls(), partner_id)
            body = {"url": outside.webhook_url(partner_id), "event_types": WEBHOOK_TYPES, "regions": [self.region]}
            endpoint = await self.until_known(notifications, "POST", "/webhooks/endpoints", body)
            self.partners[partner_id]["endpoint_created_at"] = endpoint["created_at"]
            await self.until_served(matching)
            for _ in range(self.plan.demand_copies):
                for rfq in item["demand"]:
                    posted = await self.until_known(matching, "POST", "/demands", request_body(rfq, CLOCK.now().date()))
                    self.requests.append((partner_id, posted["demand_id"]))
                    rfqs += 1
            await matching.close()
            await notifications.close()
        self.say(f"{len(self.partners)} partners with {rfqs} requests for quotation and a webhook endpoint each")

    async def ok(self, client: Failover, method: str, path: str, body: Any = None) -> Any:
        response = await client.call(method, path, body)
        if response.status_code not in (200, 201):
            raise ChaosFailed(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    async def until_known(self, client: Failover, method: str, path: str, body: Any) -> Any:
        """A partner's first calls wait until the service has read the partner from the bus."""
        for _ in range(150):
            response = await client.call(method, path, body)
            if response.status_code in (200, 201):
                return response.json()
            if response.status_code not in (401, 403):
                raise ChaosFailed(f"{method} {path}: {response.status_code} {response.text[:300]}")
            await asyncio.sleep(0.2)
        raise ChaosFailed(f"{method} {path}: the partner never became known")

    async def until_served(self, client: Failover) -> None:
        """Requests name a destination shipping serves, which matching learns from the lanes topic."""
        for _ in range(150):
            if (await client.call("GET", "/lanes", None)).json():
                return
            await asyncio.sleep(0.2)
        raise ChaosFailed("matching never learned the lanes shipping serves")

    async def register_all(self, clients: dict[str, Failover], producer: AIOKafkaProducer) -> None:
        """Registers UMKM from the seed's templates at the plan's rate, until enough are in and the faults are over."""
        templates = seed.registrations(seed.read_seed(seed.KOTA_KEDIRI))
        nib_prefix = f"{int(uuid4().hex[:8], 16) % 10**6:06d}"
        running: list[asyncio.Task] = []
        gate = asyncio.Semaphore(8)
        for number in itertools.count():
            if number >= self.plan.umkm and self.faults_done.is_set():
                break
            template = templates[number % len(templates)]

            async def register(template: dict = template, number: int = number) -> None:
                async with gate:
                    await self.register_one(clients["registry"], template, f"{nib_prefix}{number:07d}", producer)

            running.append(asyncio.create_task(register()))
            if failed := [t for t in running if t.done() and t.exception()]:
                raise failed[0].exception()  # type: ignore[misc]
            if number % 50 == 49:
                self.say(
                    f"{len(self.traffic.registered)} UMKM registered, {len(self.traffic.confirmed)} matches confirmed"
                )
            await asyncio.sleep(1 / self.plan.rate)
        await asyncio.gather(*running)
        self.say(f"{len(self.traffic.registered)} UMKM registered in all")

    async def register_one(self, registry: Failover, template: dict, nib: str, producer: AIOKafkaProducer) -> None:
        body = template["register"] | {
            "region": self.region,
            "nib": nib,
            "business_name": f"{template['register']['business_name']} {nib[-4:]}",
            "whatsapp": f"+628133{nib[-7:]}",
            "email": f"umkm{nib}@umkm-kediri.id",
        }
        msme_id = await self.create_msme(registry, body)
        self.traffic.products[msme_id] = len(template["products"])
        await self.count_input(producer)
        if template["verified"]:
            await self.repeatable(registry, f"/msmes/{msme_id}/nib-verification", None, producer)
        sold = []
        for product_body, certificates in template["products"]:
            product_id = await self.add_product(registry, msme_id, product_body)
            sold.append((product_id, product_body["unit_price_idr"]))
            await self.count_input(producer)
            for certificate in certificates:
                path = f"/msmes/{msme_id}/products/{product_id}/certificates"
                await self.repeatable(registry, path, certificate, producer)
                await self.verified_scan(registry, f"{path}/{certificate['kind']}/evidence", producer)
        for listing in template["listings"]:
            await self.repeatable(registry, f"/msmes/{msme_id}/listings", listing, producer)
            await self.imported_sales(registry, msme_id, listing["platform"], sold, producer)

    async def create_msme(self, registry: Failover, body: dict) -> str:
        """Registers once: after a write that got no answer, the NIB tells whether it was applied."""
        while True:
            try:
                response = await registry.call("POST", "/msmes", body)
            except Unanswered:
                response = None
            if response is not None and response.status_code == 201:
                msme_id = response.json()["msme_id"]
                break
            if response is not None and response.status_code != 409:
                raise ChaosFailed(f"registration refused: {response.status_code} {response.text[:300]}")
            found = await self.ok(registry, "GET", f"/msmes?region={self.region}&nib={body['nib']}")
            if found["items"]:
                msme_id = found["items"][0]["msme_id"]
                break
        self.traffic.registered[msme_id] = body["business_name"]
        if len(self.traffic.registered) >= min(10, self.plan.umkm):
            self.flowing.set()
        return msme_id

    async def add_product(self, registry: Failover, msme_id: str, body: dict) -> str:
        """Lists once: a name is listed once per UMKM, so a 409 after an unanswered try means it was applied."""
        tried = False
        while True:
            try:
                response = await registry.call("POST", f"/msmes/{msme_id}/products", body)
            except Unanswered:
                tried = True
                continue
            if response.status_code == 201:
                return response.json()["product"]["product_id"]
            if tried and response.status_code == 409:
                msme = await self.ok(registry, "GET", f"/msmes/{msme_id}")
                return next(p["product_id"] for p in msme["products"] if p["name"] == body["name"])
            raise ChaosFailed(f"product refused: {response.status_code} {response.text[:300]}")

    async def repeatable(self, registry: Failover, path: str, body: Any, producer: AIOKafkaProducer) -> None:
        """A write whose repetition changes nothing (a 409 after an unanswered try means it was applied)."""
        tried = False
        while True:
            try:
                response = await registry.call("POST", path, body)
            except Unanswered:
                tried = True
                continue
            if response.status_code in (200, 201) or (tried and response.status_code == 409):
                await self.count_input(producer)
                return
            raise ChaosFailed(f"POST {path}: {response.status_code} {response.text[:300]}")

    async def verified_scan(self, registry: Failover, evidence: str, producer: AIOKafkaProducer) -> None:
        """The certificate's scan uploaded and verified: both repeat harmlessly (the same scan again, or
        a verified scan verified again, changes nothing), so an unanswered try is simply tried again."""
        scan = {"content": scan_of("certificate", evidence), "headers": {"content-type": "application/pdf"}}
        for path, body, request in ((evidence, None, scan), (f"{evidence}/review", {"status": "verified"}, {})):
            while True:
                try:
                    response = await registry.call("PUT", path, body, **request)
                except Unanswered:
                    continue
                if response.status_code != 200:
                    raise ChaosFailed(f"PUT {path}: {response.status_code} {response.text[:300]}")
                break
        await self.count_input(producer)

    async def imported_sales(
        self, registry: Failover, msme_id: str, platform: str, sold: list[tuple[str, int]], producer: AIOKafkaProducer
    ) -> None:
        """The shop's order export imported: each line counts once, so an unanswered try is tried again."""
        content, content_type = sales_export(platform, sold, last_sale_day())
        path = f"/msmes/{msme_id}/marketplace/{platform}/sales"
        while True:
            try:
                response = await registry.call(
                    "POST", path, None, content=content, headers={"content-type": content_type}
                )
            except Unanswered:
                continue
            if response.status_code != 200:
                raise ChaosFailed(f"POST {path}: {response.status_code} {response.text[:300]}")
            break
        await self.count_input(producer)

    async def count_input(self, producer: AIOKafkaProducer) -> None:
        """One input record in `poison_every` is followed by a malformed record on one of the topics services read."""
        self.traffic.inputs += 1
        if self.traffic.inputs % self.plan.poison_every:
            return
        number = next(self.poison_numbers)  # taken before any await: concurrent registrations share it
        stream, event_type = POISON_TARGETS[number % len(POISON_TARGETS)]
        kind = POISON_KINDS[number % len(POISON_KINDS)]
        poison = Poison(f"ekspora.{self.region}.{stream}", f"poison-{number}", kind)
        value = {
            "not JSON": b"\x00{not json",
            "no event type": json.dumps({"id": poison.key, "data": {}}).encode(),
            "invalid data": json.dumps(
                {
                    "specversion": "1.0",
                    "id": poison.key,
                    "type": event_type,
                    "source": "/chaos",
                    "subject": poison.key,
                    "time": CLOCK.now().isoformat(),
                    "region": self.region,
                    "producer": "chaos",
                    "correlationid": poison.key,
                    "datacontenttype": "application/json",
                    "data": {"msme_id": 42},
                }
            ).encode(),
        }[kind]
        while True:
            try:
                await producer.send_and_wait(poison.topic, value, key=poison.key.encode())
                break
            except KafkaError:  # the broker may be down for a fault: the record waits for it
                await asyncio.sleep(1)
        self.poison.append(poison)

    async def confirm_proposals(self, clients: dict[str, Failover]) -> None:
        while not (self.faults_done.is_set() and len(self.traffic.registered) >= self.plan.umkm):
            await self.confirm_round(clients)
            await asyncio.sleep(1)

    async def confirm_round(self, clients: dict[str, Failover]) -> int:
        """Both sides accept every open proposal made to the run's partners; returns how many were open."""
        proposed = await self.ok(clients["matching"], "GET", "/matches?status=proposed")
        ours = [m for m in proposed if m["terms"]["partner_id"] in self.partners]
        for match in ours:
            partner = self.partner_client(clients["matching"].urls(), match["terms"]["partner_id"])
            try:
                for client in (partner, clients["matching"]):
                    answer = await self.accepted(client, match["match_id"])
            finally:
                await partner.close()
            if answer == "confirmed":
                self.traffic.confirmed.add(match["match_id"])
        for match_id in sorted(self.traffic.confirmed - self.traffic.reported):
            await self.report_sales(clients, match_id)
        return len(ours)

    async def report_sales(self, clients: dict[str, Failover], match_id: str) -> None:
        """The partner reports what it sold, once: its Idempotency-Key makes a report sent again after
        a lost answer the same report."""
        match = await self.ok(clients["matching"], "GET", f"/matches/{match_id}")
        once = {"Idempotency-Key": f"sales-{match_id}"}
        partner = self.partner_client(clients["matching"].urls(), match["terms"]["partner_id"], once)
        report = {
            "units_sold": match["terms"]["quantity"],
            "revenue_amount": match["terms"]["quantity"] * match["terms"]["unit_price"],
            "revenue_currency": match["terms"]["currency"],
            "returns": 0,
            "rating": 5,
            "comment": "Laris / sold well",
            "will_reorder": True,
        }
        try:
            while True:
                try:
                    response = await partner.call("POST", f"/matches/{match_id}/sales-reports", report)
                except Unanswered:
                    continue
                if response.status_code != 201:
                    raise ChaosFailed(f"sales report refused: {response.status_code} {response.text[:300]}")
                self.traffic.reported.add(match_id)
                return
        finally:
            await partner.close()

    async def accepted(self, client: Failover, match_id: str) -> str:
        while True:  # accepting twice changes nothing, so an unanswered acceptance is simply sent again
            try:
                response = await client.call("POST", f"/matches/{match_id}/acceptance")
            except Unanswered:
                continue
            return response.json().get("status", "") if response.status_code == 200 else ""

    async def inject_faults(self, fleet: Fleet) -> None:
        try:
            await self.flowing.wait()
            for fault in self.plan.faults:
                outcome = await self.inject(fleet, fault)
                self.faults.append(outcome)
                self.say(
                    f"{fault}: {outcome.in_flight} records in flight, caught up {outcome.recovery_seconds:.1f}s later"
                )
                await asyncio.sleep(2)
        finally:
            self.faults_done.set()

    async def inject(self, fleet: Fleet, fault: str) -> FaultOutcome:
        action, target = fault.split(" ", 1)
        service = target.rsplit("-", 1)[0] if action == "kill" else None
        groups = [
            g for g in await region_groups(self.plan.bus, self.region) if service is None or g.startswith(f"{service}.")
        ]
        ends = await end_offsets(self.plan.bus, self.region)
        in_flight = await caught_up_with(self.plan.bus, groups, ends, timeout=0)
        started = time.monotonic()
        if action == "kill":
            process = fleet.instance(target)
            process.kill()
            await asyncio.sleep(1)
            process.start()
            await asyncio.to_thread(process.wait_ready, 120)
        else:
            await asyncio.to_thread(infra, "crash", target)
            await asyncio.sleep(2)
            await asyncio.to_thread(infra, "up")
        await caught_up_with(self.plan.bus, groups, ends, timeout=300)
        return FaultOutcome(fault, in_flight, time.monotonic() - started)

    async def settle(self, clients: dict[str, Failover], timeout: float = 900) -> None:
        """Until nothing moves: every group caught up, no outbox entry, webhook or unconfirmed text
        left, no proposal left open."""
        deadline = time.monotonic() + timeout
        calm, last = 0, None
        while calm < 3 and time.monotonic() < deadline:
            open_ours = await self.confirm_round(clients)
            ends = await end_offsets(self.plan.bus, self.region)
            behind = await caught_up_with(self.plan.bus, await region_groups(self.plan.bus, self.region), ends, 0)
            pending = await self.pending_in_stores()
            now = (sum(ends.values()), behind, pending, open_ours)
            calm = calm + 1 if now == last and behind == 0 and pending == 0 and open_ours == 0 else 0
            last = now
            await asyncio.sleep(2)

    async def pending_in_stores(self) -> int:
        mongo: AsyncMongoClient = AsyncMongoClient(self.plan.mongo)
        try:
            pending = 0
            for service in SERVICES:
                db = mongo[database_name(self.region, service)]
                for name in await db.list_collection_names():
                    if name.endswith("_changes"):
                        pending += await db[name].count_documents({"has_outbox": True})
            notifications = mongo[database_name(self.region, "notifications")]
            pending += await notifications["webhook_deliveries"].count_documents({"status": "pending"})
            return pending + len(
                [d async for d in notifications["deliveries"].find({"status": "sending"}) if d["channel"] != "email"]
            )
        finally:
            await mongo.close()

    async def audit(self, outside: LocalMessaging) -> Audit:
        expectations = Expectations(
            region=self.region,
            registered=self.traffic.registered,
            products=self.traffic.products,
            partners={pid: p["endpoint_created_at"] for pid, p in self.partners.items()},
            poison=self.poison,
            texts=outside.texts,
            webhooks=outside.webhooks,
        )
        audit = Audit(self.plan.bus, self.plan.mongo, {s: database_name(self.region, s) for s in SERVICES})
        await audit.count(expectations)
        audit.faults = [(f.fault, f.in_flight, f"{f.recovery_seconds:.1f}") for f in self.faults]
        audit.answers = dict(self.traffic.answers)
        audit.confirmed_by_clients = len(self.traffic.confirmed)
        return audit

    async def drop_databases(self) -> None:
        mongo: AsyncMongoClient = AsyncMongoClient(self.plan.mongo)
        try:
            for service in SERVICES:
                await mongo.drop_database(database_name(self.region, service))
        finally:
            await mongo.close()
