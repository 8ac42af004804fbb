"""What the notifications routes depend on: who calls, who may read what, and the stores, through Depends."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import BaseModel

from ekspora_kit.auth import Forbidden, OperatorOrPartner
from ekspora_kit.domain import NotFound
from ekspora_kit.http import Unprocessable
from ekspora_kit.tokens import Access
from ekspora_notifications import webhooks
from ekspora_notifications.channels import UnsafeUrl, WebhookSender
from ekspora_notifications.digest import DailyDigest
from ekspora_notifications.preferences import Preferences
from ekspora_notifications.store import DeliveryStore, NotificationsStore, WebhookStore
from ekspora_notifications.webhook_delivery import WebhookDispatcher
from ekspora_notifications.webhooks import Endpoint

RECIPIENT = Path(max_length=120, pattern=r"^(operator|umkm|partner):[A-Za-z0-9_.-]+$", examples=["umkm:msme_123"])


@dataclass(frozen=True)
class Feeds:
    """Feeds, preferences, the delivery log and the digest, and who may read whose."""

    store: NotificationsStore
    deliveries: DeliveryStore
    digest: DailyDigest
    defaults: Preferences

    async def may_read(self, recipient: str, operator: Access | None, partner_id: str | None) -> str:
        """The recipient, when the caller may read and set its notifications; 403 otherwise."""
        kind, _, who = recipient.partition(":")
        if operator is not None:
            if kind == "operator" and operator.covers(who):
                return recipient
            if kind == "umkm" and (contact := await self.store.contact(who)) and operator.covers(contact.region):
                return recipient
            raise Forbidden(f"an operator of {operator.names()} may not read {recipient}")
        if recipient == f"partner:{partner_id}":
            return recipient
        raise Forbidden("a partner reads its own notifications only")


@dataclass(frozen=True)
class Subscriptions:
    """Partner webhook endpoints: who owns which, and what may be subscribed to."""

    hooks: WebhookStore
    store: NotificationsStore
    catalogue: webhooks.Catalogue
    sender: WebhookSender
    dispatcher: WebhookDispatcher

    async def owned(self, endpoint_id: str, who: "Caller") -> Endpoint:
        endpoint = await self.hooks.endpoint(endpoint_id)
        if endpoint is None or (who.partner_id and endpoint.partner_id != who.partner_id):
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        return endpoint

    async def check(self, url: str | None, event_types: list[str] | None) -> None:
        if event_types is not None and (unknown := self.catalogue.unknown(event_types)):
            raise Unprocessable(
                f"not offered over webhooks: {', '.join(unknown)}; see GET /webhooks/event-types", field="event_types"
            )
        if url is not None:
            try:
                await self.sender.checked_address(url)
            except UnsafeUrl as error:
                raise Unprocessable(str(error), field="url") from None


class Caller(BaseModel):
    operator: Access | None = None
    partner_id: str | None = None


async def caller(found: OperatorOrPartner) -> Caller:
    operator, partner_id = found
    return Caller(operator=operator, partner_id=partner_id)


def feeds(request: Request) -> Feeds:
    return request.app.state.feeds


def subscriptions(request: Request) -> Subscriptions:
    return request.app.state.subscriptions


FeedsDep = Annotated[Feeds, Depends(feeds)]


async def allowed(recipient: Annotated[str, RECIPIENT], found: OperatorOrPartner, ops: FeedsDep) -> str:
    return await ops.may_read(recipient, *found)


Allowed = Annotated[str, Depends(allowed)]
Hooks = Annotated[Subscriptions, Depends(subscriptions)]
Who = Annotated[Caller, Depends(caller)]
