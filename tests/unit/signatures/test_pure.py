"""Pure parts of signing: canonical content digests, manifests, one-time nonces, registry."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest

from signatures import nonces
from signatures.content import canonical_content, content_digest
from signatures.manifest import Manifest, parse_manifest
from signatures.registry import RecordType


def test_content_digest_is_sha256_of_sorted_compact_utf8_json() -> None:
    content = {"b": [1, 2], "a": "Röntgen", "c": {"z": None, "y": True}}
    expected = '{"a":"Röntgen","b":[1,2],"c":{"y":true,"z":null}}'.encode()
    assert canonical_content(content) == expected
    assert content_digest(content) == hashlib.sha256(expected).hexdigest()
    assert content_digest(dict(reversed(list(content.items())))) == content_digest(content)
    assert content_digest({**content, "a": "Roentgen"}) != content_digest(content)


def _manifest(**change: object) -> Manifest:
    fields: dict[str, object] = {
        "signature_id": uuid.UUID(int=1),
        "record_type": "analysis",
        "record_id": "r1",
        "content_sha256": "a" * 64,
        "meaning": "reviewed",
        "reason": "",
        "signer_id": uuid.UUID(int=2),
        "signer_username": "rfeynman",
        "printed_name": "Richard Feynman (rfeynman)",
        "signed_at": dt.datetime(2026, 11, 28, 1, 2, 3, tzinfo=dt.UTC),
        "key_id": "k1",
    }
    fields.update(change)
    return Manifest(**fields)  # type: ignore[arg-type]


@pytest.mark.req("P11-20", "P11-22")
def test_manifest_is_canonical_and_carries_every_bound_field() -> None:
    text = _manifest().to_json()
    fields = parse_manifest(text)
    assert fields["signed_at"] == "2026-11-28T01:02:03.000000+00:00"
    assert set(fields) == {
        "v", "signature_id", "record_type", "record_id", "content_sha256", "meaning", "reason",
        "signer_id", "signer_username", "printed_name", "signed_at", "key_id",
    }  # fmt: skip
    assert _manifest(record_id="r2").to_json() != text
    with pytest.raises(ValueError, match="canonical"):
        parse_manifest(text.replace(",", ", ", 1))
    with pytest.raises(ValueError, match="zone"):
        _manifest(signed_at=dt.datetime(2026, 1, 1)).to_json()  # noqa: DTZ001 - the point


@pytest.mark.req("P11-22")
def test_a_nonce_is_used_once_for_its_own_record_and_digest_before_it_expires() -> None:
    store: dict[str, object] = {}
    nonce = nonces.issue(store, record_type="analysis", record_id="r1", digest="d1", now=100.0)
    good = {"record_type": "analysis", "record_id": "r1", "digest": "d1"}
    assert nonces.consume(store, nonce, **good, now=101.0) is None
    assert "already used" in str(nonces.consume(store, nonce, **good, now=102.0))
    assert "never issued" in str(nonces.consume(store, "forged", **good, now=102.0))

    cases = [
        ({"record_id": "r2"}, 101.0, "another record"),
        ({"digest": "d2"}, 101.0, "record changed"),
        ({}, 100.0 + nonces.LIFETIME_S + 1, "expired"),
    ]
    for change, when, message in cases:
        fresh = nonces.issue(store, record_type="analysis", record_id="r1", digest="d1", now=100.0)
        assert message in str(nonces.consume(store, fresh, **{**good, **change}, now=when))


def test_open_nonces_are_bounded() -> None:
    store: dict[str, object] = {}
    issued = [
        nonces.issue(store, record_type="a", record_id=str(i), digest="d", now=float(i))
        for i in range(nonces.MAX_OPEN + 5)
    ]
    assert len(store[nonces.SESSION_KEY]) == nonces.MAX_OPEN  # type: ignore[arg-type]
    oldest = nonces.consume(store, issued[0], record_type="a", record_id="0", digest="d", now=30)
    assert oldest is not None


def test_a_record_type_accepts_only_the_controlled_meanings() -> None:
    with pytest.raises(ValueError, match="unknown meanings"):
        RecordType("x", "x", frozenset({"blessed"}), lambda _s, _i: None, lambda _r, _i, _m: None)
