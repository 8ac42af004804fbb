"""The time a service believes it is. Tests and demos may shift it (EKSPORA_CLOCK_OFFSET_SECONDS)."""

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, offset_seconds: float = 0) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset
