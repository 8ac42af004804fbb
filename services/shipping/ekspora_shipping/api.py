"""HTTP API: operators plan, book and track shipments and manage documents; UMKM and partners
(through their operator) see their orders and cost shares; forwarders post signed updates."""

import hashlib
import hmac
import html
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from ekspora_contracts.shipping import DocumentStatus, OrderLine
from ekspora_kit.auth import (
    Unauthorized,
    operator_or_partner,
    operator_region,
    parse_operator_tokens,
)
from ekspora_kit.http import NotFound, Unprocessable, refusals
from ekspora_shipping import domain
from ekspora_shipping.config import Lanes
from ekspora_shipping.service import ShippingService
from ekspora_shipping.settings import ShippingSettings
from ekspora_shipping.store import ShippingStore


class ShipmentView(BaseModel):
    shipment: domain.Shipment
    total_kg: float
    total_cbm: float
    freight_idr: int
    cost_shares_idr: dict[str, int]
    documents_to_verify: list[str]


class OrderView(BaseModel):
    order: OrderLine
    shipment_id: str
    shipment_status: str
    mode: str
    destination_port: str
    departure_on: str
    documents: dict[str, DocumentStatus]
    freight_share_idr: int
    delivered_at: datetime | None


class Booking(domain.Model):
    carrier: str = Field(min_length=2, max_length=80)
    booking_reference: str = Field(min_length=2, max_length=80)


class StatusUpdate(domain.Model):
    status: str = Field(pattern=r"^[a-z_]{3,30}$")
    location: str = Field(min_length=2, max_length=120)
    message: str = Field(default="", max_length=500)


class DocumentUpdate(domain.Model):
    status: DocumentStatus
    order_id: str | None = None


class CarrierUpdate(domain.Model):
    update_id: str = Field(min_length=1, max_length=120)
    shipment_id: str
    status: str = Field(min_length=2, max_length=40)
    location: str = Field(min_length=1, max_length=120)
    occurred_at: datetime
    message: str = Field(default="", max_length=500)


class CarrierResult(BaseModel):
    shipment_id: str
    status: str
    outcome: str


def shipment_view(shipment: domain.Shipment, lanes: Lanes) -> ShipmentView:
    return ShipmentView(
        shipment=shipment,
        total_kg=shipment.total_kg,
        total_cbm=shipment.total_cbm,
        freight_idr=domain.freight_idr(shipment, lanes),
        cost_shares_idr=domain.cost_shares(shipment, lanes),
        documents_to_verify=domain.document_gaps(shipment),
    )


