"""Shipping rules in isolation: consolidation and cost shares (table-driven), documents, tracking."""

from datetime import UTC, date, datetime, timedelta

import pytest

from ekspora_contracts.matching import MatchTerms
from ekspora_contracts.shipping import (
    OrderCreated,
    OrderDelivered,
    SalesFeedbackRequested,
    ShipmentDocumentsMissing,
    ShipmentPlanned,
    ShipmentStatusChanged,
)
from ekspora_shipping import domain
from ekspora_shipping.policy import load_lanes, load_tracking

LANES, TRACKING = load_lanes(), load_tracking()
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday
FOOD_DOCS = [
    "commercial_invoice",
    "packing_list",
    "peb_export_declaration",
    "rex_statement_on_origin",
    "ske_health_certificate",
]


def terms(
    n: int, *, city="Rotterdam", kg_net=500.0, category="processed_food", shelf=180, docs=FOOD_DOCS, country="NL"
) -> MatchTerms:
    return MatchTerms(
        match_id=f"mt-{n:04d}",
        region="kota-kediri",
        product_id=f"prd-{n}",
        msme_id=f"msme-{n}",
        product_name=f"Produk {n}",
        category=category,
        hs_code="210690",
        unit="pack",
        net_weight_grams=1000,
        partner_id="ptn-1",
        partner_name="Toko",
        demand_id=f"dmd-{n}",
        destination_country=country,
        destination_city=city,
        quantity=int(kg_net),
        unit_price_idr=28_000,
        unit_price=160,
        currency="EUR",
        incoterm="FOB",
        documents=docs,
        shelf_life_days=shelf,
    )


def consolidate(all_terms: list[MatchTerms]) -> list[domain.Shipment]:
    shipments: dict[str, domain.Shipment] = {}
    for n, t in enumerate(all_terms):
        change = domain.place_order(t, list(shipments.values()), LANES, NOW, f"shp-{n:02d}")
        shipments[change.shipment.shipment_id] = change.shipment
    return sorted(shipments.values(), key=lambda s: s.shipment_id)


# Sea LCL to NL: at most 12,000 kg / 24 CBM a shipment, charged per W/M unit (the larger of tonnes
# and CBM) at 2,900,000 IDR, minimum 1,500,000. Processed food packs at 350 kg/CBM: 1,000 kg net is
# 1,150 kg gross and 3.286 CBM, so 3.286 units = 9,529,400 IDR. Air charges per kg, or per volumetric
# kg (167 per CBM) when larger, at 78,000 IDR to NL.
CASES = [
    (
        "one small order pays the minimum",
        [terms(1, kg_net=100)],
        [(("Rotterdam", "sea_lcl"), ["ord-0001"], 1_500_000, {"ord-0001": 1_500_000})],
    ),
    (
        "sea charges volume when it exceeds tonnes",
        [terms(1, kg_net=200)],
        [(("Rotterdam", "sea_lcl"), ["ord-0001"], 1_905_300, {"ord-0001": 1_905_300})],
    ),
    (
        "same port consolidates, shares by volume",
        [terms(1, kg_net=1000), terms(2, kg_net=2000, city="Amsterdam")],
        [
            (
                ("Rotterdam", "sea_lcl"),
                ["ord-0001", "ord-0002"],
                28_585_300,
                {"ord-0001": 9_529_400, "ord-0002": 19_055_900},
            )
        ],
    ),
    (
        "capacity splits: the 8th order no longer fits 24 CBM",
        [terms(n, kg_net=1000) for n in range(1, 9)],
        [
            (
                ("Rotterdam", "sea_lcl"),
                [f"ord-{n:04d}" for n in range(1, 8)],
                66_705_800,
                {f"ord-{n:04d}": 9_529_400 for n in range(1, 8)},
            ),
            (("Rotterdam", "sea_lcl"), ["ord-0008"], 9_529_400, {"ord-0008": 9_529_400}),
        ],
    ),
    (
        "a minimum shared by seven adds up to the rupiah",
        [terms(n, kg_net=10) for n in range(1, 8)],
        [
            (
                ("Rotterdam", "sea_lcl"),
                [f"ord-{n:04d}" for n in range(1, 8)],
                1_500_000,
                {f"ord-{n:04d}": 214_286 for n in range(1, 6)} | {"ord-0006": 214_285, "ord-0007": 214_285},
            )
        ],
    ),
    (
        "different ports travel apart",
        [terms(1, city="Sydney", country="AU"), terms(2, city="Melbourne", country="AU")],
        [
            (("Sydney", "sea_lcl"), ["ord-0001"], 3_450_300, {"ord-0001": 3_450_300}),
            (("Melbourne", "sea_lcl"), ["ord-0002"], 3_450_300, {"ord-0002": 3_450_300}),
        ],
    ),
    (
        "perishables fly, by chargeable kg",
        [terms(1, kg_net=100, shelf=14), terms(2, kg_net=300, shelf=14)],
        [(("AMS", "air"), ["ord-0001", "ord-0002"], 35_880_000, {"ord-0001": 8_970_000, "ord-0002": 26_910_000})],
    ),
    (
        "light goods fly by volume",
        [terms(1, kg_net=50, shelf=14, category="handicraft")],
        [(("AMS", "air"), ["ord-0001"], 6_812_598, {"ord-0001": 6_812_598})],
    ),
]


