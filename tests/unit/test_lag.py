"""Which consumer groups are a region's: the services' and their tallies', not another region's."""

from ekspora_kit.lag import of_region

GROUPS = [
    "matching.kota-kediri",
    "notifications.kabupaten-kediri",
    "registry.kota-kediri",
    "registry.kota-kediri.funnel",
    "registry.start",
    "partner.ptn-1.kota-kediri-orders",
]


def test_a_region_s_groups_are_its_services_and_their_tallies():
    assert of_region(GROUPS, "kota-kediri") == [
        "matching.kota-kediri",
        "registry.kota-kediri",
        "registry.kota-kediri.funnel",
    ]
    assert of_region(GROUPS, "kabupaten-kediri") == ["notifications.kabupaten-kediri"]
    assert of_region(GROUPS, None) == GROUPS
