"""Realistic test data shared by unit and integration tests."""

import subprocess
from datetime import UTC, datetime

from fpdf import FPDF

from ekspora_contracts.envelope import CloudEvent, new_event
from ekspora_contracts.registry import MsmeRegistered
from ekspora_kit.clock import Clock

CLOCK = Clock.from_environment()  # shifted like the services the tests start

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
        "sector": "food",
        "kelurahan": "Campurejo",
        "kecamatan": "Mojoroto",
        "preferred_language": "id",
    }
    return MsmeRegistered.model_validate(fields | overrides)


def registered_event(region: str = "kota-kediri", msme_id: str = "msme-1", **overrides: str) -> CloudEvent:
    data = msme_registered(region, msme_id, **overrides)
    return new_event(data, region=region, producer="registry", correlation_id="test", time=CLOCK.now())


def export_ready_event(region: str, product_id: str, msme_id: str = "msme-1") -> CloudEvent:
    from ekspora_ops.measure import export_ready_product

    return new_event(
        export_ready_product(region, product_id, msme_id),
        region=region,
        producer="registry",
        correlation_id="t",
        time=CLOCK.now(),
    )


def readiness_lost_event(region: str, product_id: str, msme_id: str = "msme-1") -> CloudEvent:
    from ekspora_contracts.registry import ProductExportReadinessLost

    data = ProductExportReadinessLost(product_id=product_id, msme_id=msme_id, region=region, reasons=["halal expired"])
    return new_event(data, region=region, producer="registry", correlation_id="t", time=CLOCK.now())


def partner_changed_event(partner_id: str, languages: list[str], email: str) -> CloudEvent:
    from ekspora_contracts.matching import PartnerChanged

    data = PartnerChanged(
        partner_id=partner_id,
        version=1,
        kind="diaspora_business",
        name="Toko Nusantara Amsterdam",
        country="NL",
        city="Amsterdam",
        categories=["snack"],
        min_order_units=50,
        max_order_units=5000,
        languages=languages,
        contact_email=email,
        verified=True,
    )
    return new_event(data, region="global", producer="matching", correlation_id="t", time=CLOCK.now())


def contact_changed_event(region: str, msme_id: str, whatsapp: str | None, email: str | None) -> CloudEvent:
    from ekspora_contracts.registry import MsmeContactChanged

    data = MsmeContactChanged(
        msme_id=msme_id,
        region=region,
        owner_name="Sri Wahyuni",
        whatsapp=whatsapp,
        email=email,
        preferred_language="id",
        timezone="Asia/Jakarta",
    )
    return new_event(data, region=region, producer="registry", correlation_id="t", time=CLOCK.now())


def pdf_text(document: bytes) -> str:
    """A PDF's text as poppler's pdftotext lays it out (Debian's poppler-utils)."""
    assert document.startswith(b"%PDF-"), document[:40]
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=document, capture_output=True, check=True)
    return result.stdout.decode()


def scanned_pdf(title: str) -> bytes:
    """A small real PDF standing in for a scanned certificate or transport document."""
    document = FPDF()
    document.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))  # the same title is the same bytes
    document.add_page()
    document.set_font("Helvetica", size=12)
    document.cell(text=title)
    return bytes(document.output())
