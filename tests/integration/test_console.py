"""The console in a real browser (Debian's Chromium, driven by Selenium) against the real services on
the real broker and store: people sign in with their own accounts and see and do only what their
role allows; every main page passes axe-core with no serious or critical violation; a screenshot of
each is kept in .local/test-artifacts/console/."""

import re
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import jwt
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from ekspora_contracts.topics import DEAD_LETTER, REGISTRY_MSME
from ekspora_kit.clock import WIB
from ekspora_ops.people import add_person
from tests.factories import CLOCK, registered_event, scanned_pdf
from tests.integration.support import OPERATOR_TOKEN, ROOT, eventually, publish
from tests.integration.test_identity import first_admin
from tests.integration.test_matching import RFQ, Matching, matching_env, proposals
from tests.integration.test_registry import TAHU, Registry
from tests.integration.test_skeleton_flow import new_umkm, operator_feed

PASSWORD = "kediri-tahu-takwa-2026"
ARTIFACTS = ROOT / ".local" / "test-artifacts" / "console"
AXE = ROOT / ".local" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: WebDriver, console: str, email: str, password: str = PASSWORD) -> None:
    driver.delete_all_cookies()
    driver.get(f"{console}/sign-in")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    follow(driver, driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]"))
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def sign_out(driver: WebDriver) -> None:
    follow(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button"))
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("/sign-in"))  # before anything else loads


