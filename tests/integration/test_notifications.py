"""UMKM owners are told on WhatsApp, else SMS, else email, in Bahasa Indonesia, and never twice.

A local HTTP server plays the WhatsApp/SMS provider (failing on demand) and a real SMTP server
(aiosmtpd) receives the email."""

import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiosmtpd.controller import Controller

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import MatchProposed, MatchTerms
from ekspora_contracts.topics import MATCHING_MATCH, REGISTRY_MSME
from ekspora_contracts.topics import SHIPPING_SHIPMENT as SHIPPING_SHIPMENT_STREAM
from ekspora_kit.clock import WIB, Clock, next_local
from tests.factories import CLOCK, registered_event
from tests.integration.support import (
    BUS,
    OPERATOR,
    Provider,
    eventually,
    free_port,
    handled,
    metric_of,
    publish,
    read_topic,
)
from tests.integration.test_skeleton_flow import new_umkm

pytestmark = pytest.mark.clock  # times of day, local dates, expiries: CI runs it at shifted hours


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def notifications_env(provider: Provider, smtp_port: int) -> dict[str, str]:
    return {
        "EKSPORA_MESSAGING_PROVIDER_URL": provider.url,
        "EKSPORA_MESSAGING_PROVIDER_TOKEN": "prov-secret",
        "EKSPORA_SMTP_HOST": "127.0.0.1",
        "EKSPORA_SMTP_PORT": str(smtp_port),
        "EKSPORA_SEND_ATTEMPTS": "2",
        "EKSPORA_SEND_BACKOFF_SECONDS": "0.05",
    }


async def test_whatsapp_then_sms_then_email_in_bahasa_indonesia_and_never_twice(platform, provider, inbox):
    mail, smtp_port = inbox
    provider.failing = {"whatsapp", "sms"}
    notifications = platform.start("notifications", env=notifications_env(provider, smtp_port))
    registry = platform.start("registry")
    umkm = new_umkm(
        platform.region, whatsapp="+6285712340001", email="sri@kripik-kediri.id", business_name="Keripik Tempe Sri"
    )
    async with httpx.AsyncClient(base_url=registry.url, headers=OPERATOR) as client:
        msme_id = (await client.post("/msmes", json=umkm)).json()["msme_id"]

    await eventually(lambda: _has(mail.messages), what="the email after WhatsApp and SMS failed")
    [email] = mail.messages
    assert email["To"] == "sri@kripik-kediri.id"
    assert email["Subject"] == "Kesiapan ekspor Keripik Tempe Sri: perlu didorong"
    assert "Halo Wahyu Hidayat, hasil penilaian kesiapan ekspor terbaru: perlu didorong" in email.get_content()
    assert [r["to"] for r in provider.sent("whatsapp")] == ["+6285712340001"] * 2, "one attempt and one retry"
    assert [r["to"] for r in provider.sent("sms")] == ["+6285712340001"] * 2
    assert provider.requests[0]["auth"] == "Bearer prov-secret"

    async with httpx.AsyncClient(base_url=notifications.url, headers=OPERATOR) as client:
        log = (await client.get(f"/feeds/umkm:{msme_id}/deliveries")).json()
    outcomes = {d["channel"]: (d["status"], d.get("reason", "")) for d in log}
    assert outcomes["email"][0] == "sent"
    assert outcomes["whatsapp"][0] == "failed" and "503" in outcomes["whatsapp"][1]
    assert outcomes["sms"][0] == "failed"

    assessed = [r for r in await read_topic(platform.topic(REGISTRY_MSME), at_least=2) if b"readiness" in r.value]
    assessed_type = json.loads(assessed[0].value)["type"]
    before = await metric_of(notifications, "ekspora_events_handled_total", event_type=assessed_type)
    for _ in range(3):  # the same event, delivered again
        await publish(platform.topic(REGISTRY_MSME), msme_id.encode(), assessed[0].value)
    provider.failing = set()
    await handled(notifications, assessed_type, at_least=int(before) + 3)
    assert len(mail.messages) == 1 and len(provider.requests) == 4, "nothing is sent twice, on any channel"

    proposed = _match_proposed(platform.region, msme_id)
    await publish(platform.topic(MATCHING_MATCH), b"mt-x", proposed)
    await eventually(lambda: _has(provider.sent("whatsapp")[2:]), what="the proposal on WhatsApp")
    [whatsapp] = provider.sent("whatsapp")[2:]
    assert whatsapp["text"].startswith("Ada calon pembeli untuk Tahu Takwa")
    assert "Toko Nusantara Amsterdam di Amsterdam ingin membeli 600 pack 500 g Tahu Takwa" in whatsapp["text"]
    assert len(provider.sent("sms")) == 2 and len(mail.messages) == 1, "WhatsApp worked: no fallback"


