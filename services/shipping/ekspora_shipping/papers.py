"""Export papers: the commercial invoice and packing list of each buyer in a shipment, in the name of
the exporter of record, with the origin statement its destination needs. Pure: rendering is pdf.py's.

One invoice per buyer and currency in a consolidated shipment when the region has a consolidator (it
sells everything); per buyer and UMKM otherwise (each UMKM sells its own). Until the shipment is
booked orders may still join it, so the papers are a pro forma without a number; from booking on the
invoice is numbered once, in the seller's series for the year it was issued.
"""

import math
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field

from ekspora_kit.domain import Model
from ekspora_shipping.domain import Order, Shipment
from ekspora_shipping.policy import DATA, Lanes, Strict

COUNTRY_NAMES = {"NL": "the Netherlands", "AU": "Australia"}


class Consolidator(Strict):
    name: str
    role: Literal["buyer", "agent"]
    nib: str = Field(pattern=r"^[0-9]{13}$")
    address: str
    rex_number: str | None = None
    ia_cepa_registration: str | None = None
    invoice_series: str = Field(pattern=r"^[A-Z0-9-]{2,20}$")
    payment_terms: str


class RegionExport(Strict):
    locality: str
    timezone: str = "Asia/Jakarta"  # an invoice's date is the region's
    consolidator: Consolidator | None = None


class Exporters(Strict):
    regions: dict[str, RegionExport]
    payment_terms_per_umkm: str

    def of(self, region: str) -> RegionExport:
        return self.regions.get(region) or RegionExport(locality=region.replace("-", " ").title())


class Carton(Strict):
    length_cm: int = Field(gt=0)
    width_cm: int = Field(gt=0)
    height_cm: int = Field(gt=0)
    max_kg: float = Field(gt=0)

    @property
    def cbm(self) -> float:
        return self.length_cm * self.width_cm * self.height_cm / 1_000_000


class Threshold(Strict):
    currency: str
    amount: int


class OriginRule(Strict):
    document: str
    title: str
    registered_exporter_above: Threshold | None
    text: str
    registration: str
    criterion: str
    source: str


class PaperRules(Strict):
    cartons: dict[str, Carton]
    default_carton: Carton
    origin: dict[str, OriginRule]


def load_exporters(path: Path = DATA / "exporters.yaml") -> Exporters:
    return Exporters.model_validate(yaml.safe_load(path.read_text()))


def load_paper_rules(path: Path = DATA / "papers.yaml") -> PaperRules:
    return PaperRules.model_validate(yaml.safe_load(path.read_text()))


class Supplier(Model):
    """An UMKM as registry last announced it on registry.suppliers."""

    msme_id: str
    version: int
    business_name: str
    nib: str
    nib_verified: bool
    kelurahan: str
    kecamatan: str


class Buyer(Model):
    """A partner as matching last announced it on matching.partners."""

    partner_id: str
    version: int
    name: str
    city: str
    country: str
    address: str | None = None


class Party(Model):
    name: str
    address: str
    nib: str | None = None


class InvoiceLine(Model):
    order_id: str
    description: str
    unit: str
    hs_code: str
    supplier: str
    supplier_nib: str | None
    quantity: int
    incoterm: str
    unit_price: int  # minor units
    amount: int


class PackingLine(Model):
    order_id: str
    description: str
    hs_code: str
    quantity: int
    cartons: int
    carton: str
    net_kg: float
    gross_kg: float
    cbm: float


class Papers(Model):
    key: str
    series: str
    number: str | None = None
    issued_on: date | None = None
    shipment_id: str
    exporter: Party
    exporter_role: Literal["buyer", "agent", "producer"]
    consignee: Party
    suppliers: list[Party]
    currency: str
    terms_of_delivery: str
    payment_terms: str
    mode: str
    loading: str
    discharge: str
    departure_on: date
    place_of_issue: str
    lines: list[InvoiceLine]
    packing: list[PackingLine]
    origin_title: str
    origin_statement: str
    origin_note: str = ""

    @property
    def pro_forma(self) -> bool:
        return self.number is None

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def buyer_keys(shipment: Shipment, exporters: Exporters) -> dict[str, list[Order]]:
    """The orders of each invoice in the shipment, by invoice key (stable: it is what a number is for)."""
    consolidated = exporters.of(shipment.region).consolidator is not None
    groups: dict[str, list[Order]] = {}
    for order in shipment.orders:
        line = order.line
        parts = [shipment.shipment_id, line.partner_id, line.currency] + ([] if consolidated else [line.msme_id])
        groups.setdefault("/".join(parts), []).append(order)
    return groups


def invoice_key(shipment: Shipment, order_id: str, exporters: Exporters) -> str | None:
    return next((key for key, orders in buyer_keys(shipment, exporters).items() if order_id in _ids(orders)), None)


def series_of(shipment: Shipment, key: str, exporters: Exporters) -> str:
    consolidator = exporters.of(shipment.region).consolidator
    return consolidator.invoice_series if consolidator else f"INV-{key.rsplit('/', 1)[-1].upper()}"


def named_place(incoterm: str, shipment: Shipment, destination_city: str, lanes: Lanes) -> str:
    """Incoterms 2020 name a place: the port or airport of loading for FOB, of discharge for CFR and
    CIF, the buyer's city for DAP."""
    if incoterm == "FOB":
        return lanes.origin["port" if shipment.mode == "sea_lcl" else "airport"] + ", Indonesia"
    if incoterm == "DAP":
        return f"{destination_city}, {COUNTRY_NAMES[shipment.destination_country]}"
    return f"{shipment.destination_port}, {COUNTRY_NAMES[shipment.destination_country]}"


