"""Matching benchmark: the production candidate search against brute force, in the same run.

    ./ekspora up && .venv/bin/python bench/matching_bench.py [--sizes 1000 10000] [--sample 40]

For each region size (synthetic UMKM products, fixed seed, one demand per ten products), the
offers are stored in a throwaway database on the real store (FerretDB on PostgreSQL, after
`./ekspora up`) in the shape the matching service stores them. Production: every demand is matched
by `MatchingService.best_for`, the code the service runs: the store's candidate search (equality
on top-level region, readiness and category or HS prefix; see ekspora_kit.scans), then the scorer
on that bucket in readiness order. Baseline: on `--sample` demands, every offer of the region
read from the same store and scored with the same scorer (brute force). Agreement: how often both
propose the same parts (products and quantities) to fill the request.
"""

import argparse
import asyncio
import os
import random
import statistics
import time
import tracemalloc
from datetime import date, timedelta
from typing import Literal

from pymongo import AsyncMongoClient

from ekspora_contracts.matching import Country
from ekspora_contracts.registry import Certificate, CertificateKind, ProductFacts
from ekspora_kit.clock import Clock
from ekspora_kit.table import table
from ekspora_matching import domain
from ekspora_matching.app import demand_filling
from ekspora_matching.domain import scoring
from ekspora_matching.policy import load_exchange_rates, load_rules, load_scoring
from ekspora_matching.service import MatchingService
from ekspora_matching.store import MatchingStore, offer_document, offer_from_document
from ekspora_ops.measure import percentile
from ekspora_shipping.domain import lane_of
from ekspora_shipping.policy import load_lanes

MONGO = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
DATABASE = "bench_matching"
REGION = "kota-kediri"
CATEGORIES = {  # category: HS codes seen in it
    "processed_food": ["210690", "200899", "210390", "190220", "200590"],
    "snack": ["190590", "200819", "190410", "170490"],
    "coffee": ["090121", "090122", "210111"],
    "woven_textile": ["580900", "500720", "520829"],
    "batik": ["520852", "520859", "540752"],
    "wood_furniture": ["940161", "940360", "940169"],
    "handicraft": ["460219", "460292", "442090"],
}
RULES, SCORING = load_rules(), load_scoring()
COUNTRIES: list[Country] = ["NL", "AU"]
RATES = load_exchange_rates()
# the lanes as shipping announces them on the lanes topic
LANES = {city: domain.Lane.of(lane_of(city, load_lanes())) for city in ("Amsterdam", "Sydney")}


def make_products(count: int, rng: random.Random) -> list[domain.Offer]:
    offers = []
    for n in range(count):
        category = rng.choice(list(CATEGORIES))
        food = category in ("processed_food", "snack", "coffee")
        kinds: list[CertificateKind] = ["pirt"] if rng.random() < 0.9 else []
        kinds += ["halal"] if food and rng.random() < 0.6 else []
        facts = ProductFacts(
            product_id=f"prd-{n:07d}",
            msme_id=f"msme-{n // 2:07d}",
            region=REGION,
            name=f"Produk {n}",
            description_id="-",
            description_en="-",
            category=category,
            hs_code=rng.choice(CATEGORIES[category]),
            unit="unit",
            unit_price_idr=rng.randrange(10_000, 90_000) if food else rng.randrange(100_000, 3_000_000),
            minimum_order_quantity=rng.choice([10, 20, 50, 100]),
            monthly_capacity=rng.randrange(20, 3_000),
            net_weight_grams=rng.randrange(100, 5_000),
            english_label=True,
            certificates=[Certificate(kind=k, number="x", expires_on=date(2028, 1, 1)) for k in kinds],
        )
        offers.append(domain.Offer(product=facts, readiness_score=rng.randrange(75, 101), ready=True))
    return offers


def make_demands(count: int, rng: random.Random) -> list[tuple[domain.Demand, domain.Partner]]:
    result = []
    for n in range(count):
        category = rng.choice(list(CATEGORIES))
        country: Country = rng.choice(COUNTRIES)
        currency: Literal["EUR", "AUD"] = "EUR" if country == "NL" else "AUD"
        hs = rng.choice(CATEGORIES[category])[: rng.choice([4, 6])] if rng.random() < 0.4 else None
        food = category in ("processed_food", "snack", "coffee")
        demand = domain.Demand(
            demand_id=f"dmd-{n:06d}",
            kind=rng.choice(["rfq", "standing_interest"]),
            partner_id=f"ptn-{n % 300:03d}",
            category=None if hs else category,
            hs_prefix=hs,
            quantity=rng.randrange(50, 2_000),
            target_price_min=None,
            target_price_max=rng.randrange(100, 600) if food else rng.randrange(1_000, 40_000),
            currency=currency,
            required_certificates=["halal"] if food and rng.random() < 0.5 else [],
            needed_by=None,
            destination_city="Amsterdam" if country == "NL" else "Sydney",
            destination_country=country,
        )
        partner = domain.Partner(
            partner_id=demand.partner_id,
            kind="diaspora_business",
            name=demand.partner_id,
            country=country,
            city=demand.destination_city,
            categories=[category],
            min_order_units=0,
            max_order_units=10_000,
            languages=["en"],
            contact_email="p@x.example",
            verified=True,
        )
        result.append((demand, partner))
    return result


