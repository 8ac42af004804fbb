"""What goes to the WhatsApp Cloud API for one message to an owner, without I/O.

Inside the 24-hour window that an owner's own message opens, the message's own text goes, with
reply buttons when it can be answered (a proposal: Terima / Tolak); outside it, only a template
registered with Meta may (`data/whatsapp_templates.yaml`), its body parameters filled from the
message's values. A message without a template cannot go outside the window (None): it falls back
to the next channel."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ekspora_notifications.domain import DATA_DIR, FALLBACK_LANGUAGE

WINDOW = timedelta(hours=24)
BODY_LIMIT, INTERACTIVE_BODY_LIMIT, BUTTON_TITLE_LIMIT = 4096, 1024, 20


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    category: str
    languages: tuple[str, ...]
    parameters: tuple[str, ...]
    buttons: tuple[str, ...]


class WhatsAppTemplates:
    def __init__(self, path: Path = DATA_DIR / "whatsapp_templates.yaml") -> None:
        data = yaml.safe_load(path.read_text())
        self.templates = {
            event_type: TemplateSpec(
                name=spec["name"],
                category=spec["category"],
                languages=tuple(spec["languages"]),
                parameters=tuple(spec["parameters"]),
                buttons=tuple(spec.get("buttons", ())),
            )
            for event_type, spec in data["templates"].items()
        }
        self.button_titles: dict[str, dict[str, str]] = data["button_titles"]

    def of(self, event_type: str) -> TemplateSpec | None:
        return self.templates.get(event_type)


def window_open(last_message_from_owner: datetime | None, now: datetime) -> bool:
    return last_message_from_owner is not None and now - last_message_from_owner < WINDOW


def parameter(value: object) -> str:
    """A template parameter as Meta takes it: no new lines or tabs, no runs of spaces, never empty."""
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or "-"


def content(
    templates: WhatsAppTemplates,
    event_type: str,
    language: str,
    text: str,
    values: dict[str, str],
    *,
    in_window: bool,
) -> dict[str, Any] | None:
    """The message's part of a Cloud API request (`type` and its object), or None when it may not
    go: outside the window without a template."""
    spec = templates.of(event_type)
    match = values.get("match")
    if in_window:
        if spec and spec.buttons and match:
            return _interactive(templates, spec, language, text, match)
        return {"type": "text", "text": {"body": text[:BODY_LIMIT], "preview_url": False}}
    if spec is None:
        return None
    code = language if language in spec.languages else FALLBACK_LANGUAGE
    components: list[dict[str, Any]] = [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": parameter(values.get(name, "-"))} for name in spec.parameters],
        }
    ]
    if match:
        components += [
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": f"{intent}:{match}"}],
            }
            for index, intent in enumerate(spec.buttons)
        ]
    return {"type": "template", "template": {"name": spec.name, "language": {"code": code}, "components": components}}


def _interactive(
    templates: WhatsAppTemplates, spec: TemplateSpec, language: str, text: str, match: str
) -> dict[str, Any]:
    buttons = [
        {
            "type": "reply",
            "reply": {
                "id": f"{intent}:{match}",
                "title": (templates.button_titles[intent].get(language) or templates.button_titles[intent]["en"])[
                    :BUTTON_TITLE_LIMIT
                ],
            },
        }
        for intent in spec.buttons
    ]
    body = {"text": text[:INTERACTIVE_BODY_LIMIT]}
    return {"type": "interactive", "interactive": {"type": "button", "body": body, "action": {"buttons": buttons}}}
