"""Notifications domain: who is told what, in which language. Pure, no I/O."""

from datetime import date, datetime
from pathlib import Path
from string import Template
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import PartnerChanged, PartnerChangedV1
from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered, MsmeRegisteredV1
from ekspora_kit.clock import WIB
from ekspora_notifications.preferences import Channel

TEMPLATE_DIR = Path(__file__).parent / "templates"
DATA_DIR = Path(__file__).parent / "data"
FALLBACK_LANGUAGE = "en"
OWNER_CHAIN: tuple[Channel, ...] = ("whatsapp", "sms", "email")
PARTNER_CHAIN: tuple[Channel, ...] = ("email",)
Role = Literal["owner", "partner"]


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


class Message(BaseModel):
    """What one recipient is told about one event, in the recipient's language."""

    model_config = ConfigDict(extra="forbid")

    category: str
    critical: bool
    language: str
    subject: str
    text: str
    values: dict[str, str] = {}  # what the text was filled with: a WhatsApp template's parameters


class Templates:
    """Template files named `<event type>.<role>.<language>.txt`; a missing language falls back to English."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self.templates = {
            path.name.removesuffix(".txt"): Template(path.read_text().strip()) for path in directory.glob("*.txt")
        }
        self.fallbacks: dict[str, int] = {}

    def render(self, key: str, language: str, values: dict[str, object]) -> tuple[str, str]:
        """(text, language used); a missing translation falls back to English and is counted."""
        for candidate in (language, FALLBACK_LANGUAGE):
            template = self.templates.get(f"{key}.{candidate}")
            if template:
                if candidate != language:
                    self.fallbacks[language] = self.fallbacks.get(language, 0) + 1
                return template.substitute(values), candidate
        raise LookupError(f"no template for {key}")


def operator_recipient(region: str) -> str:
    return f"operator:{region}"


def notification_id(event_id: str, recipient: str, channel: str) -> str:
    """The key that makes each (event, recipient, channel) happen at most once."""
    return f"{event_id}:{recipient}:{channel}"


def for_msme_registered(
    event: CloudEvent[MsmeRegistered | MsmeRegisteredV1], templates: Templates, now: datetime
) -> list[Notification]:
    recipient = operator_recipient(event.region)
    text, language = templates.render(f"{event.type}.operator", "id", event.data.model_dump())
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


class PartnerContact(BaseModel):
    """What notifications keeps of a partner (from the global partners topic)."""

    model_config = ConfigDict(extra="forbid")

    partner_id: str
    version: int
    name: str
    country: str
    city: str
    languages: list[str]
    contact_email: str


class Recipient(BaseModel):
    """Anyone told anything: an UMKM owner, a partner or a region's operators."""

    model_config = ConfigDict(extra="forbid")

    recipient: str
    region: str
    name: str
    whatsapp: str | None = None
    email: str | None = None
    language: str
    timezone: str
    chain: tuple[Channel, ...]


class Labels:
    """Words the templates fill in, per language, and partners' time zones (a data file)."""

    def __init__(self, path: Path = DATA_DIR / "labels.yaml") -> None:
        data = yaml.safe_load(path.read_text())
        self.tiers: dict[str, dict[str, str]] = data["tiers"]
        self.roads: dict[str, dict[str, str]] = data["roads"]
        self.statuses: dict[str, dict[str, str]] = data["statuses"]
        self.documents: dict[str, dict[str, str]] = data["documents"]
        self.certificates: dict[str, dict[str, str]] = data["certificates"]
        self.city_zones: dict[str, str] = data["zones"]["cities"]
        self.country_zones: dict[str, str] = data["zones"]["countries"]

    def word(self, table: dict[str, dict[str, str]], language: str, key: str) -> str:
        return table.get(language, {}).get(key) or table[FALLBACK_LANGUAGE].get(key, key)

    def document_list(self, language: str, codes: list[str]) -> str:
        return ", ".join(self.word(self.documents, language, code.split("@")[0]) for code in codes)


class MessageRules:
    """Who is told about which event, in which category, and what is critical (a data file)."""

    def __init__(self, path: Path = DATA_DIR / "messages.yaml") -> None:
        data = yaml.safe_load(path.read_text())
        self.events: dict[str, dict[str, dict[str, Any]]] = data["events"]
        self.critical_statuses: set[str] = set(data["critical_statuses"])

    def rule(self, event_type: str, role: Role) -> dict[str, Any] | None:
        return self.events.get(event_type, {}).get(role)


def owner_recipient(contact: Contact) -> Recipient:
    language = contact.preferred_language if contact.preferred_language in ("id", "en") else "id"
    return Recipient(
        recipient=f"umkm:{contact.msme_id}",
        region=contact.region,
        name=contact.owner_name,
        whatsapp=contact.whatsapp,
        email=contact.email,
        language=language,
        timezone=contact.timezone,
        chain=OWNER_CHAIN,
    )


