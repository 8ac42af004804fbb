"""Operators' tokens from configuration: a bad setting stops the service at start, and a token is
recognised by comparing with every token in constant time."""

import pytest
from pydantic import ValidationError

from ekspora_kit.auth import operator_region
from ekspora_kit.settings import ServiceSettings, parse_operator_tokens

GOOD = "kota-kediri=kediri-operator-1,blitar=blitar-operator-1"


def test_pairs_give_each_token_its_region():
    assert parse_operator_tokens(GOOD) == {"kediri-operator-1": "kota-kediri", "blitar-operator-1": "blitar"}
    assert parse_operator_tokens("") == {}


@pytest.mark.parametrize(
    "setting",
    [
        "kota-kediri=",  # an empty token would let `Authorization: Bearer ` in
        "kota-kediri=short",
        "kota-kediri",
        "=kediri-operator-1",
        "Kota Kediri=kediri-operator-1",
        "kota-kediri=kediri operator 1",
        "kota-kediri=same-token-twice,blitar=same-token-twice",
    ],
)
def test_a_bad_setting_is_refused_at_start(setting):
    with pytest.raises(ValidationError, match="operator token"):
        ServiceSettings(service="registry", operator_tokens=setting)


def test_a_token_is_found_only_when_it_matches_whole():
    assert operator_region(GOOD, "blitar-operator-1") == "blitar"
    assert operator_region(GOOD, "blitar-operator-") is None
    assert operator_region(GOOD, "") is None
