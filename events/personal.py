"""Personal data in the log (UU 27/2022): sealed per data subject, erased by destroying the key.

An event type marks its personal fields with the `Personal` type and names, in `__subject__`,
the field that holds the data subject's id (a nested struct, such as a witness, may name its
own). Before an append, every personal value is sealed with AES-GCM under the subject's own
key: the stored JSON holds `pd1:<nonce+ciphertext>:<subject>` in place of the value. Subject keys
live in `subject_keys`, wrapped by a master key that comes from configuration, never from the
database. Destroying a subject's key makes its values unreadable forever while the events still
decode (the values read as `ERASED`) and the hash chain, which covers the stored bytes, still
verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

Personal = Annotated[str, msgspec.Meta(extra={"personal": True})]
"""A string that identifies or describes a person: NIK, name, birth date, phone, address."""

ERASED = "dihapus"
"""What a personal value reads as once its subject's key is destroyed."""

_PREFIX = "pd1:"
_MARK = b'"pd1:'
_NONCE = 12


class PersonalDataError(Exception):
    """A misdeclared personal field, a missing subject, or a key that does not unwrap."""


# -- which fields are personal ---------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Where the personal values of one struct type are, and whose they are. Each field by its
    attribute name (in the decoded struct) and its encoded name (in the JSON)."""

    subject: str | None  # the attribute holding the data subject's id
    personal: tuple[tuple[str, str], ...]  # (attribute, encoded name) of personal strings
    nested: tuple[tuple[str, str, Plan], ...]  # (attribute, encoded name, plan) of structs


_plans: dict[type, Plan | None] = {}


def plan_for(cls: type[msgspec.Struct]) -> Plan | None:
    """The sealing plan of a struct type; None when it holds no personal data."""
    if cls not in _plans:
        _plans[cls] = _build_plan(mi.type_info(cls))  # type: ignore[arg-type]
    return _plans[cls]


def _build_plan(info: mi.StructType) -> Plan | None:
    personal: list[tuple[str, str]] = []
    nested: list[tuple[str, str, Plan]] = []
    for field in info.fields:
        if _is_personal(field.type):
            personal.append((field.name, field.encode_name))
        elif (inner := _struct_in(field.type)) is not None and (sub := _build_plan(inner)):
            nested.append((field.name, field.encode_name, sub))
    if not personal and not nested:
        return None
    subject = getattr(info.cls, "__subject__", None)
    if personal and subject is None:
        raise PersonalDataError(
            f"{info.cls.__name__} has personal fields {[name for name, _ in personal]} but no "
            "__subject__ naming the field that holds the data subject's id"
        )
    if subject is not None and subject not in {f.name for f in info.fields}:
        raise PersonalDataError(f"{info.cls.__name__}.__subject__ names no field: {subject!r}")
    return Plan(subject, tuple(personal), tuple(nested))


def _is_personal(t: mi.Type) -> bool:
    if isinstance(t, mi.UnionType):
        return any(_is_personal(x) for x in t.types)
    return isinstance(t, mi.Metadata) and bool((t.extra or {}).get("personal"))


def _struct_in(t: mi.Type) -> mi.StructType | None:
    if isinstance(t, mi.Metadata):
        return _struct_in(t.type)
    if isinstance(t, mi.StructType):
        return t
    if isinstance(t, mi.ListType | mi.TupleType | mi.VarTupleType):
        item = getattr(t, "item_type", None)
        return _struct_in(item) if item is not None else None
    if isinstance(t, mi.UnionType):
        structs = [s for s in (_struct_in(x) for x in t.types) if s is not None]
        return structs[0] if len(structs) == 1 else None
    return None


# -- sealing and opening ---------------------------------------------------------------------


def _replaced(
    obj: msgspec.Struct,
    plan: Plan,
    change: Callable[[str, str | None], str],
    subject: str | None = None,
    *,
    by_subject: bool = True,
) -> Any:
    """The struct with `change(value, subject)` applied to each personal value (depth first);
    the very same object when nothing changes. Without `by_subject`, subjects are not looked
    up (`change` gets None): a sealed value names its own."""
    if by_subject and plan.subject is not None:
        subject = str(getattr(obj, plan.subject) or "") or None
    changes: dict[str, Any] = {}
    for attr, _ in plan.personal:
        value = getattr(obj, attr)
        if value is not None:
            if by_subject and subject is None:
                raise PersonalDataError(f"personal field {attr!r} has no data subject")
            new = change(value, subject)
            if new is not value:
                changes[attr] = new
    for attr, _, sub in plan.nested:
        value = getattr(obj, attr)
        if value is None:
            continue
        if isinstance(value, list | tuple):
            items = [_replaced(item, sub, change, subject, by_subject=by_subject) for item in value]
            if any(a is not b for a, b in zip(items, value, strict=True)):
                changes[attr] = type(value)(items)
        else:
            item = _replaced(value, sub, change, subject, by_subject=by_subject)
            if item is not value:
                changes[attr] = item
    return msgspec.structs.replace(obj, **changes) if changes else obj


def subjects_of(event: msgspec.Struct) -> set[str]:
    """The data subjects whose personal values the event holds."""
    plan = plan_for(type(event))
    found: set[str] = set()
    if plan is not None:

        def note(value: str, subject: str | None) -> str:
            found.add(subject)  # type: ignore[arg-type]  # by_subject: never None
            return value

        _replaced(event, plan, note)
    return found


def seal(event: msgspec.Struct, keys: Mapping[str, bytes | None]) -> bytes:
    """The event's JSON with every personal value sealed under its subject's key."""
    plan = plan_for(type(event))
    if plan is None:
        return msgspec.json.encode(event)
    ciphers: dict[str, AESGCM] = {}

    def sealed(value: str, subject: str | None) -> str:
        assert subject is not None  # by_subject: _replaced refuses a value without one
        cipher = ciphers.get(subject)
        if cipher is None:
            key = keys.get(subject)
            if key is None:
                raise PersonalDataError(
                    f"no key for data subject {subject} (erased or not created)"
                )
            cipher = ciphers[subject] = AESGCM(key)
        nonce = os.urandom(_NONCE)
        blob = nonce + cipher.encrypt(nonce, value.encode(), subject.encode())
        return f"{_PREFIX}{base64.urlsafe_b64encode(blob).decode()}:{subject}"

    return msgspec.json.encode(_replaced(event, plan, sealed))


def _sealed_parts(value: str) -> tuple[str, str] | None:
    """(blob, subject) of a personal value as seal() writes it; None for anything else."""
    if not value.startswith(_PREFIX):
        return None
    blob, colon, subject = value[4:].partition(":")
    return (blob, subject) if colon and blob and subject else None


def sealed_subjects_of(event: msgspec.Struct, into: set[str]) -> None:
    """Add the subjects named by the sealed personal values of a decoded, unopened event."""
    plan = plan_for(type(event))
    if plan is None:
        return

    def note(value: str, _: str | None) -> str:
        if (parts := _sealed_parts(value)) is not None:
            into.add(parts[1])
        return value

    _replaced(event, plan, note, by_subject=False)


class Opener:
    """Opens the sealed personal values of decoded events with the keys of one read.

    Only the fields an event type declares personal are opened (found by its plan, not by
    scanning the JSON), one AES-GCM cipher per subject; a destroyed key reads `ERASED`.
    """

    def __init__(self, keys: Mapping[str, bytes | None]) -> None:
        self._keys = keys
        self._ciphers: dict[str, AESGCM | None] = {}

    def open(self, event: msgspec.Struct) -> msgspec.Struct:
        """The event with its sealed values opened (the same object if it has none).

        Raises InvalidTag when a value does not open with its subject's key."""
        plan = plan_for(type(event))
        if plan is None:
            return event
        return _replaced(event, plan, self._value, by_subject=False)  # type: ignore[no-any-return]

    def _value(self, value: str, _: str | None) -> str:
        parts = _sealed_parts(value)
        if parts is None:
            return value
        blob, subject = parts
        try:
            cipher = self._ciphers[subject]
        except KeyError:
            key = self._keys.get(subject)
            cipher = self._ciphers[subject] = None if key is None else AESGCM(key)
        if cipher is None:
            return ERASED
        raw = binascii.a2b_base64(blob.encode().translate(_URLSAFE))
        return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], subject.encode()).decode()