def accessible_and_kept(driver: WebDriver, name: str) -> list[str]:
    """Screenshot kept; axe-core's serious and critical violations on the page, as 'rule: target'."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done([String(e)]));"
    )
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']]}"
        for v in result
        if isinstance(v, dict) and v.get("impact") in ("serious", "critical")
    ]


def follow(driver: WebDriver, control: WebElement) -> None:
    """Click a link or a form's button and wait until the next page has replaced this one, so that
    what is read next is never the page being left."""
    leaving = driver.find_element(By.TAG_NAME, "html")
    control.click()

    def left(_: WebDriver) -> bool:
        try:
            leaving.is_enabled()
        except WebDriverException:  # stale, or Chromium's "node does not belong to the document": gone
            return True
        return False

    WebDriverWait(driver, 30).until(left)


def text(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


async def staged(platform) -> dict:
    """The services and the console, a partner with an RFQ, an export-ready UMKM proposed to it, and
    three people: the region's operator, a viewer and the partner's person."""
    region = platform.region
    identity = platform.identity()
    registry = Registry(platform.start("registry").url, region)
    matching = Matching(platform.start("matching", env=matching_env(region)).url, platform)
    shipping = platform.start("shipping")
    notifications = platform.start("notifications", env={"EKSPORA_WEBHOOK_ALLOW_LOOPBACK": "true"})
    console = platform.start(
        "console",
        env={
            "EKSPORA_IDENTITY_URL": identity.url,
            "EKSPORA_REGISTRY_URL": str(registry.client.base_url).rstrip("/"),
            "EKSPORA_MATCHING_URL": matching.url,
            "EKSPORA_SHIPPING_URL": shipping.url,
            "EKSPORA_NOTIFICATIONS_URL": notifications.url,
            "EKSPORA_COOKIE_SECURE": "false",  # plain HTTP on 127.0.0.1
        },
    ).url
    partner_id, partner = await matching.verified_partner()
    assert (await partner.post("/demands", json=RFQ)).status_code == 201
    await registry.umkm(certificates=("pirt", "halal"))
    [proposal] = await eventually(lambda: proposals(partner), what="a proposal for the partner")
    not_ready = await registry.ok("POST", "/msmes", new_umkm(region, business_name="Batik Tulis Bandar Kidul"))
    people: dict[str, dict[str, object]] = {
        "sari@kediri.example": {"role": "operator", "regions": [region]},
        "bi@kediri.example": {"role": "viewer", "regions": [region], "locale": "en"},
        "inkoop@toko.example": {"role": "partner_user", "partner_id": partner_id, "locale": "en"},
    }
    for email, shape in people.items():
        account = {"email": email, "name": email.split("@")[0], "password": PASSWORD, **shape}
        await add_person(identity.url, OPERATOR_TOKEN, account)
    return {
        "console": console,
        "region": region,
        "matching": matching,
        "proposal": proposal,
        "not_ready": not_ready["msme_id"],
        "notifications": notifications,
        "registry": str(registry.client.base_url).rstrip("/"),
        "partner": {"url": matching.url, "headers": dict(partner.headers)},
    }


def operator_journey(browser: WebDriver, console: str, stage: dict) -> dict[str, list[str]]:
    """In Bahasa Indonesia: the funnel, the UMKM list with a filter, one UMKM, a not-ready one enrolled
    into a new cohort with a milestone ticked, a proposal accepted for its owner; a partner's page
    refused; signed out for good."""
    region, match_id = stage["region"], stage["proposal"]["match_id"]
    violations = {}
    sign_in(browser, console, "sari@kediri.example")
    assert browser.current_url.endswith("/operator")
    assert text(browser, "td[data-step=registered]") == "2" and text(browser, "td[data-step=siap]") == "1"
    assert "Alur ekspor" in browser.page_source
    violations["overview"] = accessible_and_kept(browser, "operator-overview")

    browser.get(f"{console}/operator/umkm?region={region}&tier=siap")
    assert "Tahu Takwa Lestari" in text(browser, "#msmes")
    assert text(browser, "#page-of") == "Halaman 1 dari 1 (1 UMKM)"
    violations["umkm list"] = accessible_and_kept(browser, "operator-umkm-list")
    browser.get(f"{console}/operator/umkm?region={region}&tier=didorong")
    assert "Tahu Takwa Lestari" not in text(browser, "#msmes"), "the filter is the registry's"

    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav a[href^='/operator/umkm']"))
    follow(browser, browser.find_element(By.LINK_TEXT, "Tahu Takwa Lestari"))
    assert text(browser, "#tier").startswith("Siap") and re.search(r"Rp\d{1,3}(\.\d{3})*", text(browser, "#products"))
    history = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")]
    assert " Siap " in history[0] and history[-1].endswith("registered"), "its assessments, newest first"
    assert "whatsapp" in messages_to_owner(browser), "what the owner was sent, and on which channel"
    violations["umkm page"] = accessible_and_kept(browser, "operator-umkm-page")
    violations |= incubation_journey(browser, console, stage)

    browser.get(f"{console}/operator/partners?region={region}")
    buyer = stage["proposal"]["terms"]["partner_name"]  # other partners may be listed before it
    partner = next(row for row in browser.find_elements(By.CSS_SELECTOR, "#partners tbody tr") if buyer in row.text)
    assert "Terverifikasi" in partner.text and buyer in text(browser, "#demand"), "its request, by its name"
    violations["partners"] = accessible_and_kept(browser, "operator-partners")

    browser.get(f"{console}/operator/proposals?region={region}")
    assert "Terima atas nama pemilik" in text(browser, f"#proposal-{match_id}")
    violations["proposals"] = accessible_and_kept(browser, "operator-proposals")
    follow(browser, browser.find_element(By.CSS_SELECTOR, f"#proposal-{match_id} button.accept"))
    assert text(browser, ".notice") == "Usulan diterima."
    browser.get(f"{console}/partner")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Anda tidak berwenang melakukan ini."
    browser.get(f"{console}/operator")
    sign_out(browser)
    browser.get(f"{console}/operator")
    assert browser.current_url.endswith("/sign-in"), "signed out means signed out"
    return violations


def messages_to_owner(browser: WebDriver) -> str:
    """The UMKM page's messages to its owner, once notifications has sent any (it learns from the bus)."""
    deadline = time.monotonic() + 15
    while not browser.find_elements(By.ID, "messages"):
        assert time.monotonic() < deadline, "nothing sent to the owner"
        time.sleep(0.3)
        browser.refresh()
    return text(browser, "#messages")


