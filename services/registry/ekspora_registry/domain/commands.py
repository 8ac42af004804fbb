"""What operators send: the validated input of each operation."""

from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, HttpUrl, field_validator

from ekspora_contracts.envelope import Region
from ekspora_contracts.registry import (
    CATEGORY_PATTERN,
    E164_PATTERN,
    NIB_PATTERN,
    CertificateKind,
    Language,
)
from ekspora_kit.domain import Model
from ekspora_kit.inputs import Count, Day, Line, Money, Patch, Prose
from ekspora_registry.domain.model import EMAIL_PATTERN, Marketplace, Sector


class RegisterMsme(Model):
    region: Region
    business_name: Line = Field(min_length=2, max_length=120)
    owner_name: Line = Field(min_length=2, max_length=120)
    nib: str = Field(pattern=NIB_PATTERN, description="Nomor Induk Berusaha: exactly 13 digits")
    sector: Sector
    kelurahan: Line = Field(min_length=2, max_length=80)
    kecamatan: Line = Field(min_length=2, max_length=80)
    whatsapp: str | None = Field(default=None, pattern=E164_PATTERN, description="E.164, e.g. +6281234567890")
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    preferred_language: Language = "id"
    timezone: str = "Asia/Jakarta"

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as error:
            raise ValueError(f"unknown time zone {value}") from error
        return value


class UpdateMsme(Patch):
    business_name: Line | None = Field(default=None, min_length=2, max_length=120)
    owner_name: Line | None = Field(default=None, min_length=2, max_length=120)
    sector: Sector | None = None
    kelurahan: Line | None = Field(default=None, min_length=2, max_length=80)
    kecamatan: Line | None = Field(default=None, min_length=2, max_length=80)
    whatsapp: str | None = Field(default=None, pattern=E164_PATTERN)
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    preferred_language: Language | None = None


class ListProduct(Model):
    name: Line = Field(min_length=2, max_length=120)
    description_id: Prose = Field(min_length=2, max_length=2000)
    description_en: Prose = Field(min_length=2, max_length=2000)
    category: str = Field(pattern=CATEGORY_PATTERN)
    hs_code: str = Field(
        pattern=r"^[0-9]{8}$",
        description="Tariff code of 8 digits as the Indonesian tariff book (BTKI) has it; its first 6 are the"
        " international HS subheading",
        examples=["21069099"],
    )
    unit: Line = Field(min_length=1, max_length=40, examples=["pack 250 g"])
    unit_price_idr: Money = Field(gt=0, description="Price per unit in rupiah, whole number")
    minimum_order_quantity: Count = Field(ge=1)
    monthly_capacity: Count = Field(ge=0)
    net_weight_grams: Count = Field(gt=0)
    shelf_life_days: Count | None = Field(default=None, ge=1)
    english_label: bool = False


class UpdateProduct(Patch):
    name: Line | None = Field(default=None, min_length=2, max_length=120)
    description_id: Prose | None = Field(default=None, min_length=2, max_length=2000)
    description_en: Prose | None = Field(default=None, min_length=2, max_length=2000)
    unit_price_idr: Money | None = Field(default=None, gt=0)
    minimum_order_quantity: Count | None = Field(default=None, ge=1)
    monthly_capacity: Count | None = Field(default=None, ge=0)
    net_weight_grams: Count | None = Field(default=None, gt=0)
    shelf_life_days: Count | None = Field(default=None, ge=1)
    english_label: bool | None = None


class AddCertificate(Model):
    kind: CertificateKind
    number: Line = Field(min_length=3, max_length=80)
    expires_on: Day


class ReviewEvidence(Model):
    status: Literal["verified", "rejected"]
    reason: Line | None = Field(
        default=None, min_length=5, max_length=500, description="Why it is rejected, for its owner (Bahasa Indonesia)"
    )


class AddListing(Model):
    platform: Marketplace
    url: HttpUrl


class Withdrawal(Model):
    reason: Prose = Field(min_length=3, max_length=300)
