"""The main job: bring up the platform and play Kota Kediri's export story.

Seed Kota Kediri's UMKM and assess them; put those not ready into an "UMKM Kita Bisa" incubation
cohort and help the half-ready ones graduate; seed partners in the Netherlands and Australia with
their requests for quotation; match export-ready products, confirm the matches, consolidate them
into shipments, verify the documents and track them to delivery; partners report sales and the
UMKM's readiness takes the feedback in. Run through `./ekspora demo`. Exits 0 only when every step
reached its expected end state; otherwise exits 1 and names the step.
"""

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import WIB, Clock
from ekspora_kit.provision import provision_regions
from ekspora_kit.table import table
from ekspora_kit.topic_reader import group_lag
from ekspora_ops import seed
from ekspora_ops.cloud_api import LocalCloudApi
from ekspora_ops.console_accounts import DEMO_PASSWORD, make_demo_accounts, signed_in
from ekspora_ops.evidence import certify, scan_of
from ekspora_ops.messaging import LocalMessaging, free_port
from ekspora_ops.people import add_mentor, person_token
from ekspora_ops.processes import DEFAULT_PORTS, SERVICES, ServiceFailed, ServiceProcess
from ekspora_ops.shops import last_sale_day, open_shop
from ekspora_ops.trade import CARRIER_SECRET, OPERATOR_TOKEN, Trade, TradeFailed, summaries

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}

ROOT = Path(__file__).resolve().parents[2]
REGION = "kota-kediri"
CONSOLE_PORT = 8110
TIERS = ("siap", "setengah", "didorong")
RECOUNT_SECONDS = 5  # matching's EKSPORA_RECOUNT_SECONDS, as the demo runs it
CLOCK = Clock.from_environment()
MENTOR = {"name": "Siti Rahmah", "organisation": "Bank Indonesia Kediri", "email": "siti.rahmah@bi.example"}


class StepFailed(Exception):
    pass


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def settled(read: Callable[[], Any], quiet: float, timeout: float = 60) -> Any:
    """What `read` answers once it has answered the same for `quiet` seconds."""
    deadline, last, since = time.monotonic() + timeout, read(), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise StepFailed(f"still changing after {timeout:.0f} s")
        time.sleep(0.5)
        if (now := read()) != last:
            last, since = now, time.monotonic()
    return last


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise StepFailed(f"timed out after {timeout}s waiting for {what}")


def notifications_catch_up(messaging: LocalMessaging, timeout: float = 240) -> None:
    """Waits until notifications has handled every event of the story (its consumer group has no
    lag) and its webhook deliveries have gone out, so the figures below are final."""
    deadline, shown = time.monotonic() + timeout, -1
    while (behind := sum(asyncio.run(group_lag(BusAccess(), f"notifications.{REGION}")).values())) > 0:
        if time.monotonic() > deadline:
            raise StepFailed(f"notifications still {behind} events behind after {timeout:.0f}s")
        if behind != shown:
            print(f"  notifications catching up: {behind} events to go", flush=True)
            shown = behind
        time.sleep(1)
    delivered = -1
    while delivered != len(messaging.webhooks):  # the webhook queue drains within a poll or two
        delivered = len(messaging.webhooks)
        time.sleep(2)


def tier_counts(msmes: list[dict[str, Any]]) -> Counter:
    return Counter(m["assessment"]["tier"] for m in msmes)


