"""The console's pure parts, in tables: every text in the three languages, money and dates as each
reader writes them, and the funnel from what the services answer."""

from datetime import UTC, date, datetime
from typing import get_args

import httpx
import pytest

from ekspora_console import funnel
from ekspora_console.services import ServiceRefused, Services, ServiceUrls
from ekspora_console.texts import LANGUAGES, Texts, catalogue
from ekspora_contracts.matching import DocumentCode


def test_every_text_is_written_in_every_language_and_fills_the_same_blanks():
    for key, by_language in catalogue().items():
        assert set(by_language) == set(LANGUAGES), key
        blanks = {language: sorted(set(_blanks(text))) for language, text in by_language.items()}
        assert len({tuple(b) for b in blanks.values()}) == 1, (key, blanks)


def test_every_export_document_has_a_name_in_every_language():
    for code in get_args(DocumentCode):
        names = {language: Texts(language).document(code) for language in LANGUAGES}
        assert code not in names.values() and len(set(names.values())) >= 2, (code, names)
    assert Texts("en").document("bill_of_lading_v9") == "bill_of_lading_v9", "a new code is shown, not refused"
    assert Texts("nl").document("packing_list@ord-1") == "Paklijst · ord-1", "one order's document"


def _blanks(text: str) -> list[str]:
    return [part.split("}")[0] for part in text.split("{")[1:]]


@pytest.mark.parametrize(
    ("language", "minor_units", "currency", "written"),
    [
        ("id", 28_800_000, "IDR", "Rp28.800.000"),
        ("nl", 164_800, "EUR", "€\xa01.648,00"),
        ("en", 164_800, "EUR", "€1,648.00"),
        ("id", 143, "EUR", "€1,43"),
        ("nl", 250_000, "AUD", "AU$\xa02.500,00"),
    ],
)
def test_money_as_the_reader_writes_it(language, minor_units, currency, written):
    assert Texts(language).money(minor_units, currency) == written


@pytest.mark.parametrize(
    ("language", "value", "written"),
    [
        ("id", date(2026, 12, 2), "2 Des 2026"),
        ("nl", date(2026, 12, 2), "2 dec 2026"),
        ("en", "2026-12-02", "2 Dec 2026"),
        ("id", datetime(2026, 12, 2, 18, 30, tzinfo=UTC), "3 Des 2026"),  # 01:30 in Kediri, the next day
        ("en", None, "–"),
    ],
)
def test_days_as_the_reader_writes_them_in_kediri_time(language, value, written):
    assert Texts(language).day(value) == written


def match(
    status: str,
    msme: str,
    country: str = "NL",
    quantity: int = 100,
    price: int = 150,
    partner: str = "ptn-1",
    request: str | None = None,
) -> dict:
    terms = {"msme_id": msme, "destination_country": country, "currency": "EUR", "quantity": quantity}
    order = {"partner_id": partner, "demand_id": request or f"dem-{msme}"}
    return {"status": status, "terms": terms | order | {"unit_price": price}}


def shipment(status: str, *orders: tuple[str, bool]) -> dict:
    lines = [
        {"line": {"msme_id": msme}, "delivered_at": "2026-12-01" if delivered else None} for msme, delivered in orders
    ]
    return {"shipment": {"status": status, "orders": lines}}


def test_the_funnel_counts_umkm_once_per_step():
    matches = [match("proposed", "a"), match("proposed", "a"), match("confirmed", "b"), match("confirmed", "c")]
    shipments = [
        shipment("departed", ("b", False)),
        shipment("delivered", ("c", True)),
        shipment("booked", ("d", False)),
    ]
    registry = {"registered": 12, "tiers": {"siap": 3, "setengah": 4}, "in_incubation": 2, "graduated": 1}
    steps = {step.key: step for step in funnel.steps(registry, matches, shipments)}
    counts = {key: step.count for key, step in steps.items()}
    assert counts == {
        "registered": 12,
        "siap": 3,
        "setengah": 4,
        "didorong": 0,
        "incubation": 2,
        "graduated": 1,
        "proposed": 1,
        "matched": 2,
        "shipped": 2,
        "delivered": 1,
        "reordered": 0,
    }
    assert steps["registered"].share == 1 and steps["siap"].share == 0.25


