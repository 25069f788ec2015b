"""Opening sealed payloads in the JSON text gives exactly what the JSON walk gives."""

from __future__ import annotations

from typing import Any

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from events import personal
from events.personal import ERASED, open_sealed, seal, sealed_subjects
from tests.events.model import Enrolled, Witness


def walk_open(payload: bytes, keys: dict[str, bytes | None]) -> Any:
    """The reference: decode, open every sealed string value, re-encode."""
    return msgspec.json.decode(
        msgspec.json.encode(personal._open(msgspec.json.decode(payload), keys))
    )


texts = st.text(min_size=0, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    name=texts,
    phone=texts,
    desa=st.one_of(texts, st.sampled_from(['"pd1:', 'x\\"pd1:a:b', "pd1:", '"pd1:AA:s"'])),
    witnesses=st.lists(st.tuples(st.sampled_from(["w-1", "w-2", "p-1"]), texts), max_size=3),
    erased=st.sets(st.sampled_from(["p-1", "w-1", "w-2"])),
)
def test_text_opening_matches_the_json_walk(
    name: str, phone: str, desa: str, witnesses: list[tuple[str, str]], erased: set[str]
) -> None:
    event = Enrolled(
        participant_id="p-1",
        nik="1708035508900001",
        name=name,
        phone=phone,
        desa=desa,
        witnesses=[Witness(person_id=w, name=n, phone=None) for w, n in witnesses],
    )
    subjects = personal.subjects_of(event)
    keys: dict[str, bytes | None] = {s: AESGCM.generate_key(256) for s in subjects}
    payload = seal(event, keys)
    # The JSON text does not say which fields are personal: a plain value that looks sealed
    # (desa "pd1:0:0") is taken for one. Reading through the store opens personal fields only
    # (test_personal.py); this text path serves payloads that need upcasting.
    lookalike = personal._SEALED_STR.fullmatch(desa) is not None
    assert subjects <= sealed_subjects(payload)
    assert lookalike or sealed_subjects(payload) == subjects
    for s in erased & subjects:
        keys[s] = None
    opened = msgspec.json.decode(open_sealed(payload, keys))
    assert opened == walk_open(payload, keys)
    if not erased & subjects and not lookalike:
        assert opened == msgspec.to_builtins(event)
    else:
        assert ERASED in (opened["name"], *(w["name"] for w in opened["witnesses"]))


def test_a_key_named_like_a_sealed_value_is_left_alone() -> None:
    key = AESGCM.generate_key(256)
    sealed = seal(
        Enrolled(participant_id="p-1", nik="n", name="x", phone=None, desa="d", witnesses=[]),
        {"p-1": key},
    )
    token = msgspec.json.decode(sealed)["name"]
    payload = msgspec.json.encode({"type": "T", "extra": {token: token}, "list": [token]})
    assert msgspec.json.decode(open_sealed(payload, {"p-1": key})) == walk_open(
        payload, {"p-1": key}
    )
