"""Realistic test data shared by unit and integration tests."""

from ekspora_contracts.envelope import CloudEvent, new_event
from ekspora_contracts.registry import MsmeRegistered

VALID_REGISTRATION = {
    "region": "kota-kediri",
    "business_name": "Tahu Takwa Bu Tini",
    "owner_name": "Tini Rahayu",
    "nib": "9120301234561",
    "sector": "food",
    "kelurahan": "Tinalan",
    "kecamatan": "Pesantren",
    "whatsapp": "+6281234500001",
    "email": "tini@tahutakwa.id",
}


def msme_registered(region: str = "kota-kediri", msme_id: str = "msme-1", **overrides: str) -> MsmeRegistered:
    fields = {
        "msme_id": msme_id,
        "region": region,
        "business_name": "Getuk Pisang Mbak Rini",
        "owner_name": "Rini",
        "nib": "9120301234599",
        "sector": "food",
        "kelurahan": "Campurejo",
        "kecamatan": "Mojoroto",
        "preferred_language": "id",
    }
    return MsmeRegistered(**(fields | overrides))


def registered_event(region: str = "kota-kediri", msme_id: str = "msme-1", **overrides: str) -> CloudEvent:
    data = msme_registered(region, msme_id, **overrides)
    return new_event(data, region=region, producer="registry", correlation_id="test")
