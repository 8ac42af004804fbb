"""Partner webhooks on the real broker and store: Standard Webhooks signatures an independent
implementation verifies, an outage that loses nothing and doubles nothing, 410, replay, rotation,
and the SSRF guard. A local HTTP server plays the partner's endpoint."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import httpx
import pytest
from pymongo import AsyncMongoClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ekspora_contracts.topics import MATCHING_PARTNERS, REGISTRY_PRODUCT
from ekspora_notifications.store import WebhookStore
from ekspora_notifications.webhooks import Endpoint, EndpointSecret
from tests.factories import CLOCK, export_ready_event, partner_changed_event, readiness_lost_event
from tests.integration.support import MONGO, eventually, free_port, handled, publish

pytestmark = pytest.mark.clock  # times of day, local dates, expiries: CI runs it at shifted hours

EXPORT_READY = "ekspora.registry.product.export_ready.v1"
READINESS_LOST = "ekspora.registry.product.export_readiness_lost.v1"
FAST_RETRIES = {
    "EKSPORA_WEBHOOK_ALLOW_LOOPBACK": "true",
    "EKSPORA_WEBHOOK_RETRY_SCHEDULE": ",".join(["0", "0.3", "0.6"] + ["1"] * 60),
    "EKSPORA_WEBHOOK_POLL_SECONDS": "0.2",
}


class PartnerEndpoint:
    """Plays a partner's webhook endpoint: answers `status` and records what arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0
        self.status = 204
        self.retry_after: str | None = None
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = endpoint.status
                if 200 <= status < 300:
                    endpoint.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                else:
                    endpoint.refused += 1
                self.send_response(status)
                if endpoint.retry_after and status in (429, 503):
                    self.send_header("Retry-After", endpoint.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/ekspora"

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def partner_endpoint():
    running = PartnerEndpoint()
    yield running
    running.server.shutdown()


async def known_partner(platform, notifications, languages=("en", "nl")) -> tuple[str, httpx.AsyncClient]:
    """A partner as matching publishes it, whose system signs in at identity and is taken by notifications."""
    region = platform.region
    partner_id = f"ptn-{region}"
    event = partner_changed_event(partner_id, list(languages), f"hooks@{region}.example")
    await publish(MATCHING_PARTNERS.topic(region), partner_id.encode(), event.model_dump_json().encode())
    token = await platform.partner_token(partner_id, accepted_by=(notifications.url, "/webhooks/endpoints"))
    return partner_id, httpx.AsyncClient(base_url=notifications.url, headers={"Authorization": f"Bearer {token}"})


async def publish_product_events(platform, events) -> None:
    for event in events:
        await publish(platform.topic(REGISTRY_PRODUCT), event.subject.encode(), event.model_dump_json().encode())


async def test_an_outage_loses_nothing_doubles_nothing_keeps_order_and_410_disables(platform, partner_endpoint):
    notifications = platform.start("notifications", env=FAST_RETRIES)
    _, partner = await known_partner(platform, notifications)
    created = await partner.post(
        "/webhooks/endpoints", json={"url": partner_endpoint.url, "event_types": [EXPORT_READY, READINESS_LOST]}
    )
    assert created.status_code == 201, created.text
    endpoint_id, secret = created.json()["endpoint_id"], created.json()["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in (await partner.get(f"/webhooks/endpoints/{endpoint_id}")).json(), "shown once only"

    partner_endpoint.status = 503  # the partner's system is down
    products = [f"prd-{n}" for n in range(3)]
    sent = []
    for product_id in products:
        sent += [
            export_ready_event(platform.region, product_id),
            readiness_lost_event(platform.region, product_id),
            export_ready_event(platform.region, product_id),
        ]
    await publish_product_events(platform, sent)

    async def retried() -> list[dict] | None:
        log = (await partner.get(f"/webhooks/endpoints/{endpoint_id}/deliveries")).json()
        firsts = [d for d in log if d["message_id"] in {f"msg_{e.id}" for e in sent[::3]}]
        return log if len(log) == len(sent) and all(len(d["attempts"]) >= 2 for d in firsts) else None

    log = await eventually(retried, what="deliveries retried while the endpoint is down")
    assert partner_endpoint.received == []
    waiting = [d for d in log if d["message_id"] not in {f"msg_{e.id}" for e in sent[::3]}]
    assert all(d["attempts"] == [] for d in waiting), "later events of a product wait behind its first"
    assert {a["status"] for d in log for a in d["attempts"]} == {503}

    partner_endpoint.status = 204  # recovered
    await eventually(lambda: _at_least(partner_endpoint.received, len(sent)), what="every event after recovery")
    await eventually(lambda: _all_settled(partner, endpoint_id, len(sent)), what="every delivery logged as delivered")
    ids = [headers["webhook-id"] for headers, _ in partner_endpoint.received]
    assert len(ids) == len(sent) == len(set(ids)), "every event exactly once"
    assert set(ids) == {f"msg_{e.id}" for e in sent}
    for product_id in products:
        arrived = [
            p["type"]
            for p in partner_endpoint.payloads()
            if p["data"].get("product", {}).get("product_id") == product_id or p["data"].get("product_id") == product_id
        ]
        assert arrived == [EXPORT_READY, READINESS_LOST, EXPORT_READY], f"order of {product_id}"

    for headers, body in partner_endpoint.received:
        assert partner_verifies(secret, body, headers)["type"] in (EXPORT_READY, READINESS_LOST)
    headers, body = partner_endpoint.received[0]
    with pytest.raises(WebhookVerificationError):
        partner_verifies(secret, body.replace(b"prd-", b"prx-"), headers)

    await _retired_then_replayed(platform, partner, endpoint_id, secret, partner_endpoint, sent)


async def _retired_then_replayed(platform, partner, endpoint_id: str, secret: str, partner_endpoint, sent) -> None:
    """A 410 disables the endpoint and later events are skipped; enabled again, with its secret
    rotated, a replay of the range delivers what it missed, signed with both secrets."""
    partner_endpoint.status = 410  # the partner retired the endpoint
    gone = export_ready_event(platform.region, "prd-gone")
    await publish_product_events(platform, [gone])

    async def disabled():
        endpoint = (await partner.get(f"/webhooks/endpoints/{endpoint_id}")).json()
        return endpoint if not endpoint["enabled"] else None

    endpoint = await eventually(disabled, what="the endpoint disabled after 410")
    assert "410" in endpoint["disabled_reason"]
    refused = partner_endpoint.refused
    after = export_ready_event(platform.region, "prd-after")
    await publish_product_events(platform, [after])

    async def skipped() -> list[dict]:
        log = await partner.get(f"/webhooks/endpoints/{endpoint_id}/deliveries", params={"status": "skipped"})
        return log.json()

    assert [d["message_id"] for d in await eventually(skipped, what="the delivery logged as skipped")] == [
        f"msg_{after.id}"
    ]
    assert partner_endpoint.refused == refused and len(partner_endpoint.received) == len(sent), "nothing more sent"

    partner_endpoint.status = 204  # fixed: enable, rotate the secret, replay what it missed
    assert (await partner.patch(f"/webhooks/endpoints/{endpoint_id}", json={"enabled": True})).json()["enabled"]
    rotated = (await partner.post(f"/webhooks/endpoints/{endpoint_id}/secret/rotate", json={})).json()
    assert rotated["signing_secrets"] == 2 and rotated["secret"] != secret
    replay = await partner.post(f"/webhooks/endpoints/{endpoint_id}/replay", json={"since": _started(sent)})
    assert replay.status_code == 202 and replay.json() == {"replayed": 2}
    await eventually(lambda: _at_least(partner_endpoint.received, len(sent) + 2), what="the replayed deliveries")
    replayed = partner_endpoint.received[len(sent) :]
    assert {h["webhook-id"] for h, _ in replayed} == {f"msg_{gone.id}", f"msg_{after.id}"}
    for headers, body in replayed:  # both the old and the new secret verify during the rotation
        partner_verifies(secret, body, headers)
        partner_verifies(rotated["secret"], body, headers)


async def test_urls_reaching_private_addresses_are_refused_unless_the_test_setting_allows_loopback(platform):
    guarded = platform.start("notifications", name="guarded")
    _, partner = await known_partner(platform, guarded)
    for url, reason in [
        ("http://127.0.0.1/hooks", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://10.0.0.1/hooks", "10.0.0.1 is a private address"),
        ("http://localhost:8080/hooks", "localhost resolves to"),
        ("http://[::ffff:127.0.0.1]/hooks", "IPv4-mapped"),
    ]:
        refused = await partner.post("/webhooks/endpoints", json={"url": url, "event_types": [EXPORT_READY]})
        assert refused.status_code == 422, (url, refused.text)
        [error] = refused.json()["errors"]
        assert error["field"] == "url" and reason in error["message"], (url, error)

    testing = platform.start("notifications", name="loopback-allowed", env={"EKSPORA_WEBHOOK_ALLOW_LOOPBACK": "true"})
    _, partner = await known_partner(platform, testing)
    accepted = await partner.post(
        "/webhooks/endpoints", json={"url": "http://127.0.0.1:9/h", "event_types": [EXPORT_READY]}
    )
    assert accepted.status_code == 201, accepted.text
    still = await partner.post(
        "/webhooks/endpoints", json={"url": "http://169.254.169.254/", "event_types": [EXPORT_READY]}
    )
    assert still.status_code == 422, "the test setting lets loopback through, nothing else"
    unknown = await partner.post("/webhooks/endpoints", json={"url": "http://127.0.0.1:9/h", "event_types": ["x.y"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "event_types"
    stranger = httpx.AsyncClient(base_url=testing.url, headers={"Authorization": "Bearer ptk_nobody"})
    assert (await stranger.get("/webhooks/endpoints")).status_code == 401


def partner_verifies(secret: str, body: bytes, headers: dict[str, str]) -> dict:
    """What the independent `standardwebhooks` verifier checks, on the partner's clock: in a shifted
    run that is the shifted CLOCK, while the library reads the wall clock for its 5-minute window.
    The library computes the v1 signature itself; tests/unit/test_webhooks.py runs its verify()."""
    sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    if abs(CLOCK.now() - sent_at) > timedelta(minutes=5):
        raise WebhookVerificationError("Message timestamp outside the tolerance")
    expected = Webhook(secret).sign(headers["webhook-id"], sent_at, body.decode())
    if expected not in headers["webhook-signature"].split(" "):
        raise WebhookVerificationError("No matching signature found")
    return json.loads(body)


async def _at_least(items: list, count: int) -> bool:
    return len(items) >= count


async def _all_settled(partner: httpx.AsyncClient, endpoint_id: str, count: int) -> bool:
    """True when the endpoint's log holds `count` deliveries, every one delivered: nothing is left to send."""
    log = (await partner.get(f"/webhooks/endpoints/{endpoint_id}/deliveries")).json()
    return len(log) == count and all(d["status"] == "delivered" for d in log)


def _started(events) -> str:
    return min(e.time for e in events).astimezone(UTC).isoformat() if events else CLOCK.now().isoformat()


async def test_a_long_failure_run_disables_the_endpoint_and_tells_its_owner_who_replays_one(platform, partner_endpoint):
    from aiosmtpd.controller import Controller

    from tests.integration.test_notifications import Inbox

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        env = FAST_RETRIES | {
            "EKSPORA_WEBHOOK_DISABLE_AFTER_SECONDS": "2",
            "EKSPORA_SMTP_HOST": "127.0.0.1",
            "EKSPORA_SMTP_PORT": str(smtp.port),
        }
        notifications = platform.start("notifications", env=env)
        _, partner = await known_partner(platform, notifications, languages=("en",))
        created = await partner.post(
            "/webhooks/endpoints", json={"url": partner_endpoint.url, "event_types": [EXPORT_READY]}
        )
        endpoint_id = created.json()["endpoint_id"]
        partner_endpoint.status = 500
        event = export_ready_event(platform.region, "prd-long")
        await publish_product_events(platform, [event])

        [notice] = await eventually(
            lambda: _value(inbox.messages), what="the owner's email about the disabled endpoint"
        )
        assert notice["To"] == f"hooks@{platform.region}.example"
        assert notice["Subject"] == f"Webhook endpoint disabled: {partner_endpoint.url}"
        assert "every delivery failed since" in notice.get_content()
        endpoint = (await partner.get(f"/webhooks/endpoints/{endpoint_id}")).json()
        assert not endpoint["enabled"] and "HTTP 500" in endpoint["disabled_reason"]
        metrics = (await httpx.AsyncClient().get(f"{notifications.url}/metrics")).text
        assert 'ekspora_webhook_attempts_total{outcome="retried"}' in metrics

        partner_endpoint.status = 204
        await partner.patch(f"/webhooks/endpoints/{endpoint_id}", json={"enabled": True})
        [delivery] = (await partner.get(f"/webhooks/endpoints/{endpoint_id}/deliveries")).json()
        assert delivery["status"] == "pending" and all(a["status"] == 500 for a in delivery["attempts"])
        await eventually(lambda: _value(partner_endpoint.received), what="the pending delivery after re-enabling")
        replay = await partner.post(f"/webhooks/endpoints/{endpoint_id}/deliveries/{delivery['delivery_id']}/replay")
        assert replay.json() == {"replayed": 1}
        await eventually(lambda: _at_least(partner_endpoint.received, 2), what="the replayed delivery")
        ids = [h["webhook-id"] for h, _ in partner_endpoint.received]
        assert ids == [f"msg_{event.id}"] * 2, "a replay sends the same webhook-id, so receivers can de-duplicate"
        missing = await partner.post(f"/webhooks/endpoints/{endpoint_id}/deliveries/nope/replay")
        assert missing.status_code == 404
    finally:
        smtp.stop()


async def _value(items):
    return list(items) if items else None


async def test_a_slow_down_answer_is_honoured_with_its_retry_after(platform, partner_endpoint):
    notifications = platform.start("notifications", env=FAST_RETRIES)
    _, partner = await known_partner(platform, notifications)
    subscription = {"url": partner_endpoint.url, "event_types": [EXPORT_READY]}
    endpoint_id = (await partner.post("/webhooks/endpoints", json=subscription)).json()["endpoint_id"]
    partner_endpoint.status, partner_endpoint.retry_after = 429, "3"
    await publish_product_events(platform, [export_ready_event(platform.region, "prd-slow")])

    async def refused_once():
        [delivery] = (await partner.get(f"/webhooks/endpoints/{endpoint_id}/deliveries")).json() or [None]
        return delivery if delivery and delivery["attempts"] else None

    await eventually(refused_once, what="the first, refused attempt")
    partner_endpoint.status = 204
    await eventually(lambda: _value(partner_endpoint.received), what="the delivery after Retry-After")
    [delivery] = (await partner.get(f"/webhooks/endpoints/{endpoint_id}/deliveries")).json()
    first, second = (datetime.fromisoformat(a["at"]) for a in delivery["attempts"][:2])
    assert delivery["attempts"][0]["status"] == 429
    assert (second - first).total_seconds() >= 3, "the schedule said 0.3 s; the endpoint asked for 3"


async def test_a_partner_whose_order_joins_a_shipment_is_sent_its_plan_first(platform, partner_endpoint):
    from ekspora_contracts.envelope import new_event
    from ekspora_contracts.shipping import OrderCreated, OrderLine, ShipmentPlanned
    from ekspora_contracts.topics import SHIPPING_SHIPMENT

    notifications = platform.start("notifications", env=FAST_RETRIES)
    partner_id, partner = await known_partner(platform, notifications)
    planned_type, created_type = ShipmentPlanned.event_type, OrderCreated.event_type
    subscription = {"url": partner_endpoint.url, "event_types": [planned_type, created_type]}
    created = await partner.post("/webhooks/endpoints", json=subscription)
    assert created.status_code == 201
    endpoint_id = created.json()["endpoint_id"]

    def order(number: int, buyer: str) -> OrderCreated:
        line = OrderLine(
            order_id=f"ord-{number}",
            match_id=f"m-{number}",
            msme_id=f"msme-{number}",
            partner_id=buyer,
            product_id=f"p-{number}",
            product_name="Keripik Tempe",
            quantity=100,
            unit_price=180,
            currency="EUR",
            unit_price_idr=18_000,
            incoterm="FOB",
            gross_kg=25.0,
            cbm=0.2,
        )
        return OrderCreated(shipment_id="shp-1", region=platform.region, order=line, assignment_reason="consolidated")

    plan = ShipmentPlanned(
        shipment_id="shp-1",
        region=platform.region,
        destination_country="NL",
        destination_port="Rotterdam",
        mode="sea_lcl",
        departure_on=CLOCK.today("Asia/Jakarta") + timedelta(days=19),
        cutoff_on=CLOCK.today("Asia/Jakarta") + timedelta(days=13),
    )
    events = [
        new_event(data, region=platform.region, producer="shipping", correlation_id="t", time=CLOCK.now())
        for data in (plan, order(1, "someone-else"), order(2, partner_id))
    ]
    for event in events:
        await publish(platform.topic(SHIPPING_SHIPMENT), b"shp-1", event.model_dump_json().encode())

    await eventually(lambda: _at_least(partner_endpoint.received, 2), what="the plan and the partner's own order")
    await handled(notifications, created_type, at_least=2)
    await eventually(lambda: _all_settled(partner, endpoint_id, 2), what="no delivery left pending")
    assert [p["type"] for p in partner_endpoint.payloads()] == [planned_type, created_type]
    assert partner_endpoint.payloads()[1]["data"]["order"]["order_id"] == "ord-2", "not the other partner's order"


async def test_the_dispatchers_health_mark_keeps_a_secret_the_partner_rotated_meanwhile():
    database = f"test_endpoints_{uuid4().hex[:8]}"
    client: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    store = WebhookStore(client[database])
    now = CLOCK.now().replace(microsecond=0)  # BSON keeps milliseconds
    endpoint = Endpoint(
        endpoint_id="whe-1",
        partner_id="ptn-1",
        url="https://partner.example/hooks",
        event_types=[EXPORT_READY],
        regions=[],
        secrets=[EndpointSecret(secret="whsec_old")],
        created_at=now,
    )
    try:
        await store.add_endpoint(endpoint)
        read_by_dispatcher = await store.endpoint("whe-1")
        assert read_by_dispatcher is not None
        rotated = [EndpointSecret(secret="whsec_new"), EndpointSecret(secret="whsec_old", expires_at=now)]
        await store.update_endpoint(endpoint.model_copy(update={"secrets": rotated}), ["secrets"])
        await store.update_endpoint(read_by_dispatcher.model_copy(update={"failing_since": now}), ["failing_since"])
        stored = await store.endpoint("whe-1")
        assert stored is not None and stored.failing_since == now
        assert [s.secret for s in stored.secrets] == ["whsec_new", "whsec_old"]
    finally:
        await client.drop_database(database)
        await client.close()