def carrier_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def build_router(service: ShippingService, store: ShippingStore, settings: ShippingSettings) -> APIRouter:
    router = APIRouter()
    lanes = service.lanes
    tokens = parse_operator_tokens(settings.operator_tokens)
    Operator = Annotated[str, Depends(operator_region(tokens))]

    # (operator region, None) for an operator; (None, partner id) for a partner's API key
    Viewer = Annotated[tuple[str | None, str | None], Depends(operator_or_partner(tokens, store.partner_with_key))]

    async def in_region(shipment_id: str, region: str) -> domain.Shipment:
        shipment = await store.get(shipment_id)
        if shipment is None or shipment.region != region:
            raise NotFound(f"no shipment {shipment_id}")
        return shipment

    async def acting(call):
        async with refusals():
            shipment, _ = await call
        return shipment_view(shipment, lanes)

    @router.get("/shipments", response_model=list[ShipmentView], tags=["shipments"])
    async def list_shipments(region: Operator, status: str | None = None) -> list[ShipmentView]:
        query = {"region": region} | ({"status": status} if status else {})
        return [shipment_view(s, lanes) for s in await store.where(query)]

    @router.get("/shipments/{shipment_id}", response_model=ShipmentView, tags=["shipments"])
    async def get_shipment(shipment_id: str, region: Operator) -> ShipmentView:
        return shipment_view(await in_region(shipment_id, region), lanes)

    @router.post("/shipments/{shipment_id}/booking", response_model=ShipmentView, tags=["shipments"])
    async def book(shipment_id: str, body: Booking, region: Operator) -> ShipmentView:
        await in_region(shipment_id, region)
        return await acting(
            service.change(
                shipment_id,
                lambda s: domain.book(s, body.carrier, body.booking_reference, service.clock.now(), service.tracking),
            )
        )

    @router.post(
        "/shipments/{shipment_id}/status",
        response_model=ShipmentView,
        tags=["tracking"],
        responses={409: {"description": "Not a valid transition, or documents still to verify"}},
    )
    async def move(shipment_id: str, body: StatusUpdate, region: Operator) -> ShipmentView:
        await in_region(shipment_id, region)
        return await acting(
            service.change(
                shipment_id,
                lambda s: domain.move(
                    s,
                    body.status,
                    location=body.location,
                    occurred_at=service.clock.now(),
                    source="operator",
                    tracking=service.tracking,
                    message=body.message,
                ),
            )
        )

    @router.put(
        "/shipments/{shipment_id}/documents/{code}",
        response_model=ShipmentView,
        tags=["documents"],
        summary="Mark a document missing, uploaded or verified (per shipment, or per order with order_id)",
    )
    async def set_document(shipment_id: str, code: str, body: DocumentUpdate, region: Operator) -> ShipmentView:
        await in_region(shipment_id, region)
        return await acting(
            service.change(shipment_id, lambda s: domain.set_document(s, code, body.order_id, body.status))
        )

    @router.get(
        "/orders",
        response_model=list[OrderView],
        tags=["orders"],
        summary="An UMKM's orders with its freight share, or a partner's incoming orders",
    )
    async def list_orders(who: Viewer, msme_id: str | None = None, partner_id: str | None = None) -> list[OrderView]:
        region, own_partner = who
        if own_partner:  # a partner sees its own incoming orders, whatever it asks for
            msme_id, partner_id = None, own_partner
        if not (msme_id or partner_id):
            raise Unprocessable("give msme_id or partner_id", field="msme_id")
        field, value = ("orders.line.msme_id", msme_id) if msme_id else ("orders.line.partner_id", partner_id)
        query = {field: value} | ({"region": region} if region else {})
        views = []
        for shipment in await store.where(query):
            shares = domain.cost_shares(shipment, lanes)
            for order in shipment.orders:
                if order.line.msme_id == msme_id or order.line.partner_id == partner_id:
                    views.append(
                        OrderView(
                            order=order.line,
                            shipment_id=shipment.shipment_id,
                            shipment_status=shipment.status,
                            mode=shipment.mode,
                            destination_port=shipment.destination_port,
                            departure_on=shipment.departure_on.isoformat(),
                            documents=order.documents,
                            freight_share_idr=shares[order.line.order_id],
                            delivered_at=order.delivered_at,
                        )
                    )
        return views

    @router.get(
        "/orders/{order_id}/{document}",
        response_class=HTMLResponse,
        tags=["documents"],
        summary="Printable commercial invoice or packing list, generated from the order",
    )
    async def printable(
        order_id: str, document: Literal["commercial-invoice", "packing-list"], who: Viewer
    ) -> HTMLResponse:
        region, own_partner = who
        shipment = await store.holding_order(order_id)
        order = next((o for o in shipment.orders if o.line.order_id == order_id), None) if shipment else None
        if (
            shipment is None
            or order is None
            or (region and shipment.region != region)
            or (own_partner and order.line.partner_id != own_partner)
        ):
            raise NotFound(f"no order {order_id}")
        return HTMLResponse(render(document, order, shipment))

    @router.post(
        "/carrier-updates",
        response_model=CarrierResult,
        tags=["tracking"],
        summary="Forwarders' status updates, signed: X-Ekspora-Signature = sha256=HMAC(secret, ts.body)",
    )
    async def carrier_update(
        request: Request,
        x_ekspora_timestamp: Annotated[str, Header()] = "",
        x_ekspora_signature: Annotated[str, Header()] = "",
    ) -> CarrierResult:
        body = await request.body()
        secret = settings.carrier_webhook_secret
        if not secret:
            raise Unauthorized("carrier updates are not configured (no shared secret)")
        if (
            not x_ekspora_timestamp.isdigit()
            or abs(service.clock.unix_seconds() - int(x_ekspora_timestamp))
            > settings.carrier_signature_tolerance_seconds
        ):
            raise Unauthorized("X-Ekspora-Timestamp missing or outside the tolerance")
        if not hmac.compare_digest(carrier_signature(secret, x_ekspora_timestamp, body), x_ekspora_signature):
            raise Unauthorized("bad signature")
        update = CarrierUpdate.model_validate_json(body)
        try:
            shipment, note = await service.change(
                update.shipment_id,
                lambda s: domain.apply_carrier_update(
                    s,
                    update.update_id,
                    update.status,
                    location=update.location,
                    occurred_at=update.occurred_at,
                    message=update.message,
                    tracking=service.tracking,
                ),
            )
        except LookupError as error:
            raise NotFound(str(error).strip("'")) from None
        return CarrierResult(shipment_id=shipment.shipment_id, status=shipment.status, outcome=note)

    return router


def render(document: str, order: domain.Order, shipment: domain.Shipment) -> str:
    line, e = order.line, html.escape
    title = "Commercial invoice" if document == "commercial-invoice" else "Packing list"
    amount = line.quantity * line.unit_price / 100
    rows = f"<tr><td>{e(line.product_name)}</td><td>{e(order.hs_code)}</td><td>{line.quantity}</td>" + (
        f"<td>{line.unit_price / 100:.2f} {line.currency}</td><td>{amount:,.2f} {line.currency}</td></tr>"
        if document == "commercial-invoice"
        else f"<td>{line.gross_kg:.2f} kg</td><td>{line.cbm:.3f} CBM</td></tr>"
    )
    headings = (
        "<th>Unit price</th><th>Amount</th>"
        if document == "commercial-invoice"
        else "<th>Gross weight</th><th>Volume</th>"
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} {e(line.order_id)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:6px;text-align:left}}@media print{{button{{display:none}}}}</style></head>
<body><h1>{title}</h1><p>Order {e(line.order_id)} · match {e(line.match_id)} · shipment {e(shipment.shipment_id)}</p>
<p>Exporter (UMKM): {e(line.msme_id)}, Kota Kediri, Indonesia · Consignee: {e(line.partner_id)},
{e(order.destination_city)}, {shipment.destination_country}</p>
<p>Incoterm: {line.incoterm} Tanjung Perak (Surabaya) · Mode: {shipment.mode} · Departure: {shipment.departure_on}</p>
<table><tr><th>Description</th><th>HS code</th><th>Quantity</th>{headings}</tr>{rows}</table>
<p>Country of origin: Indonesia</p><button onclick="print()">Print</button></body></html>"""