@pytest.mark.parametrize(
    ("orders", "again"),
    [
        ([], set()),
        ([("confirmed", "a", "ptn-1", "dem-1")], set()),
        ([("confirmed", "a", "ptn-1", "dem-1"), ("confirmed", "a", "ptn-1", "dem-2")], {"a"}),
        ([("confirmed", "a", "ptn-1", "dem-1"), ("confirmed", "a", "ptn-2", "dem-2")], set()),  # two partners
        ([("confirmed", "a", "ptn-1", "dem-1"), ("confirmed", "a", "ptn-1", "dem-1")], set()),  # one request
        ([("confirmed", "a", "ptn-1", "dem-1"), ("proposed", "a", "ptn-1", "dem-2")], set()),  # not yet ordered
        (
            [
                ("confirmed", "a", "ptn-1", "dem-1"),
                ("confirmed", "a", "ptn-1", "dem-2"),
                ("confirmed", "b", "ptn-1", "dem-3"),
            ],
            {"a"},
        ),
    ],
)
def test_an_umkm_is_reordered_from_when_one_partner_confirms_it_for_a_second_request(orders, again):
    matches = [match(status, msme, partner=partner, request=request) for status, msme, partner, request in orders]
    assert funnel.ordered_again(matches) == again


def test_export_value_is_confirmed_orders_per_destination_largest_first():
    matches = [match("confirmed", "a", "NL", 100, 150), match("confirmed", "b", "AU", 600, 143)]
    matches += [match("proposed", "c", "NL", 9_999, 999), match("confirmed", "d", "NL", 10, 100)]
    matches[-1]["terms"]["repeat"] = True
    values = funnel.export_values(matches)
    assert [(v.country, v.orders, v.minor_units, v.repeats) for v in values] == [
        ("AU", 1, 85_800, 0),
        ("NL", 2, 16_000, 1),
    ]


@pytest.mark.parametrize(
    "status, sent",
    [(200, [{"channel": "whatsapp", "status": "sent"}]), (403, []), (404, []), (409, None), (500, None)],
)
async def test_what_the_owner_was_sent_is_nothing_while_notifications_does_not_know_the_owner(status, sent):
    def notifications(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/feeds/umkm:msme-1/deliveries"
        assert request.headers["Authorization"] == "Bearer person-token"
        return httpx.Response(status, json=sent if status == 200 else {"message": "no"})

    urls = ServiceUrls("http://i", "http://r", "http://m", "http://s", "http://n-{region}", "kota-kediri")
    async with httpx.AsyncClient(transport=httpx.MockTransport(notifications)) as client:
        person = Services(urls, client).as_person("person-token")
        if sent is None:
            with pytest.raises(ServiceRefused):
                await person.sent_to_owner("msme-1", "kota-kediri")
        else:
            assert await person.sent_to_owner("msme-1", "kota-kediri") == sent


def test_every_role_an_account_may_have_is_named_in_every_language():
    from ekspora_console.pages.admin import ROLES
    from ekspora_identity.people import Role

    assert set(ROLES) == {role.value for role in Role}, "the admin's form offers every role"
    for role in ROLES:
        assert set(catalogue()[f"role_{role}"]) == set(LANGUAGES), role


def test_every_text_a_template_names_is_in_the_catalogue_under_a_string_key_once():
    import re
    from importlib.resources import files

    source = files("ekspora_console").joinpath("data/texts.yaml").read_text(encoding="utf-8")
    keys = [line.split(":")[0].strip('"') for line in source.splitlines() if re.match(r'^"?[a-z]', line)]
    assert len(keys) == len(set(keys)), "a key given twice: YAML keeps only the last"
    assert all(isinstance(key, str) for key in catalogue()), "yes, no, on, off are booleans unless quoted"
    templates = files("ekspora_console").joinpath("templates")
    named = {
        key
        for template in templates.iterdir()
        for key in re.findall(r'\bt\("([a-z0-9_]+)"[,)]', template.read_text(encoding="utf-8"))
    }
    assert named - set(catalogue()) == set()
