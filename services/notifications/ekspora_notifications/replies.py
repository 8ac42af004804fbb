"""What an UMKM owner's WhatsApp message asks, and what they are answered. Pure, no I/O.

An owner answers a proposal with a reply button (its id names the proposal) or by typing 1 or 2
(the newest open proposal to any of their businesses); anything else gets the help text. The words
and the answers are data (`data/replies.yaml`)."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from ekspora_notifications.domain import DATA_DIR, FALLBACK_LANGUAGE

Intent = Literal["accept", "decline", "report", "stop", "start", "help"]
Answer = Literal["accepted", "declined", "no_open_proposal", "report", "no_report", "stopped", "started", "help"]


@dataclass(frozen=True)
class Asked:
    intent: Intent
    match_id: str | None = None  # the proposal a reply button named


@dataclass(frozen=True)
class OpenProposal:
    match_id: str
    msme_id: str
    product: str
    partner: str
    proposed_at: datetime


class Replies:
    def __init__(self, path: Path = DATA_DIR / "replies.yaml") -> None:
        data = yaml.safe_load(path.read_text())
        self.words: dict[str, set[str]] = {intent: set(words) for intent, words in data["words"].items()}
        self.buttons: set[str] = set(data["buttons"])
        self.report_steps: int = data["report_steps"]
        self.answers: dict[str, dict[str, Template]] = {
            answer: {language: Template(text) for language, text in texts.items()}
            for answer, texts in data["answers"].items()
        }

    def read(self, text: str | None, button_id: str | None) -> Asked:
        """What a message asks: a reply button's intent and proposal, or a typed word's intent."""
        if button_id:
            intent, _, match_id = button_id.partition(":")
            if intent in self.buttons and match_id:
                return Asked(intent, match_id)  # type: ignore[arg-type]
        said = (text or "").strip().upper()
        for intent, words in self.words.items():
            if said in words:
                return Asked(intent)  # type: ignore[arg-type]
        return Asked("help")

    def answer(self, answer: Answer, language: str, values: dict[str, str]) -> str:
        texts = self.answers[answer]
        return (texts.get(language) or texts[FALLBACK_LANGUAGE]).safe_substitute(values)


def answered(asked: Asked, open_proposals: list[OpenProposal]) -> OpenProposal | None:
    """The proposal an answer is for: the one its button named, if still open to this owner, else
    the newest open one; None when there is none to answer."""
    if asked.match_id is not None:
        return next((p for p in open_proposals if p.match_id == asked.match_id), None)
    return max(open_proposals, key=lambda p: p.proposed_at, default=None)


def outcome(asked: Asked, proposal: OpenProposal | None, *, has_report: bool) -> Answer:
    match asked.intent:
        case "accept" | "decline" if proposal is None:
            return "no_open_proposal"
        case "accept":
            return "accepted"
        case "decline":
            return "declined"
        case "report":
            return "report" if has_report else "no_report"
        case "stop":
            return "stopped"
        case "start":
            return "started"
    return "help"


class Readiness(BaseModel):
    """The newest assessment of an UMKM, as notifications heard it: what a report shows."""

    model_config = ConfigDict(extra="forbid")

    msme_id: str
    tier: str
    score: int
    gaps: list[dict[str, str]]  # code, next_step_id, next_step_en
    assessed_at: datetime


def next_steps(readiness: Readiness, language: str, at_most: int) -> list[str]:
    key = "next_step_id" if language == "id" else "next_step_en"
    return [gap[key] for gap in readiness.gaps[:at_most]]


class OwnerMessage(BaseModel):
    """One WhatsApp message received, handled once: who sent it, what it asked, what was answered."""

    model_config = ConfigDict(extra="forbid")

    message_id: str
    version: int = 0
    phone: str | None
    user_id: str | None
    msme_id: str | None  # None: from no owner Ekspora knows, and not answered
    asked: Intent
    answer: Answer | None
    match_id: str | None = None
    product: str | None = None
    partner: str | None = None
    sent_at: datetime
    received_at: datetime
