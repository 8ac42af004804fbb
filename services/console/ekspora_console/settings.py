from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EKSPORA_", extra="ignore")

    service: str = "console"
    instance: str = "1"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8110
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_database: str = Field(default="", description="The console's own store: sessions and replays")
    identity_url: str = "http://127.0.0.1:8105"
    # a service's URL may name `{region}` where each region has its own instances (as on Kubernetes)
    registry_url: str = "http://127.0.0.1:8101"
    matching_url: str = "http://127.0.0.1:8102"
    shipping_url: str = "http://127.0.0.1:8103"
    notifications_url: str = "http://127.0.0.1:8104"
    default_region: str = Field(default="kota-kediri", description="Whose instances answer calls about no region")
    cookie_secure: bool = Field(
        default=True, description="Cookies only over HTTPS; false for a local run on plain HTTP"
    )
    clock_offset_seconds: float = Field(default=0, description="Demos and tests only, as the services'")

    @property
    def database_name(self) -> str:
        return self.mongo_database or "ekspora_console"
