"""The WhatsApp Business Cloud API's webhook, as Meta posts it: the signature over the raw body,
and the messages and statuses inside (`object` whatsapp_business_account, `entry[].changes[].value`).

Since 2026 a user who adopts a WhatsApp username may come without a phone number: a message then
carries the business-scoped user id (`from_user_id`, and `user_id` in `contacts`) and `from` may be
absent. Both are optional here; the service links a user id to the phone it came with once, and
recognises the owner by either."""

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SIGNATURE_HEADER = "X-Hub-Signature-256"


def signed(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of the raw body with the app secret,
    compared in constant time; an unset secret accepts nothing."""
    if not secret or not signature or not signature.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.removeprefix("sha256="))


def verify_token_matches(given: str, expected: str) -> bool:
    """The subscription handshake's token, compared in constant time; an unset one matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Text(Loose):
    body: str


class ButtonReply(Loose):
    id: str
    title: str


class Interactive(Loose):
    type: str
    button_reply: ButtonReply | None = None


class TemplateButton(Loose):
    """A quick-reply button of a template message."""

    payload: str | None = None
    text: str


class InboundMessage(Loose):
    id: str = Field(min_length=1, max_length=256)
    phone: str | None = Field(default=None, alias="from", pattern=r"^\d{6,15}$")
    user_id: str | None = Field(default=None, alias="from_user_id", max_length=200)
    timestamp: int = Field(ge=0)
    type: str
    text: Text | None = None
    interactive: Interactive | None = None
    button: TemplateButton | None = None

    @property
    def sent_at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, UTC)

    @property
    def said(self) -> str | None:
        if self.text is not None:
            return self.text.body
        if self.button is not None:
            return self.button.text
        return None

    @property
    def button_id(self) -> str | None:
        if self.interactive is not None and self.interactive.button_reply is not None:
            return self.interactive.button_reply.id
        if self.button is not None:
            return self.button.payload
        return None


class Contact(Loose):
    wa_id: str | None = None
    user_id: str | None = None


class StatusError(Loose):
    code: int
    title: str = ""


class Status(Loose):
    id: str
    status: Literal["sent", "delivered", "read", "failed"]
    timestamp: int = Field(ge=0)
    recipient_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[StatusError] = []


class Value(Loose):
    messaging_product: Literal["whatsapp"]
    contacts: list[Contact] = []
    messages: list[InboundMessage] = []
    statuses: list[Status] = []


class Change(Loose):
    field: str
    value: Value


class Entry(Loose):
    id: str
    changes: list[Change]


class WebhookPost(Loose):
    object: Literal["whatsapp_business_account"]
    entry: list[Entry] = Field(max_length=100)

    def statuses(self) -> list[Status]:
        return [status for entry in self.entry for change in entry.changes for status in change.value.statuses]

    def messages(self) -> list[tuple[InboundMessage, list[Contact]]]:
        """Each message with the contacts that came with it."""
        return [
            (message, change.value.contacts)
            for entry in self.entry
            for change in entry.changes
            if change.field == "messages"
            for message in change.value.messages
        ]
