"""The registry's use cases: load an UMKM, apply a pure rule, store the result with its events."""

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import uuid4

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit import aggregates
from ekspora_kit.clock import Clock
from ekspora_kit.domain import NotAllowed, NotFound
from ekspora_kit.events import envelopes
from ekspora_registry import domain
from ekspora_registry.policy import Rubric
from ekspora_registry.store import RegistryStore

SAVE_FINISHES_WITHIN = timedelta(seconds=30)
Operation = Callable[[domain.Msme, datetime], domain.Change | None]


class RegistryService:
    def __init__(self, store: RegistryStore, rubric: Rubric, clock: Clock) -> None:
        self.store = store
        self.rubric = rubric
        self.clock = clock

    async def register(self, command: domain.RegisterMsme) -> domain.Msme:
        change = domain.register(command, f"msme-{uuid4().hex[:12]}", self.clock.now(), self.rubric)
        return await self.store.add(change, self._envelopes(change, causation_id=None))

    async def change(self, msme_id: str, operation: Operation, *, causation_id: str | None = None) -> domain.Msme:
        """Applies `operation` to the current UMKM; re-reads and re-applies if it changed meanwhile."""

        async def load() -> domain.Msme:
            msme = await self.store.get(msme_id)
            if msme is None:
                raise NotFound(f"no UMKM with id {msme_id}")
            if msme.withdrawn_at:
                raise NotAllowed(f"UMKM {msme_id} withdrew on {msme.withdrawn_at:%Y-%m-%d}")
            return msme

        def apply(msme: domain.Msme) -> domain.Change | None:
            change = operation(msme, self.clock.now())
            return None if change is None or (not change.events and change.msme == msme) else change

        async def save(msme: domain.Msme, change: domain.Change) -> domain.Msme:
            return await self.store.save(change, msme.version, self._envelopes(change, causation_id))

        current, saved = await aggregates.change(load, apply, save, what=f"UMKM {msme_id}")
        return saved or current

    async def expire_due_certificates(self, batch: int = 200) -> int:
        checked_at = self.clock.now()
        due = await self.store.due_for_expiry(checked_at, limit=batch)
        for msme_id in due:
            await self.change(msme_id, lambda msme, now: domain.certificate_moments(msme, now, self.rubric))
        if len(due) < batch:
            await self.store.expiry_checked(checked_at)
        return len(due)

    async def relist_behind(self) -> int:
        """List entries a crash left behind their UMKM, brought up once the save that marked them has
        had time to finish."""
        return await self.store.relist_behind(self.clock.now() - SAVE_FINISHES_WITHIN)

    async def enrol(self, cohort_id: str, msme_id: str) -> domain.Msme:
        cohort = await self.store.cohort(cohort_id)
        if cohort is None:
            raise NotFound(f"no cohort {cohort_id}")
        return await self.change(msme_id, lambda msme, now: domain.enrol(msme, cohort, now, self.rubric))

    def _envelopes(self, change: domain.Change, causation_id: str | None) -> list[CloudEvent]:
        return envelopes(
            change.events,
            region=change.msme.region,
            producer="registry",
            time=self.clock.now(),
            causation_id=causation_id,
        )