@pytest.mark.parametrize(("description", "orders", "expected"), CASES, ids=[c[0] for c in CASES])
def test_consolidation_and_cost_shares(description, orders, expected):
    shipments = consolidate(orders)
    got = [
        (
            (s.destination_port, s.mode),
            [o.line.order_id for o in s.orders],
            domain.freight_idr(s, LANES),
            domain.cost_shares(s, LANES),
        )
        for s in shipments
    ]
    assert got == expected
    for shipment in shipments:
        assert sum(domain.cost_shares(shipment, LANES).values()) == domain.freight_idr(shipment, LANES)


def test_placement_is_explained_and_new_shipments_are_planned():
    first = domain.place_order(terms(1), [], LANES, NOW, "shp-a")
    assert [type(e) for e in first.events] == [ShipmentPlanned, OrderCreated]
    assert first.note.startswith("new sea_lcl shipment to Rotterdam departing 2026-12-11")
    assert (first.shipment.departure_on.isoformat(), first.shipment.cutoff_on.isoformat()) == (
        "2026-12-11",
        "2026-12-06",
    )
    second = domain.place_order(terms(2), [first.shipment], LANES, NOW, "shp-b")
    assert [type(e) for e in second.events] == [OrderCreated]
    assert second.note.startswith("joined shp-a to Rotterdam departing 2026-12-11")
    with pytest.raises(domain.DomainError, match="no lane to Berlin"):
        domain.place_order(terms(3, city="Berlin"), [], LANES, NOW, "shp-c")


def test_order_documents_come_from_the_match_and_generated_ones_start_uploaded():
    shipment = domain.place_order(terms(1), [], LANES, NOW, "shp-a").shipment
    assert shipment.orders[0].documents == {
        "commercial_invoice": "uploaded",
        "packing_list": "uploaded",
        "rex_statement_on_origin": "uploaded",  # printed on the invoice
        "ske_health_certificate": "missing",
    }
    assert shipment.documents == {"peb_export_declaration": "missing", "transport_document": "missing"}


def scan(n: int = 1, by: str = "op-1") -> domain.DocumentFile:
    return domain.DocumentFile(
        sha256=f"{n:064x}",
        filename=f"scan-{n}.pdf",
        content_type="application/pdf",
        size=1000,
        uploaded_at=NOW,
        uploaded_by=by,
    )


def upload(shipment: domain.Shipment, code: str, order_id: str | None, n: int = 1) -> domain.Shipment:
    return domain.attach_file(shipment, code, order_id, scan(n), TRACKING).shipment


def review(shipment: domain.Shipment, action: str, code: str, order_id: str | None) -> domain.Change:
    if action == "verify":
        return domain.verify_document(shipment, code, order_id, "op-2", NOW, TRACKING)
    return domain.reject_document(shipment, code, order_id, "Cap BPOM tidak terbaca", "op-2", NOW, TRACKING)


# (case, steps before, the step, resulting status or the refusal's words)
LIFECYCLE = [
    ("a missing document cannot be verified", [], "verify", "upload its file first"),
    ("a missing document cannot be rejected", [], "reject", "no file to reject"),
    ("an uploaded one is verified", ["upload"], "verify", "verified"),
    ("an uploaded one is rejected", ["upload"], "reject", "rejected"),
    ("a verified one can still be rejected before departure", ["upload", "verify"], "reject", "rejected"),
    ("a rejected one waits for a new file", ["upload", "reject"], "verify", "upload its file first"),
    ("a new file after rejection is uploaded again", ["upload", "reject"], "upload", "uploaded"),
    ("a new file after verification needs checking again", ["upload", "verify"], "upload-other", "uploaded"),
]


@pytest.mark.parametrize(("case", "before", "step", "outcome"), LIFECYCLE)
def test_a_documents_lifecycle(case, before, step, outcome):
    shipment = booked()
    order_id = shipment.orders[0].line.order_id
    code = "ske_health_certificate"
    for action in [*before, step]:
        try:
            if action.startswith("upload"):
                shipment = upload(shipment, code, order_id, n=2 if action == "upload-other" else 1)
            else:
                shipment = review(shipment, action, code, order_id).shipment
        except domain.NotAllowed as refusal:
            assert action == step and outcome in str(refusal), case
            return
    assert shipment.orders[0].documents[code] == outcome, case


