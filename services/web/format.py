"""How the pages write things: Rp16.800, 26 November 2026, 14.05 WIB, and the Indonesian
names of states, roles, documents and statuses. Registered as Jinja filters and globals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.domain.calendar import JAKARTA, Month
from services.domain.indonesian import bulan as _bulan
from services.domain.indonesian import tanggal as _tanggal
from services.domain.money import rupiah as _rupiah

CLAIM_STATES = {
    "reported": "Dilaporkan",
    "documents_incomplete": "Dokumen belum lengkap",
    "submitted": "Diajukan",
    "under_verification": "Dalam verifikasi",
    "awaiting_second_approval": "Menunggu persetujuan kedua",
    "approved": "Disetujui",
    "rejected": "Ditolak",
    "paid": "Dibayar",
    "returned": "Dikembalikan",
    "reopened": "Dibuka kembali",
}
PARTICIPANT_STATUSES = {
    "registered": "Terdaftar",
    "waitlisted": "Daftar tunggu",
    "enrolled": "Peserta",
    "active": "Aktif",
    "in_arrears": "Menunggak",
    "membership_ended": "Kepesertaan berakhir",
    "left": "Keluar",
    "deceased": "Meninggal dunia",
}
ROLES = {
    "registrar": "Petugas pendaftaran",
    "finance": "Petugas keuangan",
    "claim_officer": "Petugas klaim",
    "supervisor": "Supervisor",
    "auditor": "Auditor",
    "admin": "Administrator",
}
DOCUMENTS = {
    "ktp": "KTP peserta",
    "kpj_card": "Kartu peserta (KPJ)",
    "family_card": "Kartu keluarga",
    "accident_report": "Formulir laporan kecelakaan (Tahap I)",
    "police_report": "Laporan polisi",
    "doctor_statement": "Surat keterangan dokter (Tahap II)",
    "medical_bills": "Kuitansi biaya pengobatan",
    "death_certificate": "Akta kematian",
    "heir_statement": "Surat keterangan ahli waris",
    "heir_ktp": "KTP ahli waris",
    "bank_account": "Buku rekening bank",
    "npwp": "NPWP",
}
SLA_STATUSES = {"ok": "Sesuai SLA", "near": "Mendekati batas", "breached": "Melewati SLA"}
CLAIM_KINDS = {"JKK": "JKK (kecelakaan kerja)", "JKM": "JKM (kematian)"}


def rupiah(amount: Any) -> str:
    """16800 -> "Rp16.800"; nothing -> "-"."""
    return "-" if amount is None or amount == "" else _rupiah(int(amount))


def tanggal(value: Any) -> str:
    """A date or instant (ISO text or object) as "26 November 2026", in Asia/Jakarta."""
    when = _parse(value)
    if when is None:
        return "-"
    if isinstance(when, datetime):
        when = when.astimezone(JAKARTA).date()
    return _tanggal(when)


def waktu(value: Any) -> str:
    """An instant as "26 November 2026 14.05 WIB" (Asia/Jakarta)."""
    when = _parse(value)
    if when is None:
        return "-"
    if not isinstance(when, datetime):
        return _tanggal(when)
    local = when.astimezone(JAKARTA)
    return f"{_tanggal(local.date())} {local:%H.%M} WIB"


def bulan(value: Any) -> str:
    """A month ("2026-11" or Month) as "November 2026"."""
    if value is None or value == "":
        return "-"
    month = value if isinstance(value, Month) else Month.parse(str(value)[:7])
    return _bulan(month)


def label(value: Any, names: dict[str, str]) -> str:
    """The Indonesian name of a code, or the code itself when there is none."""
    if value is None:
        return "-"
    return names.get(str(value), str(value))


def _parse(value: Any) -> date | datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, (date, datetime)):
        return value
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


FILTERS = {"rupiah": rupiah, "tanggal": tanggal, "waktu": waktu, "bulan": bulan}
GLOBALS = {
    "label": label,
    "CLAIM_STATES": CLAIM_STATES,
    "PARTICIPANT_STATUSES": PARTICIPANT_STATUSES,
    "ROLES": ROLES,
    "DOCUMENTS": DOCUMENTS,
    "SLA_STATUSES": SLA_STATUSES,
    "CLAIM_KINDS": CLAIM_KINDS,
}
