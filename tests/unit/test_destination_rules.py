"""The shipped destination rules, table-driven, for Australia and the Netherlands."""

import pytest
import yaml

from ekspora_matching.policy import DATA, load_rules

RULES = load_rules()
BASE = ["commercial_invoice", "packing_list", "peb_export_declaration"]


@pytest.mark.parametrize(
    ("country", "category", "status", "documents", "reason_contains"),
    [
        ("AU", "woven_textile", "allowed", [*BASE, "ia_cepa_origin_declaration"], "no import permit"),
        ("NL", "batik", "allowed", [*BASE, "rex_statement_on_origin"], "fibre-composition"),
        (
            "AU",
            "processed_food",
            "allowed_with_documents",
            [*BASE, "ia_cepa_origin_declaration", "ske_health_certificate"],
            "Product of Indonesia",
        ),
        (
            "NL",
            "processed_food",
            "allowed_with_documents",
            [*BASE, "rex_statement_on_origin", "ske_health_certificate"],
            "1169/2011",
        ),
        ("NL", "wood_furniture", "allowed_with_documents", [*BASE, "rex_statement_on_origin", "svlk_v_legal"], "SVLK"),
        (
            "AU",
            "handicraft",
            "allowed_with_documents",
            [*BASE, "ia_cepa_origin_declaration", "phytosanitary_certificate"],
            "phytosanitary",
        ),
        (
            "NL",
            "fresh_produce",
            "allowed_with_documents",
            [*BASE, "rex_statement_on_origin", "phytosanitary_certificate"],
            "exempt",
        ),
        ("AU", "meat_product", "not_allowed", [], "foot-and-mouth"),
        ("NL", "meat_product", "not_allowed", [], "not on the EU list"),
        ("AU", "fresh_produce", "not_allowed", [], "import permit"),
        ("AU", "jet_engines", "not_allowed", [], "No import rule is known"),
    ],
)
def test_destination_rules(country, category, status, documents, reason_contains):
    verdict = RULES.verdict(country, category)
    assert (verdict.status, verdict.documents) == (status, documents)
    assert reason_contains in verdict.reason_en
    assert verdict.reason_id


def test_every_rule_cites_a_source_and_covers_the_seed_categories():
    seed_categories = {"processed_food", "snack", "coffee", "woven_textile", "batik", "wood_furniture", "handicraft"}
    for country in ("AU", "NL"):
        rules = RULES.countries[country].rules
        assert seed_categories <= rules.keys()
        assert all(len(rule.source) > 10 for rule in rules.values())
    assert RULES.allowed_countries("meat_product") == []
    assert RULES.allowed_countries("fresh_produce") == ["NL"]


def test_a_new_destination_is_data(tmp_path):
    data = yaml.safe_load((DATA / "destination_rules.yaml").read_text())
    data["countries"]["NL"]["rules"]["sambal"] = {
        "status": "allowed_with_documents",
        "documents": ["ske_health_certificate"],
        "note_en": "Food label rules.",
        "note_id": "Aturan label pangan.",
        "source": "Regulation (EU) No 1169/2011",
    }
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_rules(path).verdict("NL", "sambal").status == "allowed_with_documents"
    data["countries"]["NL"]["rules"]["sambal"]["documents"] = []
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="needs documents"):
        load_rules(path)