def partner_recipient(partner: PartnerContact, region: str, labels: Labels, language: str | None = None) -> Recipient:
    """Partners read English, or Dutch when they list it first."""
    spoken = next((code for code in partner.languages if code in ("en", "nl")), FALLBACK_LANGUAGE)
    return Recipient(
        recipient=f"partner:{partner.partner_id}",
        region=region,
        name=partner.name,
        email=partner.contact_email,
        language=language or spoken,
        timezone=labels.city_zones.get(partner.city) or labels.country_zones.get(partner.country, "UTC"),
        chain=PARTNER_CHAIN,
    )


def partner_from(event: CloudEvent[PartnerChanged | PartnerChangedV1]) -> PartnerContact:
    return PartnerContact.model_validate(event.data.model_dump(include=set(PartnerContact.model_fields)))


def _money(amount_minor: int, currency: str) -> str:
    return f"Rp{amount_minor:,}" if currency == "IDR" else f"{amount_minor / 100:,.2f} {currency}"


def _next_step(gaps: list, language: str) -> str:
    """The first gap's next step and the programme that helps; a full score leaves no gap to name."""
    if not gaps:
        return ""
    first = gaps[0]
    steps = {"id": f"Langkah berikutnya: {first.next_step_id}.", "en": f"Next step: {first.next_step_en}."}
    help_by = f" Program: {first.programme.name} ({first.programme.url})." if first.programme else ""
    return steps.get(language, steps["en"]) + help_by


def _certificate_values(data: Any, language: str, labels: Labels) -> dict[str, object]:
    values: dict[str, object] = {
        "certificate": labels.word(labels.certificates, language, data.kind),
        "product": data.product_name,
    }
    if hasattr(data, "reason"):  # evidence rejected
        return values | {"reason": data.reason}
    renewal = data.renewal_id if language == "id" else data.renewal_en
    return values | {"expires": f"{data.expires_on:%Y-%m-%d}", "days": data.days_left, "renewal": renewal}


