"""Authentication shared by the services: operators hold a bearer token per region (configuration);
partners hold an API key (`ptk_…`), of which services keep only the SHA-256."""

import hashlib
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from ekspora_kit.http import ApiError


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


def parse_operator_tokens(setting: str) -> dict[str, str]:
    """`region=token,region=token` -> {token: region}."""
    pairs = (item.split("=", 1) for item in setting.split(",") if "=" in item)
    return {token.strip(): region.strip() for region, token in pairs}


def bearer(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("send Authorization: Bearer <token>")
    return authorization.removeprefix("Bearer ").strip()


@cache
def operator_tokens(setting: str) -> dict[str, str]:
    return parse_operator_tokens(setting)


async def calling_operator(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The region of the calling operator, or 401."""
    tokens = operator_tokens(request.app.state.runtime.settings.operator_tokens)
    secret = bearer(authorization)
    if secret not in tokens:
        raise Unauthorized("unknown operator token")
    return tokens[secret]


Operator = Annotated[str, Depends(calling_operator)]


def api_key_sha256(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


async def calling_party(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> tuple[str | None, Any]:
    """(operator region, None) for an operator's token, (None, partner) for a partner's API key,
    found by its SHA-256 with the service's `app.state.partner_by_key`; 401 otherwise."""
    tokens = operator_tokens(request.app.state.runtime.settings.operator_tokens)
    secret = bearer(authorization)
    if secret in tokens:
        return tokens[secret], None
    if secret.startswith("ptk_") and (partner := await request.app.state.partner_by_key(api_key_sha256(secret))):
        return None, partner
    raise Unauthorized("unknown operator token or partner API key")


OperatorOrPartner = Annotated[tuple[str | None, Any], Depends(calling_party)]
