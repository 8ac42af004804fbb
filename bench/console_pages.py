"""Console page times: each main page with 10,000 UMKM in the region, against the same page with 100,
in one run, through the console as a signed-in operator (sessions, the person's token, the services'
HTTP APIs, server-side pagination).

    ./ekspora up && .venv/bin/python bench/console_pages.py [--sizes 100 10000] [--requests 60]

For each size a region of its own gets that many UMKM (the Kediri seed, stored as the registry
stores them), its registry, matching and shipping, and a console; one operator signs in; each page
is asked `--requests` times, one after another, after five warm-up requests. The bar (issue 15) is
p95 under 300 ms at 10,000 UMKM.
"""

import argparse
import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from throughput import store_umkm  # the same stored UMKM as the throughput benchmark

from ekspora_kit.bus import BusAccess
from ekspora_kit.provision import provision_regions, retire_regions
from ekspora_kit.table import table
from ekspora_kit.topic_reader import delete_region_topics
from ekspora_ops.console_accounts import DEMO_PASSWORD, signed_in
from ekspora_ops.measure import percentile
from ekspora_ops.people import add_person
from ekspora_ops.processes import ServiceProcess, load_local_bus_credentials

ROOT = Path(__file__).resolve().parents[1]
load_local_bus_credentials()
BUS = BusAccess()
MONGO = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
LOGS = ROOT / ".local" / "bench" / "console"
BAR_MS = 300
PAGE_SIZE = 25


