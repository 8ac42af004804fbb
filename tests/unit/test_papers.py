"""Export papers in isolation: who exports, which origin statement, the REX number's threshold, cartons,
and the PDFs read back as text (poppler's pdftotext)."""

import re
import shutil
from datetime import UTC, date, datetime

import pytest

from ekspora_contracts.matching import MatchTerms
from ekspora_shipping import domain, papers, pdf
from ekspora_shipping.policy import load_lanes
from tests.factories import pdf_text as _text

LANES = load_lanes()
EXPORTERS, RULES = papers.load_exporters(), papers.load_paper_rules()
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
CONSOLIDATOR = EXPORTERS.regions["kota-kediri"].consolidator
assert CONSOLIDATOR is not None


def terms(n: int, *, price: int, quantity: int, country="NL", city="Amsterdam", msme="msme-1", partner="ptn-1"):
    return MatchTerms(
        match_id=f"mt-{n}",
        region="kota-kediri",
        product_id=f"prd-{n}",
        msme_id=msme,
        product_name=f"Tenun Ikat {n}",
        category="woven_textile",
        hs_code="520842",
        tariff_code="52084200",
        unit="piece 2 m",
        net_weight_grams=400,
        partner_id=partner,
        partner_name="Toko",
        demand_id=f"dmd-{n}",
        destination_country=country,
        destination_city=city,
        quantity=quantity,
        unit_price_idr=1_000_000,
        unit_price=price,
        currency="EUR" if country == "NL" else "AUD",
        incoterm="FOB",
        documents=["commercial_invoice", "packing_list"],
    )


def shipment_of(*all_terms: MatchTerms, region="kota-kediri") -> domain.Shipment:
    shipments: list[domain.Shipment] = []
    for t in all_terms:
        placed = domain.place_order(t.model_copy(update={"region": region}), shipments, LANES, NOW, "shp-1").shipment
        shipments = [placed]
    return shipments[0]


SUPPLIERS = {
    f"msme-{n}": papers.Supplier(
        msme_id=f"msme-{n}",
        version=1,
        business_name=f"Tenun Ikat Maju {n}",
        nib=f"912030000000{n}",
        nib_verified=True,
        kelurahan="Bandar Kidul",
        kecamatan="Mojoroto",
    )
    for n in (1, 2)
}
BUYER = papers.Buyer(partner_id="ptn-1", version=1, name="Toko Nusantara", city="Amsterdam", country="NL")


def compose(shipment: domain.Shipment, number: str | None = None) -> list[papers.Papers]:
    return [
        papers.compose(
            shipment,
            key,
            exporters=EXPORTERS,
            rules=RULES,
            lanes=LANES,
            suppliers=SUPPLIERS,
            buyer=BUYER,
            number=number,
            issued_on=date(2026, 12, 3) if number else None,
        )
        for key in papers.buyer_keys(shipment, EXPORTERS)
    ]


# (case, orders as (price in cents, quantity, msme), country, region, invoices, REX or IA-CEPA number shown, note)
CASES = [
    ("EUR 6,000.00 exactly: any exporter's statement", [(6000, 100, "msme-1")], "NL", "kota-kediri", 1, False, False),
    ("EUR 6,000.01: the REX number", [(6000, 100, "msme-1"), (1, 1, "msme-2")], "NL", "kota-kediri", 1, True, False),
    ("Australia always names the registration", [(500, 10, "msme-1")], "AU", "kota-kediri", 1, True, False),
    (
        "no consolidator: one invoice per UMKM",
        [(900, 10, "msme-1"), (900, 10, "msme-2")],
        "NL",
        "blitar",
        2,
        False,
        False,
    ),
    ("no consolidator above EUR 6,000: no REX number on file", [(70000, 10, "msme-1")], "NL", "blitar", 1, False, True),
]