def packing_line(order: Order, lanes: Lanes, rules: PaperRules) -> PackingLine:
    carton = rules.cartons.get(order.category, rules.default_carton)
    gross = order.line.gross_kg
    cartons = max(1, math.ceil(gross / carton.max_kg - 1e-9), math.ceil(order.line.cbm / carton.cbm - 1e-9))
    return PackingLine(
        order_id=order.line.order_id,
        description=order.line.product_name,
        hs_code=order.hs_code,
        quantity=order.line.quantity,
        cartons=cartons,
        carton=f"{carton.length_cm} x {carton.width_cm} x {carton.height_cm} cm",
        net_kg=order.net_kg if order.net_kg is not None else round(gross / lanes.packing.gross_factor, 2),
        gross_kg=gross,
        cbm=order.line.cbm,
    )


def origin_statement(
    rule: OriginRule, registration: str | None, total: float, currency: str, orders: list[Order]
) -> tuple[str, str]:
    """The statement's text and, when it cannot be made out as it stands, why. A threshold in another
    currency than the invoice's is taken as passed (the number is shown whenever there is one)."""
    headings = sorted({order.hs_code[:4] for order in orders})
    criterion = ", ".join(rule.criterion.format(heading=heading) for heading in headings)
    threshold = rule.registered_exporter_above
    needs_number = threshold is None or threshold.currency != currency or total > threshold.amount
    note = ""
    if needs_number and registration is None:
        note = (
            f"The exporter has no registration number on file: this statement is valid only up to "
            f"{threshold.currency} {threshold.amount:,}."
            if threshold
            else "The exporter has no registration number on file: ask for a certificate of origin (e-SKA)."
        )
    shown = rule.registration.format(number=registration) if needs_number and registration else ""
    return " ".join(rule.text.format(registration=shown, criterion=criterion).split()), note


def compose(
    shipment: Shipment,
    key: str,
    *,
    exporters: Exporters,
    rules: PaperRules,
    lanes: Lanes,
    suppliers: dict[str, Supplier],
    buyer: Buyer | None,
    number: str | None = None,
    issued_on: date | None = None,
) -> Papers:
    """The papers of one invoice key of the shipment."""
    orders = buyer_keys(shipment, exporters)[key]
    region = exporters.of(shipment.region)
    consolidator = region.consolidator
    supplier_parties = [_supplier_party(order.line.msme_id, suppliers, region.locality) for order in orders]
    unique_suppliers = list({party.name: party for party in supplier_parties}.values())
    first = orders[0].line
    if consolidator:
        exporter = Party(name=consolidator.name, address=consolidator.address, nib=consolidator.nib)
        role: Literal["buyer", "agent", "producer"] = consolidator.role
        payment_terms = consolidator.payment_terms
    else:
        exporter, role, payment_terms = unique_suppliers[0], "producer", exporters.payment_terms_per_umkm
    consignee = Party(
        name=buyer.name if buyer else first.partner_id,
        address=(buyer.address if buyer and buyer.address else f"{orders[0].destination_city}")
        + f", {COUNTRY_NAMES[shipment.destination_country]}",
    )
    places = {
        f"{order.line.incoterm} {named_place(order.line.incoterm, shipment, order.destination_city, lanes)}"
        for order in orders
    }
    lines = [
        InvoiceLine(
            order_id=order.line.order_id,
            description=order.line.product_name,
            unit=order.unit,
            hs_code=order.hs_code,
            supplier=party.name,
            supplier_nib=party.nib,
            quantity=order.line.quantity,
            incoterm=order.line.incoterm,
            unit_price=order.line.unit_price,
            amount=order.line.unit_price * order.line.quantity,
        )
        for order, party in zip(orders, supplier_parties, strict=True)
    ]
    rule = rules.origin[shipment.destination_country]
    registration = (
        (consolidator.rex_number if shipment.destination_country == "NL" else consolidator.ia_cepa_registration)
        if consolidator
        else None
    )
    total = sum(line.amount for line in lines) / 100
    statement, note = origin_statement(rule, registration, total, first.currency, orders)
    return Papers(
        key=key,
        series=series_of(shipment, key, exporters),
        number=number,
        issued_on=issued_on,
        shipment_id=shipment.shipment_id,
        exporter=exporter,
        exporter_role=role,
        consignee=consignee,
        suppliers=unique_suppliers,
        currency=first.currency,
        terms_of_delivery="; ".join(sorted(places)) + " (Incoterms 2020)",
        payment_terms=payment_terms,
        mode="sea freight, LCL" if shipment.mode == "sea_lcl" else "air freight",
        loading=lanes.origin["port" if shipment.mode == "sea_lcl" else "airport"] + ", Indonesia",
        discharge=f"{shipment.destination_port}, {COUNTRY_NAMES[shipment.destination_country]}",
        departure_on=shipment.departure_on,
        place_of_issue=region.locality,
        lines=lines,
        packing=[packing_line(order, lanes, rules) for order in orders],
        origin_title=rule.title,
        origin_statement=statement,
        origin_note=note,
    )


def _supplier_party(msme_id: str, suppliers: dict[str, Supplier], locality: str) -> Party:
    supplier = suppliers.get(msme_id)
    if supplier is None:  # registry has not told shipping yet: say so rather than invent
        return Party(name=f"UMKM {msme_id} (details not yet received from the registry)", address=locality)
    return Party(
        name=supplier.business_name,
        address=f"Kel. {supplier.kelurahan}, Kec. {supplier.kecamatan}, {locality}, Indonesia",
        nib=supplier.nib,
    )


def _ids(orders: list[Order]) -> set[str]:
    return {order.line.order_id for order in orders}