class Registry:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=15, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        response = self.client.request(method, path, json=body)
        if response.status_code >= 400:
            raise StepFailed(f"{method} {path} returned {response.status_code}: {response.text}")
        return response.json()

    def all_msmes(self) -> list[dict[str, Any]]:
        """Every UMKM of the region in full (the list has what a list shows of each)."""
        listed = self.call("GET", f"/msmes?region={REGION}&page_size=200")["items"]
        return [self.call("GET", f"/msmes/{msme['msme_id']}") for msme in listed]

    def close_gap(self, msme: dict[str, Any], code: str, mentor: httpx.Client | None = None) -> str | None:
        """What an incubation coach gets done for one gap; None when it takes longer than the demo. A
        mentor records what needs a person's eyes (a new label) with its evidence."""
        msme_id = msme["msme_id"]
        product = next((p for p in msme["products"] if p["product_id"] == msme["assessment"]["best_product_id"]), None)
        base = f"/msmes/{msme_id}/products/{product['product_id']}" if product else None
        valid_until = (CLOCK.today(WIB) + timedelta(days=730)).isoformat()
        if code == "legality.nib_unverified":
            self.call("POST", f"/msmes/{msme_id}/nib-verification")
            return "NIB verified in OSS"
        if code.startswith("certificate.") and base:
            kind = code.removeprefix("certificate.").split("|")[0]
            certificate = {"kind": kind, "number": f"{kind.upper()}-UKB-{msme_id[-6:]}", "expires_on": valid_until}
            certify(self.client, base, certificate)
            return f"{kind} certificate issued, its scan verified"
        if code == "packaging.no_english_label" and product and base:
            seen = mentor is not None and mentor_saw(mentor, msme, code, scan_of("export label", product["name"]))
            self.call("PATCH", base, {"english_label": True})
            return "packaging relabelled in English" + (" (the mentor recorded its photo)" if seen else "")
        if code in ("marketplace.no_listing", "marketplace.no_sales"):
            sold = [(p["product_id"], p["unit_price_idr"]) for p in msme["products"]]
            listing = {"platform": "tokopedia", "url": f"https://tokopedia.example/{msme_id}"}
            imported = open_shop(self.client, msme_id, listing, sold, last_sale_day())
            return f"sells on Tokopedia: {imported['totals']['orders']} orders imported from the seller centre"
        return None


def mentor_saw(mentor: httpx.Client, msme: dict[str, Any], gap_code: str, evidence: bytes) -> bool:
    """The mentor records the gap's milestone done with its evidence; False when it has none open."""
    steps = (msme.get("incubation") or {}).get("milestones", [])
    step_ = next((m for m in steps if m["gap_code"] == gap_code and not m["completed_at"]), None)
    if step_ is None:
        return False
    recorded = mentor.put(
        f"/msmes/{msme['msme_id']}/incubation/milestones/{step_['code']}/evidence",
        params={"note": "The new pouch with its English label, seen at the workshop", "filename": "label.pdf"},
        content=evidence,
        headers={"Content-Type": "application/pdf"},
    )
    if recorded.status_code != 200:
        raise StepFailed(f"the mentor could not record {step_['code']}: {recorded.status_code} {recorded.text}")
    return True


def signed_in_mentor(identity_url: str, registry: "Registry", cohort_id: str) -> httpx.Client:
    """The cohort's mentor, with an account of her own, signed in: what she records says it was her."""

    async def token() -> str:
        async with httpx.AsyncClient(base_url=registry.client.base_url, headers=OPERATOR, timeout=15) as client:
            cohort = (await client.get(f"/cohorts/{cohort_id}")).json()["cohort"]
            await add_mentor(identity_url, client, OPERATOR_TOKEN, cohort, MENTOR, DEMO_PASSWORD)
        return await person_token(identity_url, MENTOR["email"], DEMO_PASSWORD)

    bearer = {"Authorization": f"Bearer {asyncio.run(token())}"}
    return httpx.Client(base_url=registry.client.base_url, headers=bearer, timeout=15)


def coaching_session(registry: "Registry", mentor: httpx.Client, cohort_id: str, came: list[dict[str, Any]]) -> None:
    """A halal clinic led by the mentor: the cohort invited, those coached attend, she takes attendance."""
    begins = CLOCK.now() + timedelta(seconds=2)
    clinic = {
        "title": "Klinik halal: jalur self-declare (SEHATI)",
        "starts_at": begins.isoformat(),
        "place": "Aula Dinas Koperasi dan UMKM Kota Kediri",
        "mentor": f"{MENTOR['name']}, {MENTOR['organisation']}",
    }
    scheduled = registry.call("POST", f"/cohorts/{cohort_id}/sessions", clinic)
    time.sleep(max(0.0, (begins - CLOCK.now()).total_seconds()) + 0.5)
    present = [m["msme_id"] for m in came]
    taken = mentor.put(
        f"/cohorts/{cohort_id}/sessions/{scheduled['session']['session_id']}/attendance", json={"present": present}
    )
    if taken.status_code != 200:
        raise StepFailed(f"the mentor could not take attendance: {taken.status_code} {taken.text}")
    print(
        f"  {MENTOR['name']} ({MENTOR['organisation']}, signed in as mentor) led '{clinic['title']}':"
        f" {len(present)} of {len(scheduled['invited'])} invited came"
    )


