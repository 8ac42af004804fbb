"""Events produced by the shipping service. All are keyed by shipment, so they stay in order per shipment."""

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.matching import Incoterm
from ekspora_contracts.registry import Closed
from ekspora_contracts.topics import SHIPPING_LANES, SHIPPING_SHIPMENT, Stream

Mode = Literal["sea_lcl", "air"]
DocumentStatus = Literal["missing", "uploaded", "verified", "rejected"]


class ModeSchedule(Closed):
    mode: Mode
    departures_every_days: int = Field(ge=1)
    cutoff_days_before: int = Field(ge=0, description="Goods at the port or airport this many days before departure")
    transit_days: int = Field(ge=0)
    rate_idr_per_chargeable_unit: int | None = Field(
        default=None, gt=0, description="Freight per chargeable kg by air, per W/M ton (a tonne or a CBM) at sea"
    )


class LaneCosts(Closed):
    """What a unit costs to carry and cover on a lane, for landed prices."""

    gross_factor: float = Field(ge=1, description="Net weight to gross (cartons, pallets)")
    kg_per_cbm: dict[str, float] = Field(description="Packed density per category")
    default_kg_per_cbm: float = Field(gt=0)
    insurance_rate: float = Field(ge=0, lt=0.1, description="Cargo insurance premium, a share of the insured value")
    insured_share: float = Field(ge=1, description="Insured value as a multiple of the CFR value (1.1: 110%)")
    delivery_idr_per_gross_kg: int = Field(ge=0, description="From the destination port to the door, for DAP")


class LaneChanged(EventData):
    """A destination shipping serves (or no longer serves), as of a revision of its lane table
    (compacted topic: the newest revision per destination is the truth)."""

    event_type: ClassVar[str] = "ekspora.shipping.lane.changed.v1"
    stream: ClassVar[Stream] = SHIPPING_LANES

    destination_city: str
    version: int = Field(ge=1, description="The revision of the lane table")
    served: bool
    country: Literal["NL", "AU"]
    port: str
    airport: str
    modes: list[ModeSchedule]
    air_when_shelf_life_below_days: int = Field(ge=0, description="Products that keep fewer days fly")
    costs: LaneCosts | None = Field(default=None, description="Absent in lanes announced before revision 2")

    def aggregate_id(self) -> str:
        return self.destination_city


class OrderLine(Closed):
    order_id: str
    match_id: str
    msme_id: str
    partner_id: str
    product_id: str
    product_name: str
    quantity: int
    unit_price: int = Field(description="Minor units of currency")
    currency: Literal["EUR", "AUD"]
    unit_price_idr: int
    incoterm: Incoterm
    gross_kg: float
    cbm: float


class OrderCreated(EventData):
    event_type: ClassVar[str] = "ekspora.shipping.order.created.v1"
    stream: ClassVar[Stream] = SHIPPING_SHIPMENT

    shipment_id: str
    region: Region
    order: OrderLine
    assignment_reason: str

    def aggregate_id(self) -> str:
        return self.shipment_id


class ShipmentPlanned(EventData):
    event_type: ClassVar[str] = "ekspora.shipping.shipment.planned.v1"
    stream: ClassVar[Stream] = SHIPPING_SHIPMENT

    shipment_id: str
    region: Region
    destination_country: Literal["NL", "AU"]
    destination_port: str
    mode: Mode
    departure_on: date
    cutoff_on: date

    def aggregate_id(self) -> str:
        return self.shipment_id


class ShipmentStatusChanged(EventData):
    event_type: ClassVar[str] = "ekspora.shipping.shipment.status_changed.v1"
    stream: ClassVar[Stream] = SHIPPING_SHIPMENT

    shipment_id: str
    region: Region
    previous_status: str
    status: str
    location: str
    occurred_at: datetime
    source: Literal["operator", "carrier"]
    message: str = ""

    def aggregate_id(self) -> str:
        return self.shipment_id


class ShipmentDocumentStatusChanged(EventData):
    event_type: ClassVar[str] = "ekspora.shipping.shipment.document_status_changed.v1"
    stream: ClassVar[Stream] = SHIPPING_SHIPMENT

    shipment_id: str
    region: Region
    document: str
    order_id: str | None
    status: DocumentStatus
    msme_id: str | None = Field(default=None, description="The UMKM whose order the document belongs to")
    reason: str | None = Field(default=None, description="Why it was rejected: what the owner is to do")
    changed_by: str | None = Field(default=None, description="Who uploaded, verified or rejected it")

    def aggregate_id(self) -> str:
        return self.shipment_id


class ShipmentDocumentsMissing(EventData):
    """A reminder: the cutoff is near and documents are still missing (critical for notifications)."""

    event_type: ClassVar[str] = "ekspora.shipping.shipment.documents_missing.v1"
    stream: ClassVar[Stream] = SHIPPING_SHIPMENT

    shipment_id: str
    region: Region
    cutoff_on: date
    missing: list[str] = Field(description="document codes, with the order id for per-order documents")
    msme_ids: list[str]

    def aggregate_id(self) -> str:
        return self.shipment_id


class OrderDelivered(EventData):
    event_type: ClassVar[str] = "ekspora.shipping.order.delivered.v1"
    stream: ClassVar[Stream] = SHIPPING_SHIPMENT

    shipment_id: str
    region: Region
    order_id: str
    match_id: str
    msme_id: str
    partner_id: str
    delivered_at: datetime

    def aggregate_id(self) -> str:
        return self.shipment_id


class SalesFeedbackRequested(EventData):
    """Delivery done: the partner is asked to report sales of the order (matching takes the report)."""

    event_type: ClassVar[str] = "ekspora.shipping.feedback.requested.v1"
    stream: ClassVar[Stream] = SHIPPING_SHIPMENT

    shipment_id: str
    region: Region
    order_id: str
    match_id: str
    partner_id: str
    msme_id: str
    product_name: str

    def aggregate_id(self) -> str:
        return self.shipment_id
