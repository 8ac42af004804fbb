"""UMKM owners are told on WhatsApp, else SMS, else email, in Bahasa Indonesia, and never twice.

A local HTTP server plays the WhatsApp/SMS provider (failing on demand) and a real SMTP server
(aiosmtpd) receives the email."""

import json
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiosmtpd.controller import Controller

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import MatchProposed, MatchTerms
from ekspora_contracts.topics import MATCHING_MATCH, REGISTRY_MSME
from tests.integration.support import OPERATOR, eventually, free_port, publish, read_topic
from tests.integration.test_skeleton_flow import new_umkm


class Provider:
    """Plays the messaging provider: records every request, answers 503 for failing channels."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.failing: set[str] = set()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                provider.requests.append(body | {"auth": self.headers.get("Authorization")})
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


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture
def provider():
    running = Provider()
    yield running
    running.server.shutdown()


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
    for _ in range(3):  # the same event, delivered again
        await publish(platform.topic(REGISTRY_MSME), msme_id.encode(), assessed[0].value)
    provider.failing = set()
    await eventually(lambda: _pause(3), what="the redeliveries to be handled")
    assert len(mail.messages) == 1 and len(provider.requests) == 4, "nothing is sent twice, on any channel"

    proposed = _match_proposed(platform.region, msme_id)
    await publish(platform.topic(MATCHING_MATCH), b"mt-x", proposed)
    await eventually(lambda: _has(provider.sent("whatsapp")[2:]), what="the proposal on WhatsApp")
    [whatsapp] = provider.sent("whatsapp")[2:]
    assert whatsapp["text"].startswith("Ada calon pembeli untuk Tahu Takwa")
    assert "Toko Nusantara Amsterdam di Amsterdam ingin membeli 600 pack 500 g Tahu Takwa" in whatsapp["text"]
    assert len(provider.sent("sms")) == 2 and len(mail.messages) == 1, "WhatsApp worked: no fallback"


async def _has(items) -> bool:
    return bool(items)


async def _pause(seconds: float) -> bool:
    import asyncio

    await asyncio.sleep(seconds)
    return True


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
    data = MatchProposed(terms=terms, score=90, breakdown=[], expires_at=datetime.now(UTC) + timedelta(days=7))
    return new_event(data, region=region, producer="matching", correlation_id="t").model_dump_json().encode()
