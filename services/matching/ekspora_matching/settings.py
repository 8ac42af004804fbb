from pydantic import Field

from ekspora_kit.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    service: str = "matching"
    http_port: int = 8102
    idr_per_eur: float = Field(default=17_500, gt=0, description="Configured exchange rate for price fit")
    idr_per_aud: float = Field(default=10_400, gt=0, description="Configured exchange rate for price fit")
    proposal_expiry_days: float = Field(default=7, gt=0, description="A proposal nobody acts on expires after this")
    expiry_check_seconds: float = Field(default=30, gt=0)
