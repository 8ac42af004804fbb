"""Export orders: an UMKM's with its freight share, a partner's incoming ones, and their printable papers."""

import html
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_contracts.shipping import DocumentStatus, OrderLine
from ekspora_kit.auth import OperatorOrPartner, region_asked
from ekspora_kit.domain import NotFound
from ekspora_kit.http import Unprocessable
from ekspora_kit.tokens import Access
from ekspora_shipping import domain
from ekspora_shipping.api.deps import Shipping

router = APIRouter(tags=["orders"])


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

    @classmethod
    def of(cls, order: domain.Order, shipment: domain.Shipment, freight_share_idr: int) -> "OrderView":
        return cls(
            order=order.line,
            shipment_id=shipment.shipment_id,
            shipment_status=shipment.status,
            mode=shipment.mode,
            destination_port=shipment.destination_port,
            departure_on=shipment.departure_on.isoformat(),
            documents=order.documents,
            freight_share_idr=freight_share_idr,
            delivered_at=order.delivered_at,
        )


async def viewer(found: OperatorOrPartner) -> tuple[Access | None, str | None]:
    """(access, None) for a person of the regions; (None, partner id) for a partner's."""
    return found


Viewer = Annotated[tuple[Access | None, str | None], Depends(viewer)]


@router.get(
    "/orders",
    response_model=list[OrderView],
    summary="An UMKM's orders with its freight share, or a partner's incoming orders",
)
async def list_orders(
    who: Viewer,
    shipping: Shipping,
    msme_id: str | None = None,
    partner_id: str | None = None,
    region: str | None = Query(default=None, pattern=REGION_PATTERN, description="needed when you cover several"),
) -> list[OrderView]:
    operator, own_partner = who
    if own_partner:  # a partner sees its own incoming orders, whatever it asks for
        msme_id, partner_id = None, own_partner
    if not (msme_id or partner_id):
        raise Unprocessable("give msme_id or partner_id", field="msme_id")
    field, value = ("msme_ids", msme_id) if msme_id else ("partner_ids", partner_id)
    query = {field: value} | ({"region": region_asked(operator, region)} if operator else {})
    views = []
    for shipment in await shipping.store.where(query):
        shares = domain.cost_shares(shipment, shipping.lanes)
        views += [
            OrderView.of(order, shipment, shares[order.line.order_id])
            for order in shipment.orders
            if order.line.msme_id == msme_id or order.line.partner_id == partner_id
        ]
    return views


@router.get(
    "/orders/{order_id}/{document}",
    response_class=HTMLResponse,
    tags=["documents"],
    summary="Printable commercial invoice or packing list, generated from the order",
)
async def printable(
    order_id: str, document: Literal["commercial-invoice", "packing-list"], who: Viewer, shipping: Shipping
) -> HTMLResponse:
    operator, own_partner = who
    shipment = await shipping.store.holding_order(order_id)
    order = next((o for o in shipment.orders if o.line.order_id == order_id), None) if shipment else None
    if (
        shipment is None
        or order is None
        or (operator and not operator.covers(shipment.region))
        or (own_partner and order.line.partner_id != own_partner)
    ):
        raise NotFound(f"no order {order_id}")
    return HTMLResponse(render(document, order, shipment))


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
