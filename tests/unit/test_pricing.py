"""Landed prices per Incoterm, checked against calculations by hand."""

from datetime import date, timedelta

import pytest

from ekspora_kit.domain import Invalid, NotAllowed
from ekspora_matching import domain
from ekspora_matching.domain.pricing import locked_at, quote
from ekspora_matching.policy import DatedRate, RateTable, load_exchange_rates
from tests.unit.test_matching_domain import AMSTERDAM, NOW, demand, evaluate, offer, whole

NOVEMBER = DatedRate(since=date(2026, 11, 2), source="operator's planning rate", idr_per={"EUR": 17_500, "AUD": 10_400})
DECEMBER = DatedRate(since=date(2026, 12, 1), source="operator's planning rate", idr_per={"EUR": 18_000, "AUD": 10_600})


def tahu():  # 25,000 rupiah, 500 g, keeps 30 days: it flies
    return offer(price=25_000).product


def kopi():  # 90,000 rupiah, 250 g, keeps a year: it sails, packed 400 kg a cubic metre
    return offer(price=90_000).product.model_copy(
        update={"net_weight_grams": 250, "shelf_life_days": 365, "category": "coffee"}
    )


def test_a_cif_price_by_hand_for_tofu_by_air():
    # gross 0.575 kg; 0.575 / 350 m3 = 0.00164 m3, volumetric 0.274 kg: chargeable 0.575 kg x 78,000 = 44,850
    # CFR 69,850; insurance 0.3% of 110% = 230.505; CIF 70,080.505 rupiah / 17,500 = 4.0046 EUR
    cif = quote(tahu(), "CIF", AMSTERDAM, NOVEMBER, "EUR")
    assert cif.freight_idr == pytest.approx(44_850)
    assert cif.insurance_idr == pytest.approx(230.505)
    assert cif.landed_idr == pytest.approx(70_080.505)
    assert (cif.unit_price, cif.named_place) == (400, "AMS")


@pytest.mark.parametrize(
    ("incoterm", "place", "landed_idr"),
    [
        ("FOB", "Tanjung Perak (Surabaya)", 90_000),
        # gross 0.2875 kg, 0.00071875 m3: 0.00071875 W/M x 2,900,000 = 2,084.375
        ("CFR", "Rotterdam", 92_084.375),
        ("CIF", "Rotterdam", 92_084.375 * (1 + 0.0033)),
        ("DAP", "Amsterdam", 92_084.375 * 1.0033 + 0.2875 * 9_000),
    ],
)
def test_coffee_by_sea_under_each_incoterm(incoterm, place, landed_idr):
    priced = quote(kopi(), incoterm, AMSTERDAM, NOVEMBER, "EUR")
    assert priced.named_place == place and priced.landed_idr == pytest.approx(landed_idr)
    assert priced.unit_price == round(landed_idr / 17_500 * 100)


def test_an_umkm_may_quote_its_own_price():
    assert quote(kopi(), "FOB", AMSTERDAM, NOVEMBER, "EUR", price_idr=80_000).unit_price == 457


def test_the_rate_of_a_day_is_the_newest_set_on_or_before_it():
    table = RateTable(rates=[DECEMBER, NOVEMBER])
    assert table.on(date(2026, 11, 30)) == NOVEMBER and table.on(date(2026, 12, 1)) == DECEMBER
    with pytest.raises(LookupError, match="2026-11-01"):
        table.on(date(2026, 11, 1))
    with pytest.raises(ValueError, match="two rates for one day"):
        RateTable(rates=[NOVEMBER, NOVEMBER])


def test_a_lane_without_announced_costs_quotes_fob_only():
    unpriced = AMSTERDAM.model_copy(update={"costs": None})
    assert quote(tahu(), "FOB", unpriced, NOVEMBER, "EUR").named_place == "Juanda (SUB)"
    with pytest.raises(LookupError, match="what carrying to Amsterdam costs"):
        quote(tahu(), "CIF", unpriced, NOVEMBER, "EUR")


