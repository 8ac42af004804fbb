"""The shipped rubric, table-driven: evidence in, score, tier and gaps out.

Every criterion appears, and both tier boundaries (siap at 75, setengah at 50) are crossed.
"""

from datetime import UTC, date, datetime

import pytest

from ekspora_contracts.registry import CertificateKind
from ekspora_registry.domain import (
    Evidence,
    HeldCertificate,
    Listing,
    Msme,
    PlatformSales,
    Product,
    Profile,
    TrackRecord,
    road_for,
    score_product,
)
from ekspora_registry.policy import RUBRIC_PATH, load_rubric

RUBRIC = load_rubric()
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
VALID, EXPIRES_TODAY = date(2028, 1, 1), TODAY


def cert(kind: CertificateKind, expires_on: date = VALID, verified: bool = True) -> HeldCertificate:
    evidence = Evidence(
        sha256="0" * 64,
        filename="scan.pdf",
        content_type="application/pdf",
        size=900,
        uploaded_at=NOW,
        uploaded_by="op",
        status="verified" if verified else "uploaded",
    )
    return HeldCertificate(kind=kind, number=f"{kind.upper()}-001", expires_on=expires_on, evidence=evidence)


SOLD = PlatformSales(orders=3, units=12, revenue_idr=300_000, first_sale_on=TODAY, last_sale_on=TODAY, imported_at=NOW)


def sold_since(first: date, orders: int) -> PlatformSales:
    return PlatformSales(
        orders=orders,
        units=orders * 2,
        revenue_idr=orders * 50_000,
        first_sale_on=first,
        last_sale_on=TODAY,
        imported_at=NOW,
    )


def msme(*, verified=True, listings=0, unsold=0, reports=0, rating=0.0, reorders=0, sold=SOLD) -> Msme:
    """`listings` on Shopee, whose `sold` are imported; `unsold` on Tokopedia, with none imported."""
    return Msme(
        msme_id="msme-1",
        registered_at=NOW,
        updated_at=NOW,
        nib_verified=verified,
        profile=Profile(
            region="kota-kediri",
            business_name="Uji",
            owner_name="Uji",
            nib="9120301234561",
            sector="food",
            kelurahan="Tinalan",
            kecamatan="Pesantren",
            whatsapp=None,
            email=None,
            preferred_language="id",
            timezone="Asia/Jakarta",
        ),
        listings=[
            *(Listing(platform="shopee", url=f"https://shopee.co.id/uji{n}", added_at=NOW) for n in range(listings)),
            *(Listing(platform="tokopedia", url=f"https://tokopedia.com/uji{n}", added_at=NOW) for n in range(unsold)),
        ],
        marketplace_sales={"shopee": sold} if listings else {},
        track_record=TrackRecord(reports=reports, rating_sum=round(rating * reports), reorder_intents=reorders),
    )


def product(category="processed_food", *, certificates=(), capacity=1000, price=25_000, label=True) -> Product:
    return Product(
        product_id="prd-1",
        name="Uji",
        description_id="Uji",
        description_en="Test",
        category=category,
        hs_code="21069099",
        unit="pack",
        unit_price_idr=price,
        minimum_order_quantity=10,
        monthly_capacity=capacity,
        net_weight_grams=250,
        shelf_life_days=30,
        english_label=label,
        certificates=list(certificates),
        listed_at=NOW,
    )


