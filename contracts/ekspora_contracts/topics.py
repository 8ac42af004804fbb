"""The topic catalogue: every Kafka topic, its partitions, its producer and who may read it.

Topic names are `ekspora.<region>.<service>.<stream>` for regional traffic and
`ekspora.global.<service>.<stream>` for global reference data. Each region therefore has its own
partitions and consumer groups (`<service>.<region>`), and adding a region adds topics, not code.
"""

from dataclasses import dataclass
from typing import Literal

Scope = Literal["region", "global"]
# public: partner systems may read it, so it carries no personal data and nothing of one partner's
# business; private: personal data for one named consumer; internal: between services only
Visibility = Literal["public", "private", "internal"]


@dataclass(frozen=True)
class Stream:
    name: str
    producer: str
    partitions: int
    scope: Scope
    visibility: Visibility
    description: str
    consumers: tuple[str, ...] = ()
    compacted: bool = False

    def topic(self, region: str) -> str:
        return f"ekspora.{self.event_region(region)}.{self.name}"

    def event_region(self, region: str) -> str:
        """The `region` its events carry: the region itself, or `global` for global reference data."""
        return "global" if self.scope == "global" else region


REGISTRY_MSME = Stream(
    name="registry.msme",
    producer="registry",
    partitions=6,
    scope="region",
    visibility="public",
    consumers=("notifications", "registry"),  # the registry counts its funnel from it
    description="UMKM lifecycle: registration, profile updates, readiness and incubation. Key: msme id.",
)
REGISTRY_CONTACTS = Stream(
    name="registry.contacts",
    producer="registry",
    partitions=3,
    scope="region",
    visibility="private",
    consumers=("notifications",),
    description="Personal contact data of UMKM owners, for the notifications service only. Key: msme id.",
)
REGISTRY_SUPPLIERS = Stream(
    name="registry.suppliers",
    producer="registry",
    partitions=3,
    scope="region",
    visibility="private",
    consumers=("shipping",),
    description="An UMKM as a seller on export papers: legal name, NIB and address, for shipping's invoices and"
    " export declarations only. Key: msme id.",
)
REGISTRY_PRODUCT = Stream(
    name="registry.product",
    producer="registry",
    partitions=6,
    scope="region",
    visibility="public",
    consumers=("matching", "notifications"),
    description="Products: listing, updates and export readiness. Key: product id.",
)
MATCHING_MATCH = Stream(
    name="matching.match",
    producer="matching",
    partitions=6,
    scope="region",
    visibility="internal",
    consumers=("shipping", "notifications"),
    description=(
        "Match proposals and their lifecycle: proposed, confirmed, declined, expired, withdrawn. Key: match id."
    ),
)
MATCHING_SALES = Stream(
    name="matching.sales",
    producer="matching",
    partitions=6,
    scope="region",
    visibility="internal",
    consumers=("registry", "matching", "notifications"),
    description="Sales feedback partners report for confirmed matches and delivered orders. Key: msme id.",
)
MATCHING_OPPORTUNITIES = Stream(
    name="matching.opportunities",
    producer="matching",
    partitions=3,
    scope="region",
    visibility="internal",
    compacted=True,
    consumers=("registry",),
    description="Open requests each not-ready product would match if one of its gaps were closed, and their"
    " value (the newest record per product is the truth). Key: product id.",
)
MATCHING_PARTNERS = Stream(
    name="matching.partners",
    producer="matching",
    partitions=3,
    scope="global",
    visibility="internal",
    compacted=True,
    consumers=("matching", "notifications", "identity", "shipping"),  # shipping: the consignee on invoices
    description="Latest state of every partner abroad (global reference data to rebuild views from). Key: partner id.",
)
MATCHING_DEMAND = Stream(
    name="matching.demand",
    producer="matching",
    partitions=3,
    scope="global",
    visibility="internal",
    compacted=True,
    consumers=("matching",),
    description="Latest state of every request for quotation and standing interest (global). Key: demand id.",
)
SHIPPING_SHIPMENT = Stream(
    name="shipping.shipment",
    producer="shipping",
    partitions=6,
    scope="region",
    visibility="internal",
    consumers=("notifications",),
    description="Export orders and the consolidated shipments they travel in, to delivery. Key: shipment id.",
)
SHIPPING_LANES = Stream(
    name="shipping.lanes",
    producer="shipping",
    partitions=1,
    scope="global",
    visibility="internal",
    compacted=True,
    consumers=("matching",),
    description="The destinations shipping serves, with each mode's cutoff and transit days (global reference"
    " data, newest revision per destination). Key: destination city.",
)
IDENTITY_KEYS = Stream(
    name="identity.keys",
    producer="identity",
    partitions=1,
    scope="global",
    visibility="internal",
    compacted=True,
    consumers=("registry", "matching", "shipping", "notifications", "identity"),
    description="The public keys tokens are signed with, and every revoked credential (global, compacted:"
    " each service reads it whole to verify tokens). Key: key id.",
)
NOTIFICATIONS_REPLIES = Stream(
    name="notifications.replies",
    producer="notifications",
    partitions=3,
    scope="region",
    visibility="internal",
    consumers=("matching",),
    description="What UMKM owners answered by replying to their messages: a proposal accepted or declined on"
    " WhatsApp. Key: match id.",
)
DEAD_LETTER = Stream(
    name="deadletter",
    producer="every consumer",
    partitions=1,
    scope="region",
    visibility="internal",
    description="Messages a consumer could not process: original bytes, error, topic, partition, offset, group.",
)

CATALOGUE: tuple[Stream, ...] = (
    REGISTRY_MSME,
    REGISTRY_CONTACTS,
    REGISTRY_SUPPLIERS,
    REGISTRY_PRODUCT,
    MATCHING_MATCH,
    MATCHING_SALES,
    MATCHING_OPPORTUNITIES,
    MATCHING_PARTNERS,
    MATCHING_DEMAND,
    SHIPPING_SHIPMENT,
    SHIPPING_LANES,
    NOTIFICATIONS_REPLIES,
    IDENTITY_KEYS,
    DEAD_LETTER,
)

GLOBAL_REGION = "global"
