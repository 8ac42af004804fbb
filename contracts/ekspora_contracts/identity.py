"""Events produced by the identity service: what every service needs to verify a token itself."""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.topics import IDENTITY_KEYS, Stream


class SigningKeyPublished(EventData):
    """A public key tokens are signed with (ES256); a token names it by `kid`."""

    event_type: ClassVar[str] = "ekspora.identity.signing_key.published.v1"
    stream: ClassVar[Stream] = IDENTITY_KEYS

    kid: str = Field(min_length=1, max_length=80)
    region: Region
    algorithm: Literal["ES256"]
    public_key_pem: str = Field(description="SubjectPublicKeyInfo, PEM")

    def aggregate_id(self) -> str:
        return f"signing-key:{self.kid}"


class CredentialRevoked(EventData):
    """A credential revoked, a partner's API key or a person's sign-in (disabled, or a new password):
    tokens issued for it are refused from now on, everywhere. `partner_id` is empty for a person of
    the regions."""

    event_type: ClassVar[str] = "ekspora.identity.credential.revoked.v1"
    stream: ClassVar[Stream] = IDENTITY_KEYS

    key_id: str = Field(min_length=1, max_length=80)
    partner_id: str
    region: Region
    revoked_at: datetime

    def aggregate_id(self) -> str:
        return f"credential:{self.key_id}"