Parts = list[tuple[str, int]]


def parts_of(allocations: list[domain.Allocation]) -> Parts:
    return [(part.evaluation.offer.product.product_id, part.quantity) for part in allocations]


def brute_force(products: list[domain.Offer], demand: domain.Demand, partner: domain.Partner, today: date) -> Parts:
    scored = []
    for offer in products:
        result = scoring.evaluate(
            offer,
            demand,
            partner,
            stats=domain.PartnerStats(),
            open_for_partner=0,
            rules=RULES,
            scoring=SCORING,
            rate=RATES.on(today),
            today=today,
            promised=0,
            lane=LANES[demand.destination_city],
            remaining=demand.quantity,
        )
        if isinstance(result, domain.Evaluation) and result.score >= SCORING.min_score:
            scored.append(result)
    scored.sort(key=domain.ranking)
    return parts_of(domain.allocate(scored, demand.quantity, SCORING.proposals_per_demand))


async def seed(store: MatchingStore, products: list[domain.Offer]) -> float:
    await store.offers.drop()
    await store.ensure_indexes()
    for lane in LANES.values():
        await store.keep_lane(lane)
    started = time.perf_counter()
    for first in range(0, len(products), 500):
        await store.offers.insert_many([offer_document(REGION, o) for o in products[first : first + 500]])
    return time.perf_counter() - started


async def every_offer(store: MatchingStore) -> list[domain.Offer]:
    cursor = store.offers.find({"region": REGION, "ready": True})
    return [offer_from_document(document) async for document in cursor]


async def run(service: MatchingService, size: int, sample: int) -> dict:
    rng = random.Random(20261202 + size)
    products, demands = make_products(size, rng), make_demands(max(size // 10, sample), rng)
    print(f"  {size:,} offers: storing them ...", flush=True)
    seeded = await seed(service.store, products)
    print(f"  {size:,} offers: stored in {seeded:.1f}s; matching {len(demands):,} demands ...", flush=True)
    production: dict[str, Parts] = {}
    latencies = []
    tracemalloc.start()
    for done, (demand, partner) in enumerate(demands, start=1):
        started = time.perf_counter()
        ranked = await service.best_for(demand, partner, REGION, demand.quantity)
        best = domain.allocate(ranked, demand.quantity, SCORING.proposals_per_demand)
        latencies.append(time.perf_counter() - started)
        production[demand.demand_id] = parts_of(best)
        if done % 100 == 0:
            print(f"    {done:,} of {len(demands):,} demands matched", flush=True)
    production_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    sampled = demands[:sample]
    print(f"  {size:,} offers: brute force on {len(sampled)} sampled demands ...", flush=True)
    agree, brute = 0, []
    tracemalloc.start()
    for demand, partner in sampled:
        started = time.perf_counter()
        exact = brute_force(await every_offer(service.store), demand, partner, service.clock.now().date())
        brute.append(time.perf_counter() - started)
        agree += exact == production[demand.demand_id]
    brute_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "size": size,
        "demands": len(demands),
        "seed": seeded,
        "p50": statistics.median(latencies) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "per_second": len(latencies) / sum(latencies),
        "mib": production_mib,
        "brute_p50": statistics.median(brute) * 1000,
        "brute_mib": brute_mib,
        "agreement": agree / len(sampled),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000], help="offers in the region")
    parser.add_argument("--sample", type=int, default=40, help="demands brute force runs, per size")
    args = parser.parse_args()
    client: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    clock = Clock.from_environment()
    store = MatchingStore(client[DATABASE])
    service = MatchingService(
        store,
        rules=lambda: RULES,
        scoring=SCORING,
        exchange_rates=RATES,
        clock=clock,
        expiry=timedelta(days=14),
        filling=demand_filling(store, clock, holder="matching-bench"),
    )
    print(f"Matching benchmark on {MONGO}: region sizes {args.sizes}")
    try:
        results = [await run(service, size, args.sample) for size in args.sizes]
    finally:
        await client.drop_database(DATABASE)
        await client.close()
    print()
    print(
        table(
            (
                "offers",
                "demands",
                "store s",
                "production p50 ms",
                "p99 ms",
                "demands/s",
                "peak MiB",
                "brute force p50 ms",
                "peak MiB",
                "speed-up",
                "same parts",
            ),
            [
                (
                    f"{r['size']:,}",
                    f"{r['demands']:,}",
                    f"{r['seed']:.1f}",
                    f"{r['p50']:.1f}",
                    f"{r['p99']:.1f}",
                    f"{r['per_second']:,.0f}",
                    f"{r['mib']:.1f}",
                    f"{r['brute_p50']:,.0f}",
                    f"{r['brute_mib']:.1f}",
                    f"{r['brute_p50'] / r['p50']:,.0f}x",
                    f"{r['agreement']:.0%}",
                )
                for r in results
            ],
        )
    )
    first, last = results[0], results[-1]
    print(
        f"\nfrom {first['size']:,} to {last['size']:,} offers ({last['size'] / first['size']:.0f}x): production p50 "
        f"{last['p50'] / first['p50']:.2f}x, brute force p50 {last['brute_p50'] / first['brute_p50']:.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
