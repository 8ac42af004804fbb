"""The operations screen's adapter: the bus's own state for a region (its dead letters and how far
each consumer group is behind), read as the console's bus principal; and the replay of one dead
letter, recorded in the console's store with who asked for it, so that it happens once."""

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ekspora_console.sessions import Person
from ekspora_contracts.topics import CATALOGUE, DEAD_LETTER
from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock
from ekspora_kit.deadletters import DeadLetter, newest_dead_letters, replay_one
from ekspora_kit.lag import region_lag


class AlreadyReplayed(Exception):
    pass


@dataclass(frozen=True)
class Replay:
    by: str
    at: datetime


@dataclass(frozen=True)
class Letter:
    letter: DeadLetter
    replay: Replay | None
    replayable: bool


@dataclass(frozen=True)
class Letters:
    shown: list[Letter]
    held: int  # all the region's dead letters, of which the newest are shown


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    behind: int


def _replay_id(region: str, partition: int, offset: int) -> str:
    return f"{region}:{partition}:{offset}"


def region_topics(region: str) -> set[str]:
    return {stream.topic(region) for stream in CATALOGUE if stream.scope == "region" and stream != DEAD_LETTER}


# the newest of each of the dead-letter topic's partitions; the topic only grows, and a screen of
# hundreds is already more than a person reads
NEWEST_LETTERS = 100


class Operations:
    def __init__(self, access: BusAccess, db: AsyncDatabase, clock: Clock) -> None:
        self.access, self.replays, self.clock = access, db["replays"], clock

    async def letters(self, region: str) -> Letters:
        """The region's newest dead letters, newest first, each with its replay if there was one."""
        found, held = await newest_dead_letters(self.access, region, NEWEST_LETTERS)
        ids = [_replay_id(region, letter.partition, letter.offset) for letter in found]
        # by the region, an equality FerretDB serves without decoding other regions' replays ($in it would not)
        replays = {doc["_id"]: Replay(doc["by"], doc["at"]) async for doc in self.replays.find({"region": region})}
        writable = region_topics(region)
        shown = [
            Letter(letter, replays.get(replay_id), letter.original_topic in writable)
            for letter, replay_id in sorted(
                zip(found, ids, strict=True), key=lambda pair: pair[0].failed_at, reverse=True
            )
        ]
        return Letters(shown, held)

    async def lag(self, region: str) -> list[Lag]:
        return [Lag(*row) for row in await region_lag(self.access, region)]

    async def replay(self, region: str, partition: int, offset: int, person: Person) -> DeadLetter:
        """Claims the replay first, so that two clicks (or two console instances) publish it once;
        a failed publication gives the claim back."""
        replay_id = _replay_id(region, partition, offset)
        try:
            await self.replays.insert_one(
                {
                    "_id": replay_id,
                    "region": region,
                    "by": person.name,
                    "person_id": person.person_id,
                    "at": self.clock.now(),
                }
            )
        except DuplicateKeyError as claimed:
            raise AlreadyReplayed(replay_id) from claimed
        try:
            return await replay_one(self.access, region, partition, offset, only_to=region_topics(region))
        except BaseException:
            await self.replays.delete_one({"_id": replay_id})
            raise