@pytest.mark.parametrize(("case", "orders", "country", "region", "invoices", "registered", "noted"), CASES)
def test_who_exports_and_what_the_origin_statement_says(case, orders, country, region, invoices, registered, noted):
    city = "Amsterdam" if country == "NL" else "Sydney"
    shipment = shipment_of(
        *(terms(n, price=p, quantity=q, msme=m, country=country, city=city) for n, (p, q, m) in enumerate(orders)),
        region=region,
    )
    composed = compose(shipment)
    assert len(composed) == invoices, case
    number = CONSOLIDATOR.rex_number if country == "NL" else CONSOLIDATOR.ia_cepa_registration
    for one in composed:
        assert (str(number) in one.origin_statement) == registered, case
        assert bool(one.origin_note) == noted, case
        assert ("European Union" in one.origin_statement) == (country == "NL"), case
        if region == "kota-kediri":
            assert (one.exporter.name, one.exporter.nib, one.exporter_role) == (
                CONSOLIDATOR.name,
                CONSOLIDATOR.nib,
                "buyer",
            )
        else:
            assert one.exporter_role == "producer" and one.exporter.name in {
                s.business_name for s in SUPPLIERS.values()
            }
            assert one.series == f"INV-{one.key.rsplit('/', 1)[-1].upper()}", "numbered in the UMKM's own series"


def test_named_place_and_cartons_follow_the_terms_and_the_goods():
    shipment = shipment_of(terms(1, price=1500, quantity=60))
    [one] = compose(shipment)
    assert one.terms_of_delivery == "FOB Tanjung Perak (Surabaya), Indonesia (Incoterms 2020)"
    [packed] = one.packing
    # 60 pieces of 400 g: 24 kg net, 27.6 kg gross; a textile carton takes 20 kg, so 2 cartons
    assert (packed.net_kg, packed.gross_kg, packed.cartons) == (24.0, 27.6, 2)
    cif = shipment.model_copy(
        update={
            "orders": [
                o.model_copy(update={"line": o.line.model_copy(update={"incoterm": "CIF"})}) for o in shipment.orders
            ]
        }
    )
    assert compose(cif)[0].terms_of_delivery == "CIF Rotterdam, the Netherlands (Incoterms 2020)"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_invoice_and_packing_list_read_back_with_parties_codes_and_totals():
    shipment = shipment_of(
        terms(1, price=1500, quantity=300, msme="msme-1"), terms(2, price=1250, quantity=200, msme="msme-2")
    )
    [one] = compose(shipment, number="KPEKB/2026/0007")
    invoice = _text(pdf.commercial_invoice(one))
    for expected in (
        "COMMERCIAL INVOICE",
        "KPEKB/2026/0007",
        "3 December 2026",
        CONSOLIDATOR.name,
        CONSOLIDATOR.nib,
        "Toko Nusantara",
        "Tenun Ikat Maju 1",
        "9120300000001",
        "9120300000002",
        "52084200",
        "EUR 4,500.00",  # 300 x 15.00
        "EUR 2,500.00",  # 200 x 12.50
        "EUR 7,000.00",
        f"Number of Registered Exporter {CONSOLIDATOR.rex_number}",  # above EUR 6,000
        "FOB Tanjung Perak",
    ):
        assert expected in invoice, expected
    amounts = [float(a.replace(",", "")) for a in re.findall(r"EUR ([0-9,]+\.[0-9]{2})", invoice)]
    assert amounts[-1] == pytest.approx(4500 + 2500)
    packing = _text(pdf.packing_list(one))
    assert "PACKING LIST" in packing and "52084200" in packing and "Cartons" in packing
    assert "120.00" in packing and "138.00" in packing, "the first order: 300 pieces of 400 g, 120 kg net, 138 gross"
    assert "230.00" in packing, "both orders: 200 kg net, 230 kg gross"
    pro_forma = _text(pdf.commercial_invoice(compose(shipment)[0]))
    assert "PRO FORMA INVOICE" in pro_forma and "KPEKB/" not in pro_forma
