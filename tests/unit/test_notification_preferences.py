"""Preferences: opt-outs per category and channel, quiet hours in the recipient's zone, critical bypass."""

from datetime import UTC, datetime, time

import pytest
from pydantic import ValidationError

from ekspora_notifications.preferences import Channel, Preferences, QuietHours, decide, quiet_until

OVERNIGHT = QuietHours(start=time(21), end=time(6))
CHAIN: tuple[Channel, ...] = ("whatsapp", "sms", "email", "in_app")


@pytest.mark.parametrize(
    ("utc", "zone", "quiet", "released_at_local"),
    [
        # 22:30 WIB is inside 21-06: held until 06:00 the next morning, WIB
        (datetime(2026, 11, 28, 15, 30, tzinfo=UTC), "Asia/Jakarta", OVERNIGHT, "2026-11-29T06:00:00+07:00"),
        # 02:00 WIB, after midnight: held until 06:00 the same day
        (datetime(2026, 11, 28, 19, 0, tzinfo=UTC), "Asia/Jakarta", OVERNIGHT, "2026-11-29T06:00:00+07:00"),
        # 12:00 WIB: not quiet
        (datetime(2026, 11, 28, 5, 0, tzinfo=UTC), "Asia/Jakarta", OVERNIGHT, None),
        # the same instant is 06:00 in Amsterdam (quiet ends exactly then: not quiet)
        (datetime(2026, 11, 28, 5, 0, tzinfo=UTC), "Europe/Amsterdam", OVERNIGHT, None),
        # and 16:00 in Sydney (summer time, UTC+11): not quiet
        (datetime(2026, 11, 28, 5, 0, tzinfo=UTC), "Australia/Sydney", OVERNIGHT, None),
        # 23:00 in Melbourne (UTC+11): held until 06:00 there
        (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), "Australia/Melbourne", OVERNIGHT, "2026-11-29T06:00:00+11:00"),
        # a daytime window (13:00-14:00) around 13:30 Amsterdam (UTC+1)
        (
            datetime(2026, 11, 28, 12, 30, tzinfo=UTC),
            "Europe/Amsterdam",
            QuietHours(start=time(13), end=time(14)),
            "2026-11-28T14:00:00+01:00",
        ),
        (datetime(2026, 11, 28, 12, 30, tzinfo=UTC), "Europe/Amsterdam", None, None),
    ],
)
def test_quiet_hours_are_kept_in_the_recipients_own_time_zone(utc, zone, quiet, released_at_local):
    released = quiet_until(utc, zone, quiet)
    assert (released.isoformat() if released else None) == released_at_local


NIGHT_IN_KEDIRI = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)  # 23:00 WIB
NOON_IN_KEDIRI = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("wishes", "category", "critical", "now", "action", "channels"),
    [
        (Preferences(), "matches", False, NOON_IN_KEDIRI, "send", list(CHAIN)),
        (Preferences(opted_out_categories=["matches"]), "matches", False, NOON_IN_KEDIRI, "skip", []),
        (Preferences(opted_out_categories=["matches"]), "readiness", False, NOON_IN_KEDIRI, "send", list(CHAIN)),
        (Preferences(opted_out_categories=["documents"]), "documents", True, NOON_IN_KEDIRI, "send", list(CHAIN)),
        (Preferences(opted_out_channels=["whatsapp"]), "matches", False, NOON_IN_KEDIRI, "send", CHAIN[1:]),
        (Preferences(opted_out_channels=list(CHAIN)), "matches", False, NOON_IN_KEDIRI, "skip", []),
        (Preferences(opted_out_channels=list(CHAIN)), "shipments", True, NOON_IN_KEDIRI, "send", list(CHAIN)),
        (Preferences(opted_out_channels=["whatsapp"]), "documents", True, NOON_IN_KEDIRI, "send", CHAIN[1:]),
        (Preferences(stopped_on_whatsapp=True), "matches", False, NOON_IN_KEDIRI, "send", ["in_app"]),
        (Preferences(stopped_on_whatsapp=True), "documents", True, NOON_IN_KEDIRI, "send", CHAIN[1:]),
        (Preferences(stopped_on_whatsapp=True), "documents", True, NIGHT_IN_KEDIRI, "send", CHAIN[1:]),
        (Preferences(quiet_hours=OVERNIGHT), "matches", False, NIGHT_IN_KEDIRI, "hold", list(CHAIN)),
        (Preferences(quiet_hours=OVERNIGHT), "shipments", True, NIGHT_IN_KEDIRI, "send", list(CHAIN)),
        (Preferences(quiet_hours=OVERNIGHT), "matches", False, NOON_IN_KEDIRI, "send", list(CHAIN)),
        (
            Preferences(quiet_hours=OVERNIGHT, opted_out_channels=["whatsapp", "sms", "email"]),
            "matches",
            False,
            NIGHT_IN_KEDIRI,
            "send",
            ["in_app"],
        ),
        (
            Preferences(quiet_hours=OVERNIGHT, timezone="Europe/Amsterdam"),
            "matches",
            False,
            NIGHT_IN_KEDIRI,
            "send",
            list(CHAIN),
        ),
    ],
)
def test_what_a_recipient_agreed_to(wishes, category, critical, now, action, channels):
    decision = decide(
        category=category, critical=critical, chain=CHAIN, preferences=wishes, zone="Asia/Jakarta", now=now
    )
    assert decision.action == action
    assert decision.channels == list(channels)
    if action == "hold":
        assert decision.release_at.isoformat() == "2026-11-29T06:00:00+07:00"


def test_preferences_refuse_unknown_categories_channels_and_zones():
    with pytest.raises(ValidationError, match="opted_out_categories"):
        Preferences(opted_out_categories=["spam"])
    with pytest.raises(ValidationError, match="opted_out_channels"):
        Preferences(opted_out_channels=["pigeon"])
    with pytest.raises(ValidationError, match="unknown time zone"):
        Preferences(timezone="Asia/Kediri")


def test_quiet_hours_setting_parses_or_means_none():
    assert QuietHours.parse("21:00-06:00") == OVERNIGHT
    assert QuietHours.parse("") is None
