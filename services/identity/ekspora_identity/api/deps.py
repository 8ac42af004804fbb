"""What identity's routes depend on, through Depends."""

from typing import Annotated, Any

from fastapi import Depends, Request

from ekspora_identity.accounts import Accounts
from ekspora_identity.service import IdentityService
from ekspora_kit.auth import Forbidden, OperatorOrPartner
from ekspora_kit.tokens import Access


def service(request: Request) -> IdentityService:
    return request.app.state.identity


Identity = Annotated[IdentityService, Depends(service)]


def accounts(request: Request) -> Accounts:
    return request.app.state.accounts


People = Annotated[Accounts, Depends(accounts)]


def may_manage(partner_id: str, found: tuple[Access | None, Any]) -> None:
    """An operator manages any partner's keys (partners are global); a partner only its own."""
    _, partner = found
    if partner is not None and partner.partner_id != partner_id:
        raise Forbidden("a partner manages its own keys only")


Caller = OperatorOrPartner
