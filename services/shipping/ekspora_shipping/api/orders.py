"""Export orders: an UMKM's with its freight share, a partner's incoming ones, and their papers as PDF."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_contracts.shipping import DocumentStatus, OrderLine
from ekspora_kit.auth import OperatorOrPartner, region_asked
from ekspora_kit.domain import NotFound
from ekspora_kit.http import Unprocessable
from ekspora_kit.tokens import Access
from ekspora_shipping import domain, pdf
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
    response_class=Response,
    tags=["documents"],
    summary="The commercial invoice (with its origin statement) or packing list covering the order, as PDF",
    description="In the name of the region's exporter of record. A pro forma without a number until the"
    " shipment is booked; from then on numbered once in the seller's series for the year.",
    responses={200: {"content": {"application/pdf": {}}}},
)
async def paper(
    order_id: str, document: Literal["commercial-invoice", "packing-list"], who: Viewer, shipping: Shipping
) -> Response:
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
    papers = await shipping.service.papers_of(shipment, order_id)
    content = pdf.commercial_invoice(papers) if document == "commercial-invoice" else pdf.packing_list(papers)
    name = (papers.number or f"pro-forma-{order_id}").replace("/", "-")
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{document}-{name}.pdf"',
            "X-Invoice-Number": papers.number or "",
        },
    )
