"""Registry acceptance on the real broker and store: readiness, expiry, incubation, privacy."""

import asyncio
import json
import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from unittest.mock import ANY
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import SalesReported
from ekspora_contracts.topics import CATALOGUE, MATCHING_SALES, REGISTRY_MSME, REGISTRY_PRODUCT
from ekspora_ops.evidence import certified
from ekspora_ops.shops import opened_shop
from tests.factories import CLOCK, scanned_pdf
from tests.integration.support import OPERATOR, OPERATOR_TOKEN, eventually, publish, read_topic

pytestmark = pytest.mark.clock  # times of day, local dates, expiries: CI runs it at shifted hours

WIB = ZoneInfo("Asia/Jakarta")
YESTERDAY = CLOCK.today("Asia/Jakarta") - timedelta(
    days=1
)  # the last marketplace sale: never after the registry's today
TAHU = {
    "name": "Tahu Takwa",
    "description_id": "Tahu kuning khas Kediri",
    "description_en": "Kediri yellow tofu",
    "category": "processed_food",
    "hs_code": "21069099",
    "unit": "pack 500 g",
    "unit_price_idr": 25_000,
    "minimum_order_quantity": 50,
    "monthly_capacity": 1_200,
    "net_weight_grams": 500,
    "shelf_life_days": 30,
    "english_label": True,
}
TENUN = {
    "name": "Tenun Ikat Bandar Kidul",
    "description_id": "Kain tenun ikat motif Kediri",
    "description_en": "Hand-woven ikat cloth, Kediri motifs",
    "category": "woven_textile",
    "hs_code": "52084200",
    "unit": "piece 2 m",
    "unit_price_idr": 450_000,
    "minimum_order_quantity": 5,
    "monthly_capacity": 60,
    "net_weight_grams": 400,
    "english_label": True,
}


class Registry:
    def __init__(self, url: str, region: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=10, headers=OPERATOR)
        self.region = region

    async def ok(self, method: str, path: str, body: dict | None = None) -> dict:
        response = await self.client.request(method, path, json=body)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    async def umkm(self, *, verified=True, listings=2, product=TAHU, certificates=("pirt",), owner_phone=None) -> tuple:
        body = {
            "region": self.region,
            "business_name": "Tahu Takwa Lestari",
            "owner_name": "Sri Lestari",
            "nib": f"{random.randrange(10**12, 10**13)}",
            "sector": "food",
            "kelurahan": "Tinalan",
            "kecamatan": "Pesantren",
            "whatsapp": owner_phone or "+6281234567001",
            "email": "sri@lestari.id",
        }
        msme_id = (await self.ok("POST", "/msmes", body))["msme_id"]
        if verified:
            await self.ok("POST", f"/msmes/{msme_id}/nib-verification")
        product_id = (await self.ok("POST", f"/msmes/{msme_id}/products", product))["product"]["product_id"]
        for kind in certificates:
            await self.certificate(msme_id, product_id, kind)
        for n in range(listings):  # each with its shop's sales imported, so that it counts
            listing = {"platform": "shopee", "url": f"https://shopee.co.id/l{n}"}
            await opened_shop(self.client, msme_id, listing, [(product_id, product["unit_price_idr"])], YESTERDAY)
        return msme_id, product_id

    async def certificate(self, msme_id: str, product_id: str, kind: str, expires_on: str = "2028-06-30") -> dict:
        """Added, its scan uploaded and verified, as an operator does it."""
        body = {"kind": kind, "number": f"{kind.upper()}-{random.randrange(10**6)}", "expires_on": expires_on}
        return await certified(self.client, f"/msmes/{msme_id}/products/{product_id}", body)

    async def get(self, msme_id: str) -> dict:
        return await self.ok("GET", f"/msmes/{msme_id}")


async def events_of(topic: str, subject: str, at_least: int = 0) -> list[dict]:
    """The subject's events on the topic, once `at_least` of them are there (counted as `short` lists them)."""

    async def matching():
        events = [json.loads(r.value) for r in await read_topic(topic, timeout=2)]
        mine = [e for e in events if e["subject"] == subject]
        return mine if len(short(mine)) >= at_least else None

    return (
        await eventually(matching, what=f"{at_least} events of {subject} on {topic}")
        if at_least
        else [e for e in (json.loads(r.value) for r in await read_topic(topic, timeout=2)) if e["subject"] == subject]
    )


def short(events: list[dict]) -> list[str]:
    """The lifecycle of a product or an UMKM; a product's own assessment (product.assessed, for
    matching's opportunities) follows each of its changes and is checked on its own."""
    return [
        e["type"].removeprefix("ekspora.registry.").removesuffix(".v1")
        for e in events
        if e["type"] != "ekspora.registry.product.assessed.v1"
    ]


