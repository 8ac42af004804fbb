"""Events produced by the registry service."""

from typing import ClassVar, Literal

from pydantic import Field

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.topics import REGISTRY_CONTACTS, REGISTRY_MSME, Stream

Language = Literal["id", "en", "nl"]
NIB_PATTERN = r"^[0-9]{13}$"
E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"


class MsmeRegistered(EventData):
    event_type: ClassVar[str] = "ekspora.registry.msme.registered.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    business_name: str
    owner_name: str
    nib: str = Field(pattern=NIB_PATTERN)
    sector: str
    kelurahan: str
    kecamatan: str
    preferred_language: Language

    def aggregate_id(self) -> str:
        return self.msme_id


class MsmeContactChanged(EventData):
    """Private: carries personal data, published only on the registry.contacts stream."""

    event_type: ClassVar[str] = "ekspora.registry.msme.contact_changed.v1"
    stream: ClassVar[Stream] = REGISTRY_CONTACTS

    msme_id: str
    region: Region
    owner_name: str
    whatsapp: str | None = Field(default=None, pattern=E164_PATTERN)
    email: str | None = None
    preferred_language: Language
    timezone: str

    def aggregate_id(self) -> str:
        return self.msme_id