MONTHS = {
    "id": [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}
DAYS = {
    "id": ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}


def session_time(moment: datetime, language: str) -> str:
    """When a session starts, as the owner reads a date: in Kediri's time (every region served is in WIB)."""
    local = moment.astimezone(ZoneInfo(WIB))
    words = language if language in MONTHS else "en"
    day, month = DAYS[words][local.weekday()], MONTHS[words][local.month - 1]
    if words == "id":
        return f"{day}, {local.day} {month} {local.year} pukul {local:%H.%M} WIB"
    return f"{day} {local.day} {month} {local.year} at {local:%H:%M} WIB"


def _registry_values(event_type: str, data: Any, language: str, labels: Labels) -> dict[str, object]:
    """What the templates of the registry's events fill in, in `language`."""
    values: dict[str, object] = {}
    match event_type:
        case "ekspora.registry.readiness.assessed.v2":  # v1 beside it is for other readers: no message of its own
            values |= {
                "tier_label": labels.word(labels.tiers, language, data.tier),
                "score": data.score,
                "road_label": labels.word(labels.roads, language, data.road.road),
                "next_step": _next_step(data.road.next_steps, language),
            }
        case "ekspora.registry.certificate.expiring.v1" | "ekspora.registry.certificate.evidence_rejected.v1":
            values |= _certificate_values(data, language, labels)
        case "ekspora.registry.incubation.enrolled.v1":
            first = data.milestones[0] if data.milestones else None
            values |= {
                "cohort": data.cohort_name,
                "milestones": len(data.milestones),
                "first_milestone": (first.title_id if language == "id" else first.title_en) if first else "-",
                "first_due": f"{first.due_on:%Y-%m-%d}" if first and first.due_on else "-",
            }
        case "ekspora.registry.incubation.milestone_completed.v1":
            milestone = data.milestone.title_id if language == "id" else data.milestone.title_en
            values |= {"milestone": milestone, "remaining": data.remaining}
        case "ekspora.registry.incubation.session_scheduled.v1" | "ekspora.registry.incubation.session_coming.v1":
            session = data.session
            values |= {
                "session": session.title,
                "when": session_time(session.starts_at, language),
                "place": session.place,
                "mentor": session.mentor,
            }
        case "ekspora.registry.incubation.graduated.v1":
            values |= {"days": data.days_in_incubation, "score": data.score}
    return values


def _values(event: CloudEvent, language: str, labels: Labels, context: dict[str, str]) -> dict[str, object]:
    """What the templates of `event` fill in, in `language`."""
    data = event.data
    values: dict[str, object] = dict(context)
    if hasattr(data, "terms"):
        terms = data.terms
        values |= {
            "product": terms.product_name,
            "partner": terms.partner_name,
            "city": terms.destination_city,
            "quantity": terms.quantity,
            "unit": terms.unit,
            "price": f"{_money(terms.unit_price, terms.currency)} (Rp{terms.unit_price_idr:,})",
            "documents": labels.document_list(language, terms.documents),
            "match": terms.match_id,
        }
    if event.type.startswith("ekspora.registry."):
        return values | _registry_values(event.type, data, language, labels)
    match event.type:
        case "ekspora.matching.match.withdrawn.v1":
            values |= {"reason": data.reason_id if language == "id" else data.reason_en}
        case "ekspora.matching.match.requoted.v1":
            values |= {"previous": f"{_money(data.previous_unit_price, data.terms.currency)}"}
        case "ekspora.matching.match.proposed.v1":
            values |= {
                "score": f"{data.score:.0f}",
                "expires": f"{data.expires_at:%Y-%m-%d}",
                "why": "; ".join(part.reason_en for part in data.breakdown if part.points > 0) or "-",
            }
        case "ekspora.matching.sales.reported.v1":
            reorder = {"id": "Mitra akan memesan lagi. ", "en": "The partner will reorder. "}
            values |= {
                "units": data.units_sold,
                "revenue": _money(data.revenue_amount, data.revenue_currency),
                "returns": data.returns,
                "rating": data.rating,
                "reorder": reorder.get(language, reorder["en"]) if data.will_reorder else "",
                "comment": f"\u201c{data.comment}\u201d" if data.comment else "",
            }
        case "ekspora.shipping.shipment.status_changed.v1":
            values |= {
                "shipment": data.shipment_id,
                "status_label": labels.word(labels.statuses, language, data.status),
                "location": data.location,
                "note": data.message,
            }
        case "ekspora.shipping.shipment.documents_missing.v1":
            values |= {
                "shipment": data.shipment_id,
                "cutoff": data.cutoff_on.isoformat(),
                "missing": labels.document_list(language, data.missing),
            }
        case "ekspora.shipping.shipment.document_status_changed.v1":
            values |= {
                "shipment": data.shipment_id,
                "document": labels.document_list(language, [data.document]),
                "order": data.order_id or "-",
                "reason": data.reason or "-",
            }
        case "ekspora.shipping.feedback.requested.v1":
            values |= {"product": data.product_name, "order": data.order_id, "match": data.match_id}
    return values


def compose(
    event: CloudEvent,
    role: Role,
    recipient: Recipient,
    *,
    templates: Templates,
    labels: Labels,
    rules: MessageRules,
    context: dict[str, str],
) -> Message | None:
    """The message `recipient` gets about `event` in their role, or None when it is not theirs to get."""
    rule = rules.rule(event.type, role)
    if rule is None:
        return None
    status = getattr(event.data, "status", None)
    if rule.get("when") == "tier_changed" and event.data.previous_tier == event.data.tier:
        return None
    if rule.get("when") == "names_owner" and not getattr(event.data, "msme_id", None):
        return None
    if "statuses" in rule and status not in rule["statuses"]:
        return None
    if "by" in rule and getattr(event.data, "by", None) != rule["by"]:
        return None
    critical = bool(rule.get("critical")) or status in rules.critical_statuses
    values = _values(event, recipient.language, labels, {"owner": recipient.name} | context)
    text, used = templates.render(f"{event.type}.{role}", recipient.language, values)
    subject, _, body = text.partition("\n")
    filled = {name: str(value) for name, value in values.items()}
    return Message(
        category=rule["category"],
        critical=critical,
        language=used,
        subject=subject,
        text=body or subject,
        values=filled,
    )


def endpoint_disabled_message(
    recipient: Recipient, templates: Templates, *, url: str, endpoint_id: str, reason: str
) -> Message:
    values: dict[str, object] = {"owner": recipient.name, "url": url, "endpoint": endpoint_id, "reason": reason}
    text, used = templates.render("ekspora.webhook.endpoint.disabled.partner", recipient.language, values)
    subject, _, body = text.partition("\n")
    return Message(category="webhooks", critical=True, language=used, subject=subject, text=body)


def digest_message(region: str, day: date, counts: dict[str, int], templates: Templates, language: str) -> Message:
    """The operators' daily digest: what happened in the region on `day`, a line per figure."""
    width = max((len(name) for name in counts), default=0)
    lines = "\n".join(f"  {name.ljust(width)}  {count:>6}" for name, count in counts.items()) or "  -"
    text, used = templates.render(
        "ekspora.digest.daily.operator", language, {"region": region, "day": day.isoformat(), "lines": lines}
    )
    subject, _, body = text.partition("\n")
    return Message(category="digest", critical=False, language=used, subject=subject, text=body)


def parties(data: Any) -> tuple[list[str], list[str]]:
    """(UMKM ids, partner ids) named in an event's data."""
    source = getattr(data, "terms", None) or getattr(data, "order", None) or data
    msme_ids = list(getattr(data, "msme_ids", None) or ([source.msme_id] if getattr(source, "msme_id", None) else []))
    partner_ids = [source.partner_id] if getattr(source, "partner_id", None) else []
    return msme_ids, partner_ids
