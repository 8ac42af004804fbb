"""Notifications domain: who is told what, in which language. Pure, no I/O."""

from datetime import datetime
from pathlib import Path
from string import Template

from pydantic import BaseModel, ConfigDict

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered

TEMPLATE_DIR = Path(__file__).parent / "templates"
FALLBACK_LANGUAGE = "en"


class Notification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notification_id: str
    event_id: str
    event_type: str
    subject: str
    region: str
    recipient: str
    channel: str
    language: str
    text: str
    created_at: datetime
    read: bool = False


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    msme_id: str
    region: str
    owner_name: str
    business_name: str | None = None
    whatsapp: str | None
    email: str | None
    preferred_language: str
    timezone: str
    changed_at: datetime


class Templates:
    """Template files named `<event type>.<language>.txt`; a missing language falls back to English."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self.templates = {
            path.name.removesuffix(".txt"): Template(path.read_text().strip()) for path in directory.glob("*.txt")
        }
        self.fallbacks: dict[str, int] = {}

    def render(self, event_type: str, language: str, values: dict[str, object]) -> tuple[str, str]:
        """(text, language used); a missing translation falls back to English and is counted."""
        for candidate in (language, FALLBACK_LANGUAGE):
            template = self.templates.get(f"{event_type}.{candidate}")
            if template:
                if candidate != language:
                    self.fallbacks[language] = self.fallbacks.get(language, 0) + 1
                return template.substitute(values), candidate
        raise LookupError(f"no template for {event_type}")


def operator_recipient(region: str) -> str:
    return f"operator:{region}"


def notification_id(event_id: str, recipient: str, channel: str) -> str:
    """The key that makes each (event, recipient, channel) happen at most once."""
    return f"{event_id}:{recipient}:{channel}"


def for_msme_registered(event: CloudEvent[MsmeRegistered], templates: Templates, now: datetime) -> list[Notification]:
    recipient = operator_recipient(event.region)
    text, language = templates.render(event.type, "id", event.data.model_dump())
    return [
        Notification(
            notification_id=notification_id(event.id, recipient, "in_app"),
            event_id=event.id,
            event_type=event.type,
            subject=event.subject,
            region=event.region,
            recipient=recipient,
            channel="in_app",
            language=language,
            text=text,
            created_at=now,
        )
    ]


def contact_from(event: CloudEvent[MsmeContactChanged]) -> Contact:
    data = event.data
    return Contact(
        msme_id=data.msme_id,
        region=data.region,
        owner_name=data.owner_name,
        whatsapp=data.whatsapp,
        email=data.email,
        preferred_language=data.preferred_language,
        timezone=data.timezone,
        changed_at=event.time,
    )


TIER_LABELS = {
    "id": {"siap": "siap ekspor", "setengah": "setengah siap", "didorong": "perlu didorong"},
    "en": {"siap": "export-ready", "setengah": "half-ready", "didorong": "needs a push"},
}
DOCUMENT_NAMES = {
    "commercial_invoice": "invoice komersial",
    "packing_list": "packing list",
    "peb_export_declaration": "PEB",
    "ia_cepa_origin_declaration": "deklarasi asal IA-CEPA",
    "rex_statement_on_origin": "pernyataan asal REX",
    "ske_health_certificate": "SKE (sertifikat kesehatan)",
    "phytosanitary_certificate": "sertifikat fitosanitasi",
    "svlk_v_legal": "dokumen V-Legal (SVLK)",
    "treatment_certificate": "sertifikat perlakuan (fumigasi)",
    "transport_document": "bill of lading / air waybill",
}


class Message(BaseModel):
    """What one recipient is told about one event, in the recipient's language."""

    model_config = ConfigDict(extra="forbid")

    category: str
    critical: bool
    language: str
    subject: str
    text: str


def owner_message(event: CloudEvent, contact: Contact, templates: Templates) -> Message | None:
    """The message for an UMKM owner about `event`, or None when it is not worth telling."""
    data = event.data
    language = contact.preferred_language if contact.preferred_language in ("id", "en") else "id"
    values: dict[str, object] = {"owner": contact.owner_name, "business": contact.business_name or contact.owner_name}
    critical = False
    if event.type == "ekspora.registry.readiness.assessed.v1":
        if data.previous_tier == data.tier:
            return None
        step = data.gaps[0] if data.gaps else None
        next_step = (
            ""
            if step is None
            else (
                f"Langkah berikutnya: {step.next_step_id}." if language == "id" else f"Next step: {step.next_step_en}."
            )
        )
        values |= {"tier_label": TIER_LABELS[language][data.tier], "score": data.score, "next_step": next_step}
        category = "readiness"
    elif event.type == "ekspora.matching.match.proposed.v1":
        terms = data.terms
        values |= {
            "product": terms.product_name,
            "partner": terms.partner_name,
            "city": terms.destination_city,
            "quantity": terms.quantity,
            "unit": terms.unit,
            "score": f"{data.score:.0f}",
            "price": f"{terms.unit_price / 100:.2f} {terms.currency} (Rp{terms.unit_price_idr:,})",
            "documents": ", ".join(DOCUMENT_NAMES.get(d, d) for d in terms.documents),
            "expires": f"{data.expires_at:%Y-%m-%d}",
        }
        category = "matches"
    elif event.type == "ekspora.shipping.shipment.documents_missing.v1":
        values |= {
            "shipment": data.shipment_id,
            "cutoff": data.cutoff_on.isoformat(),
            "missing": ", ".join(DOCUMENT_NAMES.get(m.split("@")[0], m) for m in data.missing),
        }
        category, critical = "documents", True
    else:
        return None
    text, used = templates.render(event.type, language, values)
    subject, _, body = text.partition("\n")
    return Message(category=category, critical=critical, language=used, subject=subject, text=body or subject)
