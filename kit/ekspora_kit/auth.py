"""Authentication shared by the services: operators hold a bearer token per region (configuration);
partners hold an API key (`ptk_…`), of which services keep only the SHA-256."""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Header

from ekspora_kit.http import ApiError

T = TypeVar("T")


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


def operator_region(tokens: dict[str, str]):
    """A FastAPI dependency: the region of the calling operator, or 401."""

    async def region(authorization: Annotated[str | None, Header()] = None) -> str:
        secret = bearer(authorization)
        if secret not in tokens:
            raise Unauthorized("unknown operator token")
        return tokens[secret]

    return region


def api_key_sha256(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def operator_or_partner(tokens: dict[str, str], partner_by_key: Callable[[str], Awaitable[T | None]]):
    """A FastAPI dependency: (operator region, None) for an operator's token, (None, partner) for
    a partner's API key, found by its SHA-256 with `partner_by_key`; 401 otherwise."""

    async def identify(authorization: Annotated[str | None, Header()] = None) -> tuple[str | None, T | None]:
        secret = bearer(authorization)
        if secret in tokens:
            return tokens[secret], None
        if secret.startswith("ptk_") and (partner := await partner_by_key(api_key_sha256(secret))):
            return None, partner
        raise Unauthorized("unknown operator token or partner API key")

    return identify
