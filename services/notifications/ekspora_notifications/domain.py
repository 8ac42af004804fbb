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

    def render(self, event_type: str, language: str, values: dict[str, object]) -> tuple[str, str]:
        for candidate in (language, FALLBACK_LANGUAGE):
            template = self.templates.get(f"{event_type}.{candidate}")
            if template:
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