def incubation_journey(browser: WebDriver, console: str, stage: dict) -> dict[str, list[str]]:
    """A cohort made, its mentor added (an account of their own), the UMKM enrolled, a milestone
    recorded with its evidence, sessions scheduled; the mentor signs in and takes attendance."""
    region, msme_id = stage["region"], stage["not_ready"]
    browser.get(f"{console}/operator/incubation?region={region}")
    assert "Permintaan yang menunggu" in text(browser, "h2"), "the demand behind each gap, to select a cohort by"
    assert browser.find_elements(By.ID, "opportunities") or browser.find_elements(By.ID, "no-opportunities")
    browser.find_element(By.ID, "cohort-name").send_keys("UMKM Kita Bisa 2026/2")
    starts = browser.find_element(By.ID, "cohort-starts")
    browser.execute_script("arguments[0].value = arguments[1]", starts, CLOCK.now().date().isoformat())
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#new-cohort button"))
    assert text(browser, ".notice") == "Tersimpan." and text(browser, "h1") == "UMKM Kita Bisa 2026/2"
    cohort_page = browser.current_url.split("&notice")[0]
    cohort_id = cohort_page.split("/incubation/")[1].split("?")[0]
    mentor = {"name": "Siti Rahmah", "organisation": "Bank Indonesia Kediri", "email": "siti.rahmah@bi.example"}
    for field, value in (*mentor.items(), ("password", PASSWORD)):
        browser.find_element(By.ID, f"mentor-{field}").send_keys(value)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#new-mentor button"))
    assert text(browser, "#mentors") == "Siti Rahmah, Bank Indonesia Kediri"
    violations = {"incubation": accessible_and_kept(browser, "operator-cohort")}
    select_by_demand(browser, console, stage)
    assert "Keripik Tempe Sanan" in text(browser, "#members"), "enrolled from the demand it would open"

    browser.get(f"{console}/operator/umkm/{msme_id}?region={region}")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#enrol button"))
    assert text(browser, ".notice") == "Tersimpan." and "UMKM Kita Bisa 2026/2" in browser.page_source
    first = browser.find_element(By.CSS_SELECTOR, "#milestones tbody tr")
    milestone = first.get_attribute("id")
    first.find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("NIB 9120301234561 checked in OSS")
    scan = ARTIFACTS / "nib.pdf"
    scan.write_bytes(scanned_pdf("NIB 9120301234561"))
    first.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(scan))
    follow(browser, first.find_element(By.CSS_SELECTOR, "button.tick"))
    done = text(browser, f"#{milestone}")
    assert "selesai" in done and "Tandai" not in done, "the milestone is recorded as done"
    assert "checked in OSS" in done and "nib.pdf" in done, "with what was seen, and its document"
    violations["umkm in incubation"] = accessible_and_kept(browser, "operator-umkm-in-incubation")

    browser.get(cohort_page)
    member = member_row(browser, "Batik Tulis Bandar Kidul").text
    assert "dulu" in member and "1 / " in member, "its road, and the milestone done"
    schedule(browser, "Klinik ekspor", f"{CLOCK.today(WIB) + timedelta(days=1)}T09:00")
    assert "belum dimulai" in text(browser, "#sessions"), "tomorrow's session, attendance taken once it has begun"
    with httpx.Client(base_url=stage["registry"], headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}) as registry:
        begins = CLOCK.now() + timedelta(seconds=2)  # the form's minutes are too coarse to wait for one
        session = {"title": "Klinik halal", "starts_at": begins.isoformat(), "place": "Aula", "mentor": "Siti Rahmah"}
        held = registry.post(f"/cohorts/{cohort_id}/sessions", json=session).json()["session"]["session_id"]
    time.sleep(max(0.0, (begins - CLOCK.now()).total_seconds()) + 0.5)
    violations["cohort with a member"] = accessible_and_kept(browser, "operator-cohort-member")

    violations["cohort as its mentor"] = mentor_takes_attendance(
        browser, console, mentor["email"], cohort_page, (held, msme_id)
    )
    return violations