@pytest.fixture
async def registry(platform):
    service = platform.start("registry", env={"EKSPORA_EXPIRY_CHECK_SECONDS": "1"})
    return Registry(service.url, platform.region)


async def test_adding_the_missing_certificate_moves_setengah_to_siap_and_emits_export_ready_once(platform, registry):
    msme_id, product_id = await registry.umkm()
    assert (await registry.get(msme_id))["assessment"]["tier"] == "setengah"
    halal = {"kind": "halal", "number": "ID35110000123450823", "expires_on": "2028-01-31"}
    for _ in range(2):  # the operator's request repeated
        await certified(registry.client, f"/msmes/{msme_id}/products/{product_id}", halal)
    msme = await registry.get(msme_id)
    assert (msme["assessment"]["tier"], msme["assessment"]["score"]) == ("siap", 90)

    product_events = await events_of(platform.topic(REGISTRY_PRODUCT), product_id, at_least=4)
    assert short(product_events) == ["product.listed", "product.updated", "product.updated", "product.export_ready"]
    ready = next(e["data"] for e in product_events if e["type"].endswith("product.export_ready.v1"))
    assert (ready["product"]["hs_code"], ready["product"]["tariff_code"]) == ("210690", "21069099")
    assert ready["score"] == 90
    assert {c["kind"] for c in ready["product"]["certificates"]} == {"pirt", "halal"}
    assessed = [
        e
        for e in await events_of(platform.topic(REGISTRY_MSME), msme_id)
        if e["type"].endswith("readiness.assessed.v2")
    ]
    assert [(e["data"]["tier"], e["data"]["trigger"]) for e in assessed][-1] == (
        "siap",
        "certificate_evidence_verified:halal",
    )

    async def own_assessments() -> list[dict] | None:  # published right after export_ready, in the same change
        found = await events_of(platform.topic(REGISTRY_PRODUCT), product_id)
        assessed = [e["data"] for e in found if e["type"] == "ekspora.registry.product.assessed.v1"]
        return assessed if assessed and assessed[-1]["tier"] == "siap" else None

    own = await eventually(own_assessments, what="the product's own assessment as siap")
    assert [(a["tier"], [g["code"] for g in a["gaps"]][:1]) for a in own][-2:] == [
        ("setengah", ["certificate.halal"]),
        ("siap", ["track_record.none"]),
    ], "the product's own gaps, as matching hears them"
    roads = [(e["data"]["tier"], e["data"]["road"]["road"]) for e in assessed]
    assert roads[-2:] == [("setengah", "incubate_first"), ("siap", "go_international")], "halal is needed at home too"
    assert assessed[-2]["data"]["road"]["next_steps"][0]["code"] == "certificate.halal"
    assert msme["assessment"]["road"]["road"] == "go_international"

    history = await registry.ok("GET", f"/msmes/{msme_id}/assessments")
    assert [(a["tier"], a["trigger"]) for a in history][:2] == [
        ("siap", "certificate_evidence_verified:halal"),
        ("setengah", ANY),
    ]
    assert len(history) == len(assessed), "one entry per assessment, newest first"
    stored = await platform.mongo[platform.database_name("registry")]["msmes"].find_one({"_id": msme_id})
    assert "assessments" not in stored, "the history stays out of the document every save rewrites"


async def test_sales_feedback_raises_readiness_once_even_when_redelivered(platform, registry):
    msme_id, product_id = await registry.umkm(verified=False, listings=0, product=TENUN, certificates=())
    assert (await registry.get(msme_id))["assessment"]["score"] == 70
    report = SalesReported(
        report_id="rep-1",
        match_id="mt-1",
        msme_id=msme_id,
        product_id=product_id,
        partner_id="ptn-toko-amsterdam",
        region=platform.region,
        units_sold=18,
        revenue_amount=162_000,
        revenue_currency="EUR",
        returns=0,
        rating=5,
        comment="Sold out in two weeks",
        will_reorder=True,
        reported_at=CLOCK.now(),
    )
    event = new_event(
        report, region=platform.region, producer="matching", correlation_id="feedback-1", time=CLOCK.now()
    )
    for _ in range(3):
        await publish(platform.topic(MATCHING_SALES), msme_id.encode(), event.model_dump_json().encode())

    async def reassessed():
        msme = await registry.get(msme_id)
        return msme if msme["track_record"]["reports"] else None

    msme = await eventually(reassessed, what="the track record to include the report")
    assert (msme["assessment"]["score"], msme["assessment"]["tier"]) == (80, "siap")
    product_events = await events_of(platform.topic(REGISTRY_PRODUCT), product_id, at_least=2)
    assert short(product_events) == ["product.listed", "product.export_ready"]
    assessed = [
        e
        for e in await events_of(platform.topic(REGISTRY_MSME), msme_id)
        if e["type"].endswith("readiness.assessed.v2")
    ]
    assert [e["data"]["trigger"] for e in assessed] == ["registered", "product_listed", "sales_reported"]
    assert assessed[-1]["causationid"] == event.id
    assert msme["track_record"]["reports"] == 1, "the redeliveries changed nothing"


