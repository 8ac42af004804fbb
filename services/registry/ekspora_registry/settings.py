from pydantic import Field

from ekspora_kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service: str = "registry"
    http_port: int = 8101
    expiry_check_seconds: float = Field(default=60, gt=0, description="How often expired certificates are looked for")
    relist_check_seconds: float = Field(
        default=30, gt=0, description="How often list entries a crash left behind their UMKM are looked for"
    )
    evidence_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="Largest certificate scan")
    sales_file_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest seller-centre order export imported at once"
    )