def select_by_demand(browser: WebDriver, console: str, stage: dict) -> None:
    """A maker without halal, a partner asking for halal snacks: the incubation page lists what halal
    would open it, narrowed to that gap, and the operator enrols it from there."""
    region = stage["region"]
    with httpx.Client(base_url=stage["registry"], headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}) as registry:
        msme_id = registry.post("/msmes", json=new_umkm(region, business_name="Keripik Tempe Sanan")).json()["msme_id"]
        snack = {**TAHU, "name": "Keripik Tempe", "category": "snack"}
        assert registry.post(f"/msmes/{msme_id}/products", json=snack).status_code == 201
    with httpx.Client(base_url=stage["partner"]["url"], headers=stage["partner"]["headers"]) as partner:
        assert partner.post("/demands", json={**RFQ, "category": "snack", "quantity": 400}).status_code == 201
    deadline = time.monotonic() + 40
    browser.get(f"{console}/operator/incubation?region={region}")
    while "Keripik Tempe Sanan" not in browser.page_source:  # matching counts it, the registry hears it
        assert time.monotonic() < deadline, "no demand listed behind the maker's gaps"
        time.sleep(1)
        browser.refresh()
    Select(browser.find_element(By.ID, "gap-code")).select_by_value("certificate.halal")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#gap-filter button"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#opportunities tbody tr")
    assert [row.text.split("\n")[0] for row in rows] and all("halal" in row.text for row in rows), "halal's only"
    browser.find_element(By.CSS_SELECTOR, f"#opportunities input[value='{msme_id}']").click()
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#select-cohort button"))
    assert text(browser, ".notice") == "Tersimpan."


def member_row(browser: WebDriver, name: str) -> WebElement:
    return next(row for row in browser.find_elements(By.CSS_SELECTOR, "#members tbody tr") if name in row.text)


def mentor_takes_attendance(
    browser: WebDriver, console: str, email: str, cohort_page: str, came: tuple[str, str]
) -> list[str]:
    """The mentor signs in, reads the cohort (no operator's forms) and ticks who came to the session
    (`came`: the session, the member); the operator signs in again after."""
    held, msme_id = came
    sign_out(browser)
    sign_in(browser, console, email)
    browser.get(cohort_page)
    assert not browser.find_elements(By.ID, "new-session") and not browser.find_elements(By.ID, "new-mentor")
    row = browser.find_element(By.ID, f"session-{held}")
    row.find_element(By.CSS_SELECTOR, f"input[value='{msme_id}']").click()
    follow(browser, row.find_element(By.CSS_SELECTOR, "button.attendance"))
    assert text(browser, ".notice") == "Tersimpan." and "1 / 2" in text(browser, f"#session-{held}")
    attended = [member_row(browser, name).find_elements(By.TAG_NAME, "td")[6].text for name in ("Batik", "Keripik")]
    assert attended == ["1 / 1", "0 / 1"], "each member's sessions: attended of those begun"
    violations = accessible_and_kept(browser, "mentor-cohort")
    sign_out(browser)
    sign_in(browser, console, "sari@kediri.example")
    return violations


def schedule(browser: WebDriver, title: str, local_time: str) -> None:
    browser.find_element(By.ID, "session-title").send_keys(title)
    starts = browser.find_element(By.ID, "session-starts")
    browser.execute_script("arguments[0].value = arguments[1]", starts, local_time)
    browser.find_element(By.ID, "session-place").send_keys("Aula Dinas Koperasi dan UMKM Kota Kediri")
    browser.find_element(By.ID, "session-mentor").send_keys("Siti Rahmah, Bank Indonesia Kediri")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#new-session button"))
    assert text(browser, ".notice") == "Tersimpan."