async def test_an_expired_certificate_lowers_the_tier_at_expiry_without_any_edit(platform):
    expires_on = CLOCK.now().astimezone(WIB).date() + timedelta(days=2)
    expiry = datetime.combine(expires_on, time.min, WIB).astimezone(UTC)
    offset = CLOCK.offset_to(expiry) - 12  # the service's clock stands 12 s before expiry
    service = platform.start(
        "registry", env={"EKSPORA_EXPIRY_CHECK_SECONDS": "1", "EKSPORA_CLOCK_OFFSET_SECONDS": str(offset)}
    )
    registry = Registry(service.url, platform.region)
    msme_id, product_id = await registry.umkm()
    await registry.certificate(msme_id, product_id, "halal", expires_on.isoformat())
    assert (await registry.get(msme_id))["assessment"]["tier"] == "siap"

    async def lowered():
        msme = await registry.get(msme_id)
        return msme if msme["assessment"]["tier"] != "siap" else None

    msme = await eventually(lowered, timeout=30, what="the tier to drop at the certificate's expiry")
    assert msme["assessment"]["tier"] == "setengah"
    assert msme["assessment"]["trigger"] == "certificate_expired"
    assert [g["code"] for g in msme["assessment"]["gaps"]] == ["certificate.halal", "track_record.none"]
    product_events = await events_of(platform.topic(REGISTRY_PRODUCT), product_id, at_least=5)
    assert short(product_events)[-2:] == ["product.export_ready", "product.export_readiness_lost"]


async def test_incubation_enrol_complete_milestones_reassess_graduate_in_order(platform, registry):
    msme_id, product_id = await registry.umkm(verified=False, listings=0, certificates=())
    assert (await registry.get(msme_id))["assessment"]["tier"] == "didorong"
    cohort = await registry.ok(
        "POST",
        "/cohorts",
        {
            "region": platform.region,
            "name": "UMKM Kita Bisa Kediri 2026/2",
            "starts_on": CLOCK.today("Asia/Jakarta").isoformat(),
        },
    )
    enrolled = await registry.ok("POST", f"/cohorts/{cohort['cohort_id']}/enrollments", {"msme_id": msme_id})
    milestones = [m["code"] for m in enrolled["incubation"]["milestones"]]
    assert milestones == [
        "nib_verification",
        "food_permit",
        "halal_certification",
        "marketplace_onboarding",
        "first_export_sales",
    ]
    today = CLOCK.now().astimezone(WIB).date()
    due = {m["code"]: m["due_on"] for m in enrolled["incubation"]["milestones"]}
    assert (due["nib_verification"], due["halal_certification"]) == (
        (today + timedelta(weeks=1)).isoformat(),
        (today + timedelta(weeks=6)).isoformat(),
    )
    again = await registry.client.post(f"/cohorts/{cohort['cohort_id']}/enrollments", json={"msme_id": msme_id})
    assert again.status_code == 409

    await registry.ok("POST", f"/msmes/{msme_id}/nib-verification")
    sold = {"note": "first 200 packs sold to a Surabaya exporter, invoice seen"}
    done = await registry.ok("POST", f"/msmes/{msme_id}/incubation/milestones/first_export_sales/completion", sold)
    assert (
        next(m for m in done["incubation"]["milestones"] if m["code"] == "first_export_sales")["note"] == sold["note"]
    )
    await registry.certificate(msme_id, product_id, "pirt")
    tokopedia = {"platform": "tokopedia", "url": "https://tokopedia.com/t"}
    await opened_shop(registry.client, msme_id, tokopedia, [(product_id, TAHU["unit_price_idr"])], YESTERDAY)
    await registry.certificate(msme_id, product_id, "halal")

    msme = await registry.get(msme_id)
    assert msme["assessment"]["tier"] == "siap" and msme["incubation"]["graduated_at"]
    view = await registry.ok("GET", f"/cohorts/{cohort['cohort_id']}")
    assert view["members"] == [
        {
            "msme_id": msme_id,
            "business_name": "Tahu Takwa Lestari",
            "tier": "siap",
            "score": 85,
            "road": "go_international",
            "milestones_done": 5,
            "milestones_total": 5,
            "overdue": [],
            "next_due_on": None,
            "sessions_attended": 0,
            "sessions_held": 0,
            "next_session_at": None,
            "graduated": True,
            "unlocked": [],
            "unlocked_value_idr": 0,
        }
    ]

    events = await events_of(platform.topic(REGISTRY_MSME), msme_id, at_least=14)
    incubation = [
        (e["type"].split(".")[3], e["data"].get("milestone", {}).get("code"))
        for e in events
        if ".incubation." in e["type"]
    ]
    assert incubation == [
        ("enrolled", None),
        ("milestone_completed", "nib_verification"),
        ("milestone_completed", "first_export_sales"),
        ("milestone_completed", "food_permit"),
        ("milestone_completed", "marketplace_onboarding"),
        ("milestone_completed", "halal_certification"),
        ("graduated", None),
    ]
    order = short(events)
    assert order.index("incubation.graduated") > max(i for i, t in enumerate(order) if t == "readiness.assessed.v2")
    assert [e["data"]["tier"] for e in events if e["type"].endswith("readiness.assessed.v2")][-1] == "siap"


