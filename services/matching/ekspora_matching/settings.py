from pydantic import Field

from ekspora_kit.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    service: str = "matching"
    http_port: int = 8102
    proposal_expiry_days: float = Field(default=7, gt=0, description="A proposal nobody acts on expires after this")
    expiry_check_seconds: float = Field(default=30, gt=0)
    recount_seconds: float = Field(
        default=5, gt=0, description="How often the opportunities behind changed requests are recounted"
    )
    allocation_lease_seconds: float = Field(
        default=30, gt=0, description="How long a crashed instance keeps others from filling the demand it was filling"
    )
    allocation_patience_seconds: float = Field(
        default=10, gt=0, description="How long filling a demand waits for another filling it before retrying"
    )