def listed_request(browser: WebDriver, console: str, status: str) -> WebElement:
    """The Rotterdam request's row once it shows `status`: the list is matching's view of all demand,
    built from the bus, so a change reaches it a moment after it is saved."""
    deadline = time.monotonic() + 15
    while True:
        rows = browser.find_elements(By.CSS_SELECTOR, "#requests tbody tr")
        if found := [row for row in rows if "Rotterdam" in row.text and status in row.text]:
            return found[0]
        assert time.monotonic() < deadline, f"the request does not show {status}"
        time.sleep(0.3)
        browser.get(f"{console}/partner/requests")


def webhook_journey(browser: WebDriver, console: str) -> dict[str, list[str]]:
    """A partner's person adds a webhook endpoint (its secret shown once), reads its delivery log and
    rotates its secret."""
    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav a[href='/partner/webhooks']"))
    browser.find_element(By.ID, "hook-url").send_keys("http://127.0.0.1:9/ekspora-hooks")
    browser.find_element(By.CSS_SELECTOR, "input[value='ekspora.matching.match.confirmed.v1']").click()
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#new-endpoint button"))
    first = text(browser, "#secret-value")
    assert first.startswith("whsec_") and "127.0.0.1:9/ekspora-hooks" in text(browser, "#endpoints")
    violations = {"partner webhooks": accessible_and_kept(browser, "partner-webhooks")}
    browser.get(browser.current_url)
    assert not browser.find_elements(By.ID, "secret-value"), "the secret is shown once"
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#endpoints form button"))
    assert text(browser, "#secret-value").startswith("whsec_") and text(browser, "#secret-value") != first
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#endpoints a"))
    assert "match.confirmed" in browser.page_source
    violations["partner webhook log"] = accessible_and_kept(browser, "partner-webhook-log")
    return violations


def blocked_shipment_journey(browser: WebDriver, console: str, region: str) -> dict[str, list[str]]:
    """The confirmed order is in a shipment; its page says what blocks departure, and the timeline."""
    sign_in(browser, console, "sari@kediri.example")
    steps = {step: text(browser, f"td[data-step={step}]") for step in ("registered", "incubation", "matched")}
    assert steps == {"registered": "3", "incubation": "2", "matched": "1"}, "the funnel after enrolments and a match"
    deadline = time.monotonic() + 30
    while not browser.find_elements(By.CSS_SELECTOR, "#shipments a"):
        assert time.monotonic() < deadline, "no shipment planned for the confirmed order"
        time.sleep(0.5)
        browser.get(f"{console}/operator/shipments?region={region}")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#shipments a"))
    blocked = text(browser, "#blocked")
    assert blocked.startswith("Keberangkatan tertahan") and "Faktur komersial" in blocked
    assert text(browser, "#timeline").startswith("planned"), "the tracking timeline starts at planning"
    violations = {"shipment": accessible_and_kept(browser, "operator-shipment")}
    sign_out(browser)
    return violations


