"""What operators send: the validated input of each operation."""

from datetime import date
from zoneinfo import ZoneInfo

from pydantic import Field, HttpUrl, field_validator

from ekspora_contracts.envelope import Region
from ekspora_contracts.registry import (
    CATEGORY_PATTERN,
    E164_PATTERN,
    HS_CODE_PATTERN,
    NIB_PATTERN,
    CertificateKind,
    Language,
)
from ekspora_kit.domain import Model
from ekspora_registry.domain.model import EMAIL_PATTERN, Marketplace, Sector


class RegisterMsme(Model):
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

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as error:
            raise ValueError(f"unknown time zone {value}") from error
        return value


class UpdateMsme(Model):
    business_name: str | None = Field(default=None, min_length=2, max_length=120)
    owner_name: str | None = Field(default=None, min_length=2, max_length=120)
    sector: Sector | None = None
    kelurahan: str | None = Field(default=None, min_length=2, max_length=80)
    kecamatan: str | None = Field(default=None, min_length=2, max_length=80)
    whatsapp: str | None = Field(default=None, pattern=E164_PATTERN)
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    preferred_language: Language | None = None


class ListProduct(Model):
    name: str = Field(min_length=2, max_length=120)
    description_id: str = Field(min_length=2, max_length=2000)
    description_en: str = Field(min_length=2, max_length=2000)
    category: str = Field(pattern=CATEGORY_PATTERN)
    hs_code: str = Field(pattern=HS_CODE_PATTERN, description="Harmonized System code, 6 digits")
    unit: str = Field(min_length=1, max_length=40, examples=["pack 250 g"])
    unit_price_idr: int = Field(gt=0, description="Price per unit in rupiah, whole number")
    minimum_order_quantity: int = Field(ge=1)
    monthly_capacity: int = Field(ge=0)
    net_weight_grams: int = Field(gt=0)
    shelf_life_days: int | None = Field(default=None, ge=1)
    english_label: bool = False


class UpdateProduct(Model):
    name: str | None = Field(default=None, min_length=2, max_length=120)
    description_id: str | None = Field(default=None, min_length=2, max_length=2000)
    description_en: str | None = Field(default=None, min_length=2, max_length=2000)
    unit_price_idr: int | None = Field(default=None, gt=0)
    minimum_order_quantity: int | None = Field(default=None, ge=1)
    monthly_capacity: int | None = Field(default=None, ge=0)
    net_weight_grams: int | None = Field(default=None, gt=0)
    shelf_life_days: int | None = Field(default=None, ge=1)
    english_label: bool | None = None


class AddCertificate(Model):
    kind: CertificateKind
    number: str = Field(min_length=3, max_length=80)
    expires_on: date


class AddListing(Model):
    platform: Marketplace
    url: HttpUrl


class Withdrawal(Model):
    reason: str = Field(min_length=3, max_length=300)