def test_the_rate_is_locked_at_the_day_of_confirmation():
    cif = quote(tahu(), "CIF", AMSTERDAM, NOVEMBER, "EUR")
    terms = proposed_terms(cif)
    locked = locked_at(terms, DECEMBER)
    assert (terms.unit_price, locked.unit_price) == (400, 389)  # 70,080.505 / 18,000 = 3.8934
    assert (locked.quote.rate_on, locked.quote.idr_per_currency_unit) == (date(2026, 12, 1), 18_000)
    assert locked.quote.freight_idr == terms.quote.freight_idr == pytest.approx(44_850)


def test_the_operators_rate_table_is_dated_and_sourced():
    table = load_exchange_rates()
    assert all(rate.source and set(rate.idr_per) == {"EUR", "AUD"} for rate in table.rates)


def proposed_terms(priced):
    change = domain.propose(None, whole(evaluate()), "kota-kediri", NOW, timedelta(days=7))
    return change.pair.current.terms.model_copy(update={"unit_price": priced.unit_price, "quote": priced.terms()})


def cif_proposal():
    cif = evaluate(o=offer(price=25_000), d=demand(incoterm="CIF", target_price_max=450))
    return domain.propose(None, whole(cif), "kota-kediri", NOW, timedelta(days=7)).pair


def test_the_partner_counters_once_and_the_umkm_takes_that_price_whatever_the_rate_then():
    pair = cif_proposal()
    match, quoted = pair.current.match_id, pair.current.terms
    change = domain.requote(pair, match, "partner", domain.countered(quoted, 350), NOW)
    [event] = change.events
    assert (event.by, event.previous_unit_price, event.accepted_by) == ("partner", quoted.unit_price, ["partner"])
    q = event.terms.quote
    # 3.50 EUR at 17,500 = 61,250 rupiah landed; the carriage stands, the product's price is what is left
    assert q.product_idr == pytest.approx(61_250 - quoted.quote.freight_idr - quoted.quote.insurance_idr)
    assert event.terms.unit_price_idr == round(q.product_idr)
    with pytest.raises(NotAllowed, match="the partner has countered"):
        domain.requote(change.pair, match, "partner", domain.countered(quoted, 360), NOW)
    with pytest.raises(NotAllowed, match="the partner has countered"):
        domain.requote(change.pair, match, "msme", quoted, NOW)
    confirmed = domain.accept(change.pair, match, "msme", NOW, 600, DECEMBER)
    assert confirmed.pair.current.status == "confirmed"
    assert confirmed.events[0].terms.unit_price == 350, "agreed in euro: the December rate does not move it"


def test_a_counter_that_does_not_cover_the_carriage_is_refused_on_its_field():
    quoted = cif_proposal().current.terms
    with pytest.raises(Invalid, match="does not cover the freight, insurance and delivery") as refused:
        domain.countered(quoted, 200)  # 2.00 EUR is 35,000 rupiah; flying it costs more than that
    assert refused.value.field == "unit_price"
    with pytest.raises(NotAllowed, match="before prices had a make-up"):
        domain.countered(quoted.model_copy(update={"quote": None}), 350)


def test_the_umkm_quotes_its_own_price_until_the_partner_counters():
    pair = cif_proposal()
    match = pair.current.match_id
    own = quote(tahu(), "CIF", AMSTERDAM, NOVEMBER, "EUR", price_idr=30_000)
    change = domain.requote(pair, match, "msme", domain.requoted(pair.current.terms, own), NOW)
    [event] = change.events
    assert (event.by, event.terms.unit_price_idr, event.terms.unit_price) == ("msme", 30_000, own.unit_price)
    assert change.pair.current.accepted_by == ["msme"], "the partner has yet to accept the new price"
    assert domain.requote(change.pair, match, "msme", event.terms, NOW).events == [], "the same price again"
    confirmed = domain.accept(change.pair, match, "partner", NOW, 600, DECEMBER).events[0].terms
    assert confirmed.unit_price == round(own.landed_idr / 18_000 * 100), "a rupiah price follows the day's rate"