async def operations_journey(browser: WebDriver, console: str, region: str, notifications) -> dict[str, list[str]]:
    """A notification that failed (its store was down, say) waits on the dead-letter topic: the viewer
    sees it and cannot replay it; the operator reads its reason, replays it once, and it is handled."""
    await publish(
        DEAD_LETTER.topic(region),
        b"msme-stalled",
        registered_event(region, "msme-stalled").model_dump_json().encode(),
        {
            "dlt-reason": "handler_failed",
            "dlt-original-topic": REGISTRY_MSME.topic(region),
            "dlt-consumer-group": f"notifications.{region}",
            "dlt-original-partition": "0",
            "dlt-original-offset": "0",
            "dlt-failed-at": CLOCK.now().isoformat(),
            "dlt-error": "ServerSelectionTimeoutError: store down",
        },
    )
    sign_in(browser, console, "bi@kediri.example")
    browser.get(f"{console}/operator/operations?region={region}")
    assert "store down" in text(browser, "#dead-letters") and not browser.find_elements(
        By.CSS_SELECTOR, "button.replay"
    )
    sign_out(browser)

    sign_in(browser, console, "sari@kediri.example")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav a[href^='/operator/operations']"))
    letter = text(browser, "#dead-letters tbody tr")
    assert "handler_failed" in letter and f"notifications.{region}" in letter
    assert f"notifications.{region}" in text(browser, "#lag"), "every consumer group of the region, with its lag"
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#dead-letters button.replay"))
    assert text(browser, ".notice") == "Dikirim ulang."
    assert text(browser, "#dead-letters tbody tr").count("Dikirim ulang oleh sari") == 1
    assert not browser.find_elements(By.CSS_SELECTOR, "button.replay"), "a dead letter is replayed once"
    violations = {"operations": accessible_and_kept(browser, "operator-operations")}

    async def handled() -> bool:
        return any(item["subject"] == "msme-stalled" for item in await operator_feed(notifications, region))

    await eventually(handled, what="the replayed notification handled by the group that failed")
    sign_out(browser)
    return violations


async def viewer_journey(browser: WebDriver, console: str, region: str, match_id: str) -> None:
    """In English: reads the proposals, has no button to change them, and a forged post changes nothing."""
    sign_in(browser, console, "bi@kediri.example")
    browser.get(f"{console}/operator/proposals?region={region}")
    assert "You can read" in browser.page_source and not browser.find_elements(By.CSS_SELECTOR, "button.accept")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    csrf = browser.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] input[name=csrf]").get_attribute("value")
    async with httpx.AsyncClient(base_url=console, cookies=cookies) as forged:
        posted = await forged.post(f"/proposals/{match_id}/decline", data={"csrf": csrf, "back": "/"})
        assert posted.status_code == 403 and "viewer" in posted.text, "the service refuses a viewer's change"
        no_csrf = await forged.post(f"/proposals/{match_id}/decline", data={"back": "/"})
        assert no_csrf.status_code == 403 and "expired" in no_csrf.text
    sign_out(browser)


def partner_journey(browser: WebDriver, console: str, match_id: str) -> dict[str, list[str]]:
    """In English: accepts the proposal the operator accepted for the owner, reports its sales, posts a
    request for quotation and closes it; an operator's page refused."""
    sign_in(browser, console, "inkoop@toko.example")
    assert browser.current_url.endswith("/partner"), browser.find_element(By.TAG_NAME, "main").text
    assert re.search(r"€\d+\.\d{2} FOB", text(browser, f"#proposal-{match_id}")), "money in the reader's locale"
    documents = text(browser, f"#proposal-{match_id} .documents")
    assert "Commercial invoice" in documents and "PEB export declaration" in documents, "what comes with the goods"
    violations = {"partner proposals": accessible_and_kept(browser, "partner-proposals")}
    follow(browser, browser.find_element(By.CSS_SELECTOR, f"#proposal-{match_id} button.accept"))
    assert text(browser, ".notice") == "Proposal accepted."
    assert "confirmed" in text(browser, f"#proposal-{match_id}")
    form = f"#report-{match_id}"
    browser.find_element(By.CSS_SELECTOR, f"{form} input[name=units_sold]").send_keys("540")
    browser.find_element(By.CSS_SELECTOR, f"{form} input[name=revenue]").send_keys("1314.00")
    browser.find_element(By.CSS_SELECTOR, f"{form} input[name=will_reorder]").click()
    follow(browser, browser.find_element(By.CSS_SELECTOR, f"{form} button"))
    assert text(browser, ".notice") == "Sales report sent."

    follow(browser, browser.find_element(By.CSS_SELECTOR, "nav a[href='/partner/requests']"))
    browser.find_element(By.ID, "rq-quantity").send_keys("300")
    browser.find_element(By.ID, "rq-price").send_keys("1.50")
    browser.find_element(By.ID, "rq-city").send_keys("Rotterdam")
    browser.find_element(By.CSS_SELECTOR, "#new-request input[name=certificate_halal]").click()
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#new-request button"))
    assert text(browser, ".notice") == "Saved."
    row = listed_request(browser, console, "open")
    assert "€1.50 FOB" in row.text and "halal" in row.text
    violations["partner requests"] = accessible_and_kept(browser, "partner-requests")
    follow(browser, row.find_element(By.CSS_SELECTOR, "button.decline"))
    assert text(browser, ".notice") == "Saved."
    listed_request(browser, console, "closed")
    violations |= webhook_journey(browser, console)
    browser.get(f"{console}/operator")
    assert browser.find_element(By.TAG_NAME, "h1").text == "You are not allowed to do this."
    return violations


