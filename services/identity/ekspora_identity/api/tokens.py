"""Access tokens (OAuth 2.0 client credentials): a partner's system presents its API key and gets a
short-lived token, which every service verifies on its own."""

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from ekspora_identity.api.deps import Identity
from ekspora_identity.service import Unknown
from ekspora_kit.auth import Credentials, Unauthorized, bearer

router = APIRouter(tags=["tokens"])


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


@router.post("/token", response_model=AccessToken)
async def token(credentials: Credentials, identity: Identity) -> AccessToken:
    """Send `Authorization: Bearer ptk_…` (your API key); use the token as `Authorization: Bearer <token>`
    on every service until `expires_in` seconds have passed, then ask again."""
    try:
        issued = await identity.token(bearer(credentials))
    except Unknown as unknown:
        raise Unauthorized(str(unknown)) from None
    return AccessToken(access_token=issued, expires_in=int(identity.token_ttl.total_seconds()))