def incubate(registry: "Registry", before: list[dict[str, Any]]) -> str:
    """Steps 3 and 4: the not-ready enter the cohort; the half-ready close their gaps. Returns the cohort."""
    step("3/9 Not-ready UMKM enter the 'UMKM Kita Bisa' incubation cohort")
    cohort = registry.call(
        "POST",
        "/cohorts",
        {"region": REGION, "name": "UMKM Kita Bisa Kota Kediri 2026", "starts_on": CLOCK.today(WIB).isoformat()},
    )
    not_ready = [m for m in before if m["assessment"]["tier"] != "siap"]
    for msme in not_ready:
        registry.call("POST", f"/cohorts/{cohort['cohort_id']}/enrollments", {"msme_id": msme["msme_id"]})
    view = registry.call("GET", f"/cohorts/{cohort['cohort_id']}")
    print(
        table(
            ("UMKM", "tier", "score", "milestones"),
            [(m["business_name"], m["tier"], m["score"], m["milestones_total"]) for m in view["members"]],
        )
    )

    step("4/9 Coaching: the half-ready close their gaps with real evidence")
    rows = []
    for msme in not_ready:
        if msme["assessment"]["tier"] != "setengah":
            continue
        done = [
            result
            for gap in msme["assessment"]["gaps"]
            if (result := registry.close_gap(registry.call("GET", f"/msmes/{msme['msme_id']}"), gap["code"]))
        ]
        after = registry.call("GET", f"/msmes/{msme['msme_id']}")
        rows.append(
            (
                msme["profile"]["business_name"],
                msme["assessment"]["score"],
                after["assessment"]["score"],
                after["assessment"]["tier"],
                "; ".join(done) or "-",
            )
        )
    print(table(("UMKM", "before", "after", "tier", "what was done"), rows))
    return cohort["cohort_id"]


