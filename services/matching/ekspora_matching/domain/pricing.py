"""Prices a buyer can act on: the landed price per unit under an Incoterm, from the product's price,
its share of the lane's freight, cargo insurance, delivery to the door (all as shipping announces
them with its lanes), and a dated exchange rate.

Freight per unit follows how shipping charges it: by W/M ton at sea (a tonne or a cubic metre,
whichever is more), by chargeable kilogram in the air (volumetric 167 kg a cubic metre), on the
product's gross weight and packed volume. Insurance is the usual cover of 110% of the CFR value."""

from dataclasses import dataclass
from typing import Literal

from ekspora_contracts.matching import Incoterm, MatchTerms, PriceQuote
from ekspora_contracts.registry import ProductFacts
from ekspora_contracts.shipping import LaneCosts, Mode, ModeSchedule
from ekspora_kit.domain import Invalid, NotAllowed
from ekspora_matching.domain.views import Lane
from ekspora_matching.policy import DatedRate

VOLUMETRIC_KG_PER_CBM = 167


def minor_units(idr: float, idr_per_currency_unit: float) -> int:
    """Cents (of the euro or the Australian dollar) for a sum in rupiah, at least one."""
    return max(1, round(idr / idr_per_currency_unit * 100))


@dataclass(frozen=True)
class Quote:
    incoterm: Incoterm
    named_place: str
    mode: Mode
    currency: Literal["EUR", "AUD"]
    rate: DatedRate
    product_idr: float
    freight_idr: float
    insurance_idr: float
    delivery_idr: float

    @property
    def landed_idr(self) -> float:
        return self.product_idr + self.freight_idr + self.insurance_idr + self.delivery_idr

    @property
    def unit_price(self) -> int:
        return minor_units(self.landed_idr, self.rate.idr_per[self.currency])

    def terms(self) -> PriceQuote:
        return PriceQuote(
            named_place=self.named_place,
            mode=self.mode,
            product_idr=self.product_idr,
            freight_idr=self.freight_idr,
            insurance_idr=self.insurance_idr,
            delivery_idr=self.delivery_idr,
            rate_on=self.rate.since,
            rate_source=self.rate.source,
            idr_per_currency_unit=self.rate.idr_per[self.currency],
        )


def freight_per_unit(product: ProductFacts, mode: ModeSchedule, costs: LaneCosts) -> tuple[float, float]:
    """(rupiah of freight, gross kilograms) per unit of the product on `mode`."""
    gross_kg = product.net_weight_grams / 1000 * costs.gross_factor
    cbm = gross_kg / costs.kg_per_cbm.get(product.category, costs.default_kg_per_cbm)
    air = mode.mode == "air"
    chargeable = max(gross_kg, cbm * VOLUMETRIC_KG_PER_CBM) if air else max(gross_kg / 1000, cbm)  # kg, W/M ton
    return chargeable * (mode.rate_idr_per_chargeable_unit or 0), gross_kg


def quote(
    product: ProductFacts,
    incoterm: Incoterm,
    lane: Lane,
    rate: DatedRate,
    currency: Literal["EUR", "AUD"],
    price_idr: int | None = None,
) -> Quote:
    """The landed price per unit of `product` under `incoterm`; `price_idr` when the UMKM quotes a
    price of its own instead of its list price. Raises LookupError when the lane's costs are unknown
    and the Incoterm needs them."""
    mode = lane.schedule_for(product)
    product_idr = float(price_idr or product.unit_price_idr)
    if incoterm == "FOB":
        departs_from = "Juanda (SUB)" if mode.mode == "air" else "Tanjung Perak (Surabaya)"
        return Quote(incoterm, departs_from, mode.mode, currency, rate, product_idr, 0, 0, 0)
    if lane.costs is None or mode.rate_idr_per_chargeable_unit is None:
        raise LookupError(f"shipping has not announced what carrying to {lane.destination_city} costs")
    costs = lane.costs
    carried, gross_kg = freight_per_unit(product, mode, costs)
    insurance = 0.0 if incoterm == "CFR" else (product_idr + carried) * costs.insured_share * costs.insurance_rate
    delivery = gross_kg * costs.delivery_idr_per_gross_kg if incoterm == "DAP" else 0.0
    arrives_at = lane.airport if mode.mode == "air" else lane.port
    place = lane.destination_city if incoterm == "DAP" else arrives_at
    return Quote(incoterm, place, mode.mode, currency, rate, product_idr, carried, insurance, delivery)


def locked_at(terms: MatchTerms, rate: DatedRate) -> MatchTerms:
    """The terms at the exchange rate of the day they are confirmed: the rupiah make-up stands, the
    price in the partner's currency follows the rate."""
    if terms.quote is None:
        return terms
    idr_per = rate.idr_per[terms.currency]
    q = terms.quote
    landed = q.product_idr + q.freight_idr + q.insurance_idr + q.delivery_idr
    locked = q.model_copy(update={"rate_on": rate.since, "rate_source": rate.source, "idr_per_currency_unit": idr_per})
    return terms.model_copy(update={"unit_price": minor_units(landed, idr_per), "quote": locked})


def countered(terms: MatchTerms, unit_price: int) -> MatchTerms:
    """The terms at the partner's counter-price (minor units of its currency, landed under the
    Incoterm): the freight, insurance and delivery stand as quoted, the product's price is what is left."""
    q = terms.quote
    if q is None:
        raise NotAllowed(f"proposal {terms.match_id} was made before prices had a make-up: it cannot be countered")
    landed_idr = unit_price / 100 * q.idr_per_currency_unit
    product_idr = landed_idr - q.freight_idr - q.insurance_idr - q.delivery_idr
    if product_idr < 1:
        price = f"{unit_price / 100:.2f} {terms.currency}"
        raise Invalid(f"{price} per unit does not cover the freight, insurance and delivery", field="unit_price")
    return terms.model_copy(
        update={
            "unit_price": unit_price,
            "unit_price_idr": round(product_idr),
            "quote": q.model_copy(update={"product_idr": product_idr}),
        }
    )


def requoted(terms: MatchTerms, priced: Quote) -> MatchTerms:
    """The terms at the UMKM's own price, priced as a proposal is."""
    return terms.model_copy(
        update={"unit_price_idr": round(priced.product_idr), "unit_price": priced.unit_price, "quote": priced.terms()}
    )
