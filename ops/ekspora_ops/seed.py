"""Loads a region's seed UMKM into the registry over its HTTP API.

    ./ekspora seed                      # Kota Kediri into the registry at http://127.0.0.1:8101
    ./ekspora seed --registry URL --file other-region.yaml

An UMKM whose NIB is already registered is left as it is, so the command can be run again.
"""

import argparse
import os
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from ekspora_kit.clock import WIB, Clock
from ekspora_kit.table import table
from ekspora_ops.evidence import certify
from ekspora_ops.shops import last_sale_day, open_shop

SEED_DIR = Path(__file__).parent / "seed"
KOTA_KEDIRI = SEED_DIR / "kota-kediri.yaml"


def read_seed(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def registrations(seed: dict[str, Any]) -> list[dict[str, Any]]:
    """Each UMKM as the registry's API calls it: registration body, verification, listings, products."""
    valid_until = (Clock.from_environment().today(WIB) + timedelta(days=730)).isoformat()
    result = []
    for index, umkm in enumerate(seed["umkm"], start=1):
        slug = "".join(ch for ch in umkm["name"].lower() if ch.isalnum())[:20]
        products = []
        for item in umkm["products"]:
            body = {
                **seed["products"][item["template"]],
                **{k: v for k, v in item.items() if k not in ("template", "certificates")},
            }
            certificates = [
                {"kind": kind, "number": f"{kind.upper()}-{index:03d}-{n}", "expires_on": valid_until}
                for n, kind in enumerate(item["certificates"], start=1)
            ]
            products.append((body, certificates))
        result.append(
            {
                "register": {
                    "region": seed["region"],
                    "business_name": umkm["name"],
                    "owner_name": umkm["owner"],
                    "nib": f"9120301{index:06d}",
                    "sector": umkm["sector"],
                    "kelurahan": umkm["kelurahan"],
                    "kecamatan": umkm["kecamatan"],
                    "whatsapp": f"+6281330{index:05d}",
                    "email": f"{slug}@umkm-kediri.id",
                },
                "verified": umkm["verified"],
                "listings": [
                    {"platform": p, "url": f"https://{p.replace('_', '')}.example/{slug}"} for p in umkm["listings"]
                ],
                "products": products,
            }
        )
    return result


def load(registry_url: str, path: Path = KOTA_KEDIRI, *, token: str, progress: bool = True) -> list[dict[str, Any]]:
    """Registers every UMKM of the seed file; returns each one as the registry now sees it."""
    seed = read_seed(path)
    loaded = []
    with httpx.Client(base_url=registry_url, timeout=15, headers={"Authorization": f"Bearer {token}"}) as client:
        items = registrations(seed)
        for number, item in enumerate(items, start=1):
            name = item["register"]["business_name"]
            response = client.post("/msmes", json=item["register"])
            if response.status_code == 409:
                if progress:
                    print(f"  [{number:>2}/{len(items)}] {name:<30} already registered, left as it is", flush=True)
                continue
            response.raise_for_status()
            msme_id = response.json()["msme_id"]
            if item["verified"]:
                client.post(f"/msmes/{msme_id}/nib-verification").raise_for_status()
            sold = []
            for body, certificates in item["products"]:
                product = client.post(f"/msmes/{msme_id}/products", json=body)
                product.raise_for_status()
                product_id = product.json()["product"]["product_id"]
                sold.append((product_id, body["unit_price_idr"]))
                for certificate in certificates:
                    certify(client, f"/msmes/{msme_id}/products/{product_id}", certificate)
            for listing in item["listings"]:  # each shop with its seller centre's order export imported
                open_shop(client, msme_id, listing, sold, last_sale_day())
            msme = client.get(f"/msmes/{msme_id}").json()
            loaded.append(msme)
            if progress:
                assessment = msme["assessment"]
                print(
                    f"  [{number:>2}/{len(items)}] {name:<30} {assessment['tier']:<9} {assessment['score']:>3}",
                    flush=True,
                )
    return loaded


def tier_table(msmes: list[dict[str, Any]]) -> str:
    tiers = Counter(m["assessment"]["tier"] for m in msmes)
    rows = [(tier, tiers.get(tier, 0)) for tier in ("siap", "setengah", "didorong")]
    return table(("tier", "UMKM"), [*rows, ("total", len(msmes))])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", default="http://127.0.0.1:8101")
    parser.add_argument("--file", type=Path, default=KOTA_KEDIRI)
    parser.add_argument(
        "--token",
        default=os.environ.get("EKSPORA_OPERATOR_TOKEN", ""),
        help="the region's operator token (or EKSPORA_OPERATOR_TOKEN)",
    )
    args = parser.parse_args(argv)
    try:
        httpx.get(f"{args.registry}/readyz", timeout=3).raise_for_status()
    except httpx.HTTPError:
        print(
            f"No registry answers at {args.registry}: start the platform first (./ekspora demo), or pass --registry.",
            file=sys.stderr,
        )
        return 1
    print(f"Seeding {args.file.name} into {args.registry}")
    loaded = load(args.registry, args.file, token=args.token)
    print(tier_table(loaded))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