async def test_bad_input_gets_4xx_with_messages_and_duplicate_nib_409(registry):
    msme_id, product_id = await registry.umkm()
    body = {
        "region": registry.region,
        "business_name": "Batik Kediri",
        "owner_name": "Ani",
        "nib": "12345",
        "sector": "textile",
        "kelurahan": "Dandangan",
        "kecamatan": "Kota",
        "whatsapp": "0812345",
    }
    bad = await registry.client.post("/msmes", json=body)
    assert bad.status_code == 422
    assert {e["field"]: e["message"] for e in bad.json()["errors"]}.keys() == {"nib", "whatsapp"}

    product = dict(TAHU, hs_code="2106", unit_price_idr=-500)
    bad_product = await registry.client.post(f"/msmes/{msme_id}/products", json=product)
    assert bad_product.status_code == 422
    assert {e["field"] for e in bad_product.json()["errors"]} == {"hs_code", "unit_price_idr"}
    unknown_category = await registry.client.post(f"/msmes/{msme_id}/products", json=dict(TAHU, category="drones"))
    assert unknown_category.status_code == 422 and unknown_category.json()["errors"][0]["field"] == "category"

    existing = await registry.get(msme_id)
    duplicate = await registry.client.post(
        "/msmes", json={**body, "nib": existing["profile"]["nib"], "whatsapp": "+6281234567002"}
    )
    assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["field"] == "nib"
    assert (await registry.client.get("/msmes/msme-unknown")).status_code == 404
    assert (await registry.client.post("/msmes/msme-unknown/nib-verification")).status_code == 404
    missing = await registry.client.delete(f"/msmes/{msme_id}/products/{product_id}/certificates/svlk")
    assert missing.status_code == 404
    expired = await registry.client.post(
        f"/msmes/{msme_id}/products/{product_id}/certificates",
        json={"kind": "halal", "number": "H-1", "expires_on": "2020-01-01"},
    )
    assert expired.status_code == 422 and expired.json()["errors"][0]["field"] == "expires_on"


async def test_no_public_event_carries_an_owners_name_nib_phone_or_email(platform, registry):
    msme_id, product_id = await registry.umkm(owner_phone="+6285799887766")
    await registry.ok("PATCH", f"/msmes/{msme_id}", {"email": "baru@lestari.id", "kecamatan": "Kota"})
    await registry.certificate(msme_id, product_id, "halal")
    await events_of(platform.topic(REGISTRY_PRODUCT), product_id, at_least=4)

    public = [s for s in CATALOGUE if s.visibility == "public"]
    for stream in public:
        for record in await read_topic(platform.topic(stream), timeout=2):
            text = record.value.decode()
            for secret in ("+6285799887766", "sri@lestari.id", "baru@lestari.id", "6285799887766", "Sri Lestari"):
                assert secret not in text, f"{secret} leaked on {stream.topic(platform.region)}"
            assert not {"owner_name", "nib"} & set(json.loads(text)["data"]), text
    private = [
        json.loads(r.value)
        for r in await read_topic(platform.topic(next(s for s in CATALOGUE if s.visibility == "private")), at_least=2)
    ]
    assert [e["data"]["email"] for e in private if e["subject"] == msme_id] == ["sri@lestari.id", "baru@lestari.id"]


