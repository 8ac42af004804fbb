"""Matching acceptance on the real broker and store: proposal, confirmation, duplicates, rebuild, expiry."""

import json

import httpx
import pytest

from ekspora_contracts.matching import DemandChanged
from ekspora_contracts.registry import ProductExportReady
from ekspora_contracts.topics import MATCHING_MATCH, REGISTRY_PRODUCT
from tests.integration.support import Platform, eventually, handled, publish, read_topic
from tests.integration.test_registry import Registry

pytestmark = pytest.mark.clock  # times of day, local dates, expiries: CI runs it at shifted hours

TOKEN = "op-secret-kediri"
EXPORT_READY = ProductExportReady.event_type
DEMAND_CHANGED = DemandChanged.event_type


def matching_env(region: str, **extra: str) -> dict[str, str]:
    return {"EKSPORA_OPERATOR_TOKENS": f"{region}={TOKEN}", "EKSPORA_EXPIRY_CHECK_SECONDS": "1", **extra}


class Matching:
    def __init__(self, url: str, platform: Platform) -> None:
        self.url, self.platform = url, platform
        self.operator = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)

    def as_partner(self, token: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    async def verified_partner(
        self, name: str = "Toko Indonesia Amsterdam", country: str = "NL", city: str = "Amsterdam"
    ) -> tuple[str, httpx.AsyncClient]:
        body = {
            "kind": "diaspora_business",
            "name": name,
            "country": country,
            "city": city,
            "categories": ["processed_food", "snack"],
            "min_order_units": 50,
            "max_order_units": 5000,
            "languages": ["en", "nl", "id"],
            "contact_email": "inkoop@tokoindonesia.example",
        }
        created = await self.operator.post("/partners", json=body)
        assert created.status_code == 201, created.text
        partner_id = created.json()["partner_id"]
        assert (await self.operator.post(f"/partners/{partner_id}/verification")).status_code == 200
        client = self.as_partner(await self.platform.partner_token(partner_id))

        async def known():  # the partner view is built from the compacted topic
            return (await client.get("/demands")).status_code == 200

        await eventually(known, what="the partner in the view rebuilt from the compacted topic")
        await lanes_known(client)
        return partner_id, client


async def lanes_known(client: httpx.AsyncClient) -> list[dict]:
    """Requests name a destination shipping serves; matching learns those from the lanes topic."""

    async def served():
        answer = await client.get("/lanes")
        return answer.status_code == 200 and answer.json()

    return await eventually(served, what="the lanes shipping serves, in matching's view")


RFQ = {
    "kind": "rfq",
    "category": "processed_food",
    "quantity": 600,
    "target_price_max": 250,
    "currency": "EUR",
    "required_certificates": ["halal"],
    "destination_city": "Amsterdam",
}


async def proposals(client: httpx.AsyncClient, **params) -> list[dict]:
    return (await client.get("/matches", params=params)).json()


async def test_export_ready_product_and_rfq_become_one_confirmed_match(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    partner_id, partner = await matching.verified_partner()
    demand = await partner.post("/demands", json=RFQ)
    assert demand.status_code == 201, demand.text

    msme_id, product_id = await registry.umkm(certificates=("pirt", "halal"))
    [proposal] = await eventually(lambda: proposals(partner), what="a proposal for the partner")
    terms = proposal["terms"]
    assert (terms["product_id"], terms["msme_id"], terms["partner_id"]) == (product_id, msme_id, partner_id)
    # 25,000 rupiah FOB at 18,000 a euro (the rate of 1 December 2026): 1.39
    assert terms["unit_price"] == 139 and terms["currency"] == "EUR" and terms["incoterm"] == "FOB"
    assert terms["documents"] == [
        "commercial_invoice",
        "packing_list",
        "peb_export_declaration",
        "rex_statement_on_origin",
        "ske_health_certificate",
    ]
    parts = {part["criterion"]: part for part in proposal["breakdown"]}
    assert set(parts) == {"category_fit", "capacity", "price", "certificates", "partner_history", "load_balance"}
    assert round(sum(p["points"] for p in parts.values()), 1) == proposal["score"]
    assert parts["certificates"]["reason_en"] == "Holds the certificates asked for: halal"
    assert parts["certificates"]["reason_id"] == "Memiliki sertifikat yang diminta: halal"
    assert parts["price"]["reason_en"].startswith("Price 1.39 EUR FOB Juanda (SUB) per unit is within")

    match_id = proposal["match_id"]
    for _ in range(2):
        assert (await partner.post(f"/matches/{match_id}/acceptance")).json()["status"] == "proposed"
    for _ in range(2):
        assert (await matching.operator.post(f"/matches/{match_id}/acceptance")).json()["status"] == "confirmed"
    # Demand is global: other partners' open RFQs (the demo's, other tests') may match this product too.
    records = await read_topic(platform.topic(MATCHING_MATCH), at_least=2)
    mine = [json.loads(r.value) for r in records if json.loads(r.value)["subject"] == match_id]
    assert [e["type"] for e in mine] == ["ekspora.matching.match.proposed.v1", "ekspora.matching.match.confirmed.v1"]
    confirmed = mine[1]
    assert confirmed["data"]["terms"]["quantity"] == 600 and confirmed["subject"] == match_id

    report = {
        "units_sold": 540,
        "revenue_amount": 131_400,
        "revenue_currency": "EUR",
        "returns": 4,
        "rating": 5,
        "comment": "Laris manis, pelanggan minta lagi",
        "will_reorder": True,
    }
    once = {"Idempotency-Key": "toko-nusantara-2026-11"}
    for _ in range(2):  # the second as after a lost answer: the same key records one report
        reported = await partner.post(f"/matches/{match_id}/sales-reports", json=report, headers=once)
        assert reported.status_code == 201
    bad_key = await partner.post(f"/matches/{match_id}/sales-reports", json=report, headers={"Idempotency-Key": "a b"})
    assert bad_key.status_code == 422

    async def track_record():  # sales.reported travels to the registry and reassesses the UMKM
        msme = await registry.get(msme_id)
        return msme if msme["track_record"]["reports"] == 1 else None

    msme = await eventually(track_record, what="the sales report in the UMKM's track record")
    assert msme["track_record"]["units_sold"] == 540 and msme["assessment"]["trigger"] == "sales_reported"
    assert msme["assessment"]["score"] == 100

    _, outsider = await matching.verified_partner("Warung Den Haag", "NL", "Den Haag")
    assert (await outsider.get(f"/matches/{match_id}")).status_code == 404, "partners see only their own"
    assert (await outsider.post(f"/matches/{match_id}/acceptance")).status_code == 404
    assert (await outsider.get("/matches")).json() == []
    assert (await httpx.AsyncClient(base_url=matching.url).get("/matches")).status_code == 401
    assert (await partner.post("/partners", json={})).status_code in (403, 422)


async def test_a_demand_posted_and_a_partner_verified_later_trigger_matching(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching_process = platform.start("matching", env=matching_env(platform.region))
    matching = Matching(matching_process.url, platform)
    _, product_id = await registry.umkm(certificates=("pirt", "halal"))
    body = {
        "kind": "importer",
        "name": "Nusantara Foods Melbourne",
        "country": "AU",
        "city": "Melbourne",
        "categories": ["processed_food"],
        "min_order_units": 100,
        "max_order_units": 20000,
        "languages": ["en"],
        "contact_email": "buying@nusantara.example",
    }
    created = (await matching.operator.post("/partners", json=body)).json()
    partner = matching.as_partner(await platform.partner_token(created["partner_id"]))
    await eventually(lambda: _answers(partner), what="the unverified partner in the view")
    rfq = {**RFQ, "currency": "AUD", "target_price_max": 400, "destination_city": "Melbourne", "incoterm": "CIF"}
    assert (await partner.post("/demands", json=rfq)).status_code == 201
    await handled(matching_process, EXPORT_READY, at_least=1)
    await handled(matching_process, DEMAND_CHANGED, at_least=1)
    assert await proposals(partner) == [], "an unverified partner receives no proposals"

    await matching.operator.post(f"/partners/{created['partner_id']}/verification")
    [proposal] = await eventually(lambda: proposals(partner), what="a proposal once the partner is verified")
    assert proposal["terms"]["product_id"] == product_id
    assert proposal["terms"]["documents"] == [
        "commercial_invoice",
        "packing_list",
        "peb_export_declaration",
        "ia_cepa_origin_declaration",
        "ske_health_certificate",
    ]
    # CIF Melbourne by air: 25,000 + 0.575 kg x 52,000 = 54,900 CFR, x 1.0033 insured = 55,081.17 rupiah,
    # at 10,600 a dollar: 5.20
    assert proposal["terms"]["unit_price"] == 520 and proposal["terms"]["currency"] == "AUD"
    assert proposal["terms"]["incoterm"] == "CIF", "the partner asked for CIF instead of the FOB default"


async def _answers(client: httpx.AsyncClient) -> bool:
    return (await client.get("/demands")).status_code == 200


async def test_redelivered_triggers_create_no_duplicate_proposals(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching_process = platform.start("matching", env=matching_env(platform.region))
    matching = Matching(matching_process.url, platform)
    partner_id, partner = await matching.verified_partner()
    await partner.post("/demands", json=RFQ)
    _, product_id = await registry.umkm(certificates=("pirt", "halal"))
    await eventually(lambda: proposals(partner), what="the first proposal")

    ready = [
        r for r in await read_topic(platform.topic(REGISTRY_PRODUCT), at_least=4) if b"product.export_ready" in r.value
    ]
    for _ in range(3):
        await publish(platform.topic(REGISTRY_PRODUCT), product_id.encode(), ready[0].value)
    await handled(matching_process, EXPORT_READY, at_least=len(ready) + 3)
    assert len(await proposals(partner)) == 1
    proposed = [
        r
        for r in await read_topic(platform.topic(MATCHING_MATCH))
        if b"match.proposed" in r.value and partner_id.encode() in r.value
    ]
    assert len(proposed) == 1

    [proposal] = await proposals(partner)
    declined = await matching.operator.post(
        f"/matches/{proposal['match_id']}/decline", json={"reason": "kapasitas sudah terpesan / capacity booked"}
    )
    assert declined.json()["status"] == "declined"
    assert (await partner.post(f"/matches/{proposal['match_id']}/acceptance")).status_code == 409
    events = [json.loads(r.value) for r in await read_topic(platform.topic(MATCHING_MATCH), at_least=2)]
    mine = [e for e in events if e["subject"] == proposal["match_id"]]
    assert mine[-1]["type"] == "ekspora.matching.match.declined.v1"
    assert mine[-1]["data"]["declined_by"] == "msme"


async def test_a_fresh_instance_rebuilds_its_partner_view_from_the_compacted_topic(platform):
    first = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    partner_id, _ = await first.verified_partner("ITPC Sydney", "AU", "Sydney")
    # A second instance of the same region, with an empty database of its own.
    fresh = platform.start(
        "matching",
        name="matching-fresh",
        env={**matching_env(platform.region), "EKSPORA_MONGO_DATABASE": f"test_{platform.region}_matching_fresh"},
    )
    operator = httpx.AsyncClient(base_url=fresh.url, headers={"Authorization": f"Bearer {TOKEN}"})

    async def rebuilt():
        partners = (await operator.get("/partners")).json()
        return [p for p in partners if p["partner_id"] == partner_id]

    [partner] = await eventually(rebuilt, what="the partner in the fresh instance's view")
    assert partner["verified"] is True and partner["version"] == 2 and partner["city"] == "Sydney"
    await platform.mongo.drop_database(f"test_{platform.region}_matching_fresh")


async def test_an_expired_proposal_cannot_be_accepted(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(
        platform.start("matching", env=matching_env(platform.region, EKSPORA_PROPOSAL_EXPIRY_DAYS=str(4 / 86400))).url,
        platform,
    )
    _, partner = await matching.verified_partner()
    await partner.post("/demands", json=RFQ)
    await registry.umkm(certificates=("pirt", "halal"))
    [proposal] = await eventually(lambda: proposals(partner), what="a proposal")

    async def expired():
        return (await partner.get(f"/matches/{proposal['match_id']}")).json()["status"] == "expired"

    await eventually(expired, timeout=20, what="the proposal to expire")
    refused = await partner.post(f"/matches/{proposal['match_id']}/acceptance")
    assert refused.status_code == 409 and "expired" in refused.json()["message"]
    events = [json.loads(r.value) for r in await read_topic(platform.topic(MATCHING_MATCH), at_least=2)]
    mine = [e["type"] for e in events if e["subject"] == proposal["match_id"]]
    assert mine == ["ekspora.matching.match.proposed.v1", "ekspora.matching.match.expired.v1"]


BAD_DEMANDS = [
    ({**RFQ, "category": None, "hs_prefix": None}, "category or an HS prefix"),
    ({**RFQ, "quantity": 0}, "greater than or equal to 1"),
    ({**RFQ, "currency": "USD"}, "'EUR' or 'AUD'"),
    ({**RFQ, "hs_prefix": "21A"}, "pattern"),
    ({**RFQ, "target_price_min": 900, "target_price_max": 100}, "must not exceed"),
    ({**RFQ, "needed_by": "2020-01-01"}, "in the future"),
    (
        {**RFQ, "destination_city": "Berlin"},
        "no shipping lane reaches Berlin, NL; served: Amsterdam (port of Rotterdam)",
    ),
    ({**RFQ, "destination_city": "Sydney"}, "no shipping lane reaches Sydney, NL"),
]


async def test_bad_demand_is_refused_with_a_field_message(platform):
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    _, partner = await matching.verified_partner()
    for body, message in BAD_DEMANDS:
        response = await partner.post("/demands", json=body)
        assert response.status_code == 422, body
        assert message in response.json()["errors"][0]["message"], response.json()
    assert (await partner.get("/demands")).json() == []


async def test_the_candidate_search_gives_the_demands_bucket_in_readiness_order(platform):
    """The store's candidate search, which the service scores: export-ready offers of the region in
    the demand's category or HS-prefix bucket, most ready first."""
    from ekspora_matching.store import MatchingStore
    from tests.unit.test_matching_domain import demand, offer

    database = platform.database_name("matching")
    store = MatchingStore(platform.mongo[database])
    try:
        await store.ensure_indexes()
        for stored in (
            offer("prd-a", readiness=80),
            offer("prd-b", readiness=95),
            offer("prd-c", category="coffee", hs="090121"),
            offer("prd-d", category="meat_product"),
            offer("prd-e", ready=False),
        ):
            await store.save_offer("kota-kediri", stored)

        async def found(region: str, **overrides) -> list[str]:
            offers = await store.candidate_offers(region, demand(**overrides), limit=10)
            return [o.product.product_id for o in offers]

        assert await found("kota-kediri") == ["prd-b", "prd-a"], "most ready first, never one not ready"
        assert await found("kota-kediri", category=None, hs_prefix="0901") == ["prd-c"]
        assert await found("kota-kediri", category="meat_product") == ["prd-d"], "the rules refuse it later"
        assert await found("blitar") == [], "another region's offers are not its candidates"
    finally:
        await platform.mongo.drop_database(database)
