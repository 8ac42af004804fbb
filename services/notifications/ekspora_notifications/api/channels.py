"""The WhatsApp Business Cloud API's webhook: Meta's verification handshake, and the messages and
statuses it posts, each post checked against its signature before anything in it is read."""

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from ekspora_kit.http import ApiError
from ekspora_notifications import whatsapp
from ekspora_notifications.owner_replies import OwnerReplies

router = APIRouter(prefix="/channels/whatsapp", tags=["WhatsApp"])


class Unsigned(ApiError):
    status_code = 401


class NotOurs(ApiError):
    status_code = 403


def replies(request: Request) -> OwnerReplies:
    return request.app.state.owner_replies  # type: ignore[no-any-return]


@router.get("/webhook", response_class=PlainTextResponse, summary="Meta's subscription handshake")
async def verify(
    request: Request,
    mode: str = Query(alias="hub.mode", max_length=20),
    token: str = Query(alias="hub.verify_token", max_length=200),
    challenge: str = Query(alias="hub.challenge", max_length=200),
) -> str:
    if mode != "subscribe" or not whatsapp.verify_token_matches(token, request.app.state.whatsapp_verify_token):
        raise NotOurs("not the verify token this endpoint was subscribed with", field="hub.verify_token")
    return challenge


@router.post("/webhook", summary="Messages and statuses Meta posts, signed with the app secret")
async def receive(request: Request) -> dict[str, int]:
    """Answered 200 once handled (Meta posts again otherwise); each message and status is handled once."""
    body = await request.body()
    owners, metrics = replies(request), replies(request).metrics
    signature = request.headers.get(whatsapp.SIGNATURE_HEADER)
    if not whatsapp.signed(request.app.state.whatsapp_app_secret, body, signature):
        metrics.webhooks.labels("unsigned" if signature is None else "wrong_signature").inc()
        raise Unsigned(f"{whatsapp.SIGNATURE_HEADER} is missing or wrong", field=whatsapp.SIGNATURE_HEADER)
    try:
        post = whatsapp.WebhookPost.model_validate_json(body)
    except ValidationError as error:
        metrics.webhooks.labels("invalid").inc()
        raise RequestValidationError(error.errors(include_url=False)) from None
    metrics.webhooks.labels("accepted").inc()
    received, statuses = post.messages(), post.statuses()
    for message, contacts in received:
        await owners.received(message, contacts)
    for status in statuses:
        await owners.notifier.whatsapp_reported(status)
    return {"messages": len(received), "statuses": len(statuses)}
