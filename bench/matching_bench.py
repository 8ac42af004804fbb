"""Matching benchmark: indexed candidate lookup against brute force, in the same run.

    .venv/bin/python bench/matching_bench.py [--scales 1 2 4] [--sample 40]

Products × demands at 1×, 2× and 4× of 12,500 × 1,250 (synthetic, fixed seed). The indexed engine
(services/matching: OfferIndex + best_for_demand, the same scorer the service uses) matches every
demand. Brute force scores every product against every demand with the same scorer; at these sizes
it would take hours, so its rate is measured on `--sample` demands against all products in this
run and its total time extrapolated from that rate (marked "est."). Agreement: how often the index
proposes the same best products as brute force, on the sampled demands.
"""

import argparse
import gc
import random
import time
import tracemalloc
from collections.abc import Iterable
from datetime import date
from typing import Literal

from ekspora_contracts.matching import Country
from ekspora_contracts.registry import Certificate, CertificateKind, ProductFacts
from ekspora_kit.table import table
from ekspora_matching import domain
from ekspora_matching.domain import scoring
from ekspora_matching.policy import load_rules, load_scoring

BASE_PRODUCTS, BASE_DEMANDS = 12_500, 1_250
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
RATES = domain.Rates({"EUR": 17_500, "AUD": 10_400})
TODAY = date(2026, 11, 28)


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
            region="kota-kediri",
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
            api_key_sha256="-",
        )
        result.append((demand, partner))
    return result


def match(candidates: Iterable[domain.Offer], demand: domain.Demand, partner: domain.Partner) -> list[str]:
    best = domain.best_for_demand(
        candidates,
        demand,
        partner,
        stats=domain.PartnerStats(),
        open_for_partner=0,
        rules=RULES,
        scoring=SCORING,
        rates=RATES,
        today=TODAY,
    )
    return [e.offer.product.product_id for e in best]


def brute_force(products: list[domain.Offer], demand: domain.Demand, partner: domain.Partner) -> list[str]:
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
            rates=RATES,
            today=TODAY,
        )
        if isinstance(result, domain.Evaluation) and result.score >= SCORING.min_score:
            scored.append(result)
    scored.sort(key=domain.ranking)
    return [e.offer.product.product_id for e in scored[: SCORING.proposals_per_demand]]


class Counting:
    """Counts calls of the scorer (pairs scored) without changing what it does."""

    def __init__(self) -> None:
        self.calls = 0
        self.original = scoring.evaluate

    def __enter__(self) -> "Counting":
        def counted(*args, **kwargs):
            self.calls += 1
            return self.original(*args, **kwargs)

        scoring.evaluate = counted
        return self

    def __exit__(self, *exc) -> None:
        scoring.evaluate = self.original


def build_index(products: list[domain.Offer]) -> domain.OfferIndex:
    index = domain.OfferIndex(RULES)
    for offer in products:
        index.add(offer)
    for bucket in list(index.unsorted):  # sort every bucket now, so matching time is only matching
        index.buckets[bucket].sort(key=lambda o: (-o.readiness_score, o.product.product_id))
    index.unsorted.clear()
    return index


def index_memory(products: list[domain.Offer]) -> float:
    """MiB the index itself allocates (measured on a separate build: tracing slows it down)."""
    gc.collect()
    tracemalloc.start()
    index = build_index(products)
    allocated = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del index
    return allocated


def run(scale: int, sample: int) -> dict:
    rng = random.Random(20261128 + scale)
    print(
        f"  {scale}x: generating {BASE_PRODUCTS * scale:,} products and {BASE_DEMANDS * scale:,} demands ...",
        flush=True,
    )
    products, demands = make_products(BASE_PRODUCTS * scale, rng), make_demands(BASE_DEMANDS * scale, rng)
    index_mib = index_memory(products)
    gc.collect()
    started = time.perf_counter()
    index = build_index(products)
    build = time.perf_counter() - started
    print(f"  {scale}x: index built in {build:.2f}s; matching every demand ...", flush=True)

    indexed_results = {}
    with Counting() as counted:
        started = time.perf_counter()
        for demand, partner in demands:
            indexed_results[demand.demand_id] = match(index.candidates(demand), demand, partner)
        matching = time.perf_counter() - started
    indexed_pairs = counted.calls

    sampled = demands[:sample]
    print(f"  {scale}x: brute force on {len(sampled)} sampled demands x {len(products):,} products ...", flush=True)
    agree = 0
    with Counting() as counted:
        started = time.perf_counter()
        for demand, partner in sampled:
            exact = brute_force(products, demand, partner)
            agree += exact == indexed_results[demand.demand_id]
        brute_sample = time.perf_counter() - started
    brute_rate = counted.calls / brute_sample
    brute_pairs = len(products) * len(demands)
    return {
        "scale": scale,
        "products": len(products),
        "demands": len(demands),
        "build": build,
        "match": matching,
        "total": build + matching,
        "pairs": indexed_pairs,
        "rate": indexed_pairs / matching,
        "index_mib": index_mib,
        "brute_pairs": brute_pairs,
        "brute_rate": brute_rate,
        "brute_total": brute_pairs / brute_rate,
        "agreement": agree / len(sampled),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--sample", type=int, default=40, help="demands brute force runs in full, per scale")
    args = parser.parse_args()
    print(f"Matching benchmark: scales {args.scales} of {BASE_PRODUCTS:,} products x {BASE_DEMANDS:,} demands")
    results = [run(scale, args.sample) for scale in args.scales]
    print()
    print(
        table(
            (
                "scale",
                "products",
                "demands",
                "index s",
                "match s",
                "pairs scored",
                "pairs/s",
                "index MiB",
                "brute pairs",
                "brute pairs/s",
                "brute s (est.)",
                "speed-up",
                "same top-3",
            ),
            [
                (
                    f"{r['scale']}x",
                    f"{r['products']:,}",
                    f"{r['demands']:,}",
                    f"{r['build']:.2f}",
                    f"{r['match']:.2f}",
                    f"{r['pairs']:,}",
                    f"{r['rate']:,.0f}",
                    f"{r['index_mib']:.1f}",
                    f"{r['brute_pairs']:,}",
                    f"{r['brute_rate']:,.0f}",
                    f"{r['brute_total']:,.0f}",
                    f"{r['brute_total'] / r['total']:,.0f}x",
                    f"{r['agreement']:.0%}",
                )
                for r in results
            ],
        )
    )
    first = results[0]
    print("\ngrowth against 1x (linear would be the scale itself; brute force grows with its square):")
    print(
        table(
            ("scale", "indexed time", "brute force time (est.)"),
            [
                (
                    f"{r['scale']}x",
                    f"{r['total'] / first['total']:.2f}x",
                    f"{r['brute_total'] / first['brute_total']:.1f}x",
                )
                for r in results
            ],
        )
    )


if __name__ == "__main__":
    main()