def incubation_results(
    registry: "Registry", cohort_id: str, before_tiers: Counter[str]
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Step 5: who graduated, and the tiers after incubation."""
    step("5/9 Incubation results")
    view = registry.call("GET", f"/cohorts/{cohort_id}")
    graduates = [m for m in view["members"] if m["graduated"]]
    print(
        table(
            ("graduate", "score", "milestones done"),
            [(m["business_name"], m["score"], f"{m['milestones_done']}/{m['milestones_total']}") for m in graduates],
        )
    )
    if not graduates:
        raise StepFailed("no UMKM graduated from incubation")
    after_tiers = tier_counts(registry.all_msmes())
    print(table(("tier", "before", "after"), [(t, before_tiers[t], after_tiers[t]) for t in TIERS]))
    return graduates, after_tiers


def owner_taps_accept(registry: "Registry", cloud: LocalCloudApi, matching_url: str) -> Callable[[dict], None]:
    """An owner accepts a proposal on WhatsApp: a tap on the "Terima" button of the message they got."""

    def tap(match: dict[str, Any]) -> None:
        terms = match["terms"]
        phone = registry.call("GET", f"/msmes/{terms['msme_id']}")["profile"]["whatsapp"]
        told = [m for m in cloud.sent_to(phone) if match["match_id"] in str(m)]
        if not told:
            raise StepFailed(f"the owner of {terms['msme_id']} was not told of {match['match_id']} on WhatsApp")
        status, _ = cloud.writes(phone, "Terima", quick_reply=f"accept:{match['match_id']}")
        if status != 200:
            raise StepFailed(f"the WhatsApp webhook answered {status}")

        def confirmed() -> bool:
            found = httpx.get(f"{matching_url.rstrip('/')}/matches/{match['match_id']}", headers=OPERATOR, timeout=5)
            return bool(found.json()["status"] == "confirmed")

        wait_for("the owner's WhatsApp acceptance applied by matching", confirmed)
        thanks = next(m for m in cloud.sent_to(phone) if m["type"] == "text")["text"]["body"]
        print(f"  {terms['product_name']}: the owner tapped Terima on the {told[0]['type']} message; answered:")
        print(f"    {thanks[:110]}")

    return tap


def trade_to_feedback(trade: Trade, registry: "Registry", cloud: LocalCloudApi) -> list[dict[str, Any]]:
    """Steps 6 to 9: demand, explained matches, shipments to delivery, and the sales feedback."""
    step("6/9 Partners post requests for quotation")
    trade.post_demand()
    step("7/9 Matching fills each request from one or several UMKM (explained); both sides accept, one on WhatsApp")
    trade.confirm_matches(owner_taps_accept(registry, cloud, str(trade.matching.base_url)))
    step("8/9 Shipping consolidates the orders, checks documents, and tracks them to delivery")
    shipments = trade.ship_to_delivery()
    step("9/9 Partners report sales; the feedback flows back into the track record, and a partner reorders")
    trade.report_sales()
    print(f"  {trade.close_demand()} requests for quotation closed as fulfilled")
    sellers = {m["terms"]["msme_id"] for m in trade.confirmed}

    def feedback_arrived() -> bool:
        return all(registry.call("GET", f"/msmes/{m}")["track_record"]["reports"] > 0 for m in sellers)

    wait_for("the sales feedback in every seller's track record", feedback_arrived)
    rows = [
        (
            m["profile"]["business_name"],
            m["track_record"]["reports"],
            m["track_record"]["units_sold"],
            m["assessment"]["score"],
            m["assessment"]["tier"],
        )
        for m in (registry.call("GET", f"/msmes/{s}") for s in sorted(sellers))
    ]
    print(table(("UMKM", "reports", "units sold abroad", "score now", "tier"), rows))
    print("  Sold well: the first partner orders its first order again, in one call")
    trade.reorder()
    return shipments


def money(amounts: list[dict[str, Any]]) -> str:
    return ", ".join(f"{a['currency']} {a['minor_units'] / 100:,.2f}" for a in amounts) or "-"


def unlocked_demand(registry: "Registry", trade: Trade) -> list[dict[str, Any]]:
    """A request the not-ready cannot serve yet, and what matching finds each gap keeps them from."""
    step("Demand-driven incubation: an open request decides what the not-ready learn first")
    name = next(iter(trade.partners))
    rfq = {
        "kind": "rfq",
        "category": "snack",
        "quantity": 12_000,  # Lebaran hampers: more than the ready makers' three parts can fill
        "target_price_max": 300,
        "currency": "EUR",
        "required_certificates": ["halal"],
        "destination_city": trade.partners[name]["city"],
        "needed_by": (CLOCK.today(WIB) + timedelta(days=75)).isoformat(),
    }
    posted = trade.partner_client(name).post("/demands", json=rfq)
    posted.raise_for_status()
    print(f"  {name} asks for {rfq['quantity']:,} pouches of halal snacks for Lebaran hampers by {rfq['needed_by']}")

    def opportunities() -> list[dict[str, Any]]:
        return registry.call("GET", f"/opportunities?region={REGION}")

    demand_id = posted.json()["demand_id"]
    wait_for(
        "the demand behind each gap, from matching", lambda: any(demand_id in r["demand_ids"] for r in opportunities())
    )
    rows = settled(opportunities, quiet=RECOUNT_SECONDS + 1)  # every product's recount in, not the first's
    print(
        table(
            ("UMKM", "product", "closing this gap", "would open", "units", "worth"),
            [
                (
                    r["business_name"],
                    r["product_name"],
                    r["gap_code"],
                    r["requests"],
                    f"{r['units']:,}",
                    money(r["value"]),
                )
                for r in rows
            ],
        )
    )
    by_gap: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_gap.setdefault(row["gap_code"], []).append(row)
    totals = sorted(
        (
            (gap, len(found), len({d for r in found for d in r["demand_ids"]}), sum(r["value_idr"] for r in found))
            for gap, found in by_gap.items()
        ),
        key=lambda total: -total[3],
    )
    print(
        table(
            ("gap", "products held back", "requests it would open", "their value"),
            [(gap, products, requests, f"Rp{value:,}") for gap, products, requests, value in totals],
        )
    )
    print(f"  The gap with the most unlocked demand: {totals[0][0]}")
    return rows


def coach_the_pushed(registry: "Registry", held_back: list[dict[str, Any]], identity_url: str, cohort_id: str) -> None:
    """Coaches close the first steps of the roads of didorong UMKM: those the open request waits for
    first, then those who may sell on a marketplace while they close the rest. They come to the
    mentor's clinic, and she records what she saw done."""
    pushed = [m for m in registry.all_msmes() if m["assessment"]["tier"] == "didorong" and m["products"]]
    waited_for = {row["msme_id"] for row in held_back}
    pushed.sort(key=lambda m: (m["msme_id"] not in waited_for, m["assessment"]["road"]["road"] != "go_to_marketplace"))
    mentor = signed_in_mentor(identity_url, registry, cohort_id)
    coaching_session(registry, mentor, cohort_id, pushed[:5])
    moved = []
    for msme in pushed[:5]:
        road = msme["assessment"]["road"]
        done = [
            result
            for gap in road["next_steps"]
            if (result := registry.close_gap(registry.call("GET", f"/msmes/{msme['msme_id']}"), gap["code"], mentor))
        ]
        after = registry.call("GET", f"/msmes/{msme['msme_id']}")["assessment"]
        first = road["next_steps"][0]["code"]
        moved.append(
            (
                msme["profile"]["business_name"],
                road["road"].replace("_", " "),
                first,
                msme["assessment"]["score"],
                after["score"],
                after["tier"],
                "; ".join(done) or "-",
            )
        )
    print(table(("UMKM", "road", "first step", "before", "after", "tier", "what was done"), moved))
    up = [row for row in moved if row[5] != "didorong"]
    sold_first = [row for row in moved if row[1] == "go to marketplace" and "sells on Tokopedia" in str(row[6])]
    if len(up) < 3 or not sold_first:
        raise StepFailed(f"{len(up)} didorong UMKM moved up, {len(sold_first)} sold on a marketplace first")
    sell = "sells" if len(sold_first) == 1 else "sell"
    print(f"  {len(up)} didorong UMKM moved up; {len(sold_first)} went to a marketplace first and {sell} there")


def owner_asks_for_the_report(registry: "Registry", cloud: LocalCloudApi, msme: dict[str, Any]) -> None:
    """An owner sends LAPORAN and opens the link in the answer, as on a phone."""
    phone = msme["profile"]["whatsapp"]
    cloud.writes(phone, "LAPORAN")
    answer = next((m["text"]["body"] for m in reversed(cloud.sent_to(phone)) if m["type"] == "text"), "")
    link = answer.rsplit(" ", 1)[-1]
    if not link.startswith("http"):
        raise StepFailed(f"LAPORAN was answered without a link: {answer!r}")
    opened = httpx.get(link, timeout=5)
    if opened.status_code != 200 or f"{msme['assessment']['score']}/100" not in opened.text:
        raise StepFailed(f"the report link answered {opened.status_code}")
    print(f"  {msme['profile']['business_name']} sent LAPORAN on WhatsApp and was answered:")
    print(f"    {answer[:150]}...")
    print(f"  the link opens its read-only report page (HTTP {opened.status_code}): {link[:80]}...")


def play(services: dict[str, ServiceProcess], messaging: LocalMessaging, cloud: LocalCloudApi) -> Trade:
    registry = Registry(services["registry"].url)
    notifications = services["notifications"].url
    seed_file = seed.read_seed(seed.KOTA_KEDIRI)

    step(f"1/9 Seeding {len(seed_file['umkm'])} Kota Kediri UMKM (registry assesses each one)")
    seed.load(services["registry"].url, seed.KOTA_KEDIRI, token=OPERATOR_TOKEN)
    before = registry.all_msmes()
    before_tiers = tier_counts(before)
    if dict(before_tiers) != seed_file["expected_tiers"]:
        raise StepFailed(f"seeded tiers {dict(before_tiers)} differ from the expected {seed_file['expected_tiers']}")

    trade = Trade(services["matching"].url, services["shipping"].url, services["identity"].url, REGION)
    step("2/9 Partners abroad (diaspora shops, the embassy's trade office, ITPC Sydney, a Melbourne grocer) join")
    trade.seed_partners()
    secrets = subscribe_webhooks(notifications, trade, messaging)
    print(f"  {len(secrets)} partner systems subscribed signed webhooks (Standard Webhooks) to export events")

    cohort_id = incubate(registry, before)
    graduates, after_tiers = incubation_results(registry, cohort_id, before_tiers)
    shipments = trade_to_feedback(trade, registry, cloud)
    coach_the_pushed(registry, unlocked_demand(registry, trade), services["identity"].url, cohort_id)
    owner_asks_for_the_report(
        registry,
        cloud,
        next(m for m in registry.all_msmes() if m["assessment"]["tier"] == "didorong" and m["profile"]["whatsapp"]),
    )

    step("Summary")
    final_tiers = tier_counts(registry.all_msmes())
    print(
        table(
            ("tier", "before", "after incubation", "now"),
            [(t, before_tiers[t], after_tiers[t], final_tiers[t]) for t in TIERS],
        )
    )
    print()
    print(table(("incubation graduate", "score"), [(m["business_name"], m["score"]) for m in graduates]))
    print()
    print(summaries(trade, shipments))
    if any(s["shipment"]["status"] != "delivered" for s in shipments):
        raise StepFailed("not every shipment reached delivered")
    ids = {m["msme_id"] for m in before}

    def notified() -> list[dict]:
        feed = f"{notifications}/feeds/operator:{REGION}"
        items = httpx.get(feed, params={"limit": 500}, headers=OPERATOR, timeout=5).json()["items"]
        return [item for item in items if item["subject"] in ids]

    print()
    notifications_catch_up(messaging)
    wait_for("an operator notification per registered UMKM", lambda: len(notified()) >= len(ids))
    mine = notified()
    if len(mine) != len(ids):
        raise StepFailed(f"expected {len(ids)} operator notifications, found {len(mine)}")

    def settled_summary() -> list[dict]:
        return httpx.get(f"{notifications}/feeds/-/deliveries/summary", headers=OPERATOR, timeout=5).json()

    wait_for("every message in flight to be sent", lambda: all(s["status"] != "sending" for s in settled_summary()))
    summary = settled_summary()
    sends: list[tuple[object, ...]] = [("in_app", "id", "recorded", f"operator:{REGION}", len(mine))]
    audiences = {"umkm": "UMKM owners", "partner": "partners", "operator": "operators"}
    sends += [
        (s["channel"], s["language"], s["status"], audiences.get(s["to"], s["to"]), s["count"])
        for s in sorted(summary, key=lambda s: (s["to"], s["channel"], s["language"], s["status"]))
    ]
    print(table(("channel", "language", "status", "to", "notifications"), sends))
    if not any(row[0] == "whatsapp" and row[2] == "sent" for row in sends):
        raise StepFailed("no UMKM owner was told anything on WhatsApp")
    print()
    webhook_summary(trade, messaging, secrets)
    platform_state(services)
    return trade


def console_accounts(services: dict[str, ServiceProcess], console: ServiceProcess, trade: Trade) -> None:
    """The demo's people get accounts; each signs in to the console and sees what the story left."""
    step("The console: one operator, one viewer and one partner's person sign in")
    first_partner = next(iter(trade.partners.values()))
    people = make_demo_accounts(services["identity"].url, OPERATOR_TOKEN, REGION, first_partner["partner_id"])
    registered = Registry(services["registry"].url).all_msmes()
    rows = []
    for person in people:
        with signed_in(console.url, person["email"]) as browser:
            home = browser.get("/", follow_redirects=True)
            if home.status_code != 200:
                raise StepFailed(f"{person['email']} sees {home.status_code} on the console's first page")
            if person["role"] == "partner_user":
                rows_shown = home.text.count('id="proposal-')
                shown = f"{rows_shown} proposals and confirmed orders of {first_partner['name']}"
            else:
                counted = re.search(r'data-step="registered">([^<]+)<', home.text)
                if counted is None or counted[1].replace(".", "").replace(",", "") != str(len(registered)):
                    raise StepFailed(f"the console shows {counted and counted[1]} UMKM, the registry {len(registered)}")
                shown = f"the funnel of {REGION}: {counted[1]} UMKM registered"
        rows.append((person["role"].replace("_", " "), person["email"], DEMO_PASSWORD, shown))
    print(table(("role", "sign in as", "password", "sees"), rows))
    print(f"  Console: {console.url}/sign-in  (the demo's accounts; the services keep running with --keep-running)")


def platform_state(services: dict[str, ServiceProcess]) -> None:
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
    print()
    print(table(("service", "url", "state", "published", "handled", "dead letters"), rows))
    if any(row[5] != 0 for row in rows):
        raise StepFailed("dead letters were produced; expected none")


WEBHOOK_TYPES = [
    "ekspora.registry.product.export_ready.v1",
    "ekspora.matching.match.proposed.v1",
    "ekspora.matching.match.confirmed.v1",
    "ekspora.shipping.shipment.planned.v1",
    "ekspora.shipping.shipment.status_changed.v1",
    "ekspora.shipping.feedback.requested.v1",
]


def subscribe_webhooks(notifications: str, trade: Trade, messaging: LocalMessaging) -> dict[str, str]:
    """Each partner's system subscribes an endpoint with its own token; returns partner id -> secret."""
    secrets = {}
    for partner in trade.partners.values():
        client = httpx.Client(
            base_url=notifications, headers={"Authorization": f"Bearer {partner['token']}"}, timeout=10
        )
        body = {"url": messaging.webhook_url(partner["partner_id"]), "event_types": WEBHOOK_TYPES}
        subscribed: list[dict] = []

        def subscribe(client: httpx.Client = client, body: dict = body, subscribed: list = subscribed) -> bool:
            response = client.post("/webhooks/endpoints", json=body)
            if response.status_code == 201:
                subscribed.append(response.json())
            return bool(subscribed)

        # notifications learns of the partner from the compacted partners topic, shortly after it is made
        wait_for(f"{partner['name']}'s webhook subscription", subscribe)
        secrets[partner["partner_id"]] = subscribed[0]["secret"]
    return secrets


def webhook_summary(trade: Trade, messaging: LocalMessaging, secrets: dict[str, str]) -> None:
    """What partner systems received, verified with the independent `standardwebhooks` package."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    names = {p["partner_id"]: p["name"] for p in trade.partners.values()}
    counts: Counter = Counter()
    latencies: list[float] = []
    seen: set[tuple[str, str]] = set()
    for call in messaging.webhooks:
        try:
            payload = Webhook(secrets[call.partner]).verify(call.body, call.headers)
        except WebhookVerificationError as error:
            raise StepFailed(f"a webhook to {names[call.partner]} failed verification: {error}") from None
        if (call.partner, call.headers["webhook-id"]) in seen:
            raise StepFailed(f"{names[call.partner]} received {call.headers['webhook-id']} twice")
        seen.add((call.partner, call.headers["webhook-id"]))
        counts[(names[call.partner], payload["type"].split(".")[3])] += 1
        if payload["type"] == "ekspora.registry.product.export_ready.v1":
            happened = datetime.fromisoformat(payload["timestamp"]).timestamp()
            latencies.append(call.received_at - happened)
    kinds = [t.split(".")[3] for t in WEBHOOK_TYPES]
    rows = [
        (name, *(counts[(name, kind)] for kind in kinds), sum(counts[(name, kind)] for kind in kinds))
        for name in sorted(names.values())
    ]
    print("  signed webhooks received by partner systems, each verified with `standardwebhooks`:")
    print(table(("partner system", *kinds, "total"), rows))
    if not latencies:
        raise StepFailed("no product.export_ready reached a partner's webhook")
    print(
        f"  product.export_ready -> partner webhook: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} deliveries"
    )


def metric_sum(text: str, name: str) -> int:
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")))


def reset_demo_databases(mongo_url: str) -> None:
    client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    for service in (*SERVICES, "console"):
        client.drop_database(f"demo_{service}")
    client.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Bring up Ekspora and play the Kota Kediri story")
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the services running until Ctrl-C (default when run in a terminal)",
    )
    parser.add_argument("--exit", action="store_true", help="stop the services as soon as the story is played")
    args = parser.parse_args(argv)
    keep_running = args.keep_running or (sys.stdin.isatty() and not args.exit)

    mongo_url = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
    log_dir = ROOT / ".local" / "run"
    print(f"Ekspora: region {REGION}; service logs in {log_dir.relative_to(ROOT)}/ (demo databases are reset)")
    reset_demo_databases(mongo_url)
    asyncio.run(provision_regions(BusAccess(), [REGION]))
    cloud = LocalCloudApi(app_secret=f"demo-{os.getpid()}", token="local", clock=CLOCK, free_port=free_port)
    with LocalMessaging() as messaging, cloud.start():  # stand-ins: Cloud API, the SMS provider, a mail server
        services = {
            name: ServiceProcess(
                name,
                port=DEFAULT_PORTS[name],
                log_dir=log_dir,
                env={
                    "EKSPORA_REGIONS": REGION,
                    "EKSPORA_MONGO_DATABASE": f"demo_{name}",
                    "EKSPORA_OPERATOR_TOKENS": f"{REGION}={OPERATOR_TOKEN}",
                    "EKSPORA_CARRIER_WEBHOOK_SECRET": CARRIER_SECRET,
                    "EKSPORA_DEFAULT_QUIET_HOURS": "",  # the story plays out in a minute, whatever the hour in Kediri
                    **messaging.env(),
                    **cloud.env(),
                    "EKSPORA_REPORT_LINK_SECRET": f"demo-report-links-{os.getpid()}",
                },
            )
            for name in SERVICES
        }
        console = ServiceProcess(
            "console",
            port=CONSOLE_PORT,
            log_dir=log_dir,
            env={
                "EKSPORA_MONGO_DATABASE": "demo_console",
                "EKSPORA_COOKIE_SECURE": "false",  # plain HTTP on this machine only
                **{f"EKSPORA_{name.upper()}_URL": service.url for name, service in services.items()},
            },
        )
        cloud.webhook_url = f"{services['notifications'].url}/channels/whatsapp/webhook"
        return run(services, console, keep_running, messaging, cloud)


def run(
    services: dict[str, ServiceProcess],
    console: ServiceProcess,
    keep_running: bool,
    messaging: LocalMessaging,
    cloud: LocalCloudApi,
) -> int:
    started = time.monotonic()
    try:
        step("Starting identity, registry, matching, shipping, notifications and the console")
        for service in (*services.values(), console):
            service.start()
        for name, service in services.items():
            service.wait_ready()
            print(f"  {name:<14} ready on {service.url}  (OpenAPI: {service.url}/docs)")
        console.wait_ready()
        trade = play(services, messaging, cloud)
        console_accounts(services, console, trade)
        print(f"\nDONE in {time.monotonic() - started:.0f}s: every step reached its expected state.")
        if keep_running:
            print("Services keep running; press Ctrl-C to stop them.")
            while all(s.process and s.process.poll() is None for s in services.values()):
                time.sleep(1)
        return 0
    except (StepFailed, ServiceFailed, TradeFailed) as failure:
        print(f"\nSTUCK: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("Stopping services ...", flush=True)
        for service in (*services.values(), console):
            service.stop()
        print("Services stopped. Infrastructure stays up: `./ekspora down` stops it.")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