async def test_lists_filter_by_tier_sector_kecamatan_and_nib_with_pages(registry):
    ready, _ = await registry.umkm(certificates=("pirt", "halal"))
    half, _ = await registry.umkm()
    pushed, _ = await registry.umkm(verified=False, listings=0, certificates=())
    await registry.ok("PATCH", f"/msmes/{pushed}", {"kecamatan": "Mojoroto", "sector": "textile"})

    async def ids(**params) -> list[str]:
        page = await registry.ok("GET", "/msmes?" + "&".join(f"{k}={v}" for k, v in params.items()))
        return [m["msme_id"] for m in page["items"]]

    region = registry.region
    assert await ids(region=region, tier="siap") == [ready]
    assert await ids(region=region, tier="setengah") == [half]
    assert await ids(region=region, tier="didorong") == [pushed]
    assert await ids(region=region, sector="textile") == [pushed]
    assert await ids(region=region, kecamatan="Pesantren") == [ready, half]
    assert await ids(region=region, page_size=2, page=2) == [pushed]
    nib = (await registry.ok("GET", f"/msmes/{half}"))["profile"]["nib"]
    assert await ids(region=region, nib=nib) == [half]
    assert await ids(region=region, nib="9" * 13) == []
    assert (await registry.client.get(f"/msmes?region={region}&nib=12-3")).status_code == 422
    page = await registry.ok("GET", f"/msmes?region={region}&page_size=2")
    assert page["total"] == 3 and len(page["items"]) == 2
    assert (await registry.client.get(f"/msmes?region={region}&tier=ready")).status_code == 422
    assert (await registry.client.get("/msmes?region=blitar")).status_code == 422


async def test_the_list_filters_by_cohort_and_shows_what_a_list_shows_of_each(platform, registry):
    half, _ = await registry.umkm()
    pushed, _ = await registry.umkm(verified=False, listings=0, certificates=())
    starts_on = CLOCK.today("Asia/Jakarta").isoformat()
    cohort = await registry.ok(
        "POST", "/cohorts", {"region": registry.region, "name": "Angkatan A", "starts_on": starts_on}
    )
    await registry.ok("POST", f"/cohorts/{cohort['cohort_id']}/enrollments", {"msme_id": pushed})

    async def listed(**params) -> list[dict]:
        page = await registry.ok("GET", "/msmes?" + urlencode({"region": registry.region, **params}))
        return list(page["items"])

    [enrolled] = await listed(cohort_id=cohort["cohort_id"])
    assert await listed(cohort_id="cohort-none") == []
    full = await registry.ok("GET", f"/msmes/{pushed}")
    assert enrolled == {
        "msme_id": pushed,
        "number": 1,
        "business_name": full["profile"]["business_name"],
        "owner_name": full["profile"]["owner_name"],
        "sector": full["profile"]["sector"],
        "kecamatan": full["profile"]["kecamatan"],
        "tier": "didorong",
        "score": full["assessment"]["score"],
        "products": len(full["products"]),
        "cohort_id": cohort["cohort_id"],
        "withdrawn": False,
    }
    [first] = await listed(tier="setengah")
    assert first["msme_id"] == half and first["number"] == 0 and first["cohort_id"] is None


async def test_the_kota_kediri_seed_loads_with_the_expected_tiers(platform):
    import asyncio
    from collections import Counter

    from ekspora_ops import seed

    service = platform.start("registry")
    data = seed.read_seed(seed.KOTA_KEDIRI)
    data_for_region = seed.KOTA_KEDIRI.read_text().replace("region: kota-kediri", f"region: {platform.region}")
    path = platform.log_dir / "seed.yaml"
    path.write_text(data_for_region)
    loaded = await asyncio.to_thread(seed.load, service.url, path, token=OPERATOR_TOKEN, progress=False)
    assert len(loaded) == len(data["umkm"])
    assert dict(Counter(m["assessment"]["tier"] for m in loaded)) == data["expected_tiers"]
    again = await asyncio.to_thread(seed.load, service.url, path, token=OPERATOR_TOKEN, progress=False)
    assert again == [], "a second load leaves every UMKM as it is"


