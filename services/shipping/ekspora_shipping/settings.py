from pathlib import Path

from pydantic import Field

from ekspora_kit.settings import ServiceSettings
from ekspora_shipping.policy import DATA


class ShippingSettings(ServiceSettings):
    service: str = "shipping"
    http_port: int = 8103
    carrier_webhook_secret: str = Field(default="", description="Shared secret forwarders sign their updates with")
    carrier_signature_tolerance_seconds: int = Field(default=300, ge=1)
    reminder_check_seconds: float = Field(default=600, gt=0)
    exporters_file: Path = Field(
        default=DATA / "exporters.yaml", description="Each region's exporter of record (consolidator), as data"
    )
    document_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="Largest uploaded document")
