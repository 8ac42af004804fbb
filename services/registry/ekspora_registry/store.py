"""Every database call of the registry lives here.

One document per UMKM holds its profile, products, current assessment and incubation; every save
goes through its change record, which holds the events it causes and the assessment history (see
ekspora_kit.changes). `version` guards against lost updates: a save succeeds only against the
version it read.
"""

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.topics import REGISTRY_MSME
from ekspora_kit.aggregates import VersionedStore
from ekspora_kit.documents import to_document
from ekspora_kit.domain import Busy
from ekspora_kit.tallies import Tally
from ekspora_registry.domain import Assessment, Change, Cohort, Mentor, Msme, PlatformSales, funnel
from ekspora_registry.marketplace import SaleLine

EXPIRY_CHECK = "certificate_expiry"
FIRST_EXPIRY_CHECK = "scan: the first expiry check, for expiries stored before checks were recorded"
# a region's UMKM are numbered densely as they register, and read in blocks of this many: a page
# of the list is a few equality queries on `listing_block`, which the store narrows itself
DUPLICATE_KEY = 11000
LISTING_BLOCK = 25
NUMBERING_ATTEMPTS = 1000
LISTED_BY = ("region", "tier", "sector", "kecamatan", "cohort_id")
WALKED_BLOCKS = 40  # 40 small queries, about as long as sorting the entries of a filter matching 1,500


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
        "expiry_day": expiry.date().isoformat() if expiry else None,
        # each gap of a product that matching found open demand behind, and ANY_GAP when there is one,
        # so that selecting a cohort by it is an equality on one index
        "unlocked_gaps": unlocked_gaps(msme),
    }


ANY_GAP = "*"


def unlocked_gaps(msme: Msme) -> list[str]:
    codes = sorted({u.gap_code for product in msme.products for u in product.unlocked})
    return [ANY_GAP, *codes] if codes and msme.withdrawn_at is None else []


def listing_entry(document: Mapping[str, Any]) -> dict[str, Any]:
    """An UMKM's slim entry in the list, from its stored document: what the list is filtered and
    ordered by, and what a list shows of it. A few hundred bytes where the UMKM's document is several
    kilobytes: the store decodes every document a query matches, so lists read entries only."""
    fields = ("_id", *LISTED_BY, "version", "listing_seq", "listing_block")
    return {field: document[field] for field in fields if field in document} | shown_in_list(document)


def shown_in_list(document: Mapping[str, Any]) -> dict[str, Any]:
    """What a list shows of an UMKM, from its document (stored, or the model dumped)."""
    profile, assessment = document["profile"], document.get("assessment") or {}
    return {
        "business_name": profile["business_name"],
        "owner_name": profile["owner_name"],
        "score": assessment.get("score"),
        "products": len(document.get("products") or ()),
        "withdrawn": document.get("withdrawn_at") is not None,
    }


