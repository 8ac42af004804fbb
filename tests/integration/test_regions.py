"""Regions are configuration: each has its own topics, partitions and consumer groups, and a stopped
region never holds another back. A third region needs only its instances started."""

import httpx
import pytest

from tests.integration.support import OPERATOR_TOKEN, Platform, eventually
from tests.integration.test_skeleton_flow import new_umkm

pytestmark = pytest.mark.clock  # times of day, local dates, expiries: CI runs it at shifted hours

TOKENS = {"blitar": "blitar-operator"}


async def feed(service, region: str) -> list[dict]:
    """The operator feed of `region`, read with that region's operator token."""
    token = TOKENS["blitar"] if region.endswith("-blitar") else OPERATOR_TOKEN
    async with httpx.AsyncClient(base_url=service.url, headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.get(f"/feeds/operator:{region}")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def register(registry, region: str, token: str = OPERATOR_TOKEN) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=registry.url, headers=headers) as client:
        response = await client.post("/msmes", json=new_umkm(region))
    assert response.status_code == 201, response.text
    return response.json()["msme_id"]


async def test_regions_run_side_by_side_and_a_stopped_one_holds_no_other_back(platform):
    kediri = platform.region
    blitar = f"{platform.region}-blitar"
    await platform.provision(blitar)
    both = f"{kediri}={OPERATOR_TOKEN},{blitar}={TOKENS['blitar']}"

    def env(region: str, service: str) -> dict[str, str]:  # each region's deployment has its own databases
        return {
            "EKSPORA_REGIONS": region,
            "EKSPORA_OPERATOR_TOKENS": both,
            "EKSPORA_MONGO_DATABASE": f"test_{region}_{service}".replace("-", "_"),
        }

    def instances(region: str) -> tuple:
        return (
            platform.start("registry", name=f"registry-{region}", env=env(region, "registry")),
            platform.start("notifications", name=f"notifications-{region}", env=env(region, "notifications")),
        )

    kediri_registry, kediri_notifications = instances(kediri)
    blitar_registry, blitar_notifications = instances(blitar)
    in_kediri = await register(kediri_registry, kediri)
    in_blitar = await register(blitar_registry, blitar, "blitar-operator")

    await eventually(lambda: feed(kediri_notifications, kediri), what="Kediri's notification")
    await eventually(lambda: feed(blitar_notifications, blitar), what="Blitar's notification")
    assert [n["subject"] for n in await feed(kediri_notifications, kediri)] == [in_kediri]
    assert [n["subject"] for n in await feed(blitar_notifications, blitar)] == [in_blitar]
    assert await feed(kediri_notifications, blitar) == [], "each instance processes only its own region"

    kediri_notifications.stop()  # Kediri's consumers are down; Kediri keeps producing
    waiting_in_kediri = await register(kediri_registry, kediri)
    second_in_blitar = await register(blitar_registry, blitar, "blitar-operator")

    async def blitar_flows():
        return len(await feed(blitar_notifications, blitar)) == 2

    await eventually(blitar_flows, timeout=20, what="Blitar to keep flowing while Kediri's consumers are down")

    restarted = platform.start("notifications", name=f"notifications-{kediri}-again", env=env(kediri, "notifications"))

    async def caught_up():
        return {n["subject"] for n in await feed(restarted, kediri)} == {in_kediri, waiting_in_kediri}

    await eventually(caught_up, what="Kediri to catch up from its own offsets after the restart")
    assert second_in_blitar in {n["subject"] for n in await feed(blitar_notifications, blitar)}
    for region in (kediri, blitar):
        for service in ("registry", "notifications"):
            await platform.mongo.drop_database(f"test_{region}_{service}".replace("-", "_"))


async def test_a_third_region_is_configuration_only(platform):
    third = Platform("third-region")
    try:
        region = third.region
        await third.provision()
        env = {"EKSPORA_REGIONS": region}
        registry = third.start("registry", env=env)
        notifications = third.start("notifications", env=env)
        msme_id = await register(registry, region)
        [notification] = await eventually(lambda: feed(notifications, region), what="the new region's feed")
        assert notification["subject"] == msme_id and region in notification["text"]
    finally:
        await third.close()
