"""Regions reference data: loading, and checking an address's kecamatan and desa."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from services.domain.errors import ValidationFailed
from services.domain.regions import (
    Desa,
    RegionDataError,
    Regions,
    default_regions,
    normalise_code,
)

SHARED_CSV = Path(__file__).resolve().parents[2] / "services" / "data" / "kepahiang_regions.csv"

SMALL = """code,level,name
99.01,kabupaten,Kabupaten Contoh
99.01.01,kecamatan,Satu
99.01.01.1001,kelurahan,Kota Satu
99.01.01.2001,desa,Desa Satu
99.01.02,kecamatan,Dua
99.01.02.2001,desa,Desa Dua
"""


@pytest.fixture(scope="module")
def kepahiang() -> Regions:
    return default_regions()


def test_shipped_data_is_kepahiang_with_8_kecamatan_and_117_villages(kepahiang: Regions) -> None:
    assert (kepahiang.regency_code, kepahiang.regency_name) == ("17.08", "Kabupaten Kepahiang")
    assert len(kepahiang.kecamatan) == 8
    assert len(kepahiang.desa) == 117
    assert sum(len(k.desa_codes) for k in kepahiang.kecamatan.values()) == 117


def test_shipped_data_matches_the_file_row_for_row(kepahiang: Regions) -> None:
    with SHARED_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["level"] == "kecamatan":
            assert kepahiang.kecamatan_name(row["code"]) == row["name"]
        elif row["level"] in ("desa", "kelurahan"):
            assert kepahiang.desa[row["code"]].level == row["level"]
            assert kepahiang.desa_name(row["code"]) == row["name"]


def test_a_desa_in_its_kecamatan_passes(kepahiang: Regions) -> None:
    assert kepahiang.check("17.08.01", "17.08.01.2001") == Desa(
        "17.08.01.2001", "Kota Agung", "desa", "17.08.01"
    )
    assert kepahiang.check("17.08.01", "17.08.01.1007").level == "kelurahan"


def test_codes_may_be_plain_digits(kepahiang: Regions) -> None:
    assert kepahiang.check("170801", "1708012001").name == "Kota Agung"
    assert normalise_code(" 17 08 01 ") == "17.08.01"
    assert normalise_code("1708") == "17.08"
    assert normalise_code("abc") == "abc"


def test_unknown_kecamatan_is_refused(kepahiang: Regions) -> None:
    with pytest.raises(ValidationFailed) as error:
        kepahiang.check("17.08.09", "17.08.01.2001")
    [only] = error.value.errors
    assert only.field == "kecamatan"
    assert "unknown kecamatan code '17.08.09'" in only.reason


def test_unknown_desa_is_refused(kepahiang: Regions) -> None:
    with pytest.raises(ValidationFailed) as error:
        kepahiang.check("17.08.01", "17.08.01.2999")
    [only] = error.value.errors
    assert only.field == "desa"
    assert "unknown desa/kelurahan code '17.08.01.2999'" in only.reason


def test_both_unknown_are_both_reported(kepahiang: Regions) -> None:
    with pytest.raises(ValidationFailed) as error:
        kepahiang.check("x", "y")
    assert [e.field for e in error.value.errors] == ["kecamatan", "desa"]


def test_desa_of_another_kecamatan_is_refused_naming_both(kepahiang: Regions) -> None:
    with pytest.raises(ValidationFailed) as error:
        kepahiang.check("17.08.01", "17.08.02.2001")
    [only] = error.value.errors
    assert only.field == "desa"
    assert only.reason == (
        "desa 17.08.02.2001 (Daspeta) is in kecamatan 17.08.02 (Ujan Mas), "
        "not 17.08.01 (Bermani Ilir)"
    )


def test_another_regencys_file_loads_from_a_path(tmp_path: Path) -> None:
    # Given a file saved from Excel: BOM and CRLF
    path = tmp_path / "contoh.csv"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL.replace("\n", "\r\n").encode())
    # When
    regions = Regions.load(path)
    # Then
    assert regions.regency_code == "99.01"
    assert regions.kecamatan["99.01.01"].desa_codes == ("99.01.01.1001", "99.01.01.2001")
    assert regions.check("99.01.02", "99.01.02.2001").name == "Desa Dua"
    assert Regions.load(str(path)) == regions


def test_the_loaded_maps_are_read_only(kepahiang: Regions) -> None:
    with pytest.raises(TypeError):
        kepahiang.desa["x"] = kepahiang.desa["17.08.01.2001"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kode,tingkat,nama\n", "header must be code,level,name"),
        ("", "header must be"),
        ("code,level,name\n99.01.01,kecamatan,A\n", "no kabupaten row"),
        ("code,level,name\n99.01,kabupaten,K\n99.02,kabupaten,L\n", ":3: a second kabupaten"),
        ("code,level,name\n99.01,kabupaten,K\n99.01.01,kota,A\n", ":3: unknown level 'kota'"),
        ("code,level,name\n99.01,kabupaten,K\n99.01.1,kecamatan,A\n", "bad kecamatan code"),
        ("code,level,name\n99.01,kabupaten,K\n99.01.01.01,desa,A\n", "bad desa code"),
        ("code,level,name\n99.01,kabupaten,K\n99.01.01,kecamatan,A,x\n", "expected 3 columns"),
        (
            "code,level,name\n99.01,kabupaten,K\n99.01.01,kecamatan,A\n99.01.01,kecamatan,B\n",
            ":4: duplicate code 99.01.01",
        ),
        ("code,level,name\n99.01,kabupaten,K\n98.01.01,kecamatan,A\n", "is not in 99.01"),
        (
            "code,level,name\n99.01,kabupaten,K\n99.01.01.2001,desa,A\n",
            "desa 99.01.01.2001 has no kecamatan row 99.01.01",
        ),
    ],
)
def test_malformed_reference_data_is_refused_naming_the_line(text: str, expected: str) -> None:
    with pytest.raises(RegionDataError) as error:
        Regions.parse(text, origin="bad.csv")
    assert expected in str(error.value)
    assert str(error.value).startswith("bad.csv")
