"""UMKM owners on WhatsApp through the Cloud API, on the real broker and store.

A local stand-in for Meta's Cloud API (ekspora_ops.cloud_api) checks each request's shape, refuses
free-form messages outside the 24-hour window as Meta does (131047), reports statuses and posts the
owners' messages, all signed with the app secret. SMS goes through the test's messaging provider.
An owner's "1" accepts the newest proposal to their UMKM once however often Meta posts it, a
stranger's changes nothing, a tampered or unsigned post is refused and counted, an owner known
only by their business-scoped user id is still recognised, an owner outside the window gets a
template and inside it reply buttons, and a message reported failed goes by SMS once."""

import json

import httpx
import pytest

from ekspora_contracts.notifications import ProposalAnswered
from ekspora_contracts.topics import NOTIFICATIONS_REPLIES
from ekspora_ops.cloud_api import LocalCloudApi
from tests.factories import CLOCK
from tests.integration.support import OPERATOR, Provider, eventually, free_port, metric_of, read_topic
from tests.integration.test_matching import RFQ, Matching, matching_env, proposals
from tests.integration.test_notifications import notifications_env
from tests.integration.test_registry import Registry

pytestmark = pytest.mark.clock

APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "ekspora-verify-token"
OWNER = "+6281299990001"
OWNER_USER_ID = "ID.1502576394655843"
STRANGER = "+6281299990999"
WEBHOOK = "/channels/whatsapp/webhook"


@pytest.fixture
def cloud():
    api = LocalCloudApi(app_secret=APP_SECRET, token="cloud-token", clock=CLOCK, free_port=free_port).start()
    yield api
    api.stop()


class Owners:
    """The platform with WhatsApp through the stand-in: registry, matching, notifications."""

    def __init__(self, platform, provider: Provider, cloud: LocalCloudApi) -> None:
        self.registry = Registry(platform.start("registry").url, platform.region)
        self.matching = Matching(platform.start("matching", env=matching_env(platform.region)).url, platform)
        env = notifications_env(provider, smtp_port=1) | cloud.env(VERIFY_TOKEN)
        env |= {"EKSPORA_REPORT_LINK_SECRET": "report-links-for-tests"}
        self.notifications = platform.start("notifications", env=env)
        cloud.webhook_url = f"{self.notifications.url}{WEBHOOK}"
        self.cloud = cloud

    async def proposal(self, partner: httpx.AsyncClient, request: dict) -> dict:
        """A request posted, and its proposal for the owner's UMKM once the owner was told of it."""
        posted = await partner.post("/demands", json=request)
        assert posted.status_code == 201, posted.text
        demand_id = posted.json()["demand_id"]

        async def told() -> dict | None:
            made = [p for p in await proposals(partner) if p["terms"]["demand_id"] == demand_id]
            sent = [m for m in self.cloud.sent_to(OWNER) if made and made[0]["match_id"] in json.dumps(m)]
            return made[0] if sent else None

        found = await eventually(told, what="the owner told of the proposal on WhatsApp")
        assert found is not None
        return found


