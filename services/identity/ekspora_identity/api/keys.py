"""Partners' API keys: issued by operators, listed and revoked by operators or the partner itself."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ekspora_identity.api.deps import Caller, Identity, may_manage
from ekspora_kit.auth import Operator
from ekspora_kit.domain import Model
from ekspora_kit.inputs import Line

router = APIRouter(tags=["keys"])


class NewKey(Model):
    label: Line = Field(default="", max_length=80, examples=["order system, 2026"])


class KeyView(BaseModel):
    key_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedKey(KeyView):
    api_key: str = Field(description="Shown once: exchange it for access tokens at POST /token")


@router.post("/partners/{partner_id}/keys", status_code=201, response_model=IssuedKey)
async def issue_key(partner_id: str, body: NewKey, _operator: Operator, identity: Identity) -> IssuedKey:
    credential, api_key = await identity.issue_key(partner_id, body.label)
    return IssuedKey(**credential.model_dump(exclude={"secret_sha256"}), api_key=api_key)


@router.get("/partners/{partner_id}/keys", response_model=list[KeyView])
async def keys(partner_id: str, found: Caller, identity: Identity) -> list[KeyView]:
    may_manage(partner_id, found)
    return [KeyView(**key.model_dump(exclude={"secret_sha256"})) for key in await identity.keys_of(partner_id)]


@router.delete("/partners/{partner_id}/keys/{key_id}", response_model=KeyView)
async def revoke_key(partner_id: str, key_id: str, found: Caller, identity: Identity) -> KeyView:
    """Revoked at once here, and within seconds in every service: tokens issued for it stop working."""
    may_manage(partner_id, found)
    return KeyView(**(await identity.revoke_key(partner_id, key_id)).model_dump(exclude={"secret_sha256"}))
