"""The demo's trade steps: partners and demand, matching, shipping to delivery, and sales feedback.

Everything goes through the services' public HTTP APIs, as an operator, a partner or a forwarder would.
"""

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from ekspora_kit.clock import Clock
from ekspora_kit.table import table
from ekspora_ops.evidence import scan_of
from ekspora_ops.partners import request_body, sign_in

PARTNERS = Path(__file__).parent / "seed" / "partners.yaml"
PAPERS = Path(__file__).resolve().parents[2] / ".local" / "papers"  # the demo's invoices and packing lists
OPERATOR_TOKEN = "demo-operator-kota-kediri"
CARRIER_SECRET = "whsec_demo_forwarder"
CLOCK = Clock.from_environment()
JOURNEY = ["picked_up", "export_cleared", "departed"]
# the forwarder reports each leg as it happens; the story plays weeks of transit in seconds
CARRIER_LEGS = ["arrived", "import_cleared", "OutForDelivery", "Delivered"]


class TradeFailed(Exception):
    pass


def call(client: httpx.Client, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
    response = client.request(method, path, json=body)
    if response.status_code not in (expect, 200, 201):
        raise TradeFailed(f"{method} {path} returned {response.status_code}: {response.text}")
    return response.json()


def answers(client: httpx.Client) -> Callable[[], bool]:
    """A probe: the partner's key works (the partner has reached the service's view)."""
    return lambda: client.get("/demands").status_code == 200


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.5)
    raise TradeFailed(f"timed out after {timeout}s waiting for {what}")


