"""The kit's load-apply-save loop, against an in-memory store whose rival writers win on demand."""

import pytest
from pydantic import BaseModel

from ekspora_kit.aggregates import SAVE_ATTEMPTS, VersionConflict, change
from ekspora_kit.domain import Busy, NotFound


class Counter(BaseModel):
    count: int = 0
    version: int = 1


class InMemoryStore:
    """Compare-and-set on `version`; before each of the first `rivals` saves another writer saves first."""

    def __init__(self, *, rivals: int = 0) -> None:
        self.stored: dict[str, Counter] = {"c": Counter()}
        self.rivals, self.loads, self.saves = rivals, 0, 0

    async def load(self) -> Counter:
        self.loads += 1
        if "c" not in self.stored:
            raise NotFound("no counter c")
        return self.stored["c"]

    async def save(self, current: Counter, decided: Counter) -> Counter:
        self.saves += 1
        if self.rivals:
            self.rivals -= 1
            rival = self.stored["c"]
            self.stored["c"] = rival.model_copy(update={"count": rival.count + 10, "version": rival.version + 1})
        if self.stored["c"].version != current.version:
            raise VersionConflict("c")
        self.stored["c"] = decided.model_copy(update={"version": current.version + 1})
        return self.stored["c"]


def add_one(counter: Counter) -> Counter:
    return counter.model_copy(update={"count": counter.count + 1})


@pytest.mark.parametrize(
    ("rivals", "loads", "count", "version"),
    [
        (0, 1, 1, 2),  # nobody else: one load, one save
        (1, 2, 11, 3),  # a rival saved first: applied again to what the rival stored
        (SAVE_ATTEMPTS - 1, SAVE_ATTEMPTS, 10 * (SAVE_ATTEMPTS - 1) + 1, SAVE_ATTEMPTS + 1),  # the last attempt wins
    ],
)
async def test_a_conflict_loads_and_applies_again_and_no_update_is_lost(rivals, loads, count, version):
    store = InMemoryStore(rivals=rivals)
    current, saved = await change(store.load, add_one, store.save, what="counter c")
    assert saved is not None and saved.count == count and saved.version == version
    assert store.stored["c"] == saved
    assert store.loads == store.saves == loads
    assert current.count == count - 1, "the state the winning attempt started from"


async def test_a_conflict_on_every_attempt_is_busy_and_stores_nothing_of_ours():
    store = InMemoryStore(rivals=SAVE_ATTEMPTS)
    with pytest.raises(Busy, match="counter c is being changed by others"):
        await change(store.load, add_one, store.save, what="counter c")
    assert store.saves == SAVE_ATTEMPTS
    assert store.stored["c"].count == 10 * SAVE_ATTEMPTS, "only the rivals' updates are stored"


async def test_an_operation_with_nothing_to_do_saves_nothing():
    store = InMemoryStore()
    current, saved = await change(store.load, lambda counter: None, store.save, what="counter c")
    assert saved is None and current == Counter() and store.saves == 0


async def test_a_missing_aggregate_is_not_found_and_not_retried():
    store = InMemoryStore()
    del store.stored["c"]
    with pytest.raises(NotFound):
        await change(store.load, add_one, store.save, what="counter c")
    assert store.loads == 1