def is_sealed(payload: bytes) -> bool:
    return _MARK in payload


def sealed_subjects(payload: bytes) -> set[str]:
    return {subject.decode() for _, _, _, subject in _sealed_values(payload)}


# A sealed value as seal() writes it: a whole JSON string `"pd1:<base64url>:<subject>"`.
_SEALED_AT = re.compile(rb'"pd1:([A-Za-z0-9_=-]+):([^"\\]+)"(?![ \t\r\n]*:)')
_SEALED_STR = re.compile(r"pd1:([A-Za-z0-9_=-]+):(.+)", re.DOTALL)
_ERASED_JSON = msgspec.json.encode(ERASED)
_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _sealed_values(payload: bytes) -> Iterator[tuple[int, int, bytes, bytes]]:
    """(start, end, blob, subject) of each sealed value in a payload's JSON text, and only
    those: a match is a string value, not a key (not followed by `:`); its opening quote is not
    escaped, so it starts a string token (inside a string every quote is escaped, and a closing
    quote is never followed by `pd1:`); no backslash inside, so its closing quote ends it."""
    at = payload.find(_MARK)
    while at >= 0:
        m = _SEALED_AT.match(payload, at)
        if m is not None and (at == 0 or payload[at - 1] != 0x5C):  # 0x5C: backslash
            yield at, m.end(), m.group(1), m.group(2)
            at = payload.find(_MARK, m.end())
        else:
            at = payload.find(_MARK, at + 1)


