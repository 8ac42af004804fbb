"""Forwarders' status updates, signed with a shared secret."""

import hashlib
import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from ekspora_kit.auth import Unauthorized
from ekspora_kit.http import Unprocessable
from ekspora_kit.inputs import Line, Moment, Prose
from ekspora_shipping import domain
from ekspora_shipping.api.deps import Shipping

router = APIRouter(tags=["tracking"])
# a forwarder's clock may run a little ahead; an update far ahead would stop every later one applying
FUTURE_TOLERANCE = timedelta(minutes=5)


class CarrierUpdate(domain.Model):
    update_id: str = Field(min_length=1, max_length=120)
    shipment_id: str
    status: Line = Field(min_length=2, max_length=40)
    location: Line = Field(min_length=1, max_length=120)
    occurred_at: Moment
    message: Prose = Field(default="", max_length=500)


class CarrierResult(BaseModel):
    shipment_id: str
    status: str
    outcome: str


def carrier_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@router.post(
    "/carrier-updates",
    response_model=CarrierResult,
    summary="Forwarders' status updates, signed: X-Ekspora-Signature = sha256=HMAC(secret, ts.body)",
)
async def carrier_update(
    request: Request,
    shipping: Shipping,
    x_ekspora_timestamp: Annotated[str, Header()] = "",
    x_ekspora_signature: Annotated[str, Header()] = "",
) -> CarrierResult:
    body = await request.body()
    secret = shipping.settings.carrier_webhook_secret
    if not secret:
        raise Unauthorized("carrier updates are not configured (no shared secret)")
    if (
        not (x_ekspora_timestamp.isascii() and x_ekspora_timestamp.isdigit())
        or abs(shipping.service.clock.unix_seconds() - int(x_ekspora_timestamp))
        > shipping.settings.carrier_signature_tolerance_seconds
    ):
        raise Unauthorized("X-Ekspora-Timestamp missing or outside the tolerance")
    if not hmac.compare_digest(carrier_signature(secret, x_ekspora_timestamp, body), x_ekspora_signature):
        raise Unauthorized("bad signature")
    try:
        update = CarrierUpdate.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    if update.occurred_at - shipping.service.clock.now() > FUTURE_TOLERANCE:
        raise Unprocessable("occurred_at is in the future", field="occurred_at")
    shipment, note = await shipping.service.change(
        update.shipment_id,
        lambda s: domain.apply_carrier_update(
            s,
            update.update_id,
            update.status,
            location=update.location,
            occurred_at=update.occurred_at,
            message=update.message,
            tracking=shipping.service.tracking,
        ),
    )
    return CarrierResult(shipment_id=shipment.shipment_id, status=shipment.status, outcome=note)
