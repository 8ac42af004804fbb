"""The main job (walking skeleton): bring up the four services and play UMKM -> event -> notification.

Run through `./ekspora demo`. Exits 0 only when every step reached its expected end state;
otherwise exits 1 and names the step that got stuck.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pymongo import MongoClient

from ekspora_kit.table import table
from ekspora_ops.processes import DEFAULT_PORTS, SERVICES, ServiceFailed, ServiceProcess

ROOT = Path(__file__).resolve().parents[2]
REGION = "kota-kediri"
KEDIRI_UMKM = [
    {
        "business_name": "Tahu Takwa Bu Tini",
        "owner_name": "Tini Rahayu",
        "nib": "9120301234561",
        "sector": "food",
        "kelurahan": "Tinalan",
        "kecamatan": "Pesantren",
        "whatsapp": "+6281234500001",
        "email": "tini@tahutakwa.id",
    },
    {
        "business_name": "Tenun Ikat Bandar Kidul",
        "owner_name": "Siti Aminah",
        "nib": "9120301234562",
        "sector": "textile",
        "kelurahan": "Bandar Kidul",
        "kecamatan": "Mojoroto",
        "whatsapp": "+6281234500002",
    },
    {
        "business_name": "Kopi Kelud Sejahtera",
        "owner_name": "Agus Santoso",
        "nib": "9120301234563",
        "sector": "beverage",
        "kelurahan": "Ngronggo",
        "kecamatan": "Kota",
        "email": "agus@kopikelud.id",
    },
]


class StepFailed(Exception):
    pass


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise StepFailed(f"timed out after {timeout}s waiting for {what}")


def play(services: dict[str, ServiceProcess]) -> None:
    registry, notifications = services["registry"].url, services["notifications"].url

    step(f"1/4 Registering {len(KEDIRI_UMKM)} UMKM of Kota Kediri through the registry API")
    registered = []
    for umkm in KEDIRI_UMKM:
        response = httpx.post(f"{registry}/msmes", json={"region": REGION, **umkm}, timeout=10)
        if response.status_code != 201:
            raise StepFailed(f"registering {umkm['business_name']} returned {response.status_code}: {response.text}")
        registered.append(response.json())
        print(f"  registered {umkm['business_name']:<26} -> {response.json()['msme_id']}")

    step("2/4 Bad input is refused with field-level errors, and nothing is stored")
    bad = httpx.post(f"{registry}/msmes", json={"region": REGION, **KEDIRI_UMKM[0], "nib": "12-34", "whatsapp": "0812"})
    duplicate = httpx.post(f"{registry}/msmes", json={"region": REGION, **KEDIRI_UMKM[0]})
    rows = [(bad.status_code, e["field"], e["message"]) for e in bad.json().get("errors", [])]
    rows += [(duplicate.status_code, "nib", duplicate.json().get("message"))]
    print(table(("status", "field", "message"), rows))
    if bad.status_code != 422 or duplicate.status_code != 409:
        raise StepFailed("invalid input was not refused as expected")

    step("3/4 Waiting for msme.registered to travel outbox -> Kafka -> notifications")
    ids = {m["msme_id"] for m in registered}
    feed_url = f"{notifications}/feeds/operator:{REGION}"

    def notified_subjects() -> list[dict]:
        items = httpx.get(feed_url, params={"limit": 500}, timeout=5).json()["items"]
        return [item for item in items if item["subject"] in ids]

    wait_for("operator notifications for every registered UMKM", lambda: len(notified_subjects()) >= len(ids))
    mine = notified_subjects()
    if len(mine) != len(ids):
        raise StepFailed(f"expected {len(ids)} notifications, found {len(mine)} (duplicates?)")
    print(
        table(
            ("channel", "lang", "to", "notification"),
            [(n["channel"], n["language"], n["recipient"], n["text"][:88]) for n in mine],
        )
    )
    feed = httpx.get(feed_url, timeout=5).json()
    print(f"  unread for operator:{REGION}: {feed['unread']}")

    step("4/4 Platform state")
    rows = []
    for name, service in services.items():
        ready = httpx.get(f"{service.url}/readyz", timeout=5).json()
        metrics = httpx.get(f"{service.url}/metrics", timeout=5).text
        rows.append(
            (
                name,
                service.url,
                "ready" if ready["ready"] else "NOT READY",
                metric_sum(metrics, "ekspora_outbox_published_total"),
                metric_sum(metrics, "ekspora_events_handled_total"),
                metric_sum(metrics, "ekspora_dead_letters_total"),
            )
        )
    print(table(("service", "url", "state", "published", "handled", "dead letters"), rows))
    if any(row[5] != 0 for row in rows):
        raise StepFailed("dead letters were produced; expected none")


def metric_sum(text: str, name: str) -> int:
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")))


def reset_demo_databases(mongo_url: str) -> None:
    client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    for service in SERVICES:
        client.drop_database(f"demo_{service}")
    client.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Bring up Ekspora and play the walking-skeleton flow")
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the services running until Ctrl-C (default when run in a terminal)",
    )
    parser.add_argument("--exit", action="store_true", help="stop the services as soon as the flow is played")
    args = parser.parse_args(argv)
    keep_running = args.keep_running or (sys.stdin.isatty() and not args.exit)

    mongo_url = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
    log_dir = ROOT / ".local" / "run"
    print(f"Ekspora walking skeleton: region {REGION}; service logs in {log_dir.relative_to(ROOT)}/")
    reset_demo_databases(mongo_url)
    services = {
        name: ServiceProcess(
            name,
            port=DEFAULT_PORTS[name],
            log_dir=log_dir,
            env={"EKSPORA_REGIONS": REGION, "EKSPORA_MONGO_DATABASE": f"demo_{name}"},
        )
        for name in SERVICES
    }
    try:
        step("Starting registry, matching, shipping and notifications")
        for service in services.values():
            service.start()
        for name, service in services.items():
            service.wait_ready()
            print(f"  {name:<14} ready on {service.url}  (OpenAPI: {service.url}/docs)")
        play(services)
        print("\nDONE: every step reached its expected state.")
        if keep_running:
            print("Services keep running; press Ctrl-C to stop them.")
            while all(s.process and s.process.poll() is None for s in services.values()):
                time.sleep(1)
        return 0
    except (StepFailed, ServiceFailed) as failure:
        print(f"\nSTUCK: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("Stopping services ...", flush=True)
        for service in services.values():
            service.stop()
        print("Services stopped. Infrastructure stays up: `./ekspora down` stops it.")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