async def test_a_text_whose_answer_or_process_was_lost_is_sent_exactly_once(platform, provider, inbox):
    """The provider took a text and its answer never came; a process died after claiming two texts,
    one before the provider took it and one after; a third is still in flight: each goes out once."""
    _, smtp_port = inbox
    deliveries = platform.database("notifications")["deliveries"]
    long_ago, now = CLOCK.now() - timedelta(minutes=5), CLOCK.now()
    claimed = {
        "event_id": "evt-x",
        "recipient": "umkm:x",
        "to": "umkm",
        "region": platform.region,
        "channel": "whatsapp",
        "address": "+6285712340009",
        "language": "id",
        "subject": "Kabar",
        "text": "Pesanan diterima",
        "status": "sending",
        "attempts": 0,
        "claims": 1,
        "created_at": long_ago,
        "claimed_at": long_ago,
    }
    await deliveries.insert_many(
        [
            {"_id": "died-before-the-call", **claimed},
            {"_id": "died-after-the-call", **claimed},
            {"_id": "still-in-flight", **claimed, "created_at": now, "claimed_at": now},
        ]
    )
    provider.requests.append({"channel": "whatsapp", "reference": "died-after-the-call", "text": "Kabar\nPesanan"})
    provider.answerless = {"whatsapp"}
    env = notifications_env(provider, smtp_port) | {
        "EKSPORA_UNCONFIRMED_AFTER_SECONDS": "60",
        "EKSPORA_UNCONFIRMED_CHECK_SECONDS": "0.5",
    }
    notifications = platform.start("notifications", env=env)
    registry = platform.start("registry")
    umkm = new_umkm(platform.region, whatsapp="+6285712340008", business_name="Sambel Pecel Bu Tin")
    async with httpx.AsyncClient(base_url=registry.url, headers=OPERATOR) as client:
        msme_id = (await client.post("/msmes", json=umkm)).json()["msme_id"]

    async def settled() -> bool:
        states = {d["_id"]: d async for d in deliveries.find({"status": "sent"})}
        owner = [d for d in states.values() if d["recipient"] == f"umkm:{msme_id}"]
        return bool(owner) and {"died-before-the-call", "died-after-the-call"} <= set(states)

    await eventually(settled, what="the owner's text and both unconfirmed texts sent")
    by_reference = Counter(r["reference"] for r in provider.sent("whatsapp"))
    [owner] = [d async for d in deliveries.find({"recipient": f"umkm:{msme_id}"})]
    assert owner["status"] == "sent" and owner["attempts"] == 1 and owner["reference"] == f"msg-{owner['_id']}"
    assert by_reference[owner["_id"]] == 1, "the answer was lost, the provider asked, the text not sent again"
    assert by_reference["died-before-the-call"] == 1, "sent by the instance that took it over"
    assert by_reference["died-after-the-call"] == 1, "the provider had it: recorded as sent, not sent again"
    assert (await deliveries.find_one({"_id": "died-after-the-call"}))["settled"] == "taken"
    assert by_reference["still-in-flight"] == 0
    assert (await deliveries.find_one({"_id": "still-in-flight"}))["status"] == "sending", "its process may live"
    assert not provider.sent("sms"), "no fallback: WhatsApp took every text"
    assert (
        await metric_of(notifications, "ekspora_notifications_total", channel="whatsapp", outcome="settled_resent") == 1
    )


async def _has(items) -> bool:
    return bool(items)


async def _outcome(notifications, outcome: str) -> bool:
    return await metric_of(notifications, "ekspora_notifications_total", channel="any", outcome=outcome) >= 1