def summary(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An UMKM as a list shows it, from its entry."""
    shown = ("sector", "kecamatan", "tier", "cohort_id", "business_name", "owner_name", "score", "products")
    return {"msme_id": entry["_id"], "number": entry["listing_seq"], "withdrawn": entry.get("withdrawn", False)} | {
        field: entry.get(field) for field in shown
    }


def listed_mark(region: str) -> str:
    """The check that says the region's UMKM are numbered and their entries hold what lists show."""
    return f"listed-with-summaries:{region}"


def listing_place(region: str, seq: int) -> dict[str, Any]:
    """Where an UMKM stands in its region's list: its number, unique in the region, and its block."""
    return {"listing_seq": seq, "listing_block": f"{region}#{seq // LISTING_BLOCK}"}


class DuplicateNib(Exception):
    pass


@dataclass(frozen=True)
class Window:
    """Which page of a list: the `limit` after `skip`, or right after or before a number."""

    skip: int
    limit: int
    after: int | None = None
    before: int | None = None

    def holds(self, number: int) -> bool:
        if self.after is not None:
            return number > self.after
        return self.before is None or number < self.before


@dataclass(frozen=True)
class Listed:
    items: list[dict[str, Any]]  # summaries (see `summary`), in the order of their numbers
    total: int

    @property
    def numbers(self) -> list[int]:
        """Each item's number in the region's list, for the pages next to this one."""
        return [item["number"] for item in self.items]


class RegistryStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.msmes = db["msmes"]
        self.cohorts = db["cohorts"]
        self.checks = db["checks"]
        self.listing = db["listing"]  # slim entries, see listing_entry
        self.relisting = db["relisting"]  # UMKM being saved: their entries follow the save
        self.numbers = db["numbers"]  # `<region>#<n>`: taken; `next:<region>`: a lower bound of the next
        self.sale_lines = db[
            "sale_lines"
        ]  # marketplace order lines, once each by `<msme>:<platform>:<order>:<product>`
        self.aggregates = VersionedStore(self.msmes, Msme, derive=query_fields)
        self.funnel_tally = Tally("funnel", REGISTRY_MSME, db["tallies"])
        for model, steps in funnel.STEPS.items():
            self.funnel_tally.on(model, steps)

    async def ready(self, regions: Sequence[str]) -> None:
        await self.ensure_indexes()
        await self.list_unlisted(regions)

    async def ensure_indexes(self) -> None:
        await self.msmes.create_index("nib", unique=True)
        await self.listing.create_index([("region", 1), ("listing_seq", 1)])
        await self.listing.create_index("listing_block")
        await self.funnel_tally.collection.create_index("tally")
        await self.msmes.create_index("product_ids")
        await self.msmes.create_index("expiry_day", sparse=True)
        await self.msmes.create_index("cohort_id", sparse=True)
        await self.msmes.create_index([("region", 1), ("unlocked_gaps", 1)])
        await self.cohorts.create_index([("region", 1), ("starts_on", 1)])
        await self.sale_lines.create_index([("msme_id", 1), ("platform", 1)])

    async def keep_sale_lines(self, msme_id: str, platform: str, lines: Sequence[SaleLine]) -> int:
        """Keeps the lines not kept before (by order and product) and returns how many were new."""
        documents = [
            {"_id": line.key(msme_id, platform), "msme_id": msme_id, "platform": platform}
            | line.model_dump(mode="json", exclude={"line"})
            for line in lines
        ]
        if not documents:
            return 0
        try:
            return len((await self.sale_lines.insert_many(documents, ordered=False)).inserted_ids)
        except BulkWriteError as error:
            if any(fault["code"] != DUPLICATE_KEY for fault in error.details["writeErrors"]):
                raise
            return int(error.details["nInserted"])

    async def sales_totals(self, msme_id: str, platform: str, now: datetime) -> PlatformSales | None:
        lines = [
            SaleLine.model_validate(document | {"line": 0})
            async for document in self.sale_lines.find({"msme_id": msme_id, "platform": platform})
        ]
        if not lines:
            return None
        days = [line.ordered_on for line in lines]
        return PlatformSales(
            orders=len({line.order_id for line in lines}),
            units=sum(line.quantity for line in lines),
            revenue_idr=sum(line.quantity * line.unit_price_idr for line in lines),
            first_sale_on=min(days),
            last_sale_on=max(days),
            imported_at=now,
        )

    async def add(self, change: Change, events: Sequence[CloudEvent]) -> Msme:
        msme, nib = change.msme, change.msme.profile.nib
        if await self.msmes.find_one({"nib": nib}, {"_id": 1}):
            raise DuplicateNib(nib)
        place = listing_place(msme.region, await self.take_number(msme.region, msme.msme_id))
        await self._relisting(msme)
        try:
            saved = await self.aggregates.insert(msme.msme_id, msme, events, history=_history(change), placed=place)
        except DuplicateKeyError as error:  # the same NIB registered at the same instant
            raise DuplicateNib(nib) from error
        entry = {"_id": saved.msme_id, "version": saved.version, **query_fields(saved), **place}
        with suppress(DuplicateKeyError):  # listed already by a save that came in between
            await self.listing.insert_one(listing_entry(saved.model_dump() | entry))
        await self._relisted(saved)
        return saved

    async def take_number(self, region: str, msme_id: str) -> int:
        """The region's next free number, taken by unique insert: registrations at once never share
        one, and each tries the next one only when it lost the one before. A registration that fails
        after taking its number (a NIB registered twice at the same instant, a crash) leaves it
        taken: a page one UMKM shorter, and a region size one more than there are UMKM."""
        seq = await self.listed_in(region)
        for _ in range(NUMBERING_ATTEMPTS):
            try:
                await self.numbers.insert_one({"_id": f"{region}#{seq}", "msme_id": msme_id})
            except DuplicateKeyError:
                seq += 1
                continue
            with suppress(DuplicateKeyError):  # another instance's first number here, at the same instant
                await self.numbers.update_one({"_id": f"next:{region}"}, {"$max": {"next": seq + 1}}, upsert=True)
            return seq
        raise Busy(f"registrations in {region} keep taking the next number; try again")

    async def listed_in(self, region: str) -> int:
        """How many UMKM the region has numbered: its next number."""
        hint = await self.numbers.find_one({"_id": f"next:{region}"})
        seq = hint["next"] if hint else 0
        while await self.numbers.find_one({"_id": f"{region}#{seq}"}):
            seq += 1  # taken since the hint was written, or its hint write was lost
        return seq

    async def list_unlisted(self, regions: Sequence[str]) -> None:
        """UMKM stored before the list was numbered get their numbers, in order of registration, and
        their entries, once per region."""
        for region in regions:
            done = listed_mark(region)
            if await self.checks.find_one({"_id": done}):
                continue
            stored = self.msmes.find({"region": region}, comment="scan: listing UMKM stored before the list, once")
            # instances starting together may both list: each UMKM keeps the number set first, and
            # writes of the same entry or mark at once keep one (FerretDB refuses the other's upsert)
            for document in sorted([d async for d in stored], key=lambda d: d["registered_at"]):
                place = {}
                if document.get("listing_seq") is None:
                    place = listing_place(region, await self.take_number(region, document["_id"]))
                    unnumbered = {"_id": document["_id"], "listing_seq": None}
                    if not (await self.msmes.update_one(unnumbered, {"$set": place})).matched_count:
                        continue
                with suppress(DuplicateKeyError):
                    await self.listing.replace_one(
                        {"_id": document["_id"]}, listing_entry(document | place), upsert=True
                    )
            with suppress(DuplicateKeyError):
                await self.checks.replace_one({"_id": done}, {"listed": True}, upsert=True)

    async def save(self, change: Change, expected_version: int, events: Sequence[CloudEvent]) -> Msme:
        await self._relisting(change.msme)
        saved = await self.aggregates.replace(
            change.msme.msme_id, change.msme, expected_version, events, history=_history(change)
        )
        await self.relist(saved)
        await self._relisted(saved)
        return saved

    async def _relisting(self, msme: Msme) -> None:
        """Marks the UMKM's entry as about to fall behind, before its save: a crash between the save
        and the entry's write leaves the mark, and `relist_behind` brings the entry up."""
        with suppress(DuplicateKeyError):  # marked at the same instant by another save of it
            await self.relisting.replace_one(
                {"_id": msme.msme_id}, {"since": msme.updated_at, "region": msme.region}, upsert=True
            )

    async def _relisted(self, msme: Msme) -> None:
        await self.relisting.delete_one({"_id": msme.msme_id, "since": msme.updated_at})

    async def relist_behind(self, marked_before: datetime) -> int:
        """Brings up the entries of UMKM whose saves did not get to their entries, marked before
        `marked_before` (those marked since may be saves in progress). How many it brought up."""
        brought = 0
        marked = self.relisting.find(
            {"since": {"$lt": marked_before}}, comment="scan: the marks of saves in progress, a handful at most"
        )
        async for mark in marked:
            msme = await self.get(mark["_id"])
            if msme is not None:
                await self.relist(msme)
                brought += 1
            await self.relisting.delete_one({"_id": mark["_id"], "since": mark["since"]})
        return brought

    async def relist(self, msme: Msme) -> None:
        """Brings the UMKM's list entry to this version of it, unless a later one is there already."""
        fields = {field: value for field, value in query_fields(msme).items() if field in LISTED_BY}
        fields |= shown_in_list(msme.model_dump())
        newer = {"_id": msme.msme_id, "version": {"$lt": msme.version}}
        if (await self.listing.update_one(newer, {"$set": fields | {"version": msme.version}})).matched_count:
            return
        if await self.listing.find_one({"_id": msme.msme_id}, {"_id": 1}) is None:
            stored = await self.msmes.find_one({"_id": msme.msme_id})
            if stored is not None:
                with suppress(DuplicateKeyError):  # listed meanwhile by a rival, who read it later
                    await self.listing.insert_one(listing_entry(stored))

    async def get(self, msme_id: str) -> Msme | None:
        return await self.aggregates.get(msme_id)

    async def owner_of_product(self, product_id: str) -> str | None:
        document = await self.msmes.find_one({"product_ids": product_id}, {"_id": 1})
        return document["_id"] if document else None

    async def page(
        self,
        region: str,
        *,
        filters: dict[str, str | None],
        skip: int,
        limit: int,
        after: int | None = None,
        before: int | None = None,
    ) -> Listed:
        """One page of a region's UMKM in order of registration; `filters` are equalities on query
        fields (tier, sector, kecamatan, cohort_id, nib). The page is the `limit` after `skip`, or,
        as the console's next and previous links ask, the `limit` whose numbers come right after
        `after` or right before `before`. Unfiltered, only the page's blocks are read; filtered, the
        list's slim entries are, and then the page's UMKM."""
        chosen = {field: value for field, value in filters.items() if value}
        if "nib" in chosen:  # one UMKM at most
            found = [d async for d in self.msmes.find({"region": region} | chosen)][skip : skip + limit]
            return Listed([summary(listing_entry(document)) for document in found], len(found))
        if chosen:
            return await self._filtered(region, chosen, Window(skip, limit, after, before))
        if after is not None:  # numbers are dense: a number is a place
            skip = after + 1
        elif before is not None:
            skip, limit = max(0, before - limit), min(limit, before)
        total = await self.listed_in(region)
        entries, last = [], min(skip + limit, total) - 1
        for block in range(skip // LISTING_BLOCK, last // LISTING_BLOCK + 1 if last >= skip else 0):
            entries += await self.listing.find({"listing_block": f"{region}#{block}"}).to_list()
        entries.sort(key=lambda entry: entry["listing_seq"])
        first = skip - skip // LISTING_BLOCK * LISTING_BLOCK
        return Listed([summary(entry) for entry in entries[first : first + limit]], total)

    async def _filtered(self, region: str, chosen: dict[str, str], window: Window) -> Listed:
        total, entries = await asyncio.gather(self._count(region, chosen), self._entries(region, chosen, window))
        return Listed([summary(entry) for entry in entries], total)

    async def _count(self, region: str, chosen: dict[str, str]) -> int:
        if list(chosen) == ["tier"]:  # a tier is often most of a region: its tally has counted it
            return (await self.funnel_tally.totals(region)).get(chosen["tier"], 0)
        return await self.listing.count_documents({"region": region} | chosen)

    async def _entries(self, region: str, chosen: dict[str, str], window: Window) -> list[dict]:
        """The page's entries, found by walking blocks from where the page starts; when that is
        further than WALKED_BLOCKS (a rare filter, or a deep page asked by number), by sorting every
        entry the filter matches, which costs about 0.1 ms each."""
        walked = await self._walked(region, chosen, window)
        if walked is not None:
            return walked
        query = {"region": region} | chosen
        if window.after is not None:
            after = query | {"listing_seq": {"$gt": window.after}}
            return await self.listing.find(after).sort("listing_seq", 1).limit(window.limit).to_list()
        if window.before is not None:
            before = query | {"listing_seq": {"$lt": window.before}}
            found = await self.listing.find(before).sort("listing_seq", -1).limit(window.limit).to_list()
            return found[::-1]
        return await self.listing.find(query).sort("listing_seq", 1).skip(window.skip).limit(window.limit).to_list()

    async def _walked(self, region: str, chosen: dict[str, str], window: Window) -> list[dict] | None:
        blocks = -(-(await self.listed_in(region)) // LISTING_BLOCK)
        if window.after is not None:
            order, wanted = range((window.after + 1) // LISTING_BLOCK, blocks), window.limit
        elif window.before is not None:
            order, wanted = range(min((window.before - 1) // LISTING_BLOCK, blocks - 1), -1, -1), window.limit
        else:
            order, wanted = range(blocks), window.skip + window.limit
        found: list[dict] = []
        for walked, block in enumerate(order):
            if walked == WALKED_BLOCKS:
                return None
            entries = await self.listing.find({"listing_block": f"{region}#{block}"} | chosen).to_list()
            found += [entry for entry in entries if window.holds(entry["listing_seq"])]
            if len(found) >= wanted:
                break
        found.sort(key=lambda entry: entry["listing_seq"])
        if window.after is not None:
            return found[: window.limit]
        if window.before is not None:
            return found[-window.limit :] if window.limit else []
        return found[window.skip : window.skip + window.limit]

    async def funnel(self, region: str) -> dict[str, int]:
        """How many of the region's UMKM are at each step, as its tally has counted them."""
        return await self.funnel_tally.totals(region)

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

    async def add_mentor(self, cohort_id: str, mentor: Mentor) -> bool:
        """Adds the mentor unless one with the same email is there (a repeated request adds nothing);
        one added before mentors had accounts is replaced by this one, with its account."""
        found = await self.cohorts.find_one({"_id": cohort_id}, {"mentors": 1})
        mentors = found.get("mentors", []) if found else []
        if legacy := [m for m in mentors if m.get("email") == mentor.email and not m.get("person_id")]:
            kept = [m for m in mentors if m not in legacy]  # set only if unchanged since read
            await self.cohorts.update_one({"_id": cohort_id, "mentors": mentors}, {"$set": {"mentors": kept}})
        added = await self.cohorts.update_one(
            {"_id": cohort_id, "mentors.email": {"$ne": mentor.email}}, {"$push": {"mentors": to_document(mentor)}}
        )
        return added.modified_count == 1

    async def cohort(self, cohort_id: str) -> Cohort | None:
        document = await self.cohorts.find_one({"_id": cohort_id})
        return Cohort.model_validate({k: v for k, v in document.items() if k != "_id"}) if document else None

    async def cohorts_of(self, region: str) -> list[Cohort]:
        cursor = self.cohorts.find({"region": region}).sort("starts_on", 1)
        return [Cohort.model_validate({k: v for k, v in d.items() if k != "_id"}) async for d in cursor]

    async def unlocking(self, region: str, gap_code: str | None, limit: int = 500) -> list[Msme]:
        """The region's UMKM with open demand behind a gap of theirs (`gap_code`, or any)."""
        cursor = self.msmes.find({"region": region, "unlocked_gaps": gap_code or ANY_GAP}).limit(limit)
        return [self.aggregates.parse(document) async for document in cursor]

    async def members(self, cohort_id: str) -> list[Msme]:
        cursor = self.msmes.find({"cohort_id": cohort_id}).sort("registered_at", 1)
        return [self.aggregates.parse(document) async for document in cursor]


def _history(change: Change) -> dict[str, object]:
    return {"assessments": to_document(change.new_assessment)} if change.new_assessment else {}
