"""Every database call of the matching service lives here.

Authoritative documents (partners and demand created here, product–demand pairs) carry their
outbox. Views (all partners and demand, from the compacted topics; offers, from the registry's
product events) keep the newest version they have seen.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.aggregates import VersionedStore
from ekspora_kit.documents import keep_newest, to_document
from ekspora_matching.domain import (
    HOLDING,
    Demand,
    Lane,
    Offer,
    Pair,
    Partner,
    PartnerStats,
    ProductOpportunities,
)

# Stored beside a pair's state for queries (its open proposal, its expiry, the capacity it holds), not part of it.
PAIR_QUERY_FIELDS = {
    "current_status": 0,
    "current_match_id": 0,
    "expires_at": 0,
    "holding": 0,
    "holds_units": 0,
    "holds_until": 0,
}
EVERY_PARTNER = "scan: the operator's list of every partner (hundreds, not thousands)"
EVERY_DEMAND = "scan: the operator's list of every demand"
UNVERSIONED_STATS = "scan: once at start, partner statistics stored before they were versioned"


def pair_query_fields(pair: Pair) -> dict[str, Any]:
    current = pair.current
    return {
        "current_status": current.status if current else None,
        "current_match_id": current.match_id if current else None,
        "expires_at": current.expires_at if current and current.status == "proposed" else None,
        # true while its round holds capacity; `release_finished_holds` clears it once production is over,
        # so the holds of a region are found by equality on top-level fields, which the store narrows
        "holding": bool(current and current.status in HOLDING and current.holds_until),
        "holds_units": current.terms.quantity if current and current.status in HOLDING else 0,
        # an ISO date, which orders as the date does (BSON has no date without a time)
        "holds_until": current.holds_until.isoformat() if current and current.holds_until else None,
    }


def _strip(document: dict[str, Any]) -> dict[str, Any]:
    # api_key_sha256: in partner views stored before keys moved to the identity service
    return {k: v for k, v in document.items() if k not in ("_id", "api_key_sha256")}


class MatchingStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.partners = db["partners"]
        self.partner_view = db["partner_view"]
        self.demands = db["demands"]
        self.demand_view = db["demand_view"]
        self.offers = db["offers"]
        self.pairs = db["pairs"]
        self.partner_stats = db["partner_stats"]
        self.lane_view = db["lane_view"]
        self.allocation_leases = db["allocation_leases"]
        self.opportunities = db["opportunities"]
        self.recounts = db["opportunity_recounts"]
        self.own_partners = VersionedStore(self.partners, Partner)
        self.own_demands = VersionedStore(self.demands, Demand)
        self.own_pairs = VersionedStore(self.pairs, Pair, hidden=PAIR_QUERY_FIELDS, derive=pair_query_fields)
        # sales reports of one partner arrive on every partition, so its statistics have many writers
        self.own_stats = VersionedStore(self.partner_stats, PartnerStats)
        self.own_opportunities = VersionedStore(self.opportunities, ProductOpportunities)

    @property
    def outboxes(self) -> list[AsyncCollection]:
        return [self.partners, self.demands, self.pairs, self.partner_stats, self.opportunities]

    async def ensure_indexes(self) -> None:
        await self.partner_stats.update_many(
            {"version": {"$exists": False}}, {"$set": {"version": 1}}, comment=UNVERSIONED_STATS
        )
        await self.demands.create_index([("status", 1), ("needed_by", 1)])
        await self.demand_view.create_index([("status", 1), ("category", 1), ("destination_country", 1)])
        await self.demand_view.create_index([("status", 1), ("hs_prefix", 1)])
        await self.demand_view.create_index("partner_id")
        await self.offers.create_index([("region", 1), ("ready", 1), ("category", 1), ("readiness_score", -1)])
        await self.offers.create_index([("region", 1), ("ready", 1), ("hs_prefixes", 1), ("readiness_score", -1)])
        await self.pairs.create_index("current_match_id")
        await self.pairs.create_index([("partner_id", 1), ("current_status", 1)])
        await self.pairs.create_index([("demand_id", 1), ("current_status", 1)])
        await self.pairs.create_index([("region", 1), ("current_status", 1)])
        await self.pairs.create_index("expires_at", sparse=True)
        await self.pairs.create_index([("product_id", 1), ("current_status", 1)])
        await self.pairs.create_index([("region", 1), ("holding", 1)])

    # authoritative partners and demand ------------------------------------------------------

    async def own_partner(self, partner_id: str) -> Partner | None:
        return await self.own_partners.get(partner_id)

    async def own_demand(self, demand_id: str) -> Demand | None:
        return await self.own_demands.get(demand_id)

    async def demands_due(self, today: date) -> list[str]:
        """Ids of open demands posted here whose needed-by date has come."""
        cursor = self.demands.find({"status": "open", "needed_by": {"$lte": today.isoformat()}}, {"_id": 1}).limit(200)
        return [document["_id"] async for document in cursor]

    # views --------------------------------------------------------------------------------

    async def keep_partner(self, partner: Partner) -> bool:
        return await keep_newest(self.partner_view, partner.partner_id, to_document(partner))

    async def keep_demand(self, demand: Demand) -> bool:
        return await keep_newest(self.demand_view, demand.demand_id, to_document(demand))

    async def keep_lane(self, lane: Lane) -> bool:
        return await keep_newest(self.lane_view, lane.destination_city, to_document(lane))

    async def lane(self, city: str) -> Lane | None:
        document = await self.lane_view.find_one({"_id": city})
        return Lane.model_validate(_strip(document)) if document else None

    async def lanes(self) -> list[Lane]:
        cursor = self.lane_view.find(comment="scan: the destinations shipping serves (a handful)").sort("_id", 1)
        return [Lane.model_validate(_strip(document)) async for document in cursor]

    async def partner(self, partner_id: str) -> Partner | None:
        document = await self.partner_view.find_one({"_id": partner_id})
        return Partner.model_validate(_strip(document)) if document else None

    async def all_partners(self) -> list[Partner]:
        cursor = self.partner_view.find(comment=EVERY_PARTNER).sort("name", 1)
        return [Partner.model_validate(_strip(d)) async for d in cursor]

    async def demand(self, demand_id: str) -> Demand | None:
        document = await self.demand_view.find_one({"_id": demand_id})
        return Demand.model_validate(_strip(document)) if document else None

    async def demands_of(self, partner_id: str | None) -> list[Demand]:
        query, comment = ({"partner_id": partner_id}, None) if partner_id else ({}, EVERY_DEMAND)
        cursor = self.demand_view.find(query, comment=comment).sort("_id", 1)
        return [Demand.model_validate(_strip(d)) async for d in cursor]

    async def open_demands_for(
        self, category: str, hs_prefixes: Sequence[str], countries: Sequence[str]
    ) -> list[Demand]:
        query = {
            "status": "open",
            "destination_country": {"$in": countries},
            "$or": [{"category": category, "hs_prefix": None}, {"hs_prefix": {"$in": hs_prefixes}}],
        }
        return [Demand.model_validate(_strip(d)) async for d in self.demand_view.find(query)]

    async def save_offer(self, region: str, offer: Offer) -> None:
        await self.offers.replace_one({"_id": offer.product.product_id}, offer_document(region, offer), upsert=True)

    async def offer(self, product_id: str) -> Offer | None:
        document = await self.offers.find_one({"_id": product_id})
        return offer_from_document(document) if document else None

    async def offers_of(self, region: str, product_ids: list[str]) -> list[Offer]:
        """The region's offers of these products (by _id), whatever their bucket."""
        if not product_ids:
            return []
        cursor = self.offers.find({"_id": {"$in": product_ids}, "region": region})
        return [offer_from_document(document) async for document in cursor]

    async def not_ready_offers(self, region: str, bucket: str, limit: int = 500) -> list[Offer]:
        """The region's not-ready products in a demand's bucket (`hs:<prefix>` or its category)."""
        query: dict[str, Any] = {"region": region, "ready": False}
        if bucket.startswith("hs:"):
            query["hs_prefixes"] = bucket.removeprefix("hs:")
        else:
            query["category"] = bucket
        cursor = self.offers.find(query).sort([("readiness_score", -1), ("_id", 1)]).limit(limit)
        return [offer_from_document(document) async for document in cursor]

    async def mark_for_recount(self, region: str, bucket: str) -> None:
        """A request in the bucket changed: its not-ready products' opportunities are to be recounted.
        Each mark counts its changes, so a recount only clears the mark it saw."""
        await self.recounts.update_one(
            {"_id": f"{region}|{bucket}"},
            {"$inc": {"changes": 1}, "$set": {"region": region, "bucket": bucket}},
            upsert=True,
        )

    async def marked_for_recount(self, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self.recounts.find(comment="scan: the buckets whose requests changed since the last recount (a few)")
        return [document async for document in cursor.limit(limit)]

    async def recounted(self, mark: dict[str, Any]) -> None:
        await self.recounts.delete_one({"_id": mark["_id"], "changes": mark["changes"]})

    async def product_opportunities(self, product_id: str) -> ProductOpportunities | None:
        return await self.own_opportunities.get(product_id)

    async def save_opportunities(
        self, read: ProductOpportunities | None, updated: ProductOpportunities, events: Sequence[CloudEvent]
    ) -> ProductOpportunities:
        return await self.own_opportunities.save(updated.product_id, updated, read.version if read else None, events)

    async def standing_interests_due(self, today: date) -> list[str]:
        """Ids of open standing interests posted here whose next recurring order is due."""
        query = {"status": "open", "next_order_on": {"$lte": today.isoformat()}}
        return [document["_id"] async for document in self.demands.find(query, {"_id": 1}).limit(200)]

    async def candidate_offers(self, region: str, demand: Demand, limit: int) -> list[Offer]:
        """Export-ready offers of the region in the demand's bucket, in readiness order (indexed)."""
        query: dict[str, Any] = {"region": region, "ready": True}
        if demand.hs_prefix:
            query["hs_prefixes"] = demand.hs_prefix
        else:
            query["category"] = demand.category
        cursor = self.offers.find(query).sort([("readiness_score", -1), ("_id", 1)]).limit(limit)
        return [offer_from_document(document) async for document in cursor]

    async def stats(self, partner_id: str) -> PartnerStats:
        return await self.own_stats.get(partner_id) or PartnerStats()

    async def save_stats(self, partner_id: str, read: PartnerStats, updated: PartnerStats) -> PartnerStats:
        return await self.own_stats.save(partner_id, updated, read.version or None, [])

    # pairs --------------------------------------------------------------------------------

    async def pair(self, pair_id: str) -> Pair | None:
        return await self.own_pairs.get(pair_id)

    async def pair_of_match(self, match_id: str) -> Pair | None:
        document = await self.pairs.find_one({"current_match_id": match_id}, self.own_pairs.hidden)
        return self.own_pairs.parse(document) if document else None

    async def save_pair(self, pair: Pair, expected_version: int | None, events: Sequence[CloudEvent]) -> Pair:
        return await self.own_pairs.save(pair.pair_id, pair, expected_version, events)

    async def pairs_of_demand(self, demand_id: str) -> list[Pair]:
        """Every pair proposed for a request (a few suppliers, not a collection)."""
        cursor = self.pairs.find({"demand_id": demand_id}, self.own_pairs.hidden)
        return [self.own_pairs.parse(document) async for document in cursor]

    async def open_count(self, field: str, value: str) -> int:
        return (
            await self.pairs.count_documents({field: value, "current_status": {"$in": ["proposed", "confirmed"]}})
            if field == "demand_id"
            else await self.pairs.count_documents({field: value, "current_status": "proposed"})
        )

    async def pairs_where(self, query: dict[str, Any], limit: int = 500) -> list[Pair]:
        cursor = self.pairs.find(query, self.own_pairs.hidden).sort("_id", 1).limit(limit)
        return [self.own_pairs.parse(document) async for document in cursor]

    async def promised_units(self, region: str, product_ids: Sequence[str], today: date) -> dict[str, int]:
        """Units of each product held by open proposals and by confirmed orders still in production."""
        query = {
            "region": region,
            "holding": True,
            "product_id": {"$in": list(product_ids)},
            "holds_until": {"$gte": today.isoformat()},
        }
        promised: dict[str, int] = {}
        async for document in self.pairs.find(query, {"product_id": 1, "holds_units": 1}):
            promised[document["product_id"]] = promised.get(document["product_id"], 0) + document["holds_units"]
        return promised

    async def release_finished_holds(self, today: date) -> int:
        """Pairs whose production window is over hold no capacity any more."""
        finished = {"holding": True, "holds_until": {"$lt": today.isoformat()}}
        return (await self.pairs.update_many(finished, {"$set": {"holding": False}})).modified_count

    async def open_pairs(self, field: str, value: str) -> list[str]:
        """Ids of the pairs of a product or a demand whose proposal is open."""
        cursor = self.pairs.find({field: value, "current_status": "proposed"}, {"_id": 1})
        return [document["_id"] async for document in cursor]

    async def due_for_expiry(self, now: datetime) -> list[str]:
        cursor = self.pairs.find({"current_status": "proposed", "expires_at": {"$lte": now}}, {"_id": 1}).limit(200)
        return [document["_id"] async for document in cursor]


def offer_document(region: str, offer: Offer) -> dict[str, Any]:
    """An offer with the top-level fields the candidate search selects by."""
    return to_document(
        offer,
        _id=offer.product.product_id,
        region=region,
        category=offer.product.category,
        hs_prefixes=offer.hs_prefixes,
        ready=offer.ready,
    )


def offer_from_document(document: dict[str, Any]) -> Offer:
    return Offer.model_validate(
        {k: document[k] for k in ("product", "readiness_score", "ready", "gap_codes") if k in document}
    )
