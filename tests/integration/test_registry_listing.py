"""The registry's UMKM list on the real store, past the sizes the API tests reach: pages of a tier
found by walking blocks and, past the walk, by sorting the tier's entries, both in number order."""

from datetime import timedelta
from uuid import uuid4

import pytest
from pymongo import AsyncMongoClient

from ekspora_kit.documents import to_document
from ekspora_registry import domain
from ekspora_registry.policy import load_rubric
from ekspora_registry.store import (
    LISTING_BLOCK,
    WALKED_BLOCKS,
    RegistryStore,
    listing_entry,
    listing_place,
    query_fields,
)
from tests.factories import CLOCK, VALID_REGISTRATION
from tests.integration.support import MONGO

REGION = "kota-kediri"
SIZE = (WALKED_BLOCKS + 4) * LISTING_BLOCK  # beyond the walk


def tier_of(n: int) -> str:
    return "siap" if n % 10 == 0 else "didorong"  # a tenth siap: its later pages lie past the walk


@pytest.fixture
async def store():
    mongo: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    database = f"test_listing_{uuid4().hex[:8]}"
    store = RegistryStore(mongo[database])
    await store.ensure_indexes()
    template = domain.register(domain.RegisterMsme(**VALID_REGISTRATION), "msme-x", CLOCK.now(), load_rubric()).msme
    documents = []
    for n in range(SIZE):
        msme = template.model_copy(update={"msme_id": f"msme-{n:05d}", "version": 1})
        fields = query_fields(msme) | {"tier": tier_of(n), "nib": f"{8_100_000_000_000 + n}"}
        documents.append(to_document(msme, **fields, **listing_place(REGION, n), _id=msme.msme_id))
    await store.msmes.insert_many(documents)
    await store.listing.insert_many([listing_entry(document) for document in documents])
    await store.numbers.insert_many([{"_id": f"{REGION}#{n}"} for n in range(SIZE)])
    siap = sum(1 for n in range(SIZE) if tier_of(n) == "siap")
    await store.funnel_tally.collection.insert_one(
        {"_id": "funnel:kota-kediri:0", "tally": "funnel:kota-kediri", "offset": 0, "counts": {"siap": siap}}
    )
    yield store
    await mongo.drop_database(database)
    await mongo.close()


@pytest.mark.parametrize(("page", "size"), [(1, 25), (2, 7), (4, 25), (5, 25)])
async def test_a_tier_s_pages_are_in_number_order_near_and_past_the_walk(store, page, size):
    siap = [n for n in range(SIZE) if tier_of(n) == "siap"]
    skip = (page - 1) * size
    listed = await store.page(REGION, filters={"tier": "siap"}, skip=skip, limit=size)
    assert [m["msme_id"] for m in listed.items] == [f"msme-{n:05d}" for n in siap[skip : skip + size]]
    assert listed.numbers == siap[skip : skip + size]
    assert listed.total == len(siap) == SIZE // 10


async def test_next_and_previous_pages_follow_the_numbers_however_deep(store):
    didorong = [n for n in range(SIZE) if tier_of(n) == "didorong"]
    filters = {"tier": "didorong"}
    pages, after = [], None
    while True:  # every page by its next link, as the console follows them
        listed = await store.page(REGION, filters=filters, skip=0, limit=100, after=after)
        if not listed.numbers:
            break
        pages.append(listed.numbers)
        after = listed.numbers[-1]
    assert [n for page in pages for n in page] == didorong and all(len(page) == 100 for page in pages[:-1])
    back = await store.page(REGION, filters=filters, skip=0, limit=100, before=pages[-1][0])
    assert back.numbers == pages[-2], "the previous page, by its link"
    siap = [n for n in range(SIZE) if tier_of(n) == "siap"]
    assert (await store.page(REGION, filters={"tier": "siap"}, skip=0, limit=3, before=SIZE)).numbers == siap[-3:]
    whole = await store.page(REGION, filters={"tier": "siap"}, skip=0, limit=len(siap), before=SIZE)
    assert whole.numbers == siap, "a page reaching further back than the walk, sorted instead"
    onward = await store.page(REGION, filters={"tier": "siap"}, skip=0, limit=len(siap), after=0)
    assert onward.numbers == siap[1:], "and further on"
    assert (await store.page(REGION, filters=filters, skip=0, limit=5, before=0)).numbers == []


async def test_unfiltered_pages_read_blocks_and_end_where_the_region_does(store):
    listed = await store.page(REGION, filters={}, skip=SIZE - 30, limit=50)
    assert listed.total == SIZE and listed.numbers == list(range(SIZE - 30, SIZE))
    assert [m["msme_id"] for m in listed.items] == [f"msme-{n:05d}" for n in range(SIZE - 30, SIZE)]
    assert (await store.page(REGION, filters={}, skip=SIZE, limit=25)).numbers == []
    assert (await store.page(REGION, filters={}, skip=0, limit=10, after=99)).numbers == list(range(100, 110))
    assert (await store.page(REGION, filters={}, skip=0, limit=10, before=5)).numbers == list(range(5))


async def test_an_entry_a_crash_left_behind_is_brought_up_once_its_save_has_had_time(store, monkeypatch):
    msme = await store.get("msme-00003")
    assert msme is not None
    later = CLOCK.now() + timedelta(minutes=5)
    renamed = domain.UpdateMsme(business_name="Tenun Ikat Bandar", kecamatan="Mojoroto")
    change = domain.update_profile(msme, renamed, later, load_rubric())

    async def stopped(_: domain.Msme) -> None:
        raise ConnectionError("the registry stopped between the save and the list entry")

    monkeypatch.setattr(store, "relist", stopped)
    with pytest.raises(ConnectionError):
        await store.save(change, msme.version, [])
    monkeypatch.undo()

    async def in_mojoroto() -> list[tuple[str, str]]:
        listed = await store.page(REGION, filters={"kecamatan": "Mojoroto"}, skip=0, limit=5)
        return [(m["msme_id"], m["business_name"]) for m in listed.items]

    assert await in_mojoroto() == [], "the entry is behind its UMKM"
    assert await store.relist_behind(later) == 0, "a save marked since then may still be finishing"
    assert await store.relist_behind(later + timedelta(seconds=1)) == 1
    assert await in_mojoroto() == [("msme-00003", "Tenun Ikat Bandar")]
    assert await store.relist_behind(later + timedelta(seconds=1)) == 0, "and its mark is gone"


async def test_entries_written_before_lists_showed_what_they_show_are_rewritten_once(store):
    shown = {"business_name": "", "owner_name": "", "score": "", "products": "", "withdrawn": ""}
    await store.listing.update_many({}, {"$unset": shown})
    await store.list_unlisted([REGION])
    listed = await store.page(REGION, filters={"tier": "siap"}, skip=0, limit=2)
    assert listed.numbers == [0, 10], "each keeps its number"
    assert [m["business_name"] for m in listed.items] == [VALID_REGISTRATION["business_name"]] * 2
    assert all(m["products"] == 0 and m["withdrawn"] is False for m in listed.items)