async def test_operator_viewer_and_partner_each_see_and_do_what_their_role_allows(platform, browser):
    stage = await staged(platform)
    console, region, match_id = stage["console"], stage["region"], stage["proposal"]["match_id"]
    violations = operator_journey(browser, console, stage)
    await viewer_journey(browser, console, region, match_id)
    violations |= partner_journey(browser, console, match_id)
    violations |= blocked_shipment_journey(browser, console, region)
    violations |= await operations_journey(browser, console, region, stage["notifications"])

    async with httpx.AsyncClient(
        base_url=stage["matching"].url, headers={"Authorization": "Bearer op-secret-kediri"}
    ) as op:
        confirmed = (await op.get(f"/matches/{match_id}")).json()
    assert confirmed["status"] == "confirmed" and set(confirmed["accepted_by"]) == {"msme", "partner"}
    changes = platform.database("matching")["pairs_changes"]  # this test's own store: its one pair
    by = {record["by"] async for record in changes.find({})}
    assert len({who for who in by if who.startswith("person:")}) == 2, "both acceptances name the person who made it"
    reports = [r async for r in platform.database("matching")["pairs_changes"].find({"by": {"$regex": "^person:"}})]
    assert len(reports) == 3, "two acceptances and one sales report, each once"
    assert not any(violations.values()), violations


async def test_sign_in_refusals_are_plain_and_the_form_is_protected(platform, browser):
    identity = platform.identity()
    console = platform.start(
        "console", env={"EKSPORA_IDENTITY_URL": identity.url, "EKSPORA_COOKIE_SECURE": "false"}
    ).url
    sari = {"email": "sari@kediri.example", "name": "Sari", "role": "operator", "regions": [platform.region]}
    await add_person(identity.url, OPERATOR_TOKEN, sari | {"password": PASSWORD})
    sign_in(browser, console, "sari@kediri.example", "not-the-password")
    assert text(browser, "#sign-in-problem") == "Email atau kata sandi salah."
    violations = accessible_and_kept(browser, "sign-in")
    for _ in range(4):
        sign_in(browser, console, "sari@kediri.example", "still-not-it!")
    assert text(browser, "#sign-in-problem").startswith("Terlalu banyak percobaan yang salah")
    async with httpx.AsyncClient(base_url=console) as forged:
        posted = await forged.post("/sign-in", data={"email": "sari@kediri.example", "password": PASSWORD})
        assert posted.status_code == 400 and "ekspora_session" not in posted.headers.get("set-cookie", "")
        shown = await forged.get("/sign-in")
        assert {"content-security-policy", "x-content-type-options"} <= set(shown.headers)
        cookie = shown.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
    assert not violations, violations


