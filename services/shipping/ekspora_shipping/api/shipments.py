"""Consolidated shipments: read, booked, moved along their journey; their documents uploaded, verified
or rejected."""

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_kit.auth import Operator, region_asked
from ekspora_kit.files import read_upload, served
from ekspora_kit.http import Unprocessable
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


class DocumentReview(domain.Model):
    status: Literal["verified", "rejected"]
    order_id: str | None = None
    reason: str | None = Field(
        default=None,
        min_length=5,
        max_length=500,
        description="Why it is rejected, for the owner (in Bahasa Indonesia)",
    )


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
    summary="Verify a document, or reject it with the reason its owner is told (per order with order_id)",
    responses={409: {"description": "No file to verify or reject yet, or the shipment has departed"}},
)
async def review_document(
    shipment_id: str, code: str, body: DocumentReview, operator: Operator, shipping: Shipping
) -> ShipmentView:
    service = shipping.service
    if body.status == "rejected" and not body.reason:
        raise Unprocessable("say why the document is rejected: its owner is told", field="reason")

    def reviewed(shipment: domain.Shipment) -> domain.Change:
        now, order_id = service.clock.now(), body.order_id
        if body.status == "verified":
            return domain.verify_document(shipment, code, order_id, operator.actor, now, service.tracking)
        return domain.reject_document(shipment, code, order_id, str(body.reason), operator.actor, now, service.tracking)

    return await changed(shipping, shipment_id, operator, reviewed)


@router.put(
    "/shipments/{shipment_id}/documents/{code}/file",
    response_model=ShipmentView,
    tags=["documents"],
    summary="Upload a document's file: the body is the PDF, JPEG or PNG, its type in Content-Type",
    responses={
        409: {"description": "A generated document, or the shipment has departed"},
        413: {"description": "Larger than the limit"},
        415: {"description": "Not a PDF, JPEG or PNG, or not what Content-Type says"},
    },
)
async def upload_document(
    shipment_id: str,
    code: str,
    request: Request,
    operator: Operator,
    shipping: Shipping,
    order_id: str | None = None,
    filename: str = Query(default="document", min_length=1, max_length=200, pattern=r"^[\w .()-]+$"),
) -> ShipmentView:
    service = shipping.service
    shipment = await shipping.in_region(shipment_id, operator)
    domain.can_attach(shipment, code, order_id, service.tracking)  # refused before the upload is read or kept
    upload = await read_upload(request, filename=filename, max_bytes=shipping.settings.document_max_bytes)
    await shipping.files.keep(upload)
    file = domain.DocumentFile(**upload.stored(operator.actor, service.clock.now()).model_dump())
    return await changed(
        shipping, shipment_id, operator, lambda s: domain.attach_file(s, code, order_id, file, service.tracking)
    )


@router.get(
    "/shipments/{shipment_id}/documents/{code}/file",
    response_class=Response,
    tags=["documents"],
    summary="The uploaded file of a document",
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
async def download_document(
    shipment_id: str, code: str, operator: Operator, shipping: Shipping, order_id: str | None = None
) -> Response:
    shipment = await shipping.in_region(shipment_id, operator)
    slot = domain.slot(code, order_id)
    return await served(shipping.files, shipment.files.get(slot), f"no file for {slot}")