async def test_an_owner_accepts_a_proposal_by_replying_once_however_often_meta_posts_it(platform, provider, cloud):
    owners = Owners(platform, provider, cloud)
    _, partner = await owners.matching.verified_partner()
    msme_id, _ = await owners.registry.umkm(certificates=("pirt", "halal"), owner_phone=OWNER)
    match_id = (await owners.proposal(partner, RFQ))["match_id"]

    async with httpx.AsyncClient(base_url=owners.notifications.url, timeout=10) as meta:
        handshake = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        answered = await meta.get(WEBHOOK, params=handshake)
        assert answered.status_code == 200 and answered.text == "1158201444"
        assert (await meta.get(WEBHOOK, params=handshake | {"hub.verify_token": "guess"})).status_code == 403

        body = cloud.user_message(OWNER, "1", user_id=OWNER_USER_ID, message_id="wamid.accept-1")
        for _ in range(3):  # Meta posts again when it does not hear 200 in time
            posted = await meta.post(WEBHOOK, content=body, headers={"X-Hub-Signature-256": cloud.signature(body)})
            assert posted.status_code == 200, posted.text
        assert cloud.writes(STRANGER, "1")[0] == 200
        tampered = body.replace(b'"body": "1"', b'"body": "2"')
        assert tampered != body
        refused = await meta.post(WEBHOOK, content=tampered, headers={"X-Hub-Signature-256": cloud.signature(body)})
        assert refused.status_code == 401
        assert (await meta.post(WEBHOOK, content=body)).status_code == 401
        broken = b'{"object": "whatsapp_business_account", "entry": [{"id": "x"}]}'
        refused = await meta.post(WEBHOOK, content=broken, headers={"X-Hub-Signature-256": cloud.signature(broken)})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"].startswith("entry")

    async def owner_accepted() -> dict | None:
        match = (await owners.matching.operator.get(f"/matches/{match_id}")).json()
        return match if match["accepted_by"] == ["msme"] else None

    assert (await eventually(owner_accepted, what="the owner's acceptance in matching"))["status"] == "proposed"
    assert (await partner.post(f"/matches/{match_id}/acceptance")).json()["status"] == "confirmed"

    records = await read_topic(platform.topic(NOTIFICATIONS_REPLIES), at_least=1)
    answers = [json.loads(record.value) for record in records]
    assert [(a["type"], a["data"]["match_id"], a["data"]["answer"]) for a in answers] == [
        (ProposalAnswered.event_type, match_id, "accept")
    ]
    assert answers[0]["data"]["msme_id"] == msme_id and answers[0]["data"]["message_id"] == "wamid.accept-1"

    def texts_to_owner(containing: str) -> list[str]:
        return [
            m["text"]["body"] for m in cloud.sent_to(OWNER) if m["type"] == "text" and containing in m["text"]["body"]
        ]

    [thanks] = texts_to_owner("Jawaban Anda")
    assert "MENERIMA" in thanks, "answered once, in Bahasa Indonesia, as text: the owner's message opened the window"
    assert cloud.sent_to(STRANGER) == [], "a stranger is not answered"
    notifications = owners.notifications
    assert await metric_of(notifications, "ekspora_whatsapp_webhooks_total", outcome="wrong_signature") == 1
    assert await metric_of(notifications, "ekspora_whatsapp_webhooks_total", outcome="unsigned") == 1
    assert await metric_of(notifications, "ekspora_whatsapp_inbound_messages_total", outcome="repeated") == 2

    async def told_confirmed() -> bool:  # notifications closed the proposal before telling of it
        return bool(texts_to_owner("dikonfirmasi"))

    await eventually(told_confirmed, what="the owner told the order is confirmed")
    # later, with a username that hides the number: known by the user id the first reply came with
    assert cloud.writes(None, "2", user_id=OWNER_USER_ID)[0] == 200
    assert len(texts_to_owner("tidak ada usulan")) == 1, "a late answer is told there is nothing open to answer"
    assert (await owners.matching.operator.get(f"/matches/{match_id}")).json()["status"] == "confirmed"
    assert len(await read_topic(platform.topic(NOTIFICATIONS_REPLIES), at_least=1)) == 1, "and publishes nothing"


