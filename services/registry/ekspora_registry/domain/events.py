"""The integration events the registry's changes publish, built from its state."""

from ekspora_contracts.registry import (
    MsmeContactChanged,
    MsmeUpdated,
    ProductFacts,
    SupplierChanged,
)
from ekspora_registry.domain.model import Msme, Product


def product_facts(msme: Msme, product: Product) -> ProductFacts:
    """The product as others know it: its HS subheading (6 digits) to match on, its full tariff code
    (8) for export papers (products listed before the 8-digit codes have only the 6), and the
    certificates that count: those whose evidence is verified."""
    return ProductFacts(
        msme_id=msme.msme_id,
        region=msme.region,
        hs_code=product.hs_code[:6],
        tariff_code=product.hs_code if len(product.hs_code) == 8 else None,
        certificates=[certificate.as_contract() for certificate in product.certificates if certificate.counts],
        **product.model_dump(
            include=set(ProductFacts.model_fields) - {"msme_id", "region", "hs_code", "tariff_code", "certificates"}
        ),
    )


def msme_updated(msme: Msme, changed: list[str]) -> MsmeUpdated:
    p = msme.profile
    return MsmeUpdated(
        msme_id=msme.msme_id,
        region=p.region,
        business_name=p.business_name,
        sector=p.sector,
        kelurahan=p.kelurahan,
        kecamatan=p.kecamatan,
        preferred_language=p.preferred_language,
        nib_verified=msme.nib_verified,
        changed_fields=changed,
    )


def contact_changed_event(msme: Msme) -> MsmeContactChanged:
    p = msme.profile
    return MsmeContactChanged(
        msme_id=msme.msme_id,
        region=p.region,
        owner_name=p.owner_name,
        whatsapp=p.whatsapp,
        email=p.email,
        preferred_language=p.preferred_language,
        timezone=p.timezone,
    )


def supplier_changed(msme: Msme) -> SupplierChanged:
    p = msme.profile
    return SupplierChanged(
        msme_id=msme.msme_id,
        region=p.region,
        business_name=p.business_name,
        nib=p.nib,
        nib_verified=msme.nib_verified,
        kelurahan=p.kelurahan,
        kecamatan=p.kecamatan,
    )
