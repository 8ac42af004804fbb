"""The registry's use cases: load an UMKM, apply a pure rule, store the result with its events."""

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import uuid4

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.clock import Clock
from ekspora_kit.domain import Busy
from ekspora_kit.events import envelopes
from ekspora_registry import domain
from ekspora_registry.rubric import Rubric
from ekspora_registry.store import RegistryStore, VersionConflict

logger = logging.getLogger(__name__)
Operation = Callable[[domain.Msme, datetime], domain.Change | None]
SAVE_ATTEMPTS = 5


class UnknownMsme(LookupError):
    pass


class RegistryService:
    def __init__(self, store: RegistryStore, rubric: Rubric, clock: Clock, on_saved: Callable[[], None]) -> None:
        self.store = store
        self.rubric = rubric
        self.clock = clock
        self.on_saved = on_saved

    async def register(self, command: domain.RegisterMsme) -> domain.Msme:
        change = domain.register(command, f"msme-{uuid4().hex[:12]}", self.clock.now(), self.rubric)
        await self.store.add(change, self._envelopes(change, causation_id=None))
        self.on_saved()
        return change.msme

    async def change(self, msme_id: str, operation: Operation, *, causation_id: str | None = None) -> domain.Msme:
        """Applies `operation` to the current UMKM; re-reads and re-applies if it changed meanwhile."""
        for _ in range(SAVE_ATTEMPTS):
            msme = await self.store.get(msme_id)
            if msme is None:
                raise UnknownMsme(f"no UMKM with id {msme_id}")
            if msme.withdrawn_at:
                raise domain.NotAllowed(f"UMKM {msme_id} withdrew on {msme.withdrawn_at:%Y-%m-%d}")
            change = operation(msme, self.clock.now())
            if change is None or (not change.events and change.msme == msme):
                return msme
            try:
                saved = await self.store.save(change, msme.version, self._envelopes(change, causation_id))
            except VersionConflict:
                logger.info("UMKM %s changed while being updated; applying again", msme_id)
                continue
            self.on_saved()
            return saved
        raise Busy(f"UMKM {msme_id} is being changed by others; try again")

    async def expire_due_certificates(self) -> int:
        due = await self.store.due_for_expiry(self.clock.now())
        for msme_id in due:
            await self.change(msme_id, lambda msme, now: domain.expire_certificates(msme, now, self.rubric))
        return len(due)

    async def enrol(self, cohort_id: str, msme_id: str) -> domain.Msme:
        cohort = await self.store.cohort(cohort_id)
        if cohort is None:
            raise LookupError(f"no cohort {cohort_id}")
        return await self.change(msme_id, lambda msme, now: domain.enrol(msme, cohort, now, self.rubric))

    def _envelopes(self, change: domain.Change, causation_id: str | None) -> list[CloudEvent]:
        return envelopes(
            change.events,
            region=change.msme.region,
            producer="registry",
            time=self.clock.now(),
            causation_id=causation_id,
        )
