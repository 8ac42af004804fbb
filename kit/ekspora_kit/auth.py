"""Authentication shared by the services: operators hold a bearer token per region (configuration);
partners hold an API key (`ptk_…`), of which services keep only the SHA-256."""

import hashlib
from typing import Annotated

from fastapi import Header

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