class Trade:
    def __init__(self, matching_url: str, shipping_url: str, identity_url: str, region: str) -> None:
        auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        self.region = region
        self.matching_url, self.shipping_url, self.identity_url = matching_url, shipping_url, identity_url
        self.matching = httpx.Client(base_url=matching_url, headers=auth, timeout=15)
        self.shipping = httpx.Client(base_url=shipping_url, headers=auth, timeout=15)
        self.partners: dict[str, dict[str, Any]] = {}
        self.demands: list[dict[str, Any]] = []
        self.confirmed: list[dict[str, Any]] = []

    def partner_client(self, name: str) -> httpx.Client:
        token = self.partners[name]["token"]
        return httpx.Client(base_url=self.matching_url, headers={"Authorization": f"Bearer {token}"}, timeout=15)

    def seed_partners(self) -> None:
        seed = yaml.safe_load(PARTNERS.read_text())["partners"]
        rows = []
        for item in seed:
            fields = {k: v for k, v in item.items() if k != "demand"}
            partner_id = call(self.matching, "POST", "/partners", fields, 201)["partner_id"]
            call(self.matching, "POST", f"/partners/{partner_id}/verification")
            token = asyncio.run(sign_in(self.identity_url, OPERATOR_TOKEN, partner_id))  # key from identity
            self.partners[item["name"]] = {"partner_id": partner_id, "token": token, **item}
            rows.append(
                (
                    item["name"],
                    item["kind"].replace("_", " "),
                    f"{item['city']}, {item['country']}",
                    ", ".join(item["categories"]),
                )
            )
        print(table(("partner", "kind", "where", "buys"), rows))
        for name in self.partners:
            wait_for(f"{name} in the partner views", answers(self.partner_client(name)))
        first = self.partner_client(next(iter(self.partners)))
        wait_for("the lanes shipping serves, in matching", lambda: first.get("/lanes").json())

    def post_demand(self) -> None:
        rows = []
        for name, partner in self.partners.items():
            client = self.partner_client(name)
            for seeded in partner["demand"]:
                rfq = request_body(seeded, CLOCK.now().date())
                self.demands.append(call(client, "POST", "/demands", rfq, 201))
                price = f"{rfq['target_price_max'] / 100:.2f} {rfq['currency']}"
                rows.append(
                    (
                        name,
                        rfq["category"],
                        rfq["quantity"],
                        f"up to {price} {rfq.get('incoterm', 'FOB')}",
                        ", ".join(rfq.get("required_certificates", [])) or "-",
                        rfq.get("needed_by", "-"),
                    )
                )
        print(table(("partner", "category", "quantity", "target price", "must hold", "needed by"), rows))

    def confirm_matches(self, owner_taps: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Each partner accepts the whole offer for each of its requests, one part per UMKM that fills
        it; the operator accepts for the UMKM, except for the first part, which its owner accepts on
        WhatsApp (`owner_taps`) when given."""
        names = {p["partner_id"]: name for name, p in self.partners.items()}

        def offers() -> list[dict[str, Any]]:
            found = [
                call(self.partner_client(names[d["partner_id"]]), "GET", f"/demands/{d['demand_id']}/offer")
                for d in self.demands
            ]
            return found if all(o["parts"] and o["remaining"] == 0 for o in found) else []

        rows = []
        for offer in wait_for("an offer filling every request for quotation", offers):
            demand = next(d for d in self.demands if d["demand_id"] == offer["demand_id"])
            partner = self.partner_client(names[demand["partner_id"]])
            call(partner, "POST", f"/demands/{offer['demand_id']}/offer/acceptance", {})
            for part in offer["parts"]:
                if not self.confirmed and owner_taps is not None:
                    owner_taps(part)
                    confirmed = call(self.matching, "GET", f"/matches/{part['match_id']}")
                else:
                    confirmed = call(self.matching, "POST", f"/matches/{part['match_id']}/acceptance")
                if confirmed["status"] != "confirmed":
                    raise TradeFailed(f"{part['match_id']} is {confirmed['status']} after both accepted")
                self.confirmed.append(confirmed)
                terms = part["terms"]
                why = next(p["reason_en"] for p in part["breakdown"] if p["criterion"] == "capacity")
                rows.append(
                    (
                        terms["partner_name"][:26],
                        terms["product_name"][:24],
                        f"{terms['quantity']} of {offer['requested']}",
                        f"{terms['unit_price'] / 100:.2f} {terms['currency']} {terms['incoterm']}",
                        f"{part['score']:.0f}",
                        why[:52],
                    )
                )
        print(table(("partner", "product", "qty", "price", "score", "one of the reasons"), rows))
        shared = [o for o in self.demands if sum(m["terms"]["demand_id"] == o["demand_id"] for m in self.confirmed) > 1]
        for demand in shared:
            makers = [m for m in self.confirmed if m["terms"]["demand_id"] == demand["demand_id"]]
            print(f"  {demand['quantity']} {demand['category']} filled together by {len(makers)} UMKM")
        if not shared:
            raise TradeFailed("no request was filled by several UMKM")
        print(f"  {len(self.confirmed)} parts confirmed by both sides")
        return self.confirmed

    def ship_to_delivery(self) -> list[dict[str, Any]]:
        def shipments() -> list[dict[str, Any]]:
            found = call(self.shipping, "GET", "/shipments")
            placed = sum(len(s["shipment"]["orders"]) for s in found)
            return found if placed >= len(self.confirmed) else []

        planned = wait_for("an export order for every confirmed match", shipments)
        print(
            table(
                ("shipment", "to", "mode", "orders", "kg", "CBM", "freight IDR", "departs"),
                [
                    (
                        s["shipment"]["shipment_id"],
                        s["shipment"]["destination_port"],
                        s["shipment"]["mode"],
                        len(s["shipment"]["orders"]),
                        f"{s['total_kg']:,.0f}",
                        f"{s['total_cbm']:.2f}",
                        f"{s['freight_idr']:,}",
                        s["shipment"]["departure_on"],
                    )
                    for s in planned
                ],
            )
        )
        for view in planned:
            self._travel(view["shipment"])
        self._keep_papers([view["shipment"] for view in planned])
        return call(self.shipping, "GET", "/shipments")

    def _keep_papers(self, shipments: list[dict[str, Any]]) -> None:
        """Each shipment's first invoice and packing list, as the partner receives them, kept as files."""
        PAPERS.mkdir(parents=True, exist_ok=True)
        rows = []
        for shipment in shipments:
            order_id = shipment["orders"][0]["line"]["order_id"]
            files, number = [], "pro forma"
            for document in ("commercial-invoice", "packing-list"):
                response = self.shipping.get(f"/orders/{order_id}/{document}")
                if response.status_code != 200 or not response.content.startswith(b"%PDF-"):
                    raise TradeFailed(f"no {document} for {order_id}: {response.status_code}")
                name = response.headers["content-disposition"].split('filename="')[1].rstrip('"')
                (PAPERS / name).write_bytes(response.content)
                files.append(PAPERS / name)
                number = response.headers.get("x-invoice-number") or number
            rows.append((shipment["shipment_id"], number, os.path.relpath(files[0])))
        print(table(("shipment", "invoice", "PDF (packing list beside it)"), rows))
        print(f"  also served as GET {self.shipping_url}/orders/<order id>/commercial-invoice (and /packing-list)")

    def _travel(self, shipment: dict[str, Any]) -> None:
        shipment_id = shipment["shipment_id"]
        call(
            self.shipping,
            "POST",
            f"/shipments/{shipment_id}/booking",
            {
                "carrier": "Samudera Indonesia" if shipment["mode"] == "sea_lcl" else "Garuda Cargo",
                "booking_reference": f"BK-{shipment_id[-6:]}",
            },
        )
        blocked = self.shipping.post(
            f"/shipments/{shipment_id}/status", json={"status": "departed", "location": "Tanjung Perak"}
        )
        if blocked.status_code != 409:
            raise TradeFailed(f"{shipment_id} departed with documents unverified")
        slots = [(code, None, status) for code, status in shipment["documents"].items()]
        for order in shipment["orders"]:
            slots += [(code, order["line"]["order_id"], status) for code, status in order["documents"].items()]
        for code, order_id, status in slots:
            where: dict[str, str] = {"order_id": order_id} if order_id else {}
            if status != "uploaded":  # a scan the operator received; the generated papers are there already
                uploaded = self.shipping.put(
                    f"/shipments/{shipment_id}/documents/{code}/file",
                    params={"filename": f"{code}.pdf"} | where,
                    content=scan_of(code, order_id or shipment_id),
                    headers={"content-type": "application/pdf"},
                )
                if uploaded.status_code != 200:
                    raise TradeFailed(f"uploading {code} for {order_id or shipment_id}: {uploaded.text}")
            call(self.shipping, "PUT", f"/shipments/{shipment_id}/documents/{code}", {"status": "verified"} | where)
        for status in JOURNEY:
            call(
                self.shipping,
                "POST",
                f"/shipments/{shipment_id}/status",
                {"status": status, "location": "Tanjung Perak"},
            )
        for number, status in enumerate(CARRIER_LEGS):
            update = {
                "update_id": f"{shipment_id}-{number}",
                "shipment_id": shipment_id,
                "status": status,
                "location": shipment["destination_port"],
                "occurred_at": CLOCK.now().isoformat(),
            }
            raw, stamp = json.dumps(update).encode(), str(CLOCK.unix_seconds())
            signature = hmac.new(CARRIER_SECRET.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
            response = httpx.post(
                f"{self.shipping_url}/carrier-updates",
                content=raw,
                timeout=15,
                headers={
                    "X-Ekspora-Timestamp": stamp,
                    "X-Ekspora-Signature": f"sha256={signature}",
                    "content-type": "application/json",
                },
            )
            if response.status_code != 200 or not response.json()["outcome"].startswith("applied"):
                raise TradeFailed(f"carrier update {status} for {shipment_id}: {response.text}")

    def close_demand(self) -> int:
        """The requests for quotation are fulfilled: each partner closes its own."""
        closed = 0
        for name in self.partners:
            client = self.partner_client(name)
            for demand in call(client, "GET", "/demands"):
                if demand["status"] == "open":
                    call(client, "POST", f"/demands/{demand['demand_id']}/closure")
                    closed += 1
        return closed

    def report_sales(self) -> None:
        names = {p["partner_id"]: name for name, p in self.partners.items()}
        rows = []
        for n, match in enumerate(self.confirmed):
            terms = match["terms"]
            sold = int(terms["quantity"] * (0.95 if n % 3 else 0.8))
            report = {
                "units_sold": sold,
                "revenue_amount": sold * terms["unit_price"] * 2,
                "revenue_currency": terms["currency"],
                "returns": terms["quantity"] // 100,
                "rating": 5 if n % 3 else 4,
                "comment": "Laris di kalangan diaspora / sold well",
                "will_reorder": True,
            }
            call(
                self.partner_client(names[terms["partner_id"]]),
                "POST",
                f"/matches/{match['match_id']}/sales-reports",
                report,
                201,
            )
            rows.append((terms["partner_name"][:26], terms["product_name"][:24], sold, report["rating"], "yes"))
        print(table(("partner", "product", "units sold", "rating", "reorder"), rows))

    def reorder(self) -> dict[str, Any]:
        """The first partner, pleased with what sold, orders its first order again in one call; the
        same maker is offered it first."""
        first = self.confirmed[0]
        terms = first["terms"]
        name = next(n for n, p in self.partners.items() if p["partner_id"] == terms["partner_id"])
        client = self.partner_client(name)
        needed_by = (CLOCK.now().date() + timedelta(days=60)).isoformat()
        again = call(client, "POST", f"/matches/{first['match_id']}/reorder", {"needed_by": needed_by}, 201)

        def proposed() -> list[dict[str, Any]]:
            return call(client, "GET", f"/matches?demand_id={again['demand_id']}")

        [proposal] = wait_for("a proposal for the reorder", proposed)
        same = proposal["terms"]["product_id"] == terms["product_id"]
        print(
            table(
                ("partner", "reorders", "qty", "needed by", "proposed to", "same maker"),
                [
                    (
                        name[:26],
                        terms["product_name"],
                        again["quantity"],
                        needed_by,
                        proposal["terms"]["product_name"],
                        "yes" if same else "no",
                    )
                ],
            )
        )
        if not same:
            raise TradeFailed(f"the reorder of {first['match_id']} went to another maker")
        return again


def summaries(trade: Trade, shipments: list[dict[str, Any]]) -> str:
    per_destination: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for match in trade.confirmed:
        per_destination[f"{match['terms']['destination_city']}, {match['terms']['destination_country']}"].append(match)
    matches = table(("destination", "confirmed matches"), [(d, len(m)) for d, m in sorted(per_destination.items())])
    value_rows = []
    for destination, found in sorted(per_destination.items()):
        currency = found[0]["terms"]["currency"]
        foreign = sum(m["terms"]["quantity"] * m["terms"]["unit_price"] for m in found) / 100
        rupiah = sum(m["terms"]["quantity"] * m["terms"]["unit_price_idr"] for m in found)
        value_rows.append((destination, f"Rp{rupiah:,}", f"{foreign:,.2f} {currency}"))
    value = table(("destination", "export value (IDR)", "export value (partner currency)"), value_rows)
    statuses = Counter(s["shipment"]["status"] for s in shipments)
    shipping = table(("shipment status", "shipments"), sorted(statuses.items()))
    return "\n\n".join((matches, value, shipping))
