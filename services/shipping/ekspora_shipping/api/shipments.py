"""Consolidated shipments: read, booked, moved along their journey, their documents set."""

from collections.abc import Callable

from fastapi import APIRouter, Query
from pydantic import Field

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_contracts.shipping import DocumentStatus
from ekspora_kit.auth import Operator, region_asked
from ekspora_kit.tokens import Access
from ekspora_shipping import domain
from ekspora_shipping.api.deps import Operations, ShipmentView, Shipping

router = APIRouter(tags=["shipments"])


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


async def changed(
    shipping: Operations, shipment_id: str, operator: Access, rule: Callable[[domain.Shipment], domain.Change | None]
) -> ShipmentView:
    """Applies a domain rule to a shipment of the operator's region, as a use case with retries."""
    await shipping.in_region(shipment_id, operator)
    shipment, _ = await shipping.service.change(shipment_id, rule)
    return shipping.view(shipment)


@router.get("/shipments", response_model=list[ShipmentView])
async def list_shipments(
    operator: Operator,
    shipping: Shipping,
    status: str | None = Query(default=None, max_length=40),
    region: str | None = Query(default=None, pattern=REGION_PATTERN, description="needed when you cover several"),
) -> list[ShipmentView]:
    query = {"region": region_asked(operator, region)} | ({"status": status} if status else {})
    return [shipping.view(s) for s in await shipping.store.where(query)]


@router.get("/shipments/{shipment_id}", response_model=ShipmentView)
async def get_shipment(shipment_id: str, operator: Operator, shipping: Shipping) -> ShipmentView:
    return shipping.view(await shipping.in_region(shipment_id, operator))


@router.post("/shipments/{shipment_id}/booking", response_model=ShipmentView)
async def book(shipment_id: str, body: Booking, operator: Operator, shipping: Shipping) -> ShipmentView:
    service = shipping.service
    return await changed(
        shipping,
        shipment_id,
        operator,
        lambda s: domain.book(s, body.carrier, body.booking_reference, service.clock.now(), service.tracking),
    )


@router.post(
    "/shipments/{shipment_id}/status",
    response_model=ShipmentView,
    tags=["tracking"],
    responses={409: {"description": "Not a valid transition, or documents still to verify"}},
)
async def move(shipment_id: str, body: StatusUpdate, operator: Operator, shipping: Shipping) -> ShipmentView:
    service = shipping.service

    def moved(shipment: domain.Shipment) -> domain.Change | None:
        return domain.move(
            shipment,
            body.status,
            location=body.location,
            occurred_at=service.clock.now(),
            source="operator",
            tracking=service.tracking,
            message=body.message,
        )

    return await changed(shipping, shipment_id, operator, moved)


@router.put(
    "/shipments/{shipment_id}/documents/{code}",
    response_model=ShipmentView,
    tags=["documents"],
    summary="Mark a document missing, uploaded or verified (per shipment, or per order with order_id)",
)
async def set_document(
    shipment_id: str, code: str, body: DocumentUpdate, operator: Operator, shipping: Shipping
) -> ShipmentView:
    return await changed(
        shipping, shipment_id, operator, lambda s: domain.set_document(s, code, body.order_id, body.status)
    )
