"""Registry domain: pure rules about UMKM (MSMEs), with no I/O."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.registry import E164_PATTERN, NIB_PATTERN, Language, MsmeContactChanged, MsmeRegistered

Sector = Literal["food", "beverage", "craft", "textile", "furniture", "fashion", "agriculture"]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"


class RegisterMsme(BaseModel):
    """What an operator submits to register an UMKM."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    region: Region
    business_name: str = Field(min_length=2, max_length=120)
    owner_name: str = Field(min_length=2, max_length=120)
    nib: str = Field(pattern=NIB_PATTERN, description="Nomor Induk Berusaha: exactly 13 digits")
    sector: Sector
    kelurahan: str = Field(min_length=2, max_length=80)
    kecamatan: str = Field(min_length=2, max_length=80)
    whatsapp: str | None = Field(default=None, pattern=E164_PATTERN, description="E.164, e.g. +6281234567890")
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    preferred_language: Language = "id"
    timezone: str = "Asia/Jakarta"


class Msme(BaseModel):
    model_config = ConfigDict(extra="forbid")

    msme_id: str
    registered_at: datetime
    profile: RegisterMsme

    @property
    def region(self) -> str:
        return self.profile.region


def register(command: RegisterMsme, msme_id: str, now: datetime) -> tuple[Msme, list[EventData]]:
    msme = Msme(msme_id=msme_id, registered_at=now, profile=command)
    profile = command
    registered = MsmeRegistered(
        msme_id=msme_id,
        region=profile.region,
        business_name=profile.business_name,
        owner_name=profile.owner_name,
        nib=profile.nib,
        sector=profile.sector,
        kelurahan=profile.kelurahan,
        kecamatan=profile.kecamatan,
        preferred_language=profile.preferred_language,
    )
    contact = MsmeContactChanged(
        msme_id=msme_id,
        region=profile.region,
        owner_name=profile.owner_name,
        whatsapp=profile.whatsapp,
        email=profile.email,
        preferred_language=profile.preferred_language,
        timezone=profile.timezone,
    )
    return msme, [registered, contact]
