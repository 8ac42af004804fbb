"""The Kota Kediri seed is valid registry input, realistic in size and spread."""

from collections import Counter

from ekspora_ops import seed
from ekspora_registry.domain import AddCertificate, AddListing, ListProduct, RegisterMsme
from ekspora_registry.policy import load_rubric


def test_every_seed_umkm_is_valid_registry_input():
    items = seed.registrations(seed.read_seed(seed.KOTA_KEDIRI))
    categories = load_rubric().categories
    assert len(items) >= 30
    assert len({item["register"]["nib"] for item in items}) == len(items)
    for item in items:
        RegisterMsme(**item["register"])
        for listing in item["listings"]:
            AddListing(**listing)
        for body, certificates in item["products"]:
            assert ListProduct(**body).category in categories
            for certificate in certificates:
                AddCertificate(**certificate)


def test_seed_covers_the_city_s_specialities_and_mixed_tiers():
    data = seed.read_seed(seed.KOTA_KEDIRI)
    templates = Counter(p["template"] for u in data["umkm"] for p in u["products"])
    for speciality in (
        "tahu_takwa",
        "stik_tahu",
        "getuk_pisang",
        "kopi_robusta",
        "keripik_tempe",
        "tenun_ikat",
        "batik_tulis",
        "kursi_jati",
    ):
        assert templates[speciality] >= 1, speciality
    assert set(data["expected_tiers"]) == {"siap", "setengah", "didorong"}
    assert all(count > 0 for count in data["expected_tiers"].values())
    assert sum(data["expected_tiers"].values()) == len(data["umkm"])