async def test_a_session_renews_its_token_while_the_person_works_and_ends_when_the_account_is_disabled(platform):
    """Identity's tokens last a minute here, less than the console's renewal margin, so every page
    renews; disabling the account ends the session at the next page, whatever its token."""
    identity = platform.start("identity", env={"EKSPORA_TOKEN_TTL_SECONDS": "60"})
    registry = platform.start("registry")
    console = platform.start(
        "console",
        env={
            "EKSPORA_IDENTITY_URL": identity.url,
            "EKSPORA_REGISTRY_URL": registry.url,
            "EKSPORA_COOKIE_SECURE": "false",
        },
    ).url
    sari = {"email": "sari@kediri.example", "name": "Sari", "role": "operator", "regions": [platform.region]}
    made = await add_person(identity.url, OPERATOR_TOKEN, sari | {"password": PASSWORD})
    sessions = platform.database("console")["sessions"]
    async with httpx.AsyncClient(base_url=console) as person:
        form = (await person.get("/sign-in")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        signed = await person.post("/sign-in", data={"email": sari["email"], "password": PASSWORD, "csrf": csrf[1]})
        assert signed.status_code == 303 and signed.headers["location"] == "/operator"
        [first] = [session async for session in sessions.find({})]

        assert (await person.get(f"/operator/umkm?region={platform.region}")).status_code == 200
        [renewed] = [session async for session in sessions.find({})]
        assert renewed["token"] != first["token"] and renewed["expires_at"] >= first["expires_at"]
        claims = [jwt.decode(s["token"], options={"verify_signature": False}) for s in (first, renewed)]
        assert claims[0]["auth_time"] == claims[1]["auth_time"], "a renewal keeps the moment of the sign-in"

        async with httpx.AsyncClient(
            base_url=identity.url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        ) as op:
            assert (await op.delete(f"/people/{made['person_id']}")).status_code == 200

        async def ended() -> bool:
            answer = await person.get(f"/operator/umkm?region={platform.region}")
            return answer.status_code == 303 and answer.headers["location"] == "/sign-in?ended=true"

        await eventually(ended, what="the disabled person's session ended")
        assert await sessions.count_documents({}) == 0


async def test_an_admin_makes_an_account_and_disables_it(platform, browser):
    """The first admin (from the command line) makes an operator's account in the console; the
    operator signs in; disabled, the same password no longer signs in. An operator has no admin page."""
    identity = platform.identity()
    console = platform.start(
        "console", env={"EKSPORA_IDENTITY_URL": identity.url, "EKSPORA_COOKIE_SECURE": "false"}
    ).url
    await first_admin(platform)
    sign_in(browser, console, "admin@ekspora.example")
    assert browser.current_url.endswith("/admin/people")
    browser.find_element(By.ID, "np-email").send_keys("wulan@kediri.example")
    browser.find_element(By.ID, "np-name").send_keys("Wulan")
    browser.find_element(By.ID, "np-regions").send_keys(platform.region)
    browser.find_element(By.ID, "np-password").send_keys(PASSWORD)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#new-person button"))
    assert text(browser, ".notice") == "Tersimpan."
    wulan = next(row for row in browser.find_elements(By.CSS_SELECTOR, "#people tbody tr") if "Wulan" in row.text)
    assert "wulan@kediri.example" in wulan.text and platform.region in wulan.text and "operator wilayah" in wulan.text
    violations = accessible_and_kept(browser, "admin-people")
    sign_out(browser)

    sign_in(browser, console, "wulan@kediri.example")
    assert browser.current_url.endswith("/operator"), "the new operator signs in to the region's pages"
    browser.get(f"{console}/admin/people")
    assert text(browser, "h1") == "Anda tidak berwenang melakukan ini."
    sign_out(browser)

    sign_in(browser, console, "admin@ekspora.example")
    row = browser.find_element(By.XPATH, "//tr[td[text()='Wulan']]").get_attribute("id")
    follow(browser, browser.find_element(By.CSS_SELECTOR, f"#{row} button.decline"))
    assert "Dinonaktifkan" in text(browser, f"#{row}") and not browser.find_elements(By.CSS_SELECTOR, f"#{row} button")
    sign_out(browser)
    sign_in(browser, console, "wulan@kediri.example")
    assert text(browser, "#sign-in-problem") == "Email atau kata sandi salah."
    assert not violations, violations
