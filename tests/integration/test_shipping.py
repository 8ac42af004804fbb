"""Shipping acceptance on the real broker and store: one order per confirmation, the departure guard,
signed carrier updates, and the whole journey's events once and in order."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import MatchConfirmed, MatchTerms, PartnerChanged
from ekspora_contracts.registry import SupplierChanged
from ekspora_contracts.topics import (
    MATCHING_MATCH,
    MATCHING_PARTNERS,
    REGISTRY_SUPPLIERS,
    SHIPPING_LANES,
    SHIPPING_SHIPMENT,
)
from ekspora_shipping.policy import load_lanes
from tests.factories import CLOCK, pdf_text, scanned_pdf
from tests.integration.support import eventually, metric_of, periodic_rounds, publish, read_topic

pytestmark = pytest.mark.clock  # times of day, local dates, expiries: CI runs it at shifted hours

TOKEN, SECRET = "op-shipping-kediri", "whsec_forwarder_test"


def confirmed(region: str, n: int, *, quantity: int = 600, city: str = "Amsterdam", unit_price: int = 160) -> bytes:
    terms = MatchTerms(
        match_id=f"mt-{region}-{n}",
        region=region,
        product_id=f"prd-{n}",
        msme_id=f"msme-{n}",
        product_name="Tahu Takwa",
        category="processed_food",
        hs_code="210690",
        tariff_code="21069099",
        unit="pack 500 g",
        net_weight_grams=500,
        partner_id="ptn-toko",
        partner_name="Toko Indonesia Amsterdam",
        demand_id=f"dmd-{n}",
        destination_country="NL",
        destination_city=city,
        quantity=quantity,
        unit_price_idr=28_000,
        unit_price=unit_price,
        currency="EUR",
        incoterm="FOB",
        shelf_life_days=180,
        documents=[
            "commercial_invoice",
            "packing_list",
            "peb_export_declaration",
            "rex_statement_on_origin",
            "ske_health_certificate",
        ],
    )
    event = new_event(
        MatchConfirmed(terms=terms, confirmed_at=CLOCK.now()),
        region=region,
        producer="matching",
        correlation_id=f"deal-{n}",
        time=CLOCK.now(),
    )
    return event.model_dump_json().encode()


def signed(body: dict, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw, timestamp = json.dumps(body).encode(), str(CLOCK.unix_seconds())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return raw, {
        "X-Ekspora-Timestamp": timestamp,
        "X-Ekspora-Signature": f"sha256={digest}",
        "content-type": "application/json",
    }


def start(platform, **env: str) -> httpx.AsyncClient:
    service = platform.start(
        "shipping",
        env={"EKSPORA_OPERATOR_TOKENS": f"{platform.region}={TOKEN}", "EKSPORA_CARRIER_WEBHOOK_SECRET": SECRET, **env},
    )
    return httpx.AsyncClient(base_url=service.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


async def test_a_confirmed_match_becomes_exactly_one_order_even_when_redelivered(platform):
    shipping = start(platform)
    for _ in range(3):
        await publish(platform.topic(MATCHING_MATCH), b"mt-1", confirmed(platform.region, 1))
    await publish(platform.topic(MATCHING_MATCH), b"mt-2", confirmed(platform.region, 2, city="Rotterdam"))

    async def orders():
        found = (await shipping.get("/orders", params={"partner_id": "ptn-toko"})).json()
        return found if len(found) >= 2 else None

    found = await eventually(orders, what="two orders")
    assert sorted(o["order"]["match_id"] for o in found) == [f"mt-{platform.region}-1", f"mt-{platform.region}-2"]
    assert len({o["shipment_id"] for o in found}) == 1, "Amsterdam and Rotterdam consolidate through Rotterdam"
    assert (
        sum(o["freight_share_idr"] for o in found)
        == (await shipping.get(f"/shipments/{found[0]['shipment_id']}")).json()["freight_idr"]
    )
    events = [json.loads(r.value)["type"] for r in await read_topic(platform.topic(SHIPPING_SHIPMENT), at_least=3)]
    assert events == [
        "ekspora.shipping.shipment.planned.v1",
        "ekspora.shipping.order.created.v1",
        "ekspora.shipping.order.created.v1",
    ]
    invoice = await shipping.get(f"/orders/{found[0]['order']['order_id']}/commercial-invoice")
    assert invoice.status_code == 200 and invoice.headers["content-type"] == "application/pdf"
    text = pdf_text(invoice.content)
    assert "PRO FORMA INVOICE" in text and "21069099" in text, "not numbered before booking"


async def test_the_whole_journey_with_the_departure_guard_and_signed_carrier_updates(platform):
    shipping = start(platform)
    await publish(platform.topic(MATCHING_MATCH), b"mt-1", confirmed(platform.region, 1))
    [order] = await eventually(lambda: _orders(shipping), what="the order")
    shipment_id, order_id = order["shipment_id"], order["order"]["order_id"]

    booked = await shipping.post(
        f"/shipments/{shipment_id}/booking",
        json={"carrier": "Samudera Indonesia", "booking_reference": "SMDR-2026-1201"},
    )
    assert booked.json()["shipment"]["status"] == "booked"
    for status in ("picked_up", "export_cleared"):
        assert (
            await shipping.post(
                f"/shipments/{shipment_id}/status", json={"status": status, "location": "Tanjung Perak"}
            )
        ).status_code == 200
    invalid = await shipping.post(f"/shipments/{shipment_id}/status", json={"status": "booked", "location": "Surabaya"})
    assert invalid.status_code == 409 and "cannot go from export_cleared to booked" in invalid.json()["message"]

    blocked = await shipping.post(
        f"/shipments/{shipment_id}/status", json={"status": "departed", "location": "Surabaya"}
    )
    assert blocked.status_code == 409
    assert f"ske_health_certificate@{order_id}" in blocked.json()["message"]
    for code in ("peb_export_declaration", "transport_document"):
        assert (uploaded := await upload(shipping, shipment_id, code)).status_code == 200, uploaded.text
        await shipping.put(f"/shipments/{shipment_id}/documents/{code}", json={"status": "verified"})
    for code in ("commercial_invoice", "packing_list", "rex_statement_on_origin"):  # generated: verified as read
        await shipping.put(
            f"/shipments/{shipment_id}/documents/{code}", json={"status": "verified", "order_id": order_id}
        )
    still = await shipping.post(f"/shipments/{shipment_id}/status", json={"status": "departed", "location": "Surabaya"})
    assert still.status_code == 409 and still.json()["message"].endswith(f"ske_health_certificate@{order_id}")
    unread = await shipping.put(
        f"/shipments/{shipment_id}/documents/ske_health_certificate", json={"status": "verified", "order_id": order_id}
    )
    assert unread.status_code == 409 and "upload its file first" in unread.json()["message"]
    await upload(shipping, shipment_id, "ske_health_certificate", order_id)
    await shipping.put(
        f"/shipments/{shipment_id}/documents/ske_health_certificate", json={"status": "verified", "order_id": order_id}
    )
    departed = await shipping.post(
        f"/shipments/{shipment_id}/status", json={"status": "departed", "location": "Tanjung Perak"}
    )
    assert departed.status_code == 200

    base = CLOCK.now()  # after the departure; the updates come seconds apart, within the forwarder's clock skew
    updates = [
        ("u-1", "arrived", "Rotterdam", 20),
        ("u-2", "import_cleared", "Rotterdam", 21),
        ("u-1", "arrived", "Rotterdam", 20),  # replay
        ("u-0", "in_transit", "Indian Ocean", 10),  # late, would go backwards
        ("u-3", "OutForDelivery", "Amsterdam", 22),
        ("u-4", "Delivered", "Amsterdam", 23),
    ]
    outcomes = []
    for update_id, status, location, second in updates:
        raw, headers = signed(
            {
                "update_id": update_id,
                "shipment_id": shipment_id,
                "status": status,
                "location": location,
                "occurred_at": (base + timedelta(seconds=second)).isoformat(),
            }
        )
        response = await shipping.post("/carrier-updates", content=raw, headers=headers)
        assert response.status_code == 200, response.text
        outcomes.append(response.json()["outcome"].split(":")[0])
    assert outcomes == ["applied", "applied", "replayed", "ignored", "applied", "applied"]

    raw, headers = signed(
        {
            "update_id": "u-9",
            "shipment_id": shipment_id,
            "status": "lost",
            "location": "x",
            "occurred_at": base.isoformat(),
        },
        secret="wrong",
    )
    assert (await shipping.post("/carrier-updates", content=raw, headers=headers)).status_code == 401
    tampered = raw.replace(b"lost", b"returned")
    _, good_headers = signed({"update_id": "u-9"})
    assert (await shipping.post("/carrier-updates", content=tampered, headers=good_headers)).status_code == 401

    events = [json.loads(r.value) for r in await read_topic(platform.topic(SHIPPING_SHIPMENT), at_least=20)]
    assert {e["subject"] for e in events} == {shipment_id}
    assert len({e["id"] for e in events}) == len(events), "every event once"
    statuses = [e["data"]["status"] for e in events if e["type"] == "ekspora.shipping.shipment.status_changed.v1"]
    assert statuses == [
        "booked",
        "picked_up",
        "export_cleared",
        "departed",
        "arrived",
        "import_cleared",
        "out_for_delivery",
        "delivered",
    ]
    kinds = [e["type"].split(".", 2)[2].removesuffix(".v1") for e in events]
    assert kinds[:2] == ["shipment.planned", "order.created"]
    assert kinds[-3:] == ["shipment.status_changed", "order.delivered", "feedback.requested"]
    assert kinds.count("shipment.document_status_changed") == 3 + 6, "3 files uploaded; 6 documents verified"
    [delivered] = await _orders(shipping)
    assert delivered["shipment_status"] == "delivered" and delivered["delivered_at"]


async def test_carrier_updates_with_a_bad_timestamp_a_body_not_json_or_a_date_far_ahead_get_4xx(platform):
    shipping = start(platform)
    update = {"update_id": "u-1", "shipment_id": "shp-1", "status": "delivered", "location": "Amsterdam"}
    raw, headers = signed(update | {"occurred_at": CLOCK.now().isoformat()})
    superscript = headers | {"X-Ekspora-Timestamp": "²".encode("latin-1") * 10}  # isdigit() yes, int() no
    assert (await shipping.post("/carrier-updates", content=raw, headers=superscript)).status_code == 401

    timestamp, not_json = str(CLOCK.unix_seconds()), b"{not json"
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + not_json, hashlib.sha256).hexdigest()
    signed_headers = {"X-Ekspora-Timestamp": timestamp, "X-Ekspora-Signature": f"sha256={digest}"}
    refused = await shipping.post("/carrier-updates", content=not_json, headers=signed_headers)
    assert refused.status_code == 422, refused.text

    tomorrow = (CLOCK.now() + timedelta(days=1)).isoformat()
    raw, headers = signed(update | {"occurred_at": tomorrow})  # would outrank every real update until then
    refused = await shipping.post("/carrier-updates", content=raw, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "occurred_at", "message": "occurred_at is in the future"}]

    raw, headers = signed(update | {"occurred_at": "9999-12-31T00:00:00+00:00"})  # the calendar's last day
    refused = await shipping.post("/carrier-updates", content=raw, headers=headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "occurred_at", refused.text


async def _orders(shipping: httpx.AsyncClient) -> list[dict]:
    return (await shipping.get("/orders", params={"partner_id": "ptn-toko"})).json()


async def test_missing_documents_near_the_cutoff_are_reminded_once(platform):
    shipping = start(platform)
    await publish(platform.topic(MATCHING_MATCH), b"mt-1", confirmed(platform.region, 1))
    [order] = await eventually(lambda: _orders(shipping), what="the order")
    cutoff = datetime.fromisoformat(
        (await shipping.get(f"/shipments/{order['shipment_id']}")).json()["shipment"]["cutoff_on"]
    ).replace(tzinfo=UTC)
    platform.processes[-1].stop()
    # The same shipping, restarted on the day before the cutoff (its clock shifted).
    offset = CLOCK.offset_to(cutoff - timedelta(days=1))
    shipping = start(platform, EKSPORA_REMINDER_CHECK_SECONDS="1", EKSPORA_CLOCK_OFFSET_SECONDS=str(offset))

    async def reminded():
        events = [json.loads(r.value) for r in await read_topic(platform.topic(SHIPPING_SHIPMENT), timeout=2)]
        return [e for e in events if e["type"].endswith("documents_missing.v1")]

    [reminder] = await eventually(reminded, what="a reminder of the missing documents")
    assert f"ske_health_certificate@{order['order']['order_id']}" in reminder["data"]["missing"]
    assert reminder["data"]["msme_ids"] == ["msme-1"]
    process = platform.processes[-1]
    rounds = await metric_of(process, "ekspora_periodic_runs_total", job="document-reminders", outcome="ok")
    await periodic_rounds(process, "document-reminders", after=rounds + 1)  # two more rounds, both after it
    assert len(await reminded()) == 1, "once a day, not once a round"
    assert (await shipping.get("/orders")).status_code == 422
    assert (await httpx.AsyncClient(base_url=str(shipping.base_url)).get("/shipments")).status_code == 401


async def test_partners_read_their_own_incoming_orders_with_their_api_key(platform):
    from tests.integration.test_matching import Matching, matching_env

    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    partner_id, partner_in_matching = await matching.verified_partner()
    _, other_in_matching = await matching.verified_partner("Warung Den Haag", "NL", "Den Haag")
    shipping = start(platform)
    mine = json.loads(confirmed(platform.region, 1))
    mine["data"]["terms"]["partner_id"] = partner_id
    await publish(platform.topic(MATCHING_MATCH), b"mt-1", json.dumps(mine).encode())
    await publish(platform.topic(MATCHING_MATCH), b"mt-2", confirmed(platform.region, 2))

    as_partner = httpx.AsyncClient(
        base_url=str(shipping.base_url), headers=dict(Authorization=partner_in_matching.headers["Authorization"])
    )
    as_other = httpx.AsyncClient(
        base_url=str(shipping.base_url), headers=dict(Authorization=other_in_matching.headers["Authorization"])
    )

    async def own_orders():
        response = await as_partner.get("/orders", params={"partner_id": "ptn-toko"})
        return response.json() if response.status_code == 200 and response.json() else None

    [order] = await eventually(own_orders, what="the partner's incoming order, read with its own key")
    assert order["order"]["partner_id"] == partner_id, "a partner's key shows its own orders whatever it asks for"
    assert (await as_other.get("/orders")).json() == []
    invoice = f"/orders/{order['order']['order_id']}/commercial-invoice"
    assert (await as_partner.get(invoice)).status_code == 200
    assert (await as_other.get(invoice)).status_code == 404
    assert (await as_partner.get("/shipments")).status_code == 403, "shipments are for operators"


async def test_shipping_announces_the_lanes_it_serves_at_its_start(platform):
    topic = SHIPPING_LANES.topic("global")
    before = len(await read_topic(topic, at_least=1))  # what the test platform announced, as shipping would
    start(platform)
    announced = [json.loads(r.value) for r in (await read_topic(topic, at_least=before + 5))[before:]]
    assert sorted(e["subject"] for e in announced) == sorted(load_lanes().destinations)
    [sydney] = [e["data"] for e in announced if e["subject"] == "Sydney"]
    assert (sydney["country"], sydney["port"], sydney["served"], sydney["version"]) == ("AU", "Sydney", True, 2)
    assert {(m["mode"], m["transit_days"]) for m in sydney["modes"]} == {("sea_lcl", 14), ("air", 2)}
    assert all(e["source"] == "/ekspora/shipping/global" and e["region"] == "global" for e in announced)


async def test_export_papers_are_in_the_consolidators_name_with_each_supplier_and_numbered_once_booked(
    platform, tmp_path
):
    exporters = tmp_path / "exporters.yaml"
    exporters.write_text(
        yaml.safe_dump(
            {
                "regions": {
                    platform.region: {
                        "locality": "Kota Kediri, Jawa Timur",
                        "consolidator": {
                            "name": "Koperasi Uji Ekspor",
                            "role": "buyer",
                            "nib": "9120300000099",
                            "address": "Jl. Uji No. 1, Kota Kediri 64123, Jawa Timur, Indonesia",
                            "rex_number": "IDREX0000000000099",
                            "invoice_series": "KUE",
                            "payment_terms": "30 days from the bill of lading",
                        },
                    }
                },
                "payment_terms_per_umkm": "in advance",
            }
        )
    )
    shipping = start(platform, EKSPORA_EXPORTERS_FILE=str(exporters))
    for n, name in ((1, "Tahu Takwa Bu Tini"), (2, "Tahu Takwa LYM")):
        supplier = SupplierChanged(
            msme_id=f"msme-{n}",
            region=platform.region,
            business_name=name,
            nib=f"912030123456{n}",
            nib_verified=True,
            kelurahan="Tinalan",
            kecamatan="Pesantren",
        )
        event = new_event(
            supplier, region=platform.region, producer="registry", correlation_id=f"s-{n}", time=CLOCK.now()
        )
        await publish(platform.topic(REGISTRY_SUPPLIERS), f"msme-{n}".encode(), event.model_dump_json().encode())
    partner = PartnerChanged(
        partner_id="ptn-toko",
        version=1,
        kind="diaspora_business",
        name="Toko Indonesia Amsterdam",
        country="NL",
        city="Amsterdam",
        categories=["processed_food"],
        min_order_units=1,
        max_order_units=10_000,
        languages=["en"],
        contact_email="inkoop@toko.nl",
        verified=True,
        address="Albert Cuypstraat 100, 1073 BD Amsterdam",
    )
    event = new_event(partner, region="global", producer="matching", correlation_id="p-1", time=CLOCK.now())
    await publish(MATCHING_PARTNERS.topic("global"), b"ptn-toko", event.model_dump_json().encode())
    # 2,000 packs at EUR 1.60 each: EUR 6,400 on one invoice, over the EUR 6,000 that needs the REX number
    for n in (1, 2):
        await publish(platform.topic(MATCHING_MATCH), f"mt-{n}".encode(), confirmed(platform.region, n, quantity=2000))
    [first, second] = sorted(
        await eventually(lambda: _at_least(shipping, 2), what="two orders"), key=lambda o: o["order"]["order_id"]
    )
    assert first["shipment_id"] == second["shipment_id"]
    invoice_of = f"/orders/{first['order']['order_id']}/commercial-invoice"

    async def named() -> str | None:
        text = pdf_text((await shipping.get(invoice_of)).content)
        return text if "Tahu Takwa LYM" in text and "Albert Cuypstraat" in text else None

    pro_forma = await eventually(named, what="the parties heard of on their topics")
    assert "PRO FORMA INVOICE" in pro_forma and "KUE/" not in pro_forma

    booked = await shipping.post(
        f"/shipments/{first['shipment_id']}/booking", json={"carrier": "Samudera", "booking_reference": "SMDR-1"}
    )
    assert booked.status_code == 200
    text = pdf_text((await shipping.get(invoice_of)).content)
    year = CLOCK.now().astimezone(ZoneInfo("Asia/Jakarta")).year
    for expected in (
        "COMMERCIAL INVOICE",
        f"KUE/{year}/0001",
        "Koperasi Uji Ekspor",
        "NIB 9120300000099",
        "Tahu Takwa Bu Tini",
        "9120301234561",
        "9120301234562",
        "Toko Indonesia Amsterdam",
        "21069099",
        "EUR 3,200.00",
        "EUR 6,400.00",
        "Number of Registered Exporter IDREX0000000000099",
        "FOB Tanjung Perak",
    ):
        assert expected in text, expected
    again = pdf_text((await shipping.get(f"/orders/{second['order']['order_id']}/commercial-invoice")).content)
    assert f"KUE/{year}/0001" in again and f"KUE/{year}/0002" not in again, "one invoice, one number"
    packing = pdf_text((await shipping.get(f"/orders/{first['order']['order_id']}/packing-list")).content)
    assert "PACKING LIST" in packing and "Cartons" in packing and "1,150.00" in packing  # 1,000 kg net each


async def _at_least(shipping: httpx.AsyncClient, count: int) -> list[dict] | None:
    found = await _orders(shipping)
    return found if len(found) >= count else None


async def upload(
    shipping: httpx.AsyncClient,
    shipment_id: str,
    code: str,
    order_id: str | None = None,
    content: bytes | None = None,
    content_type: str = "application/pdf",
) -> httpx.Response:
    params = {"filename": f"{code}.pdf"} | ({"order_id": order_id} if order_id else {})
    return await shipping.put(
        f"/shipments/{shipment_id}/documents/{code}/file",
        params=params,
        content=scanned_pdf(code) if content is None else content,
        headers={"content-type": content_type},
    )


async def test_uploads_are_checked_kept_once_and_verified_documents_survive_a_restart(platform):
    process = platform.start(
        "shipping", env={"EKSPORA_OPERATOR_TOKENS": f"{platform.region}={TOKEN}", "EKSPORA_DOCUMENT_MAX_BYTES": "4096"}
    )
    shipping = httpx.AsyncClient(base_url=process.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    await publish(platform.topic(MATCHING_MATCH), b"mt-1", confirmed(platform.region, 1))
    [order] = await eventually(lambda: _orders(shipping), what="the order")
    shipment_id, order_id = order["shipment_id"], order["order"]["order_id"]
    certificate = "ske_health_certificate"
    stored = platform.database("shipping")["documents.files"]

    refusals = [
        (await upload(shipping, shipment_id, certificate, order_id, b"just text", "text/plain"), 415, "content-type"),
        (await upload(shipping, shipment_id, certificate, order_id, scanned_pdf("x"), "image/png"), 415, "file"),
        (await upload(shipping, shipment_id, certificate, order_id, b"%PDF-" + b"0" * 5000), 413, "file"),
        (await upload(shipping, shipment_id, certificate, order_id, b""), 422, "file"),
        (await upload(shipping, shipment_id, "no_such_document", order_id), 404, None),
        (await upload(shipping, shipment_id, "commercial_invoice", order_id), 409, None),
    ]
    for response, status, field in refusals:
        assert response.status_code == status, response.text
        if field:
            assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await stored.count_documents({}) == 0, "nothing refused is stored"
    assert (await shipping.get(f"/shipments/{shipment_id}")).json()["shipment"]["orders"][0]["documents"][
        certificate
    ] == "missing"

    scan = scanned_pdf("SKE 00123/BPOM/2026")
    first = await upload(shipping, shipment_id, certificate, order_id, scan)
    second = await upload(shipping, shipment_id, certificate, order_id, scan)
    assert first.status_code == second.status_code == 200
    assert await stored.count_documents({}) == 1, "the same file uploaded twice is stored once"
    rejected = await shipping.put(
        f"/shipments/{shipment_id}/documents/{certificate}", json={"status": "rejected", "order_id": order_id}
    )
    assert rejected.status_code == 422 and rejected.json()["errors"][0]["field"] == "reason"
    reason = "Nomor SKE tidak sesuai dengan produk"
    rejected = await shipping.put(
        f"/shipments/{shipment_id}/documents/{certificate}",
        json={"status": "rejected", "order_id": order_id, "reason": reason},
    )
    assert rejected.json()["shipment"]["orders"][0]["documents"][certificate] == "rejected"
    events = [json.loads(r.value) for r in await read_topic(platform.topic(SHIPPING_SHIPMENT), at_least=4)]
    [told] = [e["data"] for e in events if e["data"].get("status") == "rejected"]
    assert (told["msme_id"], told["reason"], told["order_id"]) == ("msme-1", reason, order_id)

    better = scanned_pdf("SKE 00124/BPOM/2026")
    assert (await upload(shipping, shipment_id, certificate, order_id, better)).status_code == 200
    verified = await shipping.put(
        f"/shipments/{shipment_id}/documents/{certificate}", json={"status": "verified", "order_id": order_id}
    )
    assert verified.json()["shipment"]["files"][f"{certificate}@{order_id}"]["verified_by"]

    process.stop()
    again = platform.start("shipping", env={"EKSPORA_OPERATOR_TOKENS": f"{platform.region}={TOKEN}"})
    shipping = httpx.AsyncClient(base_url=again.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    shipment = (await shipping.get(f"/shipments/{shipment_id}")).json()["shipment"]
    assert shipment["orders"][0]["documents"][certificate] == "verified"
    kept = await shipping.get(f"/shipments/{shipment_id}/documents/{certificate}/file", params={"order_id": order_id})
    assert kept.status_code == 200 and kept.content == better and kept.headers["content-type"] == "application/pdf"
    assert kept.headers["x-content-sha256"] == hashlib.sha256(better).hexdigest()