FOOD_OK = (cert("pirt"), cert("halal"))
CASES = [
    # (description, msme kwargs, product or None, score, tier, gap codes)
    (
        "nothing but the NIB",
        dict(verified=False),
        None,
        5,
        "didorong",
        ["legality.nib_unverified", "product.none", "marketplace.no_listing", "track_record.none"],
    ),
    (
        "everything in place",
        dict(listings=2, reports=4, rating=4.5, reorders=3),
        product(certificates=FOOD_OK),
        100,
        "siap",
        [],
    ),
    (
        "legality: NIB not verified",
        dict(verified=False, listings=2, reports=2, rating=5, reorders=2),
        product(certificates=FOOD_OK),
        90,
        "siap",
        ["legality.nib_unverified"],
    ),
    (
        "certificates: halal missing keeps a high score out of siap",
        dict(listings=2, reports=2, rating=5, reorders=2),
        product(certificates=(cert("pirt"),)),
        85,
        "setengah",
        ["certificate.halal"],
    ),
    (
        "certificates: BPOM MD stands in for SPP-IRT",
        dict(listings=2, reports=2, rating=5, reorders=2),
        product(certificates=(cert("bpom_md"), cert("halal"))),
        100,
        "siap",
        [],
    ),
    (
        "certificates: one expiring today no longer counts",
        dict(listings=2, reports=2, rating=5, reorders=2),
        product(certificates=(cert("pirt"), cert("halal", EXPIRES_TODAY))),
        85,
        "setengah",
        ["certificate.halal"],
    ),
    (
        "certificates: one whose evidence is not yet verified does not count",
        dict(listings=2, reports=2, rating=5, reorders=2),
        product(certificates=(cert("pirt"), cert("halal", verified=False))),
        85,
        "setengah",
        ["certificate.halal"],
    ),
    (
        "certificates: none held",
        dict(listings=2),
        product(),
        60,
        "setengah",
        ["certificate.pirt|bpom_md", "certificate.halal", "track_record.none"],
    ),
    (
        "certificates: furniture needs SVLK",
        dict(listings=2),
        product("wood_furniture", price=5_000_000, capacity=30),
        60,
        "setengah",
        ["certificate.svlk", "track_record.none"],
    ),
    (
        "capacity: half a typical order earns part",
        dict(listings=2),
        product(certificates=FOOD_OK, capacity=300),
        83,
        "siap",
        ["capacity.below_typical_order", "track_record.none"],
    ),
    (
        "capacity: too little earns nothing",
        dict(listings=2),
        product(certificates=FOOD_OK, capacity=100),
        75,
        "siap",
        ["capacity.below_typical_order", "track_record.none"],
    ),
    (
        "packaging: no English label",
        dict(listings=2),
        product(certificates=FOOD_OK, label=False),
        80,
        "siap",
        ["packaging.no_english_label", "track_record.none"],
    ),
    (
        "export pricing: above what sells abroad",
        dict(listings=2),
        product(certificates=FOOD_OK, price=90_000),
        80,
        "siap",
        ["export_pricing.above_market", "track_record.none"],
    ),
    (
        "marketplace: one listing is half",
        dict(listings=1),
        product(certificates=FOOD_OK),
        85,
        "siap",
        ["track_record.none"],
    ),
    (
        "track record: fair ratings",
        dict(listings=2, reports=2, rating=3.5, reorders=2),
        product(certificates=FOOD_OK),
        95,
        "siap",
        ["track_record.weak"],
    ),
    (
        "track record: good ratings but few reorders",
        dict(listings=2, reports=4, rating=4.5, reorders=1),
        product(certificates=FOOD_OK),
        95,
        "siap",
        ["track_record.weak"],
    ),
    (
        "track record: poor ratings",
        dict(listings=2, reports=2, rating=2, reorders=0),
        product(certificates=FOOD_OK),
        90,
        "siap",
        ["track_record.weak"],
    ),
    (
        "track record: marketplace orders over three months are a fair record until partners report",
        dict(listings=2, sold=sold_since(date(2026, 9, 30), orders=10)),
        product(certificates=FOOD_OK),
        95,
        "siap",
        ["track_record.none"],
    ),
    (
        "track record: as many marketplace orders within two months earn nothing yet",
        dict(listings=2, sold=sold_since(date(2026, 10, 1), orders=30)),
        product(certificates=FOOD_OK),
        90,
        "siap",
        ["track_record.none"],
    ),
    (
        "track record: nine marketplace orders over three months earn nothing yet",
        dict(listings=2, sold=sold_since(date(2026, 9, 1), orders=9)),
        product(certificates=FOOD_OK),
        90,
        "siap",
        ["track_record.none"],
    ),
    (
        "track record: poor partner ratings, steady marketplace sales: the better counts",
        dict(listings=2, reports=2, rating=2, reorders=0, sold=sold_since(date(2026, 6, 1), orders=40)),
        product(certificates=FOOD_OK),
        95,
        "siap",
        ["track_record.weak"],
    ),
    (
        "track record: marketplace sales leave a good partner record as it is",
        dict(listings=2, reports=4, rating=4.5, reorders=3, sold=sold_since(date(2026, 6, 1), orders=40)),
        product(certificates=FOOD_OK),
        100,
        "siap",
        [],
    ),
    (
        "listings whose sales were never imported earn nothing",
        dict(verified=False, unsold=2),
        product("woven_textile", price=400_000, capacity=50, label=True),
        70,
        "setengah",
        ["legality.nib_unverified", "marketplace.no_sales", "track_record.none"],
    ),
    (
        "a listing with sales counts, one without does not",
        dict(verified=False, listings=1, unsold=1),
        product("woven_textile", price=400_000, capacity=50, label=True),
        75,
        "siap",
        ["legality.nib_unverified", "track_record.none"],
    ),
    # Tier boundaries, with a textile product that needs no certificate.
    (
        "boundary: exactly 75 is siap",
        dict(verified=False, listings=1),
        product("woven_textile", price=400_000, capacity=50, label=True),
        75,
        "siap",
        ["legality.nib_unverified", "track_record.none"],
    ),
    (
        "boundary: 73 is setengah",
        dict(verified=False, listings=2),
        product("woven_textile", price=400_000, capacity=25, label=True),
        73,
        "setengah",
        ["legality.nib_unverified", "capacity.below_typical_order", "track_record.none"],
    ),
    (
        "boundary: exactly 50 is setengah",
        dict(verified=False),
        product("woven_textile", price=4_000_000, capacity=50, label=False),
        50,
        "setengah",
        [
            "legality.nib_unverified",
            "packaging.no_english_label",
            "export_pricing.above_market",
            "marketplace.no_listing",
            "track_record.none",
        ],
    ),
    (
        "boundary: 48 is didorong",
        dict(verified=False, listings=1),
        product("woven_textile", price=4_000_000, capacity=25, label=False),
        48,
        "didorong",
        [
            "legality.nib_unverified",
            "capacity.below_typical_order",
            "packaging.no_english_label",
            "export_pricing.above_market",
            "track_record.none",
        ],
    ),
]


