"""How FerretDB answers the query shapes a region's UMKM list could use, at 10,000 entries, against
the same queries at 100, in one run: the evidence for the registry's read model (issue 15).

    ./ekspora up && .venv/bin/python bench/listing_queries.py [--sizes 100 10000] [--repeats 9]

Each size gets a collection of slim listing entries (about 250 bytes: name, kecamatan, sector, tier,
score, a sequence number and its page of 25) in a database of its own, indexed as a read model would
be; each query runs `--repeats` times and the median is shown. On FerretDB 1.x with PostgreSQL only
equality on a top-level field and `_id` equality are pushed down (../shared/infra.md): the rest
decode every entry of the region.
"""

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from ekspora_kit.table import table

MONGO = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
REGION = "kota-kediri"
PAGE = 25
KECAMATAN = ("Mojoroto", "Kota", "Pesantren")
TIERS = ("siap", "setengah", "didorong")


def entry(seq: int) -> dict:
    return {
        "_id": f"{REGION}#{seq:09d}",
        "msme_id": f"msme-{seq:06d}",
        "region": REGION,
        "page": f"{REGION}#{seq // PAGE}",
        "seq": seq,
        "business_name": f"Usaha Kediri {seq}",
        "kecamatan": KECAMATAN[seq % 3],
        "sector": "food",
        "tier": TIERS[(seq // 3) % 3],
        "score": seq % 100,
    }


def queries(listing: AsyncCollection, size: int) -> dict[str, Callable[[], Awaitable[int]]]:
    middle = size // 2
    middle_page = middle // PAGE

    async def rows(cursor) -> int:  # type: ignore[no-untyped-def]
        return len([document async for document in cursor])

    return {
        "count the region": lambda: listing.count_documents({"region": REGION}),
        "count one tier": lambda: listing.count_documents({"region": REGION, "tier": "siap"}),
        "page by sort and skip": lambda: rows(listing.find({"region": REGION}).sort("seq", 1).skip(middle).limit(PAGE)),
        "page by _id range": lambda: rows(
            listing.find({"_id": {"$gte": f"{REGION}#{middle:09d}", "$lt": f"{REGION}#{middle + PAGE:09d}"}})
        ),
        "page by equality on its page": lambda: rows(listing.find({"page": f"{REGION}#{middle_page}"})),
        "one entry by _id": lambda: rows(listing.find({"_id": f"{REGION}#{middle:09d}"})),
    }


async def measure(mongo: AsyncMongoClient, size: int, repeats: int) -> dict[str, float]:
    database = f"bench_listing_{size}"
    await mongo.drop_database(database)
    listing = mongo[database]["listing"]
    entries = [entry(seq) for seq in range(size)]
    for first in range(0, size, 500):
        await listing.insert_many(entries[first : first + 500])
    await listing.create_index("page")
    await listing.create_index([("region", 1), ("seq", 1)])
    await listing.create_index([("region", 1), ("tier", 1)])
    medians = {}
    try:
        for name, query in queries(listing, size).items():
            took = []
            for _ in range(repeats):
                began = time.perf_counter()
                await query()
                took.append((time.perf_counter() - began) * 1000)
            medians[name] = statistics.median(took)
            print(f"  {size:>6,} entries  {name:<32} {medians[name]:8.1f} ms", flush=True)
    finally:
        await mongo.drop_database(database)
    return medians


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100, 10_000])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    mongo: AsyncMongoClient = AsyncMongoClient(MONGO)
    print(f"Listing query shapes on {MONGO}, median of {args.repeats}")
    try:
        small, big = [await measure(mongo, size, args.repeats) for size in args.sizes]
    finally:
        await mongo.close()
    rows = [
        (
            name,
            f"{small[name]:.1f}",
            f"{big[name]:.1f}",
            f"{big[name] / small[name]:.1f}x",
            "yes" if big[name] < 50 else "no",
        )
        for name in small
    ]
    print()
    print(table(("query", f"{args.sizes[0]:,} ms", f"{args.sizes[1]:,} ms", "ratio", "flat (< 50 ms)"), rows))


if __name__ == "__main__":
    asyncio.run(main())