async def test_operators_reach_only_their_own_region(platform):
    await platform.provision(f"blitar-{platform.region}")
    service = platform.start(
        "registry",
        env={
            "EKSPORA_REGIONS": f"{platform.region},blitar-{platform.region}",
            "EKSPORA_OPERATOR_TOKENS": f"{platform.region}=test-operator,blitar-{platform.region}=blitar-operator",
        },
    )
    mine = Registry(service.url, platform.region)
    msme_id, product_id = await mine.umkm()
    blitar = httpx.AsyncClient(base_url=service.url, headers={"Authorization": "Bearer blitar-operator"})
    anonymous = httpx.AsyncClient(base_url=service.url)

    assert (await anonymous.get(f"/msmes/{msme_id}")).status_code == 401
    assert (await anonymous.get("/msmes", params={"region": platform.region})).status_code == 401
    assert (await blitar.get(f"/msmes/{msme_id}")).status_code == 404
    assert (await blitar.get(f"/products/{product_id}")).status_code == 404
    assert (await blitar.post(f"/msmes/{msme_id}/nib-verification")).status_code == 404
    assert (await blitar.get("/msmes", params={"region": platform.region})).status_code == 403
    body = {
        "region": platform.region,
        "business_name": "Batik Blitar",
        "owner_name": "Ani",
        "nib": "9120309999991",
        "sector": "textile",
        "kelurahan": "Kepanjen Lor",
        "kecamatan": "Kepanjenkidul",
    }
    assert (await blitar.post("/msmes", json=body)).status_code == 403
    assert (await mine.client.get(f"/msmes/{msme_id}")).json()["profile"]["whatsapp"] == "+6281234567001"


async def test_products_are_delisted_and_umkm_withdrawn_not_erased(platform, registry):
    msme_id, product_id = await registry.umkm(certificates=("pirt", "halal"))
    no_reason = await registry.client.request("DELETE", f"/msmes/{msme_id}/products/{product_id}", json={})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    delisted = await registry.client.request(
        "DELETE", f"/msmes/{msme_id}/products/{product_id}", json={"reason": "seasonal, out of stock until Lebaran"}
    )
    assert delisted.status_code == 200 and delisted.json()["products"] == []
    events = await events_of(platform.topic(REGISTRY_PRODUCT), product_id, at_least=6)
    assert short(events)[-3:] == ["product.export_ready", "product.export_readiness_lost", "product.delisted"]

    withdrawn = await registry.client.request("DELETE", f"/msmes/{msme_id}", json={"reason": "closed the business"})
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    later = await registry.client.post(
        f"/msmes/{msme_id}/listings", json={"platform": "shopee", "url": "https://shopee.co.id/late"}
    )
    assert later.status_code == 409 and "withdrew" in later.json()["message"]
    assert (await registry.get(msme_id))["profile"]["business_name"] == "Tahu Takwa Lestari", "kept for history"
    assert short(await events_of(platform.topic(REGISTRY_MSME), msme_id))[-1] == "msme.withdrawn"


async def test_registrations_at_once_are_numbered_densely_and_listed_by_blocks(platform, registry):
    async def register(n: int) -> str:
        body = {
            "region": registry.region,
            "business_name": f"Usaha {n}",
            "owner_name": "Sri Lestari",
            "nib": f"{8_000_000_000_000 + n}",
            "sector": "food",
            "kelurahan": "Tinalan",
            "kecamatan": "Pesantren",
            "whatsapp": "+6281234567001",
        }
        return (await registry.ok("POST", "/msmes", body))["msme_id"]

    registered = await asyncio.gather(*(register(n) for n in range(30)))
    stored = platform.mongo[platform.database_name("registry")]["msmes"]
    numbers = sorted([d["listing_seq"] async for d in stored.find({"region": registry.region}, {"listing_seq": 1})])
    assert numbers == list(range(30)), "every registration has a number of its own, none skipped"

    listed = []
    for page in (1, 2, 3):
        answer = await registry.ok("GET", f"/msmes?region={registry.region}&page_size=12&page={page}")
        assert answer["total"] == 30
        listed += [m["msme_id"] for m in answer["items"]]
    assert len(listed) == 30 and set(listed) == set(registered)
    numbered = {d["_id"]: d["listing_seq"] async for d in stored.find({"region": registry.region})}
    assert [numbered[msme_id] for msme_id in listed] == list(range(30)), "pages in order of number"
    first = await registry.ok("GET", f"/msmes?region={registry.region}&page_size=12")
    following = await registry.ok("GET", f"/msmes?region={registry.region}&page_size=12&after={first['numbers'][-1]}")
    assert first["numbers"] == list(range(12)) and following["numbers"] == list(range(12, 24)), "the next link's page"
    assert (await registry.client.get(f"/msmes?region={registry.region}&after=-1")).status_code == 422

    funnel = await eventually(lambda: _counted(registry, 30), what="the funnel tally counting the 30 registrations")
    tiers = Counter([d["tier"] or "unassessed" async for d in stored.find({"region": registry.region})])
    assert {**funnel["tiers"], "unassessed": funnel["unassessed"]} == {
        step: tiers[step] for step in ("siap", "setengah", "didorong", "unassessed")
    }