def test_a_rejection_names_the_owner_and_the_reason_and_the_same_file_twice_changes_nothing():
    shipment = upload(booked(), "ske_health_certificate", "ord-0001")
    again = domain.attach_file(shipment, "ske_health_certificate", "ord-0001", scan(1), TRACKING)
    assert again.shipment == shipment and not again.events
    [event] = review(shipment, "reject", "ske_health_certificate", "ord-0001").events
    assert (event.status, event.msme_id, event.reason) == ("rejected", "msme-1", "Cap BPOM tidak terbaca")
    assert domain.document_gaps(review(shipment, "reject", "ske_health_certificate", "ord-0001").shipment, "uploaded")
    with pytest.raises(domain.NotAllowed, match="generated"):
        domain.attach_file(shipment, "commercial_invoice", "ord-0001", scan(3), TRACKING)


def test_documents_are_final_once_the_shipment_has_departed():
    shipment = walk(
        verified(upload(booked(), "ske_health_certificate", "ord-0001")), "picked_up", "export_cleared", "departed"
    )
    with pytest.raises(domain.NotAllowed, match="has departed"):
        domain.attach_file(shipment, "ske_health_certificate", "ord-0001", scan(2), TRACKING)


def booked() -> domain.Shipment:
    shipment = domain.place_order(terms(1), [], LANES, NOW, "shp-a").shipment
    return domain.book(shipment, "Samudera", "SMDR-123", NOW, TRACKING).shipment


def verified(shipment: domain.Shipment) -> domain.Shipment:
    for code in list(shipment.documents):
        shipment = review(upload(shipment, code, None), "verify", code, None).shipment
    for order in shipment.orders:
        for code, status in list(order.documents.items()):
            order_id = order.line.order_id
            uploaded = shipment if status == "uploaded" else upload(shipment, code, order_id)
            shipment = review(uploaded, "verify", code, order_id).shipment
    return shipment


def walk(shipment: domain.Shipment, *states: str) -> domain.Shipment:
    for state in states:
        shipment = domain.move(
            shipment, state, location="x", occurred_at=NOW, source="operator", tracking=TRACKING
        ).shipment
    return shipment


def test_no_move_past_departure_skips_the_document_guard():
    shipment = walk(booked(), "picked_up")
    for target in ("departed", "arrived", "delivered"):
        with pytest.raises(domain.NotAllowed, match="documents are verified"):
            walk(shipment, target)
    with pytest.raises(domain.NotAllowed, match="documents are verified"):
        walk(shipment, "lost", "delivered")


def test_departure_is_blocked_until_every_document_is_verified():
    shipment = walk(booked(), "picked_up", "export_cleared")
    with pytest.raises(domain.NotAllowed) as blocked:
        walk(shipment, "departed")
    assert "ske_health_certificate@ord-0001" in str(blocked.value) and "peb_export_declaration" in str(blocked.value)
    assert walk(verified(shipment), "departed").status == "departed"


def test_every_journey_step_and_delivery_events():
    shipment = walk(
        verified(booked()), "picked_up", "export_cleared", "departed", "arrived", "import_cleared", "out_for_delivery"
    )
    change = domain.move(
        shipment, "delivered", location="Amsterdam", occurred_at=NOW, source="operator", tracking=TRACKING
    )
    assert [type(e) for e in change.events] == [ShipmentStatusChanged, OrderDelivered, SalesFeedbackRequested]
    assert [h.status for h in change.shipment.history] == [
        "booked",
        "picked_up",
        "export_cleared",
        "departed",
        "arrived",
        "import_cleared",
        "out_for_delivery",
        "delivered",
    ]


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        ((), "delivered", True),  # skipping ahead is allowed (missed scans) once documents are verified
        (("picked_up",), "booked", False),
        (("departed", "arrived", "import_cleared", "out_for_delivery", "delivered"), "out_for_delivery", False),
        (("picked_up",), "customs_hold", True),
        (("picked_up", "customs_hold"), "export_cleared", True),
        (("picked_up", "customs_hold"), "departed", False),
        (("picked_up",), "delayed", True),
        (("picked_up", "delayed"), "export_cleared", True),
        (("picked_up", "damaged"), "returned", True),
        (("picked_up", "lost"), "delivered", True),
        (("picked_up", "damaged", "returned"), "delivered", False),
        ((), "lost", False),
        (("picked_up", "export_cleared", "departed"), "export_cleared", False),
    ],
)
def test_transitions(path, target, allowed):
    shipment = walk(verified(booked()), *path)
    if allowed:
        assert walk(shipment, target).status == target
    else:
        with pytest.raises(domain.NotAllowed):
            walk(shipment, target)


