"""Authentication shared by the services: operators hold a bearer token per region (configuration,
for machines and scripts); partners present an access token the identity service issued for one of
their API keys (ekspora_kit.tokens). Whoever it is, it is recorded as acting (ekspora_kit.logs), so
every change says who made it."""

import hmac
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ekspora_kit.http import ApiError
from ekspora_kit.logs import acting
from ekspora_kit.settings import parse_operator_tokens
from ekspora_kit.tokens import TokenRefused, looks_like_token


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


BEARER = HTTPBearer(
    auto_error=False,  # a missing token is answered as every other refusal is (ekspora_kit.http)
    scheme_name="bearer",
    description="An operator's token, which is per region, or a partner's API key (`ptk_…`)",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return credentials.credentials.strip()


@cache
def operator_tokens(setting: str) -> dict[str, str]:
    return parse_operator_tokens(setting)


def operator_region(setting: str, secret: str) -> str | None:
    """The region whose operator token `secret` is, comparing with every token in constant time."""
    found = None
    for token, region in operator_tokens(setting).items():
        if hmac.compare_digest(token.encode(), secret.encode()):
            found = region
    return found


async def calling_operator(request: Request, credentials: Credentials) -> str:
    """The region of the calling operator, or 401."""
    region = operator_region(request.app.state.runtime.settings.operator_tokens, bearer(credentials))
    if region is None:
        raise Unauthorized("unknown operator token")
    acting.set(f"operator:{region}")
    return region


Operator = Annotated[str, Depends(calling_operator)]


async def calling_party(request: Request, credentials: Credentials) -> tuple[str | None, Any]:
    """(operator region, None) for an operator's token, (None, partner) for a partner's access
    token, the partner as the service knows it (`app.state.partner_by_id`); 401 otherwise."""
    secret = bearer(credentials)
    if (region := operator_region(request.app.state.runtime.settings.operator_tokens, secret)) is not None:
        acting.set(f"operator:{region}")
        return region, None
    if not looks_like_token(secret):
        raise Unauthorized("unknown operator token; partners send an access token from identity's POST /token")
    try:
        claims = request.app.state.runtime.verifier.verify(secret)
    except TokenRefused as refused:
        raise Unauthorized(f"token refused: {refused}") from None
    if claims.role != "partner" or not claims.partner_id:
        raise Unauthorized("not a partner's token")
    if (partner := await request.app.state.partner_by_id(claims.partner_id)) is None:
        raise Unauthorized(f"partner {claims.partner_id} is not known here (yet)")
    acting.set(claims.actor)
    return None, partner


OperatorOrPartner = Annotated[tuple[str | None, Any], Depends(calling_party)]
