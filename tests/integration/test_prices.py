"""Prices a buyer can act on, on the real broker and store: a CIF proposal whose landed price is
the hand calculation below, confirmed at the rate of the day and invoiced by shipping at it."""

import httpx
import pytest

from tests.integration.support import OPERATOR, eventually
from tests.integration.test_matching import RFQ, Matching, matching_env, proposals
from tests.integration.test_registry import Registry

# Tahu Takwa: 25,000 rupiah, 500 g net, keeps 30 days, so it flies to Amsterdam (AMS) at 78,000 a
# chargeable kg (lanes.yaml). Gross 0.5 x 1.15 = 0.575 kg; packed at 350 kg a cubic metre it is
# 0.001643 m3, 0.274 kg by volume: 0.575 kg are charged, 44,850 rupiah of freight. CFR 69,850;
# insurance 0.3% of 110% of it, 230.505; CIF 70,080.505 rupiah. At the operator's rate of
# 1 December 2026 (exchange_rates.yaml, 18,000 rupiah a euro) that is 3.8934 euro: 389 cents.
FREIGHT, INSURANCE, CIF_IDR, CIF_CENTS = 44_850, 230.505, 70_080.505, 389


async def test_a_cif_price_is_the_hand_calculation_and_shipping_invoices_it(platform):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    shipping = platform.start("shipping")
    partner_id, partner = await matching.verified_partner()
    await registry.umkm(certificates=("pirt", "halal"))
    posted = await partner.post("/demands", json={**RFQ, "incoterm": "CIF", "target_price_max": 450, "quantity": 300})
    assert posted.status_code == 201, posted.text

    [proposal] = await eventually(
        lambda: proposals(partner, demand_id=posted.json()["demand_id"]), what="a CIF proposal"
    )
    terms, quote = proposal["terms"], proposal["terms"]["quote"]
    assert (terms["incoterm"], quote["named_place"], quote["mode"]) == ("CIF", "AMS", "air")
    assert quote["freight_idr"] == pytest.approx(FREIGHT) and quote["insurance_idr"] == pytest.approx(INSURANCE)
    landed = quote["product_idr"] + quote["freight_idr"] + quote["insurance_idr"] + quote["delivery_idr"]
    assert landed == pytest.approx(CIF_IDR)
    assert (quote["rate_on"], quote["idr_per_currency_unit"]) == ("2026-12-01", 18_000)
    assert "Bank Indonesia" in quote["rate_source"] and terms["unit_price"] == CIF_CENTS
    price = next(p for p in proposal["breakdown"] if p["criterion"] == "price")
    assert price["reason_en"].startswith("Price 3.89 EUR CIF AMS per unit")

    for side in (partner, matching.operator):
        assert (await side.post(f"/matches/{proposal['match_id']}/acceptance")).status_code == 200
    async with httpx.AsyncClient(base_url=shipping.url, headers=OPERATOR) as operator:

        async def order():
            found = (await operator.get("/orders", params={"partner_id": partner_id})).json()
            return found[0]["order"] if found else None

        invoiced = await eventually(order, what="the order in shipping")
    assert (invoiced["unit_price"], invoiced["currency"], invoiced["incoterm"]) == (CIF_CENTS, "EUR", "CIF")


async def test_the_umkm_quotes_its_own_price_the_partner_counters_once_and_shipping_invoices_the_agreed_price(
    platform,
):
    registry = Registry(platform.start("registry").url, platform.region)
    matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
    shipping = platform.start("shipping")
    partner_id, partner = await matching.verified_partner()
    await registry.umkm(certificates=("pirt", "halal"))
    posted = await partner.post("/demands", json={**RFQ, "incoterm": "CIF", "target_price_max": 450, "quantity": 300})
    [proposal] = await eventually(
        lambda: proposals(partner, demand_id=posted.json()["demand_id"]), what="a CIF proposal"
    )
    match_id = proposal["match_id"]

    assert (await partner.post(f"/matches/{match_id}/price", json={"unit_price_idr": 27_000})).status_code == 403
    own = await matching.operator.post(f"/matches/{match_id}/price", json={"unit_price_idr": 27_000})
    assert own.status_code == 200, own.text
    # 2,000 rupiah more for the tofu, and 0.33% insurance on it: 72,087.105 rupiah, 4.00 EUR at 18,000
    assert (own.json()["terms"]["unit_price_idr"], own.json()["terms"]["unit_price"]) == (27_000, 400)
    assert own.json()["accepted_by"] == ["msme"]

    too_low = await partner.post(f"/matches/{match_id}/counter", json={"unit_price": 150})
    assert too_low.status_code == 422 and too_low.json()["errors"][0]["field"] == "unit_price"
    countered = await partner.post(f"/matches/{match_id}/counter", json={"unit_price": 380})
    assert countered.status_code == 200 and countered.json()["accepted_by"] == ["partner"]
    again = await partner.post(f"/matches/{match_id}/counter", json={"unit_price": 370})
    assert again.status_code == 409 and "countered" in again.json()["message"]

    accepted = await matching.operator.post(f"/matches/{match_id}/acceptance")
    assert accepted.json()["status"] == "confirmed" and accepted.json()["terms"]["unit_price"] == 380
    async with httpx.AsyncClient(base_url=shipping.url, headers=OPERATOR) as operator:

        async def order():
            found = (await operator.get("/orders", params={"partner_id": partner_id})).json()
            return found[0]["order"] if found else None

        invoiced = await eventually(order, what="the order in shipping")
    assert (invoiced["unit_price"], invoiced["incoterm"]) == (380, "CIF")