async def test_templates_outside_the_window_buttons_inside_and_one_sms_for_a_failed_message(platform, provider, cloud):
    owners = Owners(platform, provider, cloud)
    _, partner = await owners.matching.verified_partner()
    await owners.registry.umkm(certificates=("pirt", "halal"), owner_phone=OWNER)
    first = (await owners.proposal(partner, RFQ))["match_id"]

    [outside] = [m for m in cloud.sent_to(OWNER) if first in json.dumps(m)]
    assert outside["type"] == "template", "the owner has not written: only a template may go"
    template = outside["template"]
    assert template["name"] == "ekspora_usulan_pembeli" and template["language"] == {"code": "id"}
    payloads = [c["parameters"][0]["payload"] for c in template["components"] if c["type"] == "button"]
    assert payloads == [f"accept:{first}", f"decline:{first}"]
    assert not cloud.refused, "every request had the Cloud API's shape"

    status, _ = cloud.writes(OWNER, "Tolak", quick_reply=f"decline:{first}")  # a tap on the template's button
    assert status == 200

    async def declined() -> bool:
        return (await owners.matching.operator.get(f"/matches/{first}")).json()["status"] == "declined"

    await eventually(declined, what="the proposal declined by the owner's tap")

    second = (await owners.proposal(partner, RFQ | {"quantity": 400}))["match_id"]
    [inside] = [m for m in cloud.sent_to(OWNER) if second in json.dumps(m)]
    assert inside["type"] == "interactive", "the owner wrote within 24 hours: the message itself, with buttons"
    buttons = inside["interactive"]["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == [f"accept:{second}", f"decline:{second}"]

    cloud.failing.add(OWNER[1:])
    assert cloud.writes(OWNER, "halo")[0] == 200  # answered with the help text, which is reported failed

    def texts_by_sms() -> list[dict]:
        return [r for r in provider.sent("sms") if r["to"] == OWNER]

    async def fallen_back() -> bool:
        return len(texts_by_sms()) == 1

    await eventually(fallen_back, what="the failed WhatsApp message sent by SMS")
    assert "BERHENTI" in texts_by_sms()[0]["text"], "the help text"
    failed = [m for m in cloud.sent_to(OWNER) if m["type"] == "text" and "BERHENTI" in m["text"]["body"]]
    status = {
        "id": failed[-1]["wamid"],
        "status": "failed",
        "timestamp": str(int(CLOCK.now().timestamp())),
        "recipient_id": OWNER[1:],
        "biz_opaque_callback_data": failed[-1]["biz_opaque_callback_data"],
        "errors": [{"code": 131026, "title": "Message undeliverable"}],
    }
    assert cloud.post({"statuses": [status]}) == 200  # Meta reports it again
    assert len(texts_by_sms()) == 1, "one SMS, however often the failure is reported"


async def test_an_owner_gets_their_report_by_a_signed_link_and_stops_and_starts_whatsapp(platform, provider, cloud):
    owners = Owners(platform, provider, cloud)
    msme_id, product_id = await owners.registry.umkm(certificates=("pirt",), owner_phone=OWNER)

    def texts_to_owner(containing: str) -> list[str]:
        return [
            m["text"]["body"] for m in cloud.sent_to(OWNER) if m["type"] == "text" and containing in m["text"]["body"]
        ]

    msme = await owners.registry.get(msme_id)
    scored = f"skor {msme['assessment']['score']}/100"

    async def reported() -> list[str]:  # asked again until notifications has heard the last assessment
        if not texts_to_owner(scored):
            assert cloud.writes(OWNER, "LAPORAN")[0] == 200
        return texts_to_owner(scored)

    [report] = await eventually(reported, what="the owner's readiness report on WhatsApp")
    assert report.startswith("*Ekspora*\nLaporan kesiapan ekspor Tahu Takwa Lestari: setengah siap")
    link = report.rsplit(" ", 1)[-1]
    assert link.startswith(f"{owners.notifications.url}/laporan/")
    async with httpx.AsyncClient(timeout=10) as phone:
        opened = await phone.get(link)
        assert opened.status_code == 200 and "text/html" in opened.headers["content-type"]
        assert f"{msme['assessment']['score']}/100" in opened.text
        assert msme["assessment"]["gaps"][0]["next_step_id"].split()[0] in opened.text
        assert (
            opened.headers["referrer-policy"] == "no-referrer"
            and "script-src" not in opened.headers["content-security-policy"]
        )
        forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        assert (await phone.get(forged)).status_code == 404

    assert cloud.writes(OWNER, "BERHENTI")[0] == 200
    assert len(texts_to_owner("tidak akan lagi menerima")) == 1
    before = len(cloud.sent_to(OWNER))
    feed = httpx.AsyncClient(base_url=owners.notifications.url, headers=OPERATOR, timeout=10)

    async def readiness_news() -> list[dict]:
        items = (await feed.get(f"/feeds/umkm:{msme_id}")).json()["items"]
        return [item for item in items if item["event_type"] == "ekspora.registry.readiness.assessed.v2"]

    told_before = len(await readiness_news())
    await owners.registry.certificate(msme_id, product_id, "halal")  # a better tier: a readiness message

    async def recorded() -> bool:  # in the owner's feed, which BERHENTI does not stop
        return len(await readiness_news()) > told_before

    await eventually(recorded, what="the readiness news in the owner's feed")
    assert len(cloud.sent_to(OWNER)) == before, "stopped: not pushed on WhatsApp"
    assert not [r for r in provider.requests if r["to"] == OWNER], "nor by SMS: it is not critical"

    assert cloud.writes(OWNER, "MULAI")[0] == 200
    assert len(texts_to_owner("Selamat datang kembali")) == 1