def pages(region: str, size: int, deep_after: int) -> dict[str, str]:
    """The pages asked, each as the console's own links ask it (a deep page of a tier by its next link)."""
    last = max(1, -(-size // PAGE_SIZE))
    deep = size // 50 or 1
    return {
        "overview (funnel)": f"/operator?region={region}",
        "UMKM list, page 1": f"/operator/umkm?region={region}",
        f"UMKM list, last page ({last})": f"/operator/umkm?region={region}&page={last}",
        "UMKM list, tier and kecamatan": f"/operator/umkm?region={region}&tier=setengah&kecamatan=Pesantren",
        "UMKM list, the commonest tier": f"/operator/umkm?region={region}&tier=didorong",
        f"UMKM list, commonest tier, page {deep}": (
            f"/operator/umkm?region={region}&tier=didorong&page={deep}&after={deep_after}"
        ),
        "UMKM list, by NIB": f"/operator/umkm?region={region}&nib={9_000_000_000_000 + size // 2}",
        "one UMKM": f"/operator/umkm/msme-{size // 2:06d}?region={region}",
        "proposals": f"/operator/proposals?region={region}",
        "incubation (cohorts)": f"/operator/incubation?region={region}",
        "partners and open demand": f"/operator/partners?region={region}",
        "shipments": f"/operator/shipments?region={region}",
        "operations (dead letters, lag)": f"/operator/operations?region={region}",
    }


@contextmanager
def started(processes: list[ServiceProcess]) -> Iterator[None]:
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready(timeout=120)
        yield
    finally:
        for process in processes:
            process.stop()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process(service: str, region: str, size: int, env: dict[str, str]) -> ServiceProcess:
    return ServiceProcess(
        service,
        port=free_port(),
        log_dir=LOGS,
        name=f"{service}-{size}",
        env={
            "EKSPORA_REGIONS": region,
            "EKSPORA_MONGO_DATABASE": f"bench_console_{size}_{service}",
            "EKSPORA_OPERATOR_TOKENS": f"{region}=bench-operator-{size}",
            "EKSPORA_LOG_LEVEL": "WARNING",
            **env,
        },
    )


def time_pages(
    console: str, email: str, region: str, size: int, requests: int, deep_after: int
) -> dict[str, tuple[float, float]]:
    times: dict[str, tuple[float, float]] = {}
    with signed_in(console, email) as browser:
        for name, path in pages(region, size, deep_after).items():
            warm = [browser.get(path).status_code for _ in range(3)]
            took, statuses = [], []
            for _ in range(requests):
                began = time.perf_counter()
                statuses.append(browser.get(path).status_code)
                took.append((time.perf_counter() - began) * 1000)
            if set(warm + statuses) != {200}:  # a page the services could not answer in time is a figure too
                print(f"  {size:>6,} UMKM  {name:<34} answered {sorted(set(warm + statuses))}", flush=True)
            times[name] = (percentile(took, 0.5), percentile(took, 0.95))
            print(f"  {size:>6,} UMKM  {name:<34} p95 {times[name][1]:7.1f} ms", flush=True)
    return times


async def one_size(size: int, requests: int, mongo: AsyncMongoClient) -> dict[str, tuple[float, float]]:
    region = f"bench-console-{size}"
    await provision_regions(BUS, [region])
    print(f"  storing {size:,} UMKM in {region} ...", flush=True)
    await mongo.drop_database(f"bench_console_{size}_registry")
    await store_umkm(mongo[f"bench_console_{size}_registry"], region, size)
    deep_after = await last_on_page_before(mongo[f"bench_console_{size}_registry"], region, size // 50 or 1)
    identity = process("identity", region, size, {})
    services = {name: process(name, region, size, {}) for name in ("registry", "matching", "shipping", "notifications")}
    urls = {f"EKSPORA_{name.upper()}_URL": service.url for name, service in services.items()}
    console = process("console", region, size, {"EKSPORA_IDENTITY_URL": identity.url, "EKSPORA_COOKIE_SECURE": "false"})
    console.env.update(urls)
    try:
        with started([identity, *services.values(), console]):
            email = f"operator-{size}@bench.example"
            person = {"email": email, "name": "Bench operator", "role": "operator", "regions": [region]}
            await add_person(identity.url, f"bench-operator-{size}", person | {"password": DEMO_PASSWORD})
            await wait_until_registry_takes_people(services["registry"].url, identity.url, email, region)
            return time_pages(console.url, email, region, size, requests, deep_after)
    finally:
        for service in ("identity", "registry", "matching", "shipping", "notifications", "console"):
            await mongo.drop_database(f"bench_console_{size}_{service}")
        await delete_region_topics(BUS, region, with_global=False)
        await retire_regions(BUS, [region])


async def last_on_page_before(registry: AsyncDatabase, region: str, page: int) -> int:
    """The number of the last didorong UMKM on the page before `page`: what that page's next link carries."""
    entries = registry["listing"].find(
        {"region": region, "tier": "didorong"}, {"listing_seq": 1}, comment="scan: bench"
    )
    numbers = sorted([entry["listing_seq"] async for entry in entries])
    return numbers[(page - 1) * PAGE_SIZE - 1] if page > 1 else 0


async def wait_until_registry_takes_people(registry: str, identity: str, email: str, region: str) -> None:
    """The registry learns identity's signing key from the bus; a person's token works from then on."""
    async with httpx.AsyncClient(timeout=120) as client:
        token = (await client.post(f"{identity}/sign-in", json={"email": email, "password": DEMO_PASSWORD})).json()
        for _ in range(300):
            probe = await client.get(
                f"{registry}/msmes",
                params={"region": region},
                headers={"Authorization": f"Bearer {token['access_token']}"},
            )
            if probe.status_code == 200:
                return
            await asyncio.sleep(0.2)
    raise SystemExit("the registry never took the operator's token")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100, 10_000], help="the baseline size and the big one")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page")
    args = parser.parse_args()
    mongo: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    print(f"Console page times on {MONGO}: {args.requests} requests per page, sizes {args.sizes}")
    try:
        small, big = [await one_size(size, args.requests, mongo) for size in args.sizes]
    finally:
        await mongo.close()
    rows = []
    for (small_p50, small_p95), (big_name, (big_p50, big_p95)) in zip(small.values(), big.items(), strict=True):
        rows.append(
            (
                big_name,  # the last page's or a deep page's number is the bigger region's
                f"{small_p50:.1f} / {small_p95:.1f}",
                f"{big_p50:.1f} / {big_p95:.1f}",
                f"{big_p95 / small_p95:.2f}x",
                "yes" if big_p95 < BAR_MS else "NO",
            )
        )
    headings = ("page", f"{args.sizes[0]:,} UMKM p50 / p95 ms", f"{args.sizes[1]:,} UMKM p50 / p95 ms", "p95 ratio")
    print()
    print(table((*headings, f"p95 < {BAR_MS} ms"), rows))


if __name__ == "__main__":
    asyncio.run(main())