def test_carrier_updates_apply_once_and_never_go_backwards():
    shipment = booked()
    picked = domain.apply_carrier_update(
        shipment, "u1", "picked_up", location="Kediri", occurred_at=NOW, message="", tracking=TRACKING
    )
    assert picked.shipment.status == "picked_up" and picked.note == "applied: booked -> picked_up"
    replay = domain.apply_carrier_update(
        picked.shipment, "u1", "picked_up", location="Kediri", occurred_at=NOW, message="", tracking=TRACKING
    )
    assert replay.events == [] and replay.note == "replayed: already applied"
    late = domain.apply_carrier_update(
        picked.shipment,
        "u0",
        "pre_transit",
        location="Kediri",
        occurred_at=NOW - timedelta(hours=5),
        message="",
        tracking=TRACKING,
    )
    assert late.shipment.status == "picked_up" and late.note.startswith("ignored") and late.events == []
    early = domain.apply_carrier_update(
        picked.shipment,
        "u2",
        "in_transit",
        location="Java Sea",
        occurred_at=NOW + timedelta(days=1),
        message="",
        tracking=TRACKING,
    )
    assert early.shipment.status == "picked_up" and early.note.startswith("refused: departure is blocked")
    assert "u2" not in early.shipment.applied_update_ids, "a refused update can be retried"


def test_missing_documents_near_the_cutoff_are_reminded_once_a_day():
    shipment = domain.place_order(terms(1), [], LANES, NOW, "shp-a").shipment
    assert domain.remind_missing_documents(shipment, LANES, NOW.date()) is None, "cutoff still far"
    near = shipment.cutoff_on - timedelta(days=2)
    change = domain.remind_missing_documents(shipment, LANES, near)
    [event] = change.events
    assert isinstance(event, ShipmentDocumentsMissing)
    assert event.missing == [
        "peb_export_declaration",
        "transport_document",
        "ske_health_certificate@ord-0001",
    ], "the origin statement is printed on the invoice"
    assert domain.remind_missing_documents(change.shipment, LANES, near) is None


def test_two_orders_that_find_no_room_plan_the_same_next_shipment_of_their_lane():
    departure = date(2026, 12, 11)
    first = domain.planned_shipment_id("kota-kediri", "Rotterdam", "sea_lcl", departure, 0)
    assert first == domain.planned_shipment_id("kota-kediri", "Rotterdam", "sea_lcl", departure, 0)
    others = {
        domain.planned_shipment_id("kota-kediri", "Rotterdam", "sea_lcl", departure, 1),
        domain.planned_shipment_id("kota-kediri", "Rotterdam", "air", departure, 0),
        domain.planned_shipment_id("kota-kediri", "Sydney", "sea_lcl", departure, 0),
        domain.planned_shipment_id("blitar", "Rotterdam", "sea_lcl", departure, 0),
        domain.planned_shipment_id("kota-kediri", "Rotterdam", "sea_lcl", date(2026, 12, 18), 0),
    }
    assert first not in others and len(others) == 5
    assert first.startswith("shp-") and len(first) == 14


def test_lanes_are_announced_at_every_start_and_a_dropped_destination_once_as_no_longer_served():
    first = domain.lane_announcements(LANES, {})
    assert sorted(lane.destination_city for lane in first) == sorted(LANES.destinations)
    amsterdam = next(lane for lane in first if lane.destination_city == "Amsterdam")
    assert (amsterdam.country, amsterdam.port, amsterdam.served, amsterdam.version) == ("NL", "Rotterdam", True, 2)
    assert {
        (m.mode, m.cutoff_days_before, m.transit_days, m.rate_idr_per_chargeable_unit) for m in amsterdam.modes
    } == {
        ("sea_lcl", 5, 32, 2_900_000),
        ("air", 2, 3, 78_000),
    }
    assert amsterdam.costs is not None
    assert (
        amsterdam.costs.insurance_rate,
        amsterdam.costs.insured_share,
        amsterdam.costs.delivery_idr_per_gross_kg,
    ) == (
        0.003,
        1.1,
        9_000,
    )
    published = {lane.destination_city: lane for lane in first}
    assert domain.lane_announcements(LANES, published) == first, "again at the next start, the same"

    without_perth = {**published, "Perth": amsterdam.model_copy(update={"destination_city": "Perth"})}
    revised = LANES.model_copy(update={"revision": 3})
    again = {lane.destination_city: lane for lane in domain.lane_announcements(revised, without_perth)}
    assert set(again) == {*LANES.destinations, "Perth"} and not again["Perth"].served
    assert all(lane.version == 3 for lane in again.values())
    assert all(lane.served for city, lane in again.items() if city != "Perth")
    after = {**without_perth, **again}
    assert "Perth" not in {lane.destination_city for lane in domain.lane_announcements(revised, after)}
