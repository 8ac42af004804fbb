"""Configuration from the environment (prefix EKSPORA_). Each service subclasses ServiceSettings."""

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ekspora_contracts.envelope import REGION_PATTERN


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EKSPORA_", extra="ignore")

    service: str
    regions: Annotated[list[str], NoDecode] = Field(
        default=["kota-kediri"], description="Regions this instance serves, comma-separated in EKSPORA_REGIONS"
    )
    instance: str = Field(default="1", description="Instance name, for logs and client ids")
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_replication_factor: int = Field(default=1, ge=1)
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_database: str = ""
    mongo_max_pool_size: int = Field(
        default=100, ge=1, description="1 on FerretDB: it does not isolate concurrent updates (FerretDB#3040)"
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_lease_seconds: float = Field(default=15.0, gt=0)
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
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
        import re

        bad = [region for region in regions if not re.match(REGION_PATTERN, region)]
        if bad or not regions:
            raise ValueError(f"regions must be non-empty slugs like kota-kediri, got {regions}")
        return regions

    @property
    def database_name(self) -> str:
        return self.mongo_database or f"ekspora_{self.service}"
