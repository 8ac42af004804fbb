"""Configuration from the environment (prefix EKSPORA_). Each service subclasses ServiceSettings."""

import re
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_kit.bus import BusAccess

MIN_TOKEN_LENGTH = 12


def parse_operator_tokens(setting: str) -> dict[str, str]:
    """`region=token,region=token` -> {token: region}; a malformed pair, an empty or short token, or
    one token for two regions is refused, so a service with such a setting does not start."""
    tokens: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in setting.split(","))):
        region, _, token = (side.strip() for side in item.partition("="))
        if not re.fullmatch(REGION_PATTERN, region) or len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
            raise ValueError(
                f"operator tokens are region=token pairs, each token at least {MIN_TOKEN_LENGTH} characters"
                f" without spaces; {region or '(no region)'} has none that is"
            )
        if tokens.setdefault(token, region) != region:
            raise ValueError(f"one operator token is given to both {tokens[token]} and {region}")
    return tokens


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EKSPORA_", extra="ignore")

    service: str
    regions: Annotated[list[str], NoDecode] = Field(
        default=["kota-kediri"], description="Regions this instance serves, comma-separated in EKSPORA_REGIONS"
    )
    instance: str = Field(default="1", description="Instance name, for logs and client ids")
    bus: BusAccess = Field(default_factory=BusAccess, description="EKSPORA_KAFKA_*: the broker, this service's login")
    kafka_replication_factor: int = Field(default=1, ge=1)
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_database: str = ""
    mongo_max_pool_size: int = Field(default=100, ge=1, description="Store connections per process")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_lease_seconds: float = Field(default=15.0, gt=0)
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    consumer_batch_size: int = Field(default=100, ge=1, description="Records a consumer takes per poll")
    consumer_concurrency: int = Field(default=16, ge=1, description="Keys a consumer works at once; each in order")
    operator_tokens: str = Field(
        default="", description="region=token pairs, comma-separated: operators of a region see and act on it"
    )
    log_level: str = "INFO"
    clock_offset_seconds: float = Field(
        default=0, description="Demos and tests only: shifts this service's clock, e.g. to reach a certificate's expiry"
    )
    fault_point: str | None = Field(
        default=None, description="Test only: the process SIGKILLs itself on reaching this named point"
    )

    @field_validator("regions", mode="before")
    @classmethod
    def split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("regions")
    @classmethod
    def check_regions(cls, regions: list[str]) -> list[str]:
        bad = [region for region in regions if not re.match(REGION_PATTERN, region)]
        if bad or not regions:
            raise ValueError(f"regions must be non-empty slugs like kota-kediri, got {regions}")
        return regions

    @field_validator("operator_tokens")
    @classmethod
    def check_operator_tokens(cls, setting: str) -> str:
        parse_operator_tokens(setting)
        return setting

    @property
    def database_name(self) -> str:
        return self.mongo_database or f"ekspora_{self.service}"
