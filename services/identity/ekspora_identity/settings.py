from datetime import timedelta

from pydantic import Field

from ekspora_kit.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    service: str = "identity"
    http_port: int = 8105
    token_ttl_seconds: int = Field(default=900, ge=60, le=3600, description="How long an access token is good for")
    sign_in_hours: int = Field(
        default=12, ge=1, le=24 * 7, description="How long a person's sign-in lasts through renewed tokens"
    )
    signing_key_pem: str = Field(
        default="",
        repr=False,
        description="The EC P-256 private key tokens are signed with (PEM, from a secret); when empty, the first"
        " instance makes one and keeps it in its store",
    )

    def token_ttl(self) -> timedelta:
        return timedelta(seconds=self.token_ttl_seconds)

    def sign_in_lasts(self) -> timedelta:
        return timedelta(hours=self.sign_in_hours)