@pytest.mark.parametrize(("description", "evidence", "item", "score", "tier", "gaps"), CASES, ids=[c[0] for c in CASES])
def test_rubric(description, evidence, item, score, tier, gaps):
    scored = score_product(msme(**evidence), item, RUBRIC, TODAY)
    assert (scored.score, scored.tier) == (score, tier), [c.model_dump() for c in scored.criteria]
    assert [gap.code for gap in scored.gaps] == gaps
    assert sum(c.max_points for c in scored.criteria) == 100


def test_every_criterion_is_scored_and_every_gap_has_a_next_step_in_both_languages():
    scored = score_product(msme(verified=False), product(certificates=()), RUBRIC, TODAY)
    assert [c.criterion for c in scored.criteria] == [
        "legality",
        "certificates",
        "capacity",
        "packaging",
        "export_pricing",
        "marketplace",
        "track_record",
    ]
    halal = next(gap for gap in scored.gaps if gap.code == "certificate.halal")
    assert halal.next_step_id == "Ajukan sertifikat halal ke BPJPH"
    assert halal.next_step_en == "Apply for a halal certificate with BPJPH"
    assert halal.points_missing == 15
    assert halal.programme is not None and halal.programme.url == "https://ptsp.halal.go.id"
    assert "self-declare" in halal.programme.name, "the free route for micro and small businesses"


def test_rubric_data_is_checked_when_loaded(tmp_path):
    import yaml

    data = yaml.safe_load(RUBRIC_PATH.read_text())
    data["criteria"]["packaging"]["max_points"] = 20
    broken = tmp_path / "rubric.yaml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="add up to 110"):
        load_rubric(broken)
    assert RUBRIC_PATH.exists()


ROADS = [
    # (description, msme kwargs, product, road, next steps in order, words in the Indonesian reason)
    (
        "siap goes international, the rest of its gaps by weight",
        dict(listings=2),
        product(certificates=FOOD_OK),
        "go_international",
        ["track_record.none"],
        "Memenuhi semua syarat ekspor (skor 90/100)",
    ),
    (
        "export-only gaps: the marketplace first, its own gap leading, then export's heaviest first",
        dict(verified=False),
        product("woven_textile", price=4_000_000, capacity=25, label=False),
        "go_to_marketplace",
        [
            "marketplace.no_listing",
            "legality.nib_unverified",
            "packaging.no_english_label",
            "export_pricing.above_market",
            "capacity.below_typical_order",
            "track_record.none",
        ],
        "Verifikasi NIB di OSS, Peningkatan kapasitas produksi, Lokakarya kemasan",
    ),
    (
        "no food permit: incubation first, the permit and halal leading",
        dict(listings=1),
        product(certificates=()),
        "incubate_first",
        ["certificate.pirt|bpom_md", "certificate.halal", "track_record.none"],
        "Belum bisa dijual resmi secara online: Pendampingan SPP-IRT / BPOM MD, Sertifikasi halal BPJPH",
    ),
    (
        "certified food below the line only for want of shops and sales: the marketplace",
        dict(verified=False, unsold=1),
        product(certificates=FOOD_OK, capacity=300),
        "go_to_marketplace",
        ["marketplace.no_sales", "legality.nib_unverified", "capacity.below_typical_order", "track_record.none"],
        "skor 63/100",
    ),
]


@pytest.mark.parametrize(
    ("description", "evidence", "item", "road", "steps", "words"), ROADS, ids=[r[0] for r in ROADS]
)
def test_the_assessment_recommends_a_road_with_its_reason_and_ordered_next_steps(
    description, evidence, item, road, steps, words
):
    advice = road_for(score_product(msme(**evidence), item, RUBRIC, TODAY), RUBRIC)
    assert advice.road == road
    assert [gap.code for gap in advice.next_steps] == steps
    assert words in advice.reason_id, advice.reason_id
    assert "{" not in advice.reason_id + advice.reason_en


def test_the_track_record_says_what_it_counted_from_partners_and_marketplaces():
    scored = score_product(
        msme(listings=1, sold=sold_since(date(2026, 8, 15), orders=12)), product(certificates=FOOD_OK), RUBRIC, TODAY
    )
    record = next(c for c in scored.criteria if c.criterion == "track_record")
    assert (record.points, record.detail) == (
        5,
        "no sales feedback from partners yet; 12 marketplace order(s) over 4 month(s)",
    )