def _match_proposed(region: str, msme_id: str) -> bytes:
    terms = MatchTerms(
        match_id="mt-notify-1",
        region=region,
        product_id="prd-1",
        msme_id=msme_id,
        product_name="Tahu Takwa",
        category="processed_food",
        hs_code="210690",
        unit="pack 500 g",
        net_weight_grams=500,
        partner_id="ptn-1",
        partner_name="Toko Nusantara Amsterdam",
        demand_id="dmd-1",
        destination_country="NL",
        destination_city="Amsterdam",
        quantity=600,
        unit_price_idr=28_000,
        unit_price=160,
        currency="EUR",
        incoterm="FOB",
        documents=["commercial_invoice", "ske_health_certificate"],
    )
    data = MatchProposed(terms=terms, score=90, breakdown=[], expires_at=CLOCK.now() + timedelta(days=7))
    return (
        new_event(data, region=region, producer="matching", correlation_id="t", time=CLOCK.now())
        .model_dump_json()
        .encode()
    )


async def _publish_event(topic: str, event) -> None:
    await publish(topic, event.subject.encode(), event.model_dump_json().encode())


def _documents_missing(region: str, msme_id: str):

    from ekspora_contracts.shipping import ShipmentDocumentsMissing

    data = ShipmentDocumentsMissing(
        shipment_id=f"shp-{msme_id}",
        region=region,
        cutoff_on=CLOCK.today("Asia/Jakarta") + timedelta(days=2),
        missing=["ske_health_certificate"],
        msme_ids=[msme_id],
    )
    return new_event(data, region=region, producer="shipping", correlation_id="t", time=CLOCK.now())


def _proposal_event(region: str, msme_id: str, partner_id: str, match_id: str):
    raw = json.loads(_match_proposed(region, msme_id))
    raw["data"]["terms"] |= {"partner_id": partner_id, "match_id": match_id}
    raw["id"], raw["subject"] = f"evt-{match_id}", match_id
    return raw


