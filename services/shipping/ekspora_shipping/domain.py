"""Shipping domain: export orders, consolidation, freight shares, documents and tracking. Pure.

A consolidated shipment is one document holding its orders, so adding an order, planning the
shipment and every status change are single-document writes, and all their events are keyed by
the shipment (in order per shipment).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from ekspora_contracts.envelope import EventData
from ekspora_contracts.matching import MatchTerms
from ekspora_contracts.shipping import (
    DocumentStatus,
    LaneChanged,
    LaneCosts,
    Mode,
    ModeSchedule,
    OrderCreated,
    OrderDelivered,
    OrderLine,
    SalesFeedbackRequested,
    ShipmentDocumentsMissing,
    ShipmentDocumentStatusChanged,
    ShipmentPlanned,
    ShipmentStatusChanged,
)
from ekspora_kit.domain import DomainError, Model, NotAllowed, NotFound
from ekspora_kit.files import StoredFile
from ekspora_shipping.policy import Lanes, Tracking

# Ekspora writes these itself (papers.py); origin statements are printed on the invoice (papers.yaml)
GENERATED = ("commercial_invoice", "packing_list", "rex_statement_on_origin", "ia_cepa_origin_declaration")
SHIPMENT_LEVEL = ("peb_export_declaration",)
VOLUMETRIC_KG_PER_CBM = 167


class Order(Model):
    line: OrderLine
    category: str
    hs_code: str
    destination_city: str
    documents: dict[str, DocumentStatus]
    created_at: datetime
    delivered_at: datetime | None = None
    unit: str = ""  # orders placed before the export papers lack these two
    net_kg: float | None = None


class DocumentFile(StoredFile):
    """The file behind a document and what became of it."""

    verified_by: str | None = None
    verified_at: datetime | None = None
    rejected_by: str | None = None
    rejected_at: datetime | None = None
    rejected_reason: str | None = None


class StatusEntry(Model):
    status: str
    location: str
    occurred_at: datetime
    source: Literal["operator", "carrier"]
    message: str = ""


class Shipment(Model):
    shipment_id: str
    region: str
    version: int = 0
    destination_country: Literal["NL", "AU"]
    destination_port: str
    mode: Mode
    departure_on: date
    cutoff_on: date
    status: str = "planned"
    orders: list[Order] = []
    documents: dict[str, DocumentStatus] = {}
    files: dict[str, DocumentFile] = {}  # by slot: `code` (shipment) or `code@order` (per order)
    history: list[StatusEntry] = []
    applied_update_ids: list[str] = []
    reminded_on: date | None = None
    carrier: str | None = None
    booking_reference: str | None = None
    created_at: datetime

    @property
    def total_kg(self) -> float:
        return round(sum(o.line.gross_kg for o in self.orders), 2)

    @property
    def total_cbm(self) -> float:
        return round(sum(o.line.cbm for o in self.orders), 3)


@dataclass
class Change:
    shipment: Shipment
    events: list[EventData] = field(default_factory=list)
    note: str = ""


# --- orders and consolidation -------------------------------------------------------------


def order_id_for(match_id: str) -> str:
    """One order per confirmed match, whatever the number of deliveries of match.confirmed."""
    return f"ord-{match_id.removeprefix('mt-')}"


def planned_shipment_id(region: str, port: str, mode: str, departure: date, planned_before: int) -> str:
    """The id of the next shipment planned on a lane for a departure, after `planned_before` others:
    two orders that both find no room plan the same shipment, so only one of them creates it."""
    lane = f"{region}|{port}|{mode}|{departure.isoformat()}|{planned_before}"
    return f"shp-{hashlib.sha256(lane.encode()).hexdigest()[:10]}"


def mode_for(terms: MatchTerms, lanes: Lanes) -> Mode:
    short_lived = terms.shelf_life_days is not None and terms.shelf_life_days < lanes.air_when_shelf_life_below_days
    return "air" if short_lived else "sea_lcl"


def schedule(mode: Mode, lanes: Lanes, today: date) -> tuple[date, date]:
    """The next departure whose cutoff is still ahead (or today), and that cutoff."""
    rules = lanes.modes[mode]
    departure = today + timedelta(days=rules.cutoff_days_before)
    departure += timedelta(days=(rules.departure_weekday - departure.weekday()) % 7)
    return departure, departure - timedelta(days=rules.cutoff_days_before)


def new_order(terms: MatchTerms, lanes: Lanes, now: datetime) -> Order:
    net_kg = terms.net_weight_grams * terms.quantity / 1000
    gross_kg = round(net_kg * lanes.packing.gross_factor, 2)
    density = lanes.packing.kg_per_cbm.get(terms.category, lanes.packing.default_kg_per_cbm)
    line = OrderLine(
        order_id=order_id_for(terms.match_id),
        match_id=terms.match_id,
        msme_id=terms.msme_id,
        partner_id=terms.partner_id,
        product_id=terms.product_id,
        product_name=terms.product_name,
        quantity=terms.quantity,
        unit_price=terms.unit_price,
        currency=terms.currency,
        unit_price_idr=terms.unit_price_idr,
        incoterm=terms.incoterm,
        gross_kg=gross_kg,
        cbm=round(gross_kg / density, 3),
    )
    documents: dict[str, DocumentStatus] = {
        code: ("uploaded" if code in GENERATED else "missing") for code in terms.documents if code not in SHIPMENT_LEVEL
    }
    return Order(
        line=line,
        category=terms.category,
        hs_code=terms.tariff_code or terms.hs_code,
        destination_city=terms.destination_city,
        documents=documents,
        unit=terms.unit,
        net_kg=round(net_kg, 2),
        created_at=now,
    )


def place_order(
    terms: MatchTerms, open_shipments: list[Shipment], lanes: Lanes, now: datetime, new_shipment_id: str
) -> Change:
    """Puts the order into the earliest open shipment of its lane with room, or plans a new one.

    Deterministic: shipments are tried by departure, then id; the first with room for the order's
    weight and volume before its cutoff takes it. The reason says why."""
    destination = lanes.destinations.get(terms.destination_city)
    if destination is None:
        raise DomainError(f"no lane to {terms.destination_city}; known: {', '.join(lanes.destinations)}")
    mode = mode_for(terms, lanes)
    port = destination.port if mode == "sea_lcl" else destination.airport
    order = new_order(terms, lanes, now)
    limits = lanes.modes[mode]
    today = now.date()
    full: list[str] = []
    for shipment in sorted(open_shipments, key=lambda s: (s.departure_on, s.shipment_id)):
        if (shipment.destination_port, shipment.mode, shipment.status) != (port, mode, "planned"):
            continue
        if shipment.cutoff_on < today:
            continue
        kg_left, cbm_left = limits.max_kg - shipment.total_kg, limits.max_cbm - shipment.total_cbm
        if order.line.gross_kg <= kg_left and order.line.cbm <= cbm_left:
            reason = (
                f"joined {shipment.shipment_id} to {port} departing {shipment.departure_on}: "
                f"{kg_left:.0f} kg and {cbm_left:.2f} CBM were free"
            )
            updated = shipment.model_copy(update={"orders": [*shipment.orders, order]})
            return Change(updated, [_order_created(updated, order, reason)], reason)
        full.append(shipment.shipment_id)
    departure, cutoff = schedule(mode, lanes, today)
    reason = f"new {mode} shipment to {port} departing {departure}" + (
        f": {', '.join(full)} had no room" if full else ""
    )
    shipment = Shipment(
        shipment_id=new_shipment_id,
        region=terms.region,
        destination_country=destination.country,
        destination_port=port,
        mode=mode,
        departure_on=departure,
        cutoff_on=cutoff,
        orders=[order],
        documents={code: "missing" for code in lanes.shipment_documents},
        created_at=now,
    )
    planned = ShipmentPlanned(
        shipment_id=shipment.shipment_id,
        region=shipment.region,
        destination_country=shipment.destination_country,
        destination_port=port,
        mode=mode,
        departure_on=departure,
        cutoff_on=cutoff,
    )
    return Change(shipment, [planned, _order_created(shipment, order, reason)], reason)


def _order_created(shipment: Shipment, order: Order, reason: str) -> OrderCreated:
    return OrderCreated(
        shipment_id=shipment.shipment_id, region=shipment.region, order=order.line, assignment_reason=reason
    )


def chargeable_units(order: Order, mode: Mode) -> float:
    """Sea LCL: W/M (per 1,000 kg or 1 CBM, the larger). Air: kg, or volumetric kg when larger."""
    if mode == "sea_lcl":
        return max(order.line.gross_kg / 1000, order.line.cbm)
    return max(order.line.gross_kg, order.line.cbm * VOLUMETRIC_KG_PER_CBM)


def freight_idr(shipment: Shipment, lanes: Lanes) -> int:
    rules = lanes.modes[shipment.mode]
    units = sum(chargeable_units(o, shipment.mode) for o in shipment.orders)
    return max(rules.minimum_idr, round(units * rules.rate_idr_per_chargeable_unit[shipment.destination_country]))


def cost_shares(shipment: Shipment, lanes: Lanes) -> dict[str, int]:
    """Freight per order by chargeable units, in whole rupiah adding up exactly (largest remainder)."""
    total = freight_idr(shipment, lanes)
    units = {o.line.order_id: chargeable_units(o, shipment.mode) for o in shipment.orders}
    all_units = sum(units.values())
    exact = {order: total * u / all_units for order, u in units.items()}
    shares = {order: int(value) for order, value in exact.items()}
    leftover = total - sum(shares.values())
    for order in sorted(exact, key=lambda o: (-(exact[o] - shares[o]), o))[:leftover]:
        shares[order] += 1
    return shares


# --- documents ------------------------------------------------------------------------------


def document_gaps(shipment: Shipment, wanted: DocumentStatus = "verified") -> list[str]:
    """Documents not yet at `wanted`, as `code` (shipment) or `code@order` (per order)."""
    rank = {"missing": 0, "rejected": 0, "uploaded": 1, "verified": 2}
    gaps = [code for code, status in shipment.documents.items() if rank[status] < rank[wanted]]
    for order in shipment.orders:
        gaps += [
            f"{code}@{order.line.order_id}" for code, status in order.documents.items() if rank[status] < rank[wanted]
        ]
    return gaps


def slot(code: str, order_id: str | None) -> str:
    return f"{code}@{order_id}" if order_id else code


def document_status(shipment: Shipment, code: str, order_id: str | None) -> tuple[DocumentStatus, Order | None]:
    if order_id is None:
        if code not in shipment.documents:
            raise NotFound(f"shipment documents are {sorted(shipment.documents)}, not {code}")
        return shipment.documents[code], None
    order = next((o for o in shipment.orders if o.line.order_id == order_id), None)
    if order is None or code not in order.documents:
        raise NotFound(f"order {order_id} has no document {code}")
    return order.documents[code], order


def _with_document(
    shipment: Shipment,
    code: str,
    order: Order | None,
    status: DocumentStatus,
    file: DocumentFile | None,
    *,
    by: str,
    reason: str | None = None,
) -> Change:
    if order is None:
        updated = shipment.model_copy(update={"documents": {**shipment.documents, code: status}})
    else:
        changed = order.model_copy(update={"documents": {**order.documents, code: status}})
        updated = shipment.model_copy(update={"orders": [changed if o is order else o for o in shipment.orders]})
    order_id = order.line.order_id if order else None
    if file is not None:
        updated = updated.model_copy(update={"files": {**shipment.files, slot(code, order_id): file}})
    event = ShipmentDocumentStatusChanged(
        shipment_id=shipment.shipment_id,
        region=shipment.region,
        document=code,
        order_id=order_id,
        status=status,
        msme_id=order.line.msme_id if order else None,
        reason=reason,
        changed_by=by,
    )
    return Change(updated, [event])


def _before_departure(shipment: Shipment, tracking: Tracking) -> None:
    if not tracking.crosses_departure([entry.status for entry in shipment.history], "departed"):
        raise NotAllowed(f"shipment {shipment.shipment_id} has departed: its documents are final")


def attach_file(shipment: Shipment, code: str, order_id: str | None, file: DocumentFile, tracking: Tracking) -> Change:
    """An uploaded file makes the document `uploaded`, whatever it was, until the shipment departs. The
    same bytes again change nothing."""
    status, order = can_attach(shipment, code, order_id, tracking)
    current = shipment.files.get(slot(code, order_id))
    if current and current.sha256 == file.sha256 and status in ("uploaded", "verified"):
        return Change(shipment, note="the same file is already there")
    return _with_document(shipment, code, order, "uploaded", file, by=file.uploaded_by)


def can_attach(
    shipment: Shipment, code: str, order_id: str | None, tracking: Tracking
) -> tuple[DocumentStatus, Order | None]:
    """Refuses a file for a document that takes none (unknown, generated, or its shipment departed)."""
    status, order = document_status(shipment, code, order_id)
    if code in GENERATED:
        raise NotAllowed(f"{code} is generated by Ekspora from the orders, not uploaded")
    _before_departure(shipment, tracking)
    return status, order


def verify_document(
    shipment: Shipment, code: str, order_id: str | None, by: str, now: datetime, tracking: Tracking
) -> Change:
    status, order = document_status(shipment, code, order_id)
    if status == "verified":
        return Change(shipment)
    if status != "uploaded":
        raise NotAllowed(f"{slot(code, order_id)} is {status}: upload its file first")
    _before_departure(shipment, tracking)
    file = shipment.files.get(slot(code, order_id))
    checked = file.model_copy(update={"verified_by": by, "verified_at": now}) if file else None
    return _with_document(shipment, code, order, "verified", checked, by=by)


def reject_document(
    shipment: Shipment, code: str, order_id: str | None, reason: str, by: str, now: datetime, tracking: Tracking
) -> Change:
    """A file that is not what it should be: its owner is told why, and it must be uploaded again."""
    status, order = document_status(shipment, code, order_id)
    if code in GENERATED:
        raise NotAllowed(f"{code} is generated by Ekspora: correct the order or the data it is made from")
    if status not in ("uploaded", "verified"):
        raise NotAllowed(f"{slot(code, order_id)} is {status}: there is no file to reject")
    _before_departure(shipment, tracking)
    file = shipment.files[slot(code, order_id)]
    refused = file.model_copy(
        update={
            "rejected_by": by,
            "rejected_at": now,
            "rejected_reason": reason,
            "verified_by": None,
            "verified_at": None,
        }
    )
    return _with_document(shipment, code, order, "rejected", refused, by=by, reason=reason)


def remind_missing_documents(shipment: Shipment, lanes: Lanes, today: date) -> Change | None:
    """Once a day, from `reminder_days_before_cutoff` before the cutoff, while documents are missing."""
    if shipment.status not in {"planned", "booked"}:
        return None
    if today < shipment.cutoff_on - timedelta(days=lanes.reminder_days_before_cutoff) or shipment.reminded_on == today:
        return None
    missing = document_gaps(shipment, "uploaded")
    if not missing:
        return None
    event = ShipmentDocumentsMissing(
        shipment_id=shipment.shipment_id,
        region=shipment.region,
        cutoff_on=shipment.cutoff_on,
        missing=missing,
        msme_ids=sorted({o.line.msme_id for o in shipment.orders}),
    )
    return Change(shipment.model_copy(update={"reminded_on": today}), [event])


# --- tracking -------------------------------------------------------------------------------


def move(
    shipment: Shipment,
    target: str,
    *,
    location: str,
    occurred_at: datetime,
    source: Literal["operator", "carrier"],
    tracking: Tracking,
    message: str = "",
) -> Change:
    if not tracking.allowed(shipment.status, target):
        raise NotAllowed(f"a shipment cannot go from {shipment.status} to {target}")
    reached = [entry.status for entry in shipment.history]
    if tracking.crosses_departure(reached, target) and (gaps := document_gaps(shipment)):
        raise NotAllowed(f"departure is blocked until these documents are verified: {', '.join(gaps)}")
    entry = StatusEntry(status=target, location=location, occurred_at=occurred_at, source=source, message=message)
    updated = shipment.model_copy(update={"status": target, "history": [*shipment.history, entry]})
    events: list[EventData] = [
        ShipmentStatusChanged(
            shipment_id=shipment.shipment_id,
            region=shipment.region,
            previous_status=shipment.status,
            status=target,
            location=location,
            occurred_at=occurred_at,
            source=source,
            message=message,
        )
    ]
    if target == "delivered":
        orders = [o.model_copy(update={"delivered_at": occurred_at}) for o in updated.orders]
        updated = updated.model_copy(update={"orders": orders})
        for order in orders:
            line = order.line
            events.append(
                OrderDelivered(
                    shipment_id=shipment.shipment_id,
                    region=shipment.region,
                    order_id=line.order_id,
                    match_id=line.match_id,
                    msme_id=line.msme_id,
                    partner_id=line.partner_id,
                    delivered_at=occurred_at,
                )
            )
            events.append(
                SalesFeedbackRequested(
                    shipment_id=shipment.shipment_id,
                    region=shipment.region,
                    order_id=line.order_id,
                    match_id=line.match_id,
                    partner_id=line.partner_id,
                    msme_id=line.msme_id,
                    product_name=line.product_name,
                )
            )
    return Change(updated, events)


def book(shipment: Shipment, carrier: str, reference: str, now: datetime, tracking: Tracking) -> Change:
    change = move(
        shipment,
        "booked",
        location="Tanjung Perak",
        occurred_at=now,
        source="operator",
        tracking=tracking,
        message=f"booked with {carrier}, reference {reference}",
    )
    return Change(
        change.shipment.model_copy(update={"carrier": carrier, "booking_reference": reference}), change.events
    )


def apply_carrier_update(
    shipment: Shipment,
    update_id: str,
    carrier_status: str,
    *,
    location: str,
    occurred_at: datetime,
    message: str,
    tracking: Tracking,
) -> Change:
    """Applies a forwarder's update once. Replays, late and out-of-order updates change nothing
    (a shipment never moves backwards); the note says what happened."""
    if update_id in shipment.applied_update_ids:
        return Change(shipment, note="replayed: already applied")
    seen = shipment.model_copy(update={"applied_update_ids": [*shipment.applied_update_ids, update_id][-1000:]})
    target = tracking.carrier_aliases.get(carrier_status, carrier_status)
    last = shipment.history[-1].occurred_at if shipment.history else None
    if tracking.is_behind(shipment.status, target) or (last and occurred_at < last and target in tracking.journey):
        return Change(seen, note=f"ignored: {target} is behind {shipment.status}")
    if not tracking.allowed(shipment.status, target):
        return Change(seen, note=f"ignored: no way from {shipment.status} to {target}")
    try:
        change = move(
            seen,
            target,
            location=location,
            occurred_at=occurred_at,
            source="carrier",
            tracking=tracking,
            message=message,
        )
    except NotAllowed as refusal:  # not marked applied: the forwarder's retry can go through once it is fixed
        return Change(shipment, note=f"refused: {refusal}")
    return Change(change.shipment, change.events, note=f"applied: {shipment.status} -> {target}")


class PublishedLane(Model):
    """What shipping last announced of a destination on the lanes topic."""

    destination_city: str
    version: int = 0
    announced: LaneChanged


def lane_of(city: str, lanes: Lanes) -> LaneChanged:
    destination = lanes.destinations[city]
    return LaneChanged(
        destination_city=city,
        version=lanes.revision,
        served=True,
        country=destination.country,
        port=destination.port,
        airport=destination.airport,
        modes=[
            ModeSchedule(
                mode=mode,
                departures_every_days=7,  # one departure a week, on its weekday
                cutoff_days_before=rules.cutoff_days_before,
                transit_days=rules.transit_days[destination.country],
                rate_idr_per_chargeable_unit=rules.rate_idr_per_chargeable_unit[destination.country],
            )
            for mode, rules in lanes.modes.items()
        ],
        air_when_shelf_life_below_days=lanes.air_when_shelf_life_below_days,
        costs=LaneCosts(
            gross_factor=lanes.packing.gross_factor,
            kg_per_cbm=lanes.packing.kg_per_cbm,
            default_kg_per_cbm=lanes.packing.default_kg_per_cbm,
            insurance_rate=lanes.insurance.rate,
            insured_share=lanes.insurance.insured_share,
            delivery_idr_per_gross_kg=lanes.delivery_idr_per_gross_kg[destination.country],
        ),
    )


def lane_announcement(city: str, lanes: Lanes, published: LaneChanged | None) -> LaneChanged | None:
    """What the lanes topic needs to say of `city` for this revision of the table: the lane, again at
    each start (so a topic rebuilt from nothing fills up again; readers keep the newest revision, so a
    repeat changes nothing), or, for a destination dropped from the table, that it is no longer served,
    once."""
    if city in lanes.destinations:
        return lane_of(city, lanes)
    if published is None or not (published.served or published.version < lanes.revision):
        return None
    return published.model_copy(update={"served": False, "version": lanes.revision})


def lane_announcements(lanes: Lanes, published: dict[str, LaneChanged]) -> list[LaneChanged]:
    cities = [*lanes.destinations, *(city for city in published if city not in lanes.destinations)]
    return [lane for city in cities if (lane := lane_announcement(city, lanes, published.get(city)))]
