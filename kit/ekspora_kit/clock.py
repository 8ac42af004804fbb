"""The time a service believes it is: the one place that reads the wall clock.

Tests and demos shift it with EKSPORA_CLOCK_OFFSET_SECONDS (libfaketime breaks Python's
`time.sleep`), so every process of a run, services and test clients alike, agrees on "now".

`python -m ekspora_kit.clock offset-to 07:30` prints the offset that puts a clock at the next
07:30 in the operators' zone (Asia/Jakarta unless --zone says otherwise)."""

import argparse
import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OFFSET_VARIABLE = "EKSPORA_CLOCK_OFFSET_SECONDS"
WIB = "Asia/Jakarta"  # the zone of every region served so far (Kediri, Blitar)


class Clock:
    def __init__(self, offset_seconds: float = 0) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    @classmethod
    def from_environment(cls) -> "Clock":
        """The clock of a process outside a service (a test, the demo): shifted as the services are."""
        return cls(float(os.environ.get(OFFSET_VARIABLE) or 0))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self, zone: str) -> date:
        return self.now().astimezone(ZoneInfo(zone)).date()

    def unix_seconds(self) -> int:
        return int(self.now().timestamp())

    def offset_to(self, moment: datetime) -> float:
        """The EKSPORA_CLOCK_OFFSET_SECONDS that makes a process's clock read `moment` now."""
        return (moment - datetime.now(UTC)).total_seconds()


def next_local(at: time, zone: str, after: datetime) -> datetime:
    """The first moment at or after `after` whose local time in `zone` is `at`."""
    local = after.astimezone(ZoneInfo(zone))
    candidate = datetime.combine(local.date(), at, tzinfo=ZoneInfo(zone))
    return candidate if candidate >= local else candidate + timedelta(days=1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ekspora_kit.clock", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    offset = commands.add_parser("offset-to", help="print the clock offset (seconds) that reaches a local time")
    offset.add_argument("at", type=time.fromisoformat, help="local time, e.g. 06:30 or 23:59:30")
    offset.add_argument("--zone", default=WIB)
    arguments = parser.parse_args()
    clock = Clock()
    print(round(clock.offset_to(next_local(arguments.at, arguments.zone, clock.now()))))


if __name__ == "__main__":
    main()
