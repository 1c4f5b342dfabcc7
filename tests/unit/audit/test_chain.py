"""The fast verifier path hashes exactly the bytes of the reference definition."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from audit.chain import GENESIS_HASH, canonical_json, event_hash, format_time, row_hash

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=8,
)


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    actor_name=st.text(),
    action=st.text(),
    object_id=st.text(),
    reason=st.text(),
    changes=st.dictionaries(st.text(), json_values, max_size=4),
    context=st.dictionaries(st.text(), st.text(), max_size=3),
    actor_id=st.none() | st.uuids().map(str),
)
def test_row_hash_equals_reference_event_hash(
    seq: int,
    actor_name: str,
    action: str,
    object_id: str,
    reason: str,
    changes: dict[str, object],
    context: dict[str, str],
    actor_id: str | None,
) -> None:
    fields = {
        "seq": seq,
        "occurred_at": "2026-11-27T21:50:23.674662+00:00",
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "object_type": "thing",
        "object_id": object_id,
        "changes": changes,
        "reason": reason,
        "context": context,
        "prev_hash": GENESIS_HASH,
    }
    fast = row_hash(
        seq=seq,
        occurred_at=fields["occurred_at"],
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        object_type="thing",
        object_id=object_id,
        changes_json=canonical_json(changes),
        reason=reason,
        context_json=canonical_json(context),
        prev_hash=GENESIS_HASH,
    )
    assert fast == event_hash(fields)


def test_a_third_party_can_recompute_the_hash_with_the_stdlib() -> None:
    fields = {
        "seq": 1,
        "occurred_at": "2026-01-02T03:04:05.000006+00:00",
        "actor_id": None,
        "actor_name": "Zoë",
        "action": "project.create",
        "object_type": "project",
        "object_id": "p",
        "changes": {"name": [None, "Ä"]},
        "reason": "",
        "context": {},
        "prev_hash": "0" * 64,
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == event_hash(fields)


def test_time_format_is_utc_with_microseconds() -> None:
    moment = dt.datetime(2026, 1, 2, 4, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_time(moment) == "2026-01-02T03:04:05.000006+00:00"