async def test_opt_outs_critical_bypass_quiet_hours_and_partners_in_dutch(platform, provider, inbox):
    from ekspora_contracts.topics import MATCHING_PARTNERS, REGISTRY_CONTACTS, SHIPPING_SHIPMENT
    from tests.factories import contact_changed_event, partner_changed_event

    mail, smtp_port = inbox
    env = notifications_env(provider, smtp_port) | {"EKSPORA_QUIET_HOURS_CHECK_SECONDS": "0.5"}
    notifications = platform.start("notifications", env=env)
    region = platform.region
    partner_id = f"ptn-{region}"
    await _publish_event(
        MATCHING_PARTNERS.topic(region), partner_changed_event(partner_id, ["nl", "en"], "inkoop@toko.example")
    )
    quiet_sri, opted_out_budi = f"{region}-sri", f"{region}-budi"
    for msme_id, number in ((quiet_sri, "+6285712340011"), (opted_out_budi, "+6285712340012")):
        await _publish_event(platform.topic(REGISTRY_CONTACTS), contact_changed_event(region, msme_id, number, None))
    operator = httpx.AsyncClient(base_url=notifications.url, headers=OPERATOR, timeout=10)

    async def contact_known(msme_id: str):
        return (await operator.get(f"/preferences/umkm:{msme_id}")).status_code == 200

    for msme_id in (quiet_sri, opted_out_budi):
        await eventually(lambda m=msme_id: contact_known(m), what="the contact from the private topic")

    refused = await operator.put(f"/preferences/umkm:{opted_out_budi}", json={"opted_out_categories": ["spam"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"].startswith("opted_out_categories")
    opted_out = await operator.put(f"/preferences/umkm:{opted_out_budi}", json={"opted_out_categories": ["matches"]})
    assert opted_out.status_code == 200, opted_out.text
    now_in_kediri = CLOCK.now().astimezone(ZoneInfo(WIB))
    quiet = {
        "start": (now_in_kediri - timedelta(minutes=1)).strftime("%H:%M:%S"),
        "end": (now_in_kediri + timedelta(seconds=8)).strftime("%H:%M:%S"),
    }
    assert (await operator.put(f"/preferences/umkm:{quiet_sri}", json={"quiet_hours": quiet})).status_code == 200

    match_topic = platform.topic(MATCHING_MATCH)
    await publish(
        match_topic, b"m-budi", json.dumps(_proposal_event(region, opted_out_budi, partner_id, "m-budi")).encode()
    )
    await publish(match_topic, b"m-sri", json.dumps(_proposal_event(region, quiet_sri, partner_id, "m-sri")).encode())
    await _publish_event(platform.topic(SHIPPING_SHIPMENT), _documents_missing(region, opted_out_budi))

    def to(number: str) -> list[dict]:
        return [r for r in provider.sent("whatsapp") if r["to"] == number]

    [critical] = await eventually(lambda: _has_value(to("+6285712340012")), what="the critical message")
    assert critical["text"].startswith("PENTING: dokumen ekspor belum lengkap"), "critical bypasses the opt-out"
    partner_mail = await eventually(lambda: _has_value(mail.messages), what="the partner's emails")
    assert partner_mail[0]["To"] == "inkoop@toko.example"
    assert partner_mail[0]["Subject"].startswith("Voorstel: Tahu Takwa"), "the partner listed Dutch first"
    await eventually(lambda: _outcome(notifications, "held"), what="the proposal held back for quiet hours")
    assert to("+6285712340011") == [], "quiet hours hold the proposal back"
    [held] = await eventually(lambda: _has_value(to("+6285712340011")), timeout=20, what="delivery after quiet hours")
    assert held["text"].startswith("Ada calon pembeli untuk Tahu Takwa")
    assert CLOCK.now().astimezone(ZoneInfo(WIB)).strftime("%H:%M:%S") >= quiet["end"] or quiet["end"] < quiet["start"]
    await eventually(lambda: _outcome(notifications, "skipped"), what="the opted-out proposal to be decided on")
    assert [r["text"].split("\n")[0] for r in to("+6285712340012")] == ["PENTING: dokumen ekspor belum lengkap"], (
        "the opted-out proposal was never sent"
    )
    assert len(to("+6285712340011")) == 1, "released once"
    assert len(mail.messages) == 2, "one email per proposal to the partner, none twice"

    feed = (await operator.get(f"/feeds/umkm:{quiet_sri}")).json()
    assert feed["unread"] == 1 and feed["items"][0]["text"].startswith("Ada calon pembeli")
    item = feed["items"][0]["notification_id"]
    assert (await operator.post(f"/feeds/umkm:{quiet_sri}/{item}/read")).status_code == 204
    assert (await operator.get(f"/feeds/umkm:{quiet_sri}")).json()["unread"] == 0
    token = await platform.partner_token(partner_id, accepted_by=(notifications.url, f"/feeds/partner:{partner_id}"))
    partner = httpx.AsyncClient(base_url=notifications.url, headers={"Authorization": f"Bearer {token}"})
    assert (await partner.get(f"/feeds/partner:{partner_id}")).json()["unread"] == 2
    assert (await partner.get(f"/feeds/umkm:{quiet_sri}")).status_code == 403, "partners read their own feed only"


async def test_operators_get_one_daily_digest_per_region_by_email_and_in_app(platform, provider, inbox):
    """The service's clock stands a little before 07:00 in Kediri: nothing goes out until 07:00,
    then yesterday's digest, once, even after a restart."""
    mail, smtp_port = inbox
    region = platform.region
    seven = next_local(time(7, 0), WIB, CLOCK.now() + timedelta(minutes=1))
    service_offset = CLOCK.offset_to(seven - timedelta(seconds=15))
    env = notifications_env(provider, smtp_port) | {
        "EKSPORA_DIGEST_ENABLED": "true",
        "EKSPORA_DIGEST_AT": "07:00",
        "EKSPORA_DIGEST_CHECK_SECONDS": "0.5",
        "EKSPORA_OPERATOR_EMAILS": f"{region}=ops@{region}.example",
        "EKSPORA_CLOCK_OFFSET_SECONDS": str(service_offset),
    }
    notifications = platform.start("notifications", env=env)
    assert Clock(service_offset).now() < seven, "the service started before 07:00 by its clock"
    [digest] = await eventually(lambda: _has_value(mail.messages), timeout=45, what="the daily digest email")
    assert digest["To"] == f"ops@{region}.example"
    assert digest["Subject"] == f"Ringkasan harian {region}, {(seven.date() - timedelta(days=1)).isoformat()}"
    operator = httpx.AsyncClient(base_url=notifications.url, headers=OPERATOR, timeout=10)
    [sent] = (await operator.get(f"/feeds/operator:{region}/deliveries")).json()
    assert datetime.fromisoformat(sent["created_at"]).replace(tzinfo=UTC) >= seven, "not before 07:00 in Kediri"

    notifications.stop()
    again = platform.start("notifications", name="notifications-again", env=env)

    async def digest_handled():
        return await metric_of(again, "ekspora_periodic_runs_total", job="daily-digest", outcome="ok") >= 1

    await eventually(digest_handled, what="a digest round of the restarted instance")
    assert len(mail.messages) == 1, "a restart does not send the day's digest twice"

    operator = httpx.AsyncClient(base_url=again.url, headers=OPERATOR, timeout=10)
    feed = (await operator.get(f"/feeds/operator:{region}")).json()
    assert [i["event_type"] for i in feed["items"]] == ["ekspora.digest.daily"]
    registered = registered_event(region=region, msme_id=f"{region}-m1")
    await publish(platform.topic(REGISTRY_MSME), b"m-1", registered.model_dump_json().encode())
    day = registered.time.astimezone(ZoneInfo(WIB)).date().isoformat()  # activity counts on the day it happened

    async def counted():
        figures = (await operator.get(f"/digests/{region}/{day}")).json()["figures"]
        return figures if figures.get("msme registered") == 1 else None

    figures = await eventually(counted, what="the day's figures in the digest preview")
    assert figures["messages that could not be delivered"] == 0
    other = await operator.get(f"/digests/elsewhere/{day}")
    assert other.status_code == 403


async def _has_value(items):
    return list(items) if items else None


async def test_two_instances_handling_the_same_event_send_it_once(platform, provider, inbox):
    """Two instances in one group split the partitions; the same event arriving on partitions both
    own (as after a rebalance mid-event) is still sent once: the claim is a unique insert."""
    from ekspora_contracts.topics import REGISTRY_CONTACTS
    from tests.factories import contact_changed_event

    _, smtp_port = inbox
    env = notifications_env(provider, smtp_port)
    first = platform.start("notifications", name="notifications-a", env=env)
    second = platform.start("notifications", name="notifications-b", env=env)
    region, msme_id = platform.region, f"{platform.region}-twice"
    contact = contact_changed_event(region, msme_id, "+6285712340099", None)
    await _publish_event(platform.topic(REGISTRY_CONTACTS), contact)
    operator = httpx.AsyncClient(base_url=first.url, headers=OPERATOR, timeout=10)

    async def contact_known():
        return (await operator.get(f"/preferences/umkm:{msme_id}")).status_code == 200

    await eventually(contact_known, what="the contact")
    await eventually(lambda: _members_with_partitions(f"notifications.{region}", 2), what="both instances in the group")
    critical = _documents_missing(region, msme_id).model_dump_json().encode()
    for key in range(12):  # one event, on every partition: each instance receives it
        await publish(platform.topic(SHIPPING_SHIPMENT_STREAM), f"k{key}".encode(), critical)
    missing = "ekspora.shipping.shipment.documents_missing.v1"

    async def all_copies_handled() -> bool:
        counts = [await metric_of(i, "ekspora_events_handled_total", event_type=missing) for i in (first, second)]
        return sum(counts) == 12 and all(counts)

    await eventually(all_copies_handled, what="both instances to handle the twelve copies")
    assert len(provider.sent("whatsapp")) == 1, "sent once, whichever instance claimed it first"


async def _members_with_partitions(group: str, members: int) -> bool:
    """True once `group` is stable with `members` members that each own partitions."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.protocol.group import MemberAssignment

    admin = AIOKafkaAdminClient(**BUS.client_options())
    await admin.start()
    try:
        [description] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    [(_, _, state, _, _, found)] = description.groups
    owners = [m for m in found if MemberAssignment.decode(m[-1]).assignment]
    return state == "Stable" and len(owners) == members
