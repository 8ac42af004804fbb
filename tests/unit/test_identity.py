"""Identity's rules (keys issued, rotated, revoked) and the kit's token verification, in tables."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ekspora_contracts.envelope import new_event
from ekspora_contracts.identity import CredentialRevoked, SigningKeyPublished
from ekspora_identity import domain
from ekspora_kit.clock import Clock
from ekspora_kit.domain import NotAllowed, NotFound
from ekspora_kit.tokens import TokenRefused, TokenVerifier, looks_like_token

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SECRET = "s" * 43
SHARED = "a shared secret, as long as HS256 asks"  # a token signed as if the key were shared


def keys_with(*revoked: bool) -> domain.PartnerKeys:
    """A partner's keys issued one after another, each revoked (or not) before the next is issued."""
    keys = None
    for number, is_revoked in enumerate(revoked):
        keys = domain.issue(keys, "ptn-toko", f"{number:012x}", SECRET + str(number), "", NOW)
        if is_revoked:
            decided = domain.revoke(keys, f"{number:012x}", NOW)
            assert decided is not None
            keys = decided[0]
    assert keys is not None
    return keys


def test_a_partner_rotates_with_up_to_three_active_keys():
    keys = keys_with(False, False, True, False)  # a revoked key does not count
    with pytest.raises(NotAllowed, match="already has 3 active keys"):
        domain.issue(keys, "ptn-toko", "abcdefabcdef", SECRET, "", NOW)
    assert len(domain.issue(keys_with(False, True), "ptn-toko", "abcdefabcdef", SECRET, "", NOW).active()) == 2


def test_a_key_is_stored_as_the_hash_of_its_secret_and_found_by_it_in_constant_time():
    keys = domain.issue(None, "ptn-toko", "abcdefabcdef", SECRET, "order system", NOW)
    assert SECRET not in keys.model_dump_json()
    assert domain.authenticate(keys, "abcdefabcdef", SECRET) is not None
    assert domain.authenticate(keys, "abcdefabcdef", SECRET[:-1] + "t") is None
    assert domain.authenticate(keys, "000000000000", SECRET) is None
    assert domain.authenticate(None, "abcdefabcdef", SECRET) is None


def test_revoking_tells_every_service_once():
    keys = domain.issue(None, "ptn-toko", "abcdefabcdef", SECRET, "", NOW)
    decided = domain.revoke(keys, "abcdefabcdef", NOW)
    assert decided is not None
    revoked, event = decided
    assert event == CredentialRevoked(key_id="abcdefabcdef", partner_id="ptn-toko", region="global", revoked_at=NOW)
    assert domain.authenticate(revoked, "abcdefabcdef", SECRET) is None
    assert domain.revoke(revoked, "abcdefabcdef", NOW) is None, "a second revocation changes nothing"
    with pytest.raises(NotFound):
        domain.revoke(revoked, "000000000000", NOW)


@pytest.mark.parametrize(
    ("presented", "parsed"),
    [
        (f"ptk_ptn-1a2b.abcdefabcdef.{SECRET}", ("ptn-1a2b", "abcdefabcdef", SECRET)),
        (f"ptk_ptn-1a2b.ABCDEFabcdef.{SECRET}", None),
        (f"ptk_ptn-1a2b.abcdefabcdef.{SECRET[:20]}", None),
        (f"ptk_ptn 1a2b.abcdefabcdef.{SECRET}", None),
        ("ptk_nobody", None),
        ("eyJhbGciOi.eyJzdWIiOi.c2lnbmF0", None),
    ],
)
def test_api_keys_read(presented, parsed):
    assert domain.parse_api_key(presented) == parsed


class Issuer:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        public = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.published = SigningKeyPublished(
            kid="k1", region="global", algorithm="ES256", public_key_pem=public.decode()
        )

    def token(self, **changes) -> str:
        claims = domain.partner_claims("ptn-toko", "abcdefabcdef", "t-1", NOW, timedelta(minutes=15)) | changes
        return jwt.encode(claims, self.private, algorithm="ES256", headers={"kid": changes.pop("kid", "k1")})


def event(data):
    return new_event(data, region="global", producer="identity", correlation_id="c", time=NOW)


async def verifier_at(moment: datetime, issuer: Issuer) -> TokenVerifier:
    verifier = TokenVerifier(Clock((moment - datetime.now(UTC)).total_seconds()))  # noqa: TID251 - to place a clock
    await verifier.signing_key_published(event(issuer.published))
    return verifier


async def test_a_token_identity_signed_is_taken_until_it_expires_by_the_kit_clock():
    issuer = Issuer()
    verifier = await verifier_at(NOW + timedelta(minutes=5), issuer)
    claims = verifier.verify(issuer.token())
    assert (claims.partner_id, claims.key_id, claims.role) == ("ptn-toko", "abcdefabcdef", "partner")
    assert claims.actor == "partner:ptn-toko/key:abcdefabcdef"
    later = await verifier_at(NOW + timedelta(minutes=16), issuer)
    with pytest.raises(TokenRefused, match="expired"):
        later.verify(issuer.token())


@pytest.mark.parametrize(
    ("token_of", "refusal"),
    [
        (lambda issuer: issuer.token(aud="somewhere-else"), "(?i)audience"),
        (lambda issuer: issuer.token(iss="someone-else"), "issuer"),
        (lambda issuer: Issuer().token(), "Signature verification failed"),
        (lambda issuer: issuer.token()[:-4] + "AAAA", "Signature verification failed"),
        (
            lambda issuer: jwt.encode(
                {"sub": "x"}, "a shared secret, as long as HS256 asks", algorithm="HS256", headers={"kid": "k1"}
            ),
            "alg",
        ),
        (lambda issuer: "not.a.token", "not a token"),
    ],
)
async def test_anything_else_is_refused(token_of, refusal):
    issuer = Issuer()
    verifier = await verifier_at(NOW, issuer)
    with pytest.raises(TokenRefused, match=refusal):
        verifier.verify(token_of(issuer))


async def test_a_revoked_credential_and_an_unknown_signing_key_are_refused():
    issuer = Issuer()
    verifier = await verifier_at(NOW, issuer)
    await verifier.credential_revoked(
        event(CredentialRevoked(key_id="abcdefabcdef", partner_id="ptn-toko", region="global", revoked_at=NOW))
    )
    with pytest.raises(TokenRefused, match="revoked"):
        verifier.verify(issuer.token())
    with pytest.raises(TokenRefused, match="does not know"):
        verifier.verify(issuer.token(kid="k2"))


def test_operator_tokens_and_api_keys_are_not_taken_for_access_tokens():
    assert not looks_like_token("kediri-operator-1")
    assert not looks_like_token(f"ptk_ptn-1.abcdefabcdef.{SECRET}")
    assert looks_like_token("eyJ.eyJ.sig")
