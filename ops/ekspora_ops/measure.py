"""Shared by the benchmarks under bench/ (and the tests): percentiles, a product ready for export, and a
partner abroad whose system takes webhooks."""

import asyncio

import httpx
from aiokafka import AIOKafkaProducer

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import PartnerChanged
from ekspora_contracts.registry import ProductExportReady, ProductFacts
from ekspora_contracts.topics import MATCHING_PARTNERS
from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock
from ekspora_ops.messaging import LocalMessaging
from ekspora_ops.partners import sign_in


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.99 for p99) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def export_ready_product(region: str, product_id: str, msme_id: str) -> ProductExportReady:
    """Keripik tempe from Kediri, as the registry announces a product that became ready for export."""
    facts = ProductFacts(
        product_id=product_id,
        msme_id=msme_id,
        region=region,
        name="Keripik Tempe Sri",
        description_id="Keripik tempe renyah khas Kediri",
        description_en="Crispy tempeh chips from Kediri",
        category="snack",
        hs_code="200899",
        tariff_code="20089990",
        unit="pack 200 g",
        unit_price_idr=18_000,
        minimum_order_quantity=100,
        monthly_capacity=2_000,
        net_weight_grams=200,
        shelf_life_days=180,
        english_label=True,
        certificates=[],
    )
    return ProductExportReady(product=facts, score=82)


def bench_partner(region: str, categories: list[str]) -> PartnerChanged:
    """A verified importer in Rotterdam, as matching publishes partners."""
    return PartnerChanged(
        partner_id=f"ptn-{region}",
        version=1,
        kind="importer",
        name="Bench Importer Rotterdam",
        country="NL",
        city="Rotterdam",
        categories=categories,
        min_order_units=1,
        max_order_units=10_000,
        languages=["en"],
        contact_email="bench@partner.example",
        verified=True,
    )


async def partner_with_webhook(
    bus: BusAccess,
    region: str,
    urls: dict[str, str],
    operator_token: str,
    outside: LocalMessaging,
    event_types: list[str],
    clock: Clock,
) -> str:
    """A verified importer in Rotterdam, published as matching would, whose system signs in at
    identity (`urls`) and subscribes an endpoint at `outside` to `event_types` of `region` in
    notifications; returns its partner id."""
    partner = bench_partner(region, categories=["snack"])
    partner_id = partner.partner_id
    event = new_event(partner, region="global", producer="bench", correlation_id="bench", time=clock.now())
    producer = AIOKafkaProducer(**bus.client_options(), acks="all")
    await producer.start()
    try:
        topic = MATCHING_PARTNERS.topic(region)
        await producer.send_and_wait(topic, event.model_dump_json().encode(), key=partner_id.encode())
    finally:
        await producer.stop()
    token = await sign_in(urls["identity"], operator_token, partner_id)
    body = {"url": outside.webhook_url(partner_id), "event_types": event_types, "regions": [region]}
    async with httpx.AsyncClient(
        base_url=urls["notifications"], headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        for _ in range(150):  # notifications learns of the partner from the bus, shortly
            if (await client.post("/webhooks/endpoints", json=body)).status_code == 201:
                return partner_id
            await asyncio.sleep(0.2)
    raise RuntimeError("the partner never reached notifications")