async def _counted(registry: "Registry", registered: int) -> dict | None:
    funnel = await registry.ok("GET", f"/funnel?region={registry.region}")
    assessed = sum(funnel["tiers"].values()) + funnel["unassessed"]
    return funnel if funnel["registered"] == registered and assessed == registered else None


async def upload_scan(registry: Registry, path: str, content: bytes, content_type: str = "application/pdf"):
    return await registry.client.put(
        f"{path}/evidence", content=content, headers={"content-type": content_type}, params={"filename": "scan.pdf"}
    )


async def test_a_certificate_counts_once_its_scan_is_verified_and_the_scan_survives_a_restart(platform):
    service = platform.start("registry", env={"EKSPORA_EVIDENCE_MAX_BYTES": "4096"})
    registry = Registry(service.url, platform.region)
    msme_id, product_id = await registry.umkm()  # SPP-IRT with its verified scan
    product = f"/msmes/{msme_id}/products/{product_id}"
    halal = f"{product}/certificates/halal"
    await registry.ok(
        "POST", f"{product}/certificates", {"kind": "halal", "number": "ID3511", "expires_on": "2028-01-31"}
    )
    assert (await registry.get(msme_id))["assessment"]["tier"] == "setengah", "no scan, no count"
    stored = platform.database("registry")["evidence.files"]
    before = await stored.count_documents({})

    refusals = [
        (await upload_scan(registry, halal, b"a letter", "text/plain"), 415, "content-type"),
        (await upload_scan(registry, halal, scanned_pdf("halal"), "image/jpeg"), 415, "file"),
        (await upload_scan(registry, halal, b"%PDF-" + b"1" * 5000), 413, "file"),
        (await upload_scan(registry, halal, b""), 422, "file"),
        (await upload_scan(registry, f"{product}/certificates/svlk", scanned_pdf("svlk")), 404, None),
    ]
    for response, status, field in refusals:
        assert response.status_code == status, response.text
        if field:
            assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await stored.count_documents({}) == before, "nothing refused is stored"

    blurred, sharp = scanned_pdf("halal ID3511 (blurred)"), scanned_pdf("halal ID3511")
    for _ in range(2):
        assert (await upload_scan(registry, halal, blurred)).status_code == 200
    assert await stored.count_documents({}) == before + 1, "the same scan twice is stored once"
    assert (await registry.get(msme_id))["assessment"]["tier"] == "setengah", "uploaded is not verified"
    unexplained = await registry.client.put(f"{halal}/evidence/review", json={"status": "rejected"})
    assert unexplained.status_code == 422 and unexplained.json()["errors"][0]["field"] == "reason"
    reason = "Nomor sertifikat tidak terbaca"
    await registry.ok("PUT", f"{halal}/evidence/review", {"status": "rejected", "reason": reason})
    rejected = [e for e in await events_of(platform.topic(REGISTRY_MSME), msme_id) if "evidence_rejected" in e["type"]]
    assert [(e["data"]["kind"], e["data"]["reason"]) for e in rejected] == [("halal", reason)]

    await upload_scan(registry, halal, sharp)
    await registry.ok("PUT", f"{halal}/evidence/review", {"status": "verified"})
    assert (await registry.get(msme_id))["assessment"]["tier"] == "siap"
    ready = await events_of(platform.topic(REGISTRY_PRODUCT), product_id, at_least=3)
    [announced] = [e["data"]["product"] for e in ready if e["type"].endswith("export_ready.v1")]
    assert {c["kind"] for c in announced["certificates"]} == {"pirt", "halal"}

    service.stop()
    again = Registry(platform.start("registry").url, platform.region)
    assert (await again.get(msme_id))["assessment"]["tier"] == "siap"
    kept = await again.client.get(f"{halal}/evidence")
    assert kept.status_code == 200 and kept.content == sharp and kept.headers["content-type"] == "application/pdf"


