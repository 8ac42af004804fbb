"""The integration events the registry's changes publish, built from its state."""

from ekspora_contracts.registry import (
    MsmeContactChanged,
    MsmeUpdated,
    ProductFacts,
)
from ekspora_registry.domain.model import Msme, Product


def product_facts(msme: Msme, product: Product) -> ProductFacts:
    return ProductFacts(
        msme_id=msme.msme_id,
        region=msme.region,
        **product.model_dump(include=set(ProductFacts.model_fields) - {"msme_id", "region"}),
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
