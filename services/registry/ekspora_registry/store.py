"""Every database call of the registry lives here.

One document per UMKM holds its profile, products, current assessment and incubation; every save
goes through its change record, which holds the events it causes and the assessment history (see
ekspora_kit.changes). `version` guards against lost updates: a save succeeds only against the
version it read.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.aggregates import VersionedStore
from ekspora_kit.documents import to_document
from ekspora_registry.domain import Assessment, Change, Cohort, Msme

EXPIRY_CHECK = "certificate_expiry"
FIRST_EXPIRY_CHECK = "scan: the first expiry check, for expiries stored before checks were recorded"


def query_fields(msme: Msme) -> dict[str, Any]:
    """What the registry selects UMKM by, at the top level of their documents (see ekspora_kit.scans)."""
    expiry = msme.next_certificate_expiry if msme.withdrawn_at is None else None
    return {
        "region": msme.profile.region,
        "nib": msme.profile.nib,
        "sector": msme.profile.sector,
        "kecamatan": msme.profile.kecamatan,
        "tier": msme.tier,
        "product_ids": [product.product_id for product in msme.products],
        "cohort_id": msme.incubation.cohort_id if msme.incubation else None,
        "incubation_stage": None
        if msme.incubation is None
        else "graduated"
        if msme.incubation.graduated_at
        else "enrolled",
        "expiry_day": expiry.date().isoformat() if expiry else None,
    }


class DuplicateNib(Exception):
    pass


class RegistryStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.msmes = db["msmes"]
        self.cohorts = db["cohorts"]
        self.checks = db["checks"]
        self.aggregates = VersionedStore(self.msmes, Msme, derive=query_fields)

    async def ensure_indexes(self) -> None:
        await self.msmes.create_index("nib", unique=True)
        await self.msmes.create_index([("region", 1), ("registered_at", 1)])
        await self.msmes.create_index([("region", 1), ("tier", 1)])
        await self.msmes.create_index("product_ids")
        await self.msmes.create_index("expiry_day", sparse=True)
        await self.msmes.create_index("cohort_id", sparse=True)
        await self.cohorts.create_index([("region", 1), ("starts_on", 1)])

    async def add(self, change: Change, events: Sequence[CloudEvent]) -> Msme:
        try:
            return await self.aggregates.insert(change.msme.msme_id, change.msme, events, history=_history(change))
        except DuplicateKeyError as error:
            raise DuplicateNib(change.msme.profile.nib) from error

    async def save(self, change: Change, expected_version: int, events: Sequence[CloudEvent]) -> Msme:
        return await self.aggregates.replace(
            change.msme.msme_id, change.msme, expected_version, events, history=_history(change)
        )

    async def get(self, msme_id: str) -> Msme | None:
        return await self.aggregates.get(msme_id)

    async def owner_of_product(self, product_id: str) -> str | None:
        document = await self.msmes.find_one({"product_ids": product_id}, {"_id": 1})
        return document["_id"] if document else None

    async def page(
        self, region: str, *, filters: dict[str, str | None], skip: int, limit: int
    ) -> tuple[list[Msme], int]:
        """One page of a region's UMKM; `filters` are equalities on query fields (tier, sector, kecamatan, nib)."""
        query: dict = {"region": region} | {field: value for field, value in filters.items() if value}
        total = await self.msmes.count_documents(query)
        cursor = self.msmes.find(query).sort("registered_at", 1).skip(skip).limit(limit)
        return [self.aggregates.parse(document) async for document in cursor], total

    async def funnel(self, region: str) -> dict[tuple[str | None, str | None], int]:
        """How many of the region's UMKM are at each (tier, incubation), counted in one pass."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"region": region}},
            {"$group": {"_id": {"tier": "$tier", "incubation": "$incubation_stage"}, "count": {"$sum": 1}}},
        ]
        cursor = await self.msmes.aggregate(pipeline, comment="scan: a region's funnel counts, one pass")
        return {(d["_id"].get("tier"), d["_id"].get("incubation")): d["count"] async for d in cursor}

    async def history(self, msme_id: str) -> list[Assessment]:
        """Its assessments, newest first."""
        entries = await self.aggregates.history(msme_id, "assessments")
        return [Assessment.model_validate(entry) for entry in reversed(entries)]

    async def due_for_expiry(self, now: datetime, limit: int = 200) -> list[str]:
        """UMKM whose next certificate expiry has come. An expiry is always later than the moment it
        is stored, and kept by its UTC day, so the days since the last complete check hold them all."""
        due = {"next_certificate_expiry": {"$lte": now}, "withdrawn_at": None}
        checked = await self.checks.find_one({"_id": EXPIRY_CHECK})
        if checked is None:
            cursor = self.msmes.find(due, {"_id": 1}, comment=FIRST_EXPIRY_CHECK).limit(limit)
            return [document["_id"] async for document in cursor]
        found: list[str] = []
        day = date.fromisoformat(checked["day"])
        while day <= now.date() and len(found) < limit:
            cursor = self.msmes.find({"expiry_day": day.isoformat(), **due}, {"_id": 1}).limit(limit - len(found))
            found += [document["_id"] async for document in cursor]
            day += timedelta(days=1)
        return found

    async def expiry_checked(self, now: datetime) -> None:
        """Every expiry due by `now` was applied: later checks start from this UTC day."""
        # a day early: an expiry written while a check straddles midnight may fall on the day before
        day = (now - timedelta(days=1)).date().isoformat()
        await self.checks.replace_one({"_id": EXPIRY_CHECK}, {"day": day}, upsert=True)

    async def add_cohort(self, cohort: Cohort) -> None:
        await self.cohorts.insert_one(to_document(cohort, _id=cohort.cohort_id))

    async def cohort(self, cohort_id: str) -> Cohort | None:
        document = await self.cohorts.find_one({"_id": cohort_id})
        return Cohort.model_validate({k: v for k, v in document.items() if k != "_id"}) if document else None

    async def cohorts_of(self, region: str) -> list[Cohort]:
        cursor = self.cohorts.find({"region": region}).sort("starts_on", 1)
        return [Cohort.model_validate({k: v for k, v in d.items() if k != "_id"}) async for d in cursor]

    async def members(self, cohort_id: str) -> list[Msme]:
        cursor = self.msmes.find({"cohort_id": cohort_id}).sort("registered_at", 1)
        return [self.aggregates.parse(document) async for document in cursor]


def _history(change: Change) -> dict[str, object]:
    return {"assessments": to_document(change.new_assessment)} if change.new_assessment else {}
