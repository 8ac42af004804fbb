"""What a recipient agreed to receive, and when. Pure: no I/O, the clock is an argument.

Preferences are per recipient: categories and channels opted out of, and quiet hours in the
recipient's time zone. Critical messages (a shipment exception, documents missing near the
cutoff) bypass both. The in-app feed is a record the recipient reads when they choose, so quiet
hours never hold it back.
"""

from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Category = Literal["readiness", "incubation", "matches", "shipments", "documents", "sales", "digest", "webhooks"]
Channel = Literal["whatsapp", "sms", "email", "in_app"]
PUSH_CHANNELS: tuple[Channel, ...] = ("whatsapp", "sms", "email")


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: time = Field(description="Local time quiet hours begin, e.g. 21:00")
    end: time = Field(description="Local time they end, e.g. 06:00; before start means overnight")

    @classmethod
    def parse(cls, setting: str) -> "QuietHours | None":
        """`21:00-06:00` -> QuietHours; empty -> None."""
        if not setting.strip():
            return None
        start, _, end = setting.partition("-")
        return cls(start=time.fromisoformat(start.strip()), end=time.fromisoformat(end.strip()))


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opted_out_categories: list[Category] = Field(default_factory=list)
    opted_out_channels: list[Channel] = Field(default_factory=list)
    quiet_hours: QuietHours | None = None
    timezone: str | None = Field(default=None, description="IANA zone; the contact's own zone when unset")
    language: Literal["id", "en", "nl"] | None = Field(default=None, description="Overrides the usual language")
    stopped_on_whatsapp: bool = Field(
        default=False,
        description="The owner sent BERHENTI (STOP) on WhatsApp: only critical messages reach them, and not on"
        " WhatsApp; MULAI (START) clears it",
    )

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, zone: str | None) -> str | None:
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown time zone {zone!r}; use an IANA name like Asia/Jakarta") from error
        return zone


class Decision(BaseModel):
    """`send` on `channels` now, `hold` until `release_at`, or `skip` for `reason`."""

    action: Literal["send", "hold", "skip"]
    channels: list[Channel] = Field(default_factory=list)
    release_at: datetime | None = None
    reason: str = ""


def quiet_until(now: datetime, zone: str, quiet: QuietHours | None) -> datetime | None:
    """When the quiet hours `now` falls in end (aware), or None when it is not quiet now."""
    if quiet is None or quiet.start == quiet.end:
        return None
    local = now.astimezone(ZoneInfo(zone))
    clock = local.time().replace(tzinfo=None)
    overnight = quiet.start > quiet.end
    inside = (clock >= quiet.start or clock < quiet.end) if overnight else quiet.start <= clock < quiet.end
    if not inside:
        return None
    end_day = local.date() + timedelta(days=1) if overnight and clock >= quiet.start else local.date()
    return datetime.combine(end_day, quiet.end, tzinfo=local.tzinfo)


def decide(
    *,
    category: str,
    critical: bool,
    chain: tuple[Channel, ...],
    preferences: Preferences,
    zone: str,
    now: datetime,
) -> Decision:
    """Which of `chain` may carry a message now. Critical messages bypass category opt-outs and
    quiet hours, and go by the channels not opted out of (an owner who sent STOP on WhatsApp gets
    them by SMS), or by every channel when all were."""
    if preferences.stopped_on_whatsapp:
        chain = tuple(channel for channel in chain if channel != "whatsapp" and (critical or channel == "in_app"))
    if critical:
        kept = [channel for channel in chain if channel not in preferences.opted_out_channels]
        return Decision(action="send", channels=kept if set(kept) - {"in_app"} else list(chain))
    if category in preferences.opted_out_categories:
        return Decision(action="skip", reason=f"opted out of {category}")
    channels = [channel for channel in chain if channel not in preferences.opted_out_channels]
    if not channels:
        return Decision(action="skip", reason="opted out of every channel that could carry it")
    release_at = quiet_until(now, preferences.timezone or zone, preferences.quiet_hours)
    if release_at is not None and any(channel in PUSH_CHANNELS for channel in channels):
        return Decision(action="hold", channels=channels, release_at=release_at, reason="quiet hours")
    return Decision(action="send", channels=channels)