def open_sealed(payload: bytes, keys: Mapping[str, bytes | None]) -> bytes:
    """The payload with every sealed value opened, or ERASED where the key is gone.

    Each sealed value is replaced in the JSON text itself (no decode, walk and re-encode of the
    whole payload). A payload holding any other `"pd1:` goes through the JSON walk instead.
    """
    ciphers: dict[bytes, AESGCM] = {}
    parts: list[bytes] = []
    done = opened = 0
    for start, end, blob, subject in _sealed_values(payload):
        opened += 1
        parts.append(payload[done:start])
        done = end
        key = keys.get(subject.decode())
        if key is None:
            parts.append(_ERASED_JSON)
            continue
        cipher = ciphers.get(key)
        if cipher is None:
            cipher = ciphers[key] = AESGCM(key)
        raw = binascii.a2b_base64(blob.translate(_URLSAFE))
        plain = cipher.decrypt(raw[:_NONCE], raw[_NONCE:], subject)
        parts.append(msgspec.json.encode(plain.decode()))
    if opened != payload.count(_MARK):  # a "pd1: that is not a sealed value seal() wrote
        return msgspec.json.encode(_open(msgspec.json.decode(payload), keys))
    parts.append(payload[done:])
    return b"".join(parts)


def _open(data: Any, keys: Mapping[str, bytes | None]) -> Any:
    if isinstance(data, str):
        sealed = _SEALED_STR.fullmatch(data) if data.startswith(_PREFIX) else None
        if sealed is None:  # not something seal() wrote
            return data
        blob, subject = sealed.groups()
        key = keys.get(subject)
        if key is None:
            return ERASED
        raw = base64.urlsafe_b64decode(blob)
        return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], subject.encode()).decode()
    if isinstance(data, list):
        return [_open(x, keys) for x in data]
    if isinstance(data, dict):
        return {k: _open(v, keys) for k, v in data.items()}
    return data


# -- keys ------------------------------------------------------------------------------------


class MasterKeys:
    """Master keys from configuration, `id=base64key` separated by commas; the first is active.

    Older keys stay listed until `rotate` has re-wrapped every subject key under the active one.
    """

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise PersonalDataError("no master key configured (JAGA_MASTER_KEYS)")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise PersonalDataError(f"master key {key_id} must be 32 bytes")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_id = next(iter(self._keys))

    @classmethod
    def parse(cls, text: str) -> MasterKeys:
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key_id, _, encoded = item.partition("=")
            if not encoded:
                raise PersonalDataError("JAGA_MASTER_KEYS entries look like id=base64key")
            keys[key_id] = base64.b64decode(encoded)
        return cls(keys)

    @staticmethod
    def generate(key_id: str) -> str:
        """A new `id=base64key` entry for configuration."""
        return f"{key_id}={base64.b64encode(AESGCM.generate_key(256)).decode()}"

    def wrap(self, subject: str, data_key: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(_NONCE)
        wrapped = self._keys[self.active_id].encrypt(nonce, data_key, subject.encode())
        return self.active_id, nonce + wrapped

    def unwrap(self, subject: str, key_id: str, wrapped: bytes) -> bytes:
        master = self._keys.get(key_id)
        if master is None:
            raise PersonalDataError(
                f"subject key of {subject} is wrapped by master key {key_id}, "
                "which is not configured"
            )
        return master.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], subject.encode())


class LookupHasher:
    """Keyed hash (HMAC-SHA256) of a normalised NIK: lookups and duplicate checks without the NIK.

    Its key is separate from the master keys so that rotating them leaves lookups intact.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise PersonalDataError("the lookup key must be at least 32 bytes")
        self._key = key

    def nik(self, nik: str) -> str:
        normalised = re.sub(r"[\s.\-]", "", nik)
        return hmac.new(self._key, normalised.encode(), hashlib.sha256).hexdigest()