async def test_an_expiring_certificate_warns_its_owner_once_30_and_once_7_days_before(platform):
    expires_on = CLOCK.now().astimezone(WIB).date() + timedelta(days=60)

    def registry_at(days_before: int) -> Registry:
        """The registry with its clock 10 s before local midnight `days_before` the expiry."""
        moment = datetime.combine(expires_on - timedelta(days=days_before), time.min, WIB).astimezone(UTC)
        offset = CLOCK.offset_to(moment) - 10
        env = {"EKSPORA_EXPIRY_CHECK_SECONDS": "1", "EKSPORA_CLOCK_OFFSET_SECONDS": str(offset)}
        return Registry(platform.start("registry", env=env).url, platform.region)

    async def warnings(count: int) -> list[int] | None:
        events = await events_of(platform.topic(REGISTRY_MSME), msme_id)
        sent = [e["data"]["warning"] for e in events if e["type"] == "ekspora.registry.certificate.expiring.v1"]
        return sent if len(sent) >= count else None

    registry = registry_at(30)
    msme_id, product_id = await registry.umkm()
    await registry.certificate(msme_id, product_id, "halal", expires_on.isoformat())
    assert await warnings(1) is None, "not before its day"
    assert await eventually(lambda: warnings(1), timeout=40, what="the 30-day warning") == [30]
    for process in platform.processes:
        process.stop()
    registry = registry_at(7)
    assert await eventually(lambda: warnings(2), timeout=40, what="the 7-day warning") == [30, 7]
    await asyncio.sleep(4)  # four more checks
    events = await events_of(platform.topic(REGISTRY_MSME), msme_id)
    [last] = [e["data"] for e in events if e["type"] == "ekspora.registry.certificate.expiring.v1"][-1:]
    assert (last["days_left"], last["kind"], await warnings(3)) == (7, "halal", None), "exactly one of each"
    assert "SIHALAL" in last["renewal_id"]


async def test_members_are_invited_to_a_session_and_reminded_a_day_before_by_the_periodic_check(platform, registry):
    msme_id, _ = await registry.umkm(verified=False, listings=0, certificates=())
    cohort = await registry.ok(
        "POST",
        "/cohorts",
        {
            "region": platform.region,
            "name": "UMKM Kita Bisa Kediri 2026/3",
            "starts_on": CLOCK.today("Asia/Jakarta").isoformat(),
        },
    )
    await registry.ok("POST", f"/cohorts/{cohort['cohort_id']}/enrollments", {"msme_id": msme_id})
    mentor = {
        "name": "Siti Rahmah",
        "organisation": "Bank Indonesia Kediri",
        "email": "siti.rahmah@bi.example",
        "person_id": "psn-0123456789abcdef",  # her account (tests/integration/test_mentors.py signs one in)
    }
    for _ in range(2):  # the same mentor twice is one mentor
        with_mentor = await registry.ok("POST", f"/cohorts/{cohort['cohort_id']}/mentors", mentor)
    assert with_mentor["mentors"] == [mentor]
    path = f"/cohorts/{cohort['cohort_id']}/sessions"
    stranger = {"title": "Klinik", "starts_at": (CLOCK.now() + timedelta(days=2)).isoformat(), "place": "Aula"}
    not_a_mentor = await registry.client.post(path, json={**stranger, "mentor": "Budi, nobody"})
    assert not_a_mentor.status_code == 422 and not_a_mentor.json()["errors"][0]["field"] == "mentor"
    past = await registry.client.post(
        path,
        json={"title": "Klinik halal", "starts_at": CLOCK.now().isoformat(), "place": "Aula", "mentor": "Siti Rahmah"},
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "starts_at"

    starts = CLOCK.now() + timedelta(hours=24, seconds=8)  # its reminder falls due a few checks from now
    body = {
        "title": "Klinik halal: jalur self-declare",
        "starts_at": starts.isoformat(),
        "place": "Aula Dinas Koperasi dan UMKM Kota Kediri",
        "mentor": "Siti Rahmah, Bank Indonesia Kediri",
    }
    scheduled = await registry.ok("POST", path, body)
    assert scheduled["invited"] == [msme_id]
    session_id = scheduled["session"]["session_id"]

    async def told() -> list[str] | None:
        kinds = [e["type"].split(".")[-2] for e in await events_of(platform.topic(REGISTRY_MSME), msme_id)]
        return kinds if "session_coming" in kinds else None

    kinds = await eventually(told, what="the reminder a day before the session", timeout=40)
    assert kinds.count("session_scheduled") == 1 and kinds.count("session_coming") == 1
    early = await registry.client.put(f"{path}/{session_id}/attendance", json={"present": [msme_id]})
    assert early.status_code == 409 and "has not begun" in early.json()["message"]
    stranger = await registry.client.put(f"{path}/{session_id}/attendance", json={"present": ["msme-nobody"]})
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "present"
    [member] = (await registry.ok("GET", f"/cohorts/{cohort['cohort_id']}"))["members"]
    assert (member["sessions_held"], member["sessions_attended"]) == (0, 0)
    assert datetime.fromisoformat(member["next_session_at"]) == starts.replace(
        microsecond=starts.microsecond // 1000 * 1000
    )
