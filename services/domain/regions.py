"""Reference data of a regency's districts (kecamatan) and villages (desa / kelurahan).

A participant's address is a kecamatan and a desa by official code; `Regions.check` refuses
codes that do not exist or do not fit together. The data ships with the package
(`services/data/kepahiang_regions.csv`, Kepahiang 17.08); `Regions.load(path)` reads another
regency's file with the same columns: `code,level,name`, where level is one of kabupaten
(exactly one row), kecamatan, desa or kelurahan, and codes are dotted official codes
(17.08, 17.08.01, 17.08.01.2001). Village codes whose 4-digit part starts with 1 are
kelurahan, with 2 desa; both are "desa" to `check`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import msgspec

from services.domain.errors import FieldError, ValidationFailed

DEFAULT_RESOURCE = "kepahiang_regions.csv"
COLUMNS = ("code", "level", "name")

VillageLevel = Literal["desa", "kelurahan"]

_REGENCY_CODE = re.compile(r"[0-9]{2}\.[0-9]{2}")
_KECAMATAN_CODE = re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}")
_DESA_CODE = re.compile(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}")
_SEPARATORS = re.compile(r"[\s.]+")


class Kecamatan(msgspec.Struct, frozen=True):
    """A district: its code, name and the codes of its villages in file order."""

    code: str
    name: str
    desa_codes: tuple[str, ...]


class Desa(msgspec.Struct, frozen=True):
    """A village (desa) or urban village (kelurahan) and the district it belongs to."""

    code: str
    name: str
    level: VillageLevel
    kecamatan_code: str


class RegionDataError(ValueError):
    """The reference file is malformed: a deployment error, not a user's mistake."""


def normalise_code(text: str) -> str:
    """Official codes as typed or exported: "170801", "17.08.01", " 17 08 01 " all give
    "17.08.01"; village codes give "17.08.01.2001". Anything else is returned stripped,
    to be reported as unknown."""
    digits = _SEPARATORS.sub("", text)
    if not digits.isascii() or not digits.isdigit():
        return text.strip()
    if len(digits) == 4:
        return f"{digits[:2]}.{digits[2:]}"
    if len(digits) == 6:
        return f"{digits[:2]}.{digits[2:4]}.{digits[4:]}"
    if len(digits) == 10:
        return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}.{digits[6:]}"
    return text.strip()


class Regions(msgspec.Struct, frozen=True):
    """One regency's districts and villages, by code. Build it with `Regions.load`."""

    regency_code: str
    regency_name: str
    kecamatan: Mapping[str, Kecamatan]
    desa: Mapping[str, Desa]

    @classmethod
    def load(cls, source: str | Path | Traversable | None = None) -> Regions:
        """Read a regions CSV; None means the Kepahiang file shipped with Jaga."""
        if source is None:
            source = resources.files("services").joinpath("data", DEFAULT_RESOURCE)
        elif isinstance(source, str):
            source = Path(source)
        # utf-8-sig: files saved from Excel start with a byte-order mark.
        text = source.read_bytes().decode("utf-8-sig")
        return cls.parse(text, origin=str(source))

    @classmethod
    def parse(cls, text: str, origin: str = "<text>") -> Regions:
        """Build from CSV text; `origin` names the file in errors."""
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or tuple(h.strip().lower() for h in header) != COLUMNS:
            raise RegionDataError(f"{origin}: header must be {','.join(COLUMNS)}, got {header}")

        regency: tuple[str, str] | None = None
        kecamatan_names: dict[str, str] = {}
        villages: dict[str, Desa] = {}
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(COLUMNS):
                raise RegionDataError(f"{origin}:{line}: expected 3 columns, got {len(row)}")
            code, level, name = (cell.strip() for cell in row)
            if code in kecamatan_names or code in villages or (regency and code == regency[0]):
                raise RegionDataError(f"{origin}:{line}: duplicate code {code}")
            if level == "kabupaten":
                if regency is not None:
                    raise RegionDataError(f"{origin}:{line}: a second kabupaten row ({code})")
                if not _REGENCY_CODE.fullmatch(code):
                    raise RegionDataError(f"{origin}:{line}: bad regency code {code!r}")
                regency = (code, name)
            elif level == "kecamatan":
                if not _KECAMATAN_CODE.fullmatch(code):
                    raise RegionDataError(f"{origin}:{line}: bad kecamatan code {code!r}")
                kecamatan_names[code] = name
            elif level in ("desa", "kelurahan"):
                if not _DESA_CODE.fullmatch(code):
                    raise RegionDataError(f"{origin}:{line}: bad {level} code {code!r}")
                village_level: VillageLevel = "desa" if level == "desa" else "kelurahan"
                villages[code] = Desa(code, name, village_level, code[:8])
            else:
                raise RegionDataError(f"{origin}:{line}: unknown level {level!r}")

        if regency is None:
            raise RegionDataError(f"{origin}: no kabupaten row")
        regency_code, regency_name = regency
        for code in kecamatan_names:
            if not code.startswith(regency_code + "."):
                raise RegionDataError(f"{origin}: kecamatan {code} is not in {regency_code}")
        members: dict[str, list[str]] = {code: [] for code in kecamatan_names}
        for village in villages.values():
            if village.kecamatan_code not in members:
                raise RegionDataError(
                    f"{origin}: {village.level} {village.code} has no kecamatan row "
                    f"{village.kecamatan_code}"
                )
            members[village.kecamatan_code].append(village.code)

        return cls(
            regency_code=regency_code,
            regency_name=regency_name,
            kecamatan=MappingProxyType(
                {
                    code: Kecamatan(code, name, tuple(members[code]))
                    for code, name in kecamatan_names.items()
                }
            ),
            desa=MappingProxyType(villages),
        )

    def check(self, kecamatan_code: str, desa_code: str) -> Desa:
        """The village at that address, or `ValidationFailed` naming each wrong field:
        unknown kecamatan, unknown desa, or a desa of another kecamatan. Codes may be dotted
        or plain digits (see `normalise_code`)."""
        kecamatan = self.kecamatan.get(normalise_code(kecamatan_code))
        desa = self.desa.get(normalise_code(desa_code))
        errors: list[FieldError] = []
        if kecamatan is None:
            errors.append(
                FieldError(
                    "kecamatan",
                    f"unknown kecamatan code {kecamatan_code!r} in {self.regency_name} "
                    f"({self.regency_code})",
                )
            )
        if desa is None:
            errors.append(
                FieldError(
                    "desa",
                    f"unknown desa/kelurahan code {desa_code!r} in {self.regency_name} "
                    f"({self.regency_code})",
                )
            )
        elif kecamatan is not None and desa.kecamatan_code != kecamatan.code:
            owner = self.kecamatan[desa.kecamatan_code]
            errors.append(
                FieldError(
                    "desa",
                    f"{desa.level} {desa.code} ({desa.name}) is in kecamatan {owner.code} "
                    f"({owner.name}), not {kecamatan.code} ({kecamatan.name})",
                )
            )
        if errors:
            raise ValidationFailed(errors)
        assert desa is not None
        return desa

    def kecamatan_name(self, code: str) -> str:
        """The district's name; `KeyError` for an unknown code."""
        return self.kecamatan[normalise_code(code)].name

    def desa_name(self, code: str) -> str:
        """The village's name; `KeyError` for an unknown code."""
        return self.desa[normalise_code(code)].name


@cache
def default_regions() -> Regions:
    """The shipped Kepahiang data, read once per process."""
    return Regions.load()
