"""Refusals in plain Indonesian: what a page shows when the API says no.

The API's problems are for programs (a stable `type`, an English `detail`); an officer reads
this instead. A domain refusal's problem carries its parts as members (services/api
`domain_problem`): an illegal transition its `entity`, `state`, `action` and `reason`, a
missing or duplicate thing its `kind` and `key`, a full cohort its `quota` and `active`, a
death already claimed the `claim_kind` and `claim_state` of the claim that stands, a
validation its field `errors`. The sentence is built from those parts, never from `detail`.

Reasons and field errors are short English phrases written at the raise sites; `_REASONS` is
their catalog (one pattern per phrase, its variable parts as named groups). The tests collect
every phrase the code can raise and check each has an Indonesian rendering here. A phrase
missing from the catalog is logged and the officer gets the general sentence of its status:
never English.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from services.web.client import ApiRefused
from services.web.format import CLAIM_STATES, DOCUMENTS, PARTICIPANT_STATUSES, tanggal, waktu

log = logging.getLogger("jaga.web")

_BY_STATUS = {
    400: "Permintaan tidak dapat dibaca. Periksa isian Anda.",
    401: "Sesi Anda telah berakhir. Silakan masuk kembali.",
    403: "Anda tidak berhak melakukan tindakan ini.",
    404: "Data tidak ditemukan, atau berada di luar wilayah kerja Anda.",
    405: "Tindakan ini tidak tersedia di sini.",
    409: "Tindakan ini tidak dapat dilakukan pada keadaan data sekarang.",
    413: "Berkas atau isian terlalu besar.",
    415: "Jenis berkas tidak didukung.",
    422: "Isian tidak valid.",
    429: "Terlalu banyak percobaan. Tunggu sebentar, lalu coba lagi.",
    500: "Terjadi kesalahan pada sistem. Kejadian ini sudah dicatat; coba lagi nanti.",
    503: "Sistem sedang sibuk. Coba lagi sebentar lagi.",
}

# -- names ---------------------------------------------------------------------------------------

KINDS = {
    "claim": "klaim",
    "participant": "peserta",
    "participant with KPJ": "peserta dengan nomor KPJ",
    "payment": "pembayaran",
    "cohort": "kohort",
    "user": "akun pengguna",
    "accident": "laporan kecelakaan",
    "stream": "riwayat",
    "rate table in force for month": "tabel tarif yang berlaku untuk bulan",
}
"""The things a NotFound or Duplicate names (its `kind`), and the entity of a transition."""

STATES: Mapping[str, Mapping[str, str]] = {
    "claim": CLAIM_STATES,
    "participant": {**PARTICIPANT_STATUSES, "none": "belum terdaftar"},
    "cohort": {"none": "belum dibuat", "created": "Dibuat", "open": "Dibuka", "closed": "Ditutup"},
    "user": {"none": "belum dibuat", "active": "Aktif", "disabled": "Nonaktif"},
    "accident": {
        "none": "belum dilaporkan",
        "reported": "Dilaporkan (Tahap I)",
        "outcome_reported": "Hasil pemeriksaan dilaporkan (Tahap II)",
    },
    "payment": {"recorded": "Tercatat", "reversed": "Dibatalkan", "changed": "Berubah"},
}
"""The states an illegal transition names, per entity."""

ACTIONS = {
    "submit": "mengajukan klaim",
    "return": "mengembalikan klaim",
    "decide": "memutuskan klaim",
    "approve": "menyetujui klaim",
    "reject": "menolak klaim",
    "reopen": "membuka kembali klaim",
    "start verification": "memulai verifikasi klaim",
    "record a payment": "mencatat pembayaran manfaat",
    "assign an officer": "menugaskan petugas klaim",
    "name heirs": "mencatat ahli waris",
    "open": "membuka kohort",
    "close": "menutup kohort",
    "register": "mendaftarkan peserta ke kohort",
    "roll over": "melanjutkan kohort ke tahun anggaran baru",
    "reverse": "membatalkan pembayaran",
    "pay for": "mencatat iuran",
    "change funder": "mengganti sumber dana iuran",
    "leave": "mengeluarkan peserta",
    "rejoin": "mendaftarkan kembali peserta",
    "report the outcome": "melaporkan hasil pemeriksaan (Tahap II)",
    "disable": "menonaktifkan akun",
    "enable": "mengaktifkan akun",
    "change roles": "mengubah peran akun",
    "set the password": "mengganti kata sandi",
}
"""The actions an illegal transition names; "receive the <document>" is built (`_action`)."""

FIELDS = {
    # claims and accidents
    "states": "status klaim",
    "state": "status klaim",
    "sla": "status SLA",
    "officer": "petugas",
    "reason": "alasan",
    "received_at": "tanggal diterima",
    "document": "dokumen",
    "documents": "dokumen",
    "missing": "dokumen yang kurang",
    "reference": "nomor referensi",
    "paid_at": "tanggal pembayaran",
    "filed_at": "tanggal pengajuan",
    "died_on": "tanggal meninggal",
    "heirs": "ahli waris",
    "relation": "hubungan keluarga",
    "benefits": "manfaat",
    "medical_billed": "biaya pengobatan",
    "trips": "perjalanan",
    "mode": "jenis angkutan",
    "cost": "biaya",
    "stmb": "masa STMB",
    "incapacity_from": "awal tidak mampu bekerja",
    "period_from": "awal masa",
    "period_to": "akhir masa",
    "scholarships": "beasiswa",
    "child": "anak",
    "level": "jenjang sekolah",
    "year_of_level": "tahun di jenjang itu",
    "occurred_at": "waktu kejadian",
    "reported_at": "waktu pelaporan",
    "doctor_statement_at": "tanggal surat keterangan dokter",
    "kind": "jenis kecelakaan",  # the Stage I form's; an event's `kind` is in EVENT_FIELDS
    "accident_kind": "jenis kecelakaan",
    "outcome": "hasil pemeriksaan",
    "disability_percent": "persentase cacat",
    "impairment": "jenis cacat",
    "place": "tempat kejadian",
    "chronology": "kronologi",
    "witnesses": "saksi",
    "statement": "keterangan",
    "police_report": "laporan polisi",
    "traffic": "kecelakaan lalu lintas",
    "accident_id": "laporan kecelakaan",
    "claim_id": "klaim",
    "claim_kind": "jenis klaim",
    "required_documents": "dokumen yang diperlukan",
    "documents_complete_at": "dokumen lengkap pada",
    "sla_working_days": "SLA (hari kerja)",
    "assigned_by": "ditugaskan oleh",
    "first_officer": "petugas pengusul persetujuan",
    "decided_at": "waktu keputusan",
    "eligibility": "hasil pemeriksaan kelayakan",
    "lines": "rincian manfaat",
    "not_granted": "manfaat yang tidak diberikan",
    "total": "jumlah manfaat",
    "reasons": "alasan",
    "benefit": "manfaat",
    "working_days_late": "keterlambatan (hari kerja)",
    "working_days_left": "sisa hari kerja",
    "penalty": "denda keterlambatan",
    "accrued_penalty": "denda keterlambatan sampai hari ini",
    "deadline": "batas waktu",
    "late": "terlambat",
    "hours_late": "keterlambatan (jam)",
    "notify": "diberitahukan kepada",
    "benefit_rules_version": "versi aturan manfaat",
    "policy_version": "versi kebijakan",
    # participants
    "participant_id": "peserta",
    "participant_ids": "peserta",
    "nik": "NIK",
    "name": "nama",
    "sex": "jenis kelamin",
    "birth_date": "tanggal lahir",
    "tanggal_lahir": "tanggal lahir",
    "phone": "nomor HP",
    "occupation": "pekerjaan",
    "declared_income": "penghasilan",
    "penghasilan": "penghasilan",
    "income": "penghasilan",
    "kecamatan": "kecamatan",
    "desa": "desa/kelurahan",
    "kpj": "nomor KPJ",
    "funder": "sumber dana iuran",
    "from_month": "mulai bulan",
    "left_on": "tanggal keluar",
    "priority": "prioritas",
    # cohorts and payments
    "cohort_id": "kohort",
    "programmes": "program",
    "legal_basis": "dasar hukum",
    "quota": "kuota",
    "coverage_start": "awal masa perlindungan",
    "coverage_end": "akhir masa perlindungan",
    "budget_year": "tahun anggaran",
    "budget_allocation": "pagu anggaran",
    "payer_kind": "jenis pembayar",
    "payer": "pembayar",
    "channel": "cara pembayaran",
    "amount": "jumlah",
    "months": "bulan iuran",
    "month": "bulan",
    # accounts
    "username": "nama pengguna",
    "password": "kata sandi",
    "display_name": "nama lengkap",
    "roles": "peran",
    # reads
    "as_of": "per tanggal",
    "known_at": "diketahui per",
    "day": "tanggal",
    "since": "sejak",
    "until": "sampai",
    "limit": "jumlah baris",
    "cursor": "halaman",
    "min_position": "posisi",
    "types": "jenis kejadian",
}
"""Field names as the officer knows them from the forms (and an event's fields, unless
EVENT_FIELDS names them otherwise for that event)."""

EVENT_FIELDS: Mapping[str, Mapping[str, str]] = {
    "ClaimFiled": {
        "kind": "jenis klaim",  # JKK (work accident) or JKM (death), not the accident's kind
        "event_on": "tanggal kecelakaan (JKK) atau tanggal meninggal (JKM)",
        "filed_at": "waktu pengajuan",
        "outcome": "hasil pemeriksaan dokter",
    },
    "ClaimSlaFlagged": {"level": "tingkat SLA", "officer": "petugas klaim"},
    "ClaimPaid": {"amount": "jumlah dibayar"},
    "ClaimRejected": {"reasons": "alasan penolakan"},
    "ClaimReturned": {"reason": "alasan pengembalian"},
    "ClaimReopened": {"reason": "alasan dibuka kembali"},
    "ReminderScheduled": {"kind": "jenis pengingat", "channel": "saluran pengiriman",
                          "period": "periode", "due_on": "jatuh tempo"},
    "ReminderSent": {"channel": "saluran pengiriman"},
    "ParticipantEnrolled": {"enrolled_on": "awal kepesertaan",
                            "decided_on": "tanggal keputusan pendaftaran"},
    "ParticipantLeft": {"enrolled_on": "awal kepesertaan yang ditinggalkan"},
}  # fmt: skip
"""An event's fields whose name means something else than on a form: a ClaimFiled's `kind`
is the claim's (JKK or JKM), an AccidentReported's the accident's (FIELDS)."""


def event_field_label(event_type: str, name: str) -> str:
    """An event field's Indonesian name ("" when the wording has none)."""
    return EVENT_FIELDS.get(event_type, {}).get(name) or FIELDS.get(name, "")


_AMOUNTS = {
    "billed medical care": "biaya pengobatan yang ditagihkan",
    "trip cost": "biaya perjalanan",
    "wage": "upah",
}
"""What a benefit amount is (services/domain/benefits.py `_amount`)."""

_TYPES = {
    "int": "bilangan bulat",
    "float": "angka",
    "decimal": "angka",
    "str": "teks",
    "bool": "ya atau tidak",
    "array": "daftar",
    "object": "data lengkap",
    "datetime": "tanggal dan jam",
    "date": "tanggal",
    "time": "jam",
    "null": "kosong",
    "uuid": "kode",
}
_BOUNDS = {">=": "paling sedikit", "<=": "paling banyak", ">": "lebih dari", "<": "kurang dari"}


def field_label(path: str) -> str:
    """A field path ("heirs[1].relation", "witnesses[0]") as the officer knows it:
    "hubungan keluarga (ahli waris ke-2)"."""
    parts = [p for p in re.split(r"\.|(?=\[)", path.removeprefix("$.")) if p and p != "data"]
    if not parts:
        return "isian"
    named = [p for p in parts if not p.startswith("[")]
    label = FIELDS.get(named[-1], named[-1].replace("_", " ")) if named else "isian"
    for part, after in itertools.pairwise(parts):
        if after.startswith("[") and after[1:-1].isdigit():
            whose = FIELDS.get(part, part.replace("_", " "))
            where = f"{whose} ke-{int(after[1:-1]) + 1}"
            label = where if label == whose else f"{label} ({where})"
    return label


# -- the reasons' catalog --------------------------------------------------------------------------

Render = Callable[[dict[str, str]], str]


def _documents(text: str) -> str:
    return ", ".join(DOCUMENTS.get(code.strip(), code.strip()) for code in text.split(","))


def _when(text: str) -> str:
    try:
        return waktu(text) if "T" in text else tanggal(text)
    except ValueError:
        return text


_PARTS: dict[str, Callable[[str], str]] = {
    "docs": _documents,
    "when": _when,
    "field": field_label,
    "what": lambda text: _AMOUNTS.get(text, text),
    "why": lambda text: reason_text(text) or text,
}
"""How a named group is rendered, by its name without trailing digits (`when2` is a `when`)."""


def _catalog(entries: Iterable[tuple[str, str]]) -> list[tuple[re.Pattern[str], Render]]:
    def render(template: str) -> Render:
        def rendered(groups: dict[str, str]) -> str:
            said = {k: _PARTS.get(k.rstrip("0123456789"), str)(v) for k, v in groups.items()}
            return template.format(**said)

        return rendered

    return [(re.compile(pattern), render(template)) for pattern, template in entries]


_REASONS = _catalog(
    [
        # eligibility (services/claim_assessment.py): why a claim is rejected on its merits
        (r"not covered on (?P<when>\d{4}-\d\d-\d\d): .+", "peserta tidak terlindungi pada {when}"),
        (r"the membership covers (?P<have>[A-Z, ]+), not (?P<kind>[A-Z]+)",
         "kepesertaan hanya mencakup program {have}, bukan {kind}"),
        (r"filed on (?P<when>\S+), after the right to claim ended on (?P<when2>\S+)",
         "diajukan {when}, setelah hak klaim berakhir pada {when2}"),
        (r"not a work accident \(\w+\): .+",
         "bukan kecelakaan kerja: tidak terjadi saat bekerja, dalam perjalanan pergi atau pulang "
         "kerja, dan bukan penyakit akibat kerja"),
        # claims (services/claim_decider.py, services/api/claims.py, services/claim_documents.py)
        (r"documents still missing: (?P<docs>.+)", "dokumen masih kurang: {docs}"),
        (r"no claim officer is assigned", "belum ada petugas klaim yang ditugaskan"),
        (r"the claim is closed; reopen it first",
         "klaim sudah ditutup; buka kembali klaim terlebih dahulu"),
        (r"(?P<officer>.+) works it; a supervisor reassigns it",
         "klaim ini sedang dikerjakan {officer}; hanya supervisor yang dapat memindahkannya"),
        (r"documents come in before verification; return the claim to ask for more",
         "dokumen hanya diterima sebelum verifikasi; kembalikan klaim untuk meminta dokumen "
         "tambahan"),
        (r"heirs receive benefits only after a death",
         "ahli waris hanya menerima manfaat bila peserta meninggal dunia"),
        (r"the claim is already decided; reopen it first",
         "klaim sudah diputuskan; buka kembali klaim terlebih dahulu"),
        (r"the claim is assigned to (?P<officer>.+), not (?P<actor>.+)",
         "klaim ini ditugaskan kepada {officer}, bukan kepada {actor}"),
        (r"a death benefit is paid to the heirs: name them first",
         "manfaat kematian dibayarkan kepada ahli waris; catat ahli waris terlebih dahulu"),
        (r"the benefit (?P<total>\S+) is above (?P<limit>\S+): an NPWP is needed; return the "
         r"claim for it",
         "manfaat {total} melebihi {limit} sehingga NPWP diperlukan; kembalikan klaim untuk "
         "melengkapinya"),
        (r"the second approval must come from another officer than (?P<officer>.+), who "
         r"proposed it",
         "persetujuan kedua harus oleh petugas lain, bukan yang mengusulkan ({officer})"),
        (r"the approved benefit of (?P<amount>\S+) was already paid",
         "manfaat yang disetujui sebesar {amount} sudah dibayar"),
        (r"say why", "tuliskan alasannya"),
        (r"who works the claim", "pilih petugas yang mengerjakan klaim"),
        (r"an instant with its time zone, not later than now",
         "isi tanggal dan jam lengkap, tidak lebih dari sekarang"),
        (r"an instant with its time zone, not in the future",
         "isi tanggal dan jam lengkap, tidak di masa depan"),
        (r"the bank transfer reference is required", "nomor referensi transfer bank wajib diisi"),
        (r"(?P<when>\S+) is before the documents were complete",
         "{when} lebih awal dari tanggal dokumen lengkap"),
        (r"name the documents the claim waits for", "sebutkan dokumen yang masih ditunggu"),
        (r"(?P<when>\S+) is after the claim was filed", "{when} sesudah tanggal pengajuan klaim"),
        (r"(?P<officer>.+) cannot work claims", "{officer} tidak berhak mengerjakan klaim"),
        (r"(?P<officer>.+) does not work in the claimant's kecamatan",
         "{officer} tidak bertugas di kecamatan peserta"),
        (r"no user (?P<who>.+)", "tidak ada pengguna {who}"),
        (r"unknown document (?P<doc>.+); one of .+", "dokumen {doc} tidak dikenal"),
        # benefits (services/domain/benefits.py, services/claim_assessment.py)
        (r"membership months must be >= 0, got (?P<value>.+)",
         "lama kepesertaan tidak boleh negatif, bukan {value}"),
        (r"(?P<what>.+) must be an int rupiah amount, got (?P<value>.+)",
         "{what} harus jumlah rupiah yang bulat, bukan {value}"),
        (r"(?P<what>.+) must be positive, got (?P<value>.+)",
         "{what} harus lebih dari Rp0, bukan {value}"),
        (r"(?P<what>.+) must be >= 0, got (?P<value>.+)",
         "{what} tidak boleh kurang dari Rp0, bukan {value}"),
        (r"STMB period from (?P<when>\S+) starts before the incapacity \((?P<when2>\S+)\)",
         "masa STMB mulai {when}, sebelum awal tidak mampu bekerja ({when2})"),
        (r"STMB period ends \((?P<when>\S+)\) before it starts \((?P<when2>\S+)\)",
         "masa STMB berakhir ({when}) sebelum dimulai ({when2})"),
        (r"table percent must be an int or a Decimal, got (?P<value>.+)",
         "persentase cacat menurut tabel harus berupa angka, bukan {value}"),
        (r"table percent must be in \(0, 100\], got (?P<value>.+)",
         "persentase cacat menurut tabel harus lebih dari 0 dan paling tinggi 100, bukan {value}"),
        (r"one scholarship year per child and claim, got (?P<asked>\S+) requests for "
         r"(?P<children>\S+) children",
         "beasiswa satu tahun per anak untuk tiap klaim: ada {asked} permintaan untuk "
         "{children} anak"),
        (r"a JKM claim has no medical, transport or STMB benefits",
         "klaim JKM tidak mencakup biaya pengobatan, transportasi, atau STMB"),
        # accidents (services/accidents.py)
        (r"the Stage II report is already in", "laporan Tahap II sudah masuk"),
        (r"an instant with its time zone", "isi tanggal dan jam lengkap"),
        (r"(?P<when>\S+) is in the future", "{when} masih di masa depan"),
        (r"(?P<when>\S+) is before (?P<field>\S+) (?P<when2>\S+)",
         "{when} lebih awal dari {field} ({when2})"),
        (r"(?P<when>\S+) is before (?P<when2>\S+)", "{when} lebih awal dari {when2}"),
        (r"where the accident happened is required", "tempat kejadian wajib diisi"),
        (r"how the accident happened is required", "kronologi kejadian wajib diisi"),
        (r"(?P<needed>\S+) witnesses with their names, got (?P<got>\S+)",
         "perlu {needed} saksi beserta namanya, baru ada {got}"),
        (r"a traffic accident needs a police report",
         "kecelakaan lalu lintas memerlukan laporan polisi"),
        (r"the table % of the impairment, 1-100",
         "isi persentase cacat menurut tabel, 1 sampai 100"),
        (r"only for a partial disability", "hanya diisi untuk cacat sebagian"),
        (r"one of .+", "bukan pilihan yang tersedia; pilih salah satu dari daftar"),
        # cohorts (services/cohorts.py, services/api/cohorts.py)
        (r"the cohort is not open", "kohort tidak sedang dibuka"),
        (r"it is already open", "kohort sudah dibuka"),
        (r"it is not open", "kohort tidak sedang dibuka"),
        (r"the new budget year must come after (?P<year>\S+)",
         "tahun anggaran baru harus sesudah {year}"),
        (r"must be a non-empty id without '-'", "wajib diisi, tanpa tanda '-'"),
        (r"unknown programmes? (?P<codes>.+)", "program tidak dikenal: {codes}"),
        (r"a cohort covers at least JKK and JKM", "kohort paling sedikit mencakup JKK dan JKM"),
        (r"at least one programme is needed", "pilih paling sedikit satu program"),
        (r"name at least one legal basis", "sebutkan paling sedikit satu dasar hukum"),
        (r"must be at least 1", "paling sedikit 1"),
        (r"must come after coverage_start", "harus sesudah awal masa perlindungan"),
        (r"must not be negative", "tidak boleh negatif"),
        (r"must lie in (?P<first>\S+)-(?P<last>\S+)", "harus antara tahun {first} dan {last}"),
        (r"at most (?P<count>\S+) months", "paling lama {count} bulan"),
        # payments (services/contributions.py, services/api/payments.py)
        (r"it is already reversed", "pembayaran ini sudah dibatalkan"),
        (r"it changed meanwhile; look again",
         "data pembayaran berubah sementara itu; muat ulang halaman dan periksa kembali"),
        (r"(?P<who>\S+) is not a member", "{who} bukan peserta aktif"),
        (r"say why the payment is reversed", "tuliskan alasan pembatalan pembayaran"),
        (r"the bank or receipt reference is required",
         "nomor referensi bank atau kuitansi wajib diisi"),
        (r"who paid is required", "pembayar wajib diisi"),
        (r"how it was paid is required", "cara pembayaran wajib diisi"),
        (r"must be more than Rp0", "harus lebih dari Rp0"),
        (r"name either a cohort or participants, not both",
         "pilih kohort atau peserta, bukan keduanya"),
        (r"name a cohort or a participant", "pilih kohort atau peserta"),
        (r"1 to (?P<count>\S+) different months", "1 sampai {count} bulan yang berbeda"),
        (r"expected a month as YYYY-MM, got (?P<text>.*)",
         "bulan ditulis sebagai TTTT-BB (misalnya 2026-11), bukan {text}"),
        (r"no such month: (?P<text>.*)", "bulan {text} tidak ada"),
        (r"must be a whole, non-negative rupiah amount: (?P<value>.+)",
         "harus jumlah rupiah yang bulat dan tidak negatif, bukan {value}"),
        # participants (services/participants.py, services/registration.py, services/domain/)
        (r"they have left", "peserta sudah keluar"),
        (r"only members can leave", "hanya peserta aktif yang dapat keluar"),
        (r"(?P<when>\S+) is after today, (?P<when2>\S+)",
         "{when} sesudah hari ini ({when2}): tanggal keluar tidak boleh di masa depan"),
        (r"(?P<when>\S+) is before the current enrolment, made on (?P<when2>\S+)",
         "{when} lebih awal dari tanggal pendaftaran kepesertaan yang sekarang ({when2})"),
        (r"they have died", "peserta sudah meninggal dunia"),
        (r"their membership is still running", "kepesertaannya masih berjalan"),
        (r"they never joined", "peserta belum pernah menjadi anggota"),
        (r"a KPJ number is 8 to 13 digits", "nomor KPJ terdiri dari 8 sampai 13 angka"),
        (r"must not be empty", "wajib diisi"),
        (r"an Indonesian mobile number, e.g. (?P<example>\S+)",
         "isi nomor HP Indonesia, misalnya {example}"),
        (r"at least (?P<amount>Rp\S+)", "paling sedikit {amount}"),
        (r"L \(laki-laki\) or P \(perempuan\)", "L (laki-laki) atau P (perempuan)"),
        (r"name at least one heir", "sebutkan paling sedikit satu ahli waris"),
        (r"NIK is empty", "NIK wajib diisi"),
        (r"NIK must contain only digits, found (?P<char>.+) at position (?P<at>\S+)",
         "NIK hanya boleh berisi angka; ada {char} pada posisi {at}"),
        (r"NIK must be (?P<count>\S+) digits, got (?P<got>\S+)",
         "NIK harus {count} angka, bukan {got}"),
        (r"NIK birth day must be 01-31 \(men\) or 41-71 \(women\), got (?P<got>\S+)",
         "tanggal lahir dalam NIK harus 01-31 (laki-laki) atau 41-71 (perempuan), bukan {got}"),
        (r"NIK birth month must be 01-12, got (?P<got>\S+)",
         "bulan lahir dalam NIK harus 01-12, bukan {got}"),
        (r"NIK serial must be 0001-9999, got (?P<got>\S+)",
         "nomor urut dalam NIK harus 0001-9999, bukan {got}"),
        (r"NIK birth date (?P<digits>\S+) is not a real date \((?P<read>\S+)\)",
         "tanggal lahir dalam NIK ({digits}) bukan tanggal yang ada ({read})"),
        (r"declared sex (?P<said>\S+) disagrees with the NIK, which says (?P<nik>\S+)",
         "jenis kelamin {said} tidak sesuai dengan NIK, yang menunjukkan {nik}"),
        (r"declared birth date (?P<when>\S+) \(DDMMYY (?P<said>\S+)\) disagrees with the NIK, "
         r"which says DDMMYY (?P<nik>\S+)",
         "tanggal lahir {when} ({said}) tidak sesuai dengan NIK, yang menunjukkan {nik} "
         "(HHBBTT)"),
        (r"unknown kecamatan code (?P<code>.+) in (?P<regency>.+) \((?P<regency_code>\S+)\)",
         "kode kecamatan {code} tidak dikenal di {regency} ({regency_code})"),
        (r"unknown desa/kelurahan code (?P<code>.+) in (?P<regency>.+) \((?P<regency_code>\S+)\)",
         "kode desa/kelurahan {code} tidak dikenal di {regency} ({regency_code})"),
        (r"(?P<level>\S+) (?P<code>\S+) \((?P<name>.+)\) is in kecamatan (?P<owner>\S+) "
         r"\((?P<owner_name>.+)\), not (?P<given>\S+) \((?P<given_name>.+)\)",
         "{level} {code} ({name}) berada di kecamatan {owner} ({owner_name}), bukan {given} "
         "({given_name})"),
        (r"expected YYYY-MM-DD or DD/MM/YYYY, got (?P<text>.*)",
         "tanggal ditulis TTTT-BB-HH atau HH/BB/TTTT, bukan {text}"),
        (r"expected an amount in rupiah, got (?P<text>.*)",
         "isi jumlah dalam rupiah, bukan {text}"),
        # accounts (services/users.py)
        (r"the user's scope is wider than yours",
         "wilayah kerja pengguna itu lebih luas daripada wilayah kerja Anda"),
        (r"your own account: (?P<why>.+)", "ini akun Anda sendiri: {why}"),
        (r"another administrator must change them", "administrator lain yang harus mengubahnya"),
        (r"nobody may lock themself out", "tidak seorang pun boleh mengunci dirinya sendiri"),
        (r"3 to 32 characters: lower-case letters, digits, '\.', '_' or '-', a letter first",
         "3 sampai 32 karakter: huruf kecil, angka, '.', '_' atau '-', diawali huruf"),
        (r"(?P<low>\d+) to (?P<high>\d+) characters", "{low} sampai {high} karakter"),
        (r"must not be the username", "tidak boleh sama dengan nama pengguna"),
        (r"at least one role", "pilih paling sedikit satu peran"),
        (r"unknown (?P<codes>.+); one of .+", "peran tidak dikenal: {codes}"),
        (r"unknown kecamatan (?P<codes>.+)", "kecamatan tidak dikenal: {codes}"),
        (r"beyond your own scope \((?P<mine>.+)\)", "di luar wilayah kerja Anda ({mine})"),
        # reads (services/api/common.py)
        (r"(?P<value>\S+) is not between (?P<first>\S+) and (?P<last>\S+)",
         "{value} tidak di antara {first} dan {last}"),
        # Litestar's validation (msgspec) of a request's parameters and body
        (r"Object missing required field `(?P<field>[^`]+)`", "{field} wajib diisi"),
        (r"Object contains unknown field `(?P<name>[^`]+)`", "isian {name} tidak dikenal"),
        (r"Missing required (?:\w+ )?parameter '?(?P<field>[^' ]+)'?.*", "{field} wajib diisi"),
        (r"Invalid enum value .+", "bukan pilihan yang tersedia; pilih salah satu dari daftar"),
        (r"Invalid RFC3339 encoded datetime", "bukan tanggal dan jam yang benar"),
        (r"Invalid RFC3339 encoded date", "bukan tanggal yang benar"),
        (r"Invalid RFC3339 encoded time", "bukan jam yang benar"),
        (r"Expected `datetime` with a timezone component", "isi tanggal dan jam lengkap"),
        (r"Expected `[^`]+` matching regex .+", "formatnya tidak sesuai"),
        (r"Invalid .+", "isinya tidak dapat dibaca"),
    ]
)  # fmt: skip


def _msgspec_reason(reason: str) -> str | None:
    """msgspec's type and bound messages ("Expected `int` >= 1", "Expected `str` of length
    >= 1", "Expected `int`, got `str`") in Indonesian."""
    found = re.fullmatch(r"Expected `(\w+)`(?:, got `\w+`| (of length )?(>=|<=|>|<) (\S+))", reason)
    if found is None:
        return None
    kind, length, bound, limit = found.groups()
    if bound is None:
        return f"harus berupa {_TYPES.get(kind, kind)}"
    if length:
        unit = "karakter" if kind == "str" else "butir"
        return f"panjangnya {_BOUNDS[bound]} {limit} {unit}"
    return f"harus {_BOUNDS[bound]} {limit}"


def reason_text(reason: str) -> str | None:
    """A reason or field error phrase from the domain or Litestar in Indonesian (lower case,
    no final stop), or None when the catalog does not know it."""
    text = reason.strip()
    for pattern, render in _REASONS:
        found = pattern.fullmatch(text)
        if found:
            return render(found.groupdict())
    return _msgspec_reason(text)


# -- sentences per kind of problem -----------------------------------------------------------------


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def _unknown(problem: Mapping[str, Any], what: str) -> None:
    log.warning("no Indonesian wording for %s in problem %s", what, problem.get("type"))


def _action(action: str) -> str | None:
    document = re.fullmatch(r"receive the (\S+)", action)
    if document:
        return f"mencatat penerimaan {_documents(document[1])}"
    return ACTIONS.get(action)


def _state(entity: str, state: str) -> str:
    year = re.fullmatch(r"budget year (\S+)", state)
    if year:
        return f"tahun anggaran {year[1]}"
    return STATES.get(entity, {}).get(state, state)


def _transition_reason(problem: Mapping[str, Any], entity: str) -> str | None:
    reason = str(problem.get("reason") or "")
    state = str(problem.get("state") or "")
    allowed = re.fullmatch(r"only from (.+)", reason)
    if allowed:
        names = " atau ".join(f'"{_state(entity, s)}"' for s in allowed[1].split(" or "))
        return f'hanya dari status {names}, sedangkan statusnya sekarang "{_state(entity, state)}"'
    if reason == "already":
        return f'statusnya sudah "{_state(entity, state)}"'
    return reason_text(reason) if reason else None


def _illegal_transition(problem: Mapping[str, Any]) -> str | None:
    """ "Tidak dapat mengajukan klaim: dokumen masih kurang: KTP peserta." """
    entity = str(problem.get("entity") or "").split(" ", 1)[0]
    action = _action(str(problem.get("action") or ""))
    reason = _transition_reason(problem, entity)
    if action is None or (reason is None and problem.get("reason")):
        _unknown(problem, f"action {problem.get('action')!r} / reason {problem.get('reason')!r}")
    if action is None and reason is None:
        return None
    doing = f"Tidak dapat {action}" if action else "Tindakan ini tidak dapat dilakukan"
    return _sentence(f"{doing}: {reason}" if reason else f"{doing} pada keadaan data sekarang")


def field_problem(error: Mapping[str, Any]) -> str:
    """One field error ({"field", "reason"}) as "Tanggal diterima: isi tanggal dan jam
    lengkap"; also for the rows of an import report."""
    field = str(error.get("field") or "")
    reason = str(error.get("reason") or "")
    said = reason_text(reason)
    if said is None:
        log.warning("no Indonesian wording for the field error %r", reason)
        said = "isinya belum benar"
    if not field or field == "data" or said.startswith(field_label(field)):
        return _sentence(said)
    label = field_label(field)
    return _sentence(f"{label[:1].upper()}{label[1:]}: {said}")


def _invalid(problem: Mapping[str, Any]) -> str | None:
    """ "Isian belum benar. Tanggal diterima: isi tanggal dan jam lengkap." """
    errors = [e for e in problem.get("errors") or [] if isinstance(e, Mapping)]
    if not errors:
        return None
    return " ".join(["Isian belum benar.", *(field_problem(e) for e in errors)])


_KEY_SHOWN = frozenset({"participant with KPJ", "rate table in force for month", "user"})
"""Kinds whose key the officer typed or knows (an id of another kind means nothing to them)."""


def _kind(problem: Mapping[str, Any]) -> str | None:
    kind = problem.get("kind")
    return KINDS.get(str(kind)) if kind else None


def _not_found(problem: Mapping[str, Any]) -> str | None:
    if " has no events as of " in str(problem.get("detail") or ""):
        return "Belum ada catatan untuk data ini pada tanggal tersebut."
    kind = _kind(problem)
    if kind is None:
        return None
    key = problem.get("key")
    named = f"{kind} {key}" if key and problem.get("kind") in _KEY_SHOWN else kind
    return _sentence(f"{named} tidak ditemukan, atau berada di luar wilayah kerja Anda")


def _duplicate(problem: Mapping[str, Any]) -> str | None:
    kind, key = str(problem.get("kind") or ""), str(problem.get("key") or "")
    if kind == "participant" and key == "NIK":
        return "NIK ini sudah terdaftar sebagai peserta."
    if kind == "user":
        return f"Nama pengguna {key} sudah dipakai."
    if kind == "payment":
        return (
            f"Pembayaran dengan nomor referensi {key} sudah tercatat dengan isi yang berbeda. "
            "Periksa nomor referensinya."
        )
    if kind == "claim":
        return "Klaim untuk kejadian ini sudah diajukan."
    said = _kind(problem)
    return _sentence(f"{said} {key} sudah tercatat") if said else None


_DEATH_CLAIMS = {
    "JKK": "klaim JKK (kecelakaan kerja yang mengakibatkan meninggal dunia)",
    "JKM": "klaim JKM (meninggal dunia bukan karena kecelakaan kerja)",
}


def _death_already_claimed(problem: Mapping[str, Any]) -> str:
    """ "Kematian peserta ini sudah diajukan dalam klaim JKM (...) yang berstatus ..." """
    kind = str(problem.get("claim_kind") or "")
    claim = _DEATH_CLAIMS.get(kind, "klaim lain")
    state = CLAIM_STATES.get(str(problem.get("claim_state") or ""))
    status = f' yang berstatus "{state}"' if state else ""
    return (
        f"Kematian peserta ini sudah diajukan dalam {claim}{status}. Satu kematian hanya dapat "
        "diklaim satu kali: klaim lain untuk kematian yang sama baru dapat diajukan atau dibuka "
        "kembali setelah klaim itu ditolak. Tidak ada yang dicatat."
    )


def _quota_exceeded(problem: Mapping[str, Any]) -> str:
    cohort, quota, active = problem.get("cohort"), problem.get("quota"), problem.get("active")
    if quota is None:
        return "Kohort sudah penuh."
    return f"Kohort {cohort} sudah penuh: kuota {quota} orang, peserta aktif {active} orang."


def _login_throttled(problem: Mapping[str, Any]) -> str:
    wait = re.search(r"(\d+) s\b", str(problem.get("detail") or ""))
    minutes = -(-int(wait[1]) // 60) if wait else None
    later = f"dalam {minutes} menit" if minutes else "nanti"
    return f"Terlalu banyak percobaan masuk yang gagal. Coba lagi {later}."


def _fixed(text: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda problem: text


PROBLEM_TYPES: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "illegal-transition": _illegal_transition,
    "validation-failed": _invalid,
    "invalid-request": _invalid,
    "not-found": _not_found,
    "duplicate": _duplicate,
    "quota-exceeded": _quota_exceeded,
    "death-already-claimed": _death_already_claimed,
    "forbidden": _fixed("Peran Anda tidak mengizinkan tindakan ini."),
    "login-throttled": _login_throttled,
    "unauthenticated": _fixed("Sesi Anda telah berakhir. Silakan masuk kembali."),
    "invalid-token": _fixed("Sesi Anda telah berakhir. Silakan masuk kembali."),
    "invalid-credentials": _fixed("Nama pengguna atau kata sandi salah."),
    "account-disabled": _fixed("Akun Anda dinonaktifkan. Hubungi administrator."),
    "regency-wide-only": _fixed(
        "Data ini hanya dapat dibuka oleh petugas tingkat kabupaten; wilayah kerja Anda "
        "terbatas pada kecamatan tertentu."
    ),
    "out-of-scope": _fixed("Sebagian data berada di luar kecamatan wilayah kerja Anda."),
    "read-model-behind": _fixed(
        "Data belum selesai diperbarui. Muat ulang halaman ini sebentar lagi."
    ),
    "unknown-position": _fixed(
        "Tautan halaman ini tidak lagi berlaku. Buka kembali halaman dari menu."
    ),
    "bad-cursor": _fixed("Tautan halaman ini tidak berlaku. Buka kembali halaman dari menu."),
    "bad-idempotency-key": _fixed(
        "Formulir tidak dapat dikirim. Muat ulang halaman, lalu coba lagi."
    ),
    "idempotency-key-reused": _fixed(
        "Formulir ini sudah pernah dikirim dengan isi yang berbeda. Muat ulang halaman, lalu "
        "isi kembali."
    ),
    "idempotency-key-in-flight": _fixed(
        "Formulir yang sama masih diproses. Tunggu sebentar, lalu muat ulang halaman."
    ),
    "unreadable-file": _fixed(
        "Berkas daftar peserta tidak dapat dibaca. Gunakan berkas CSV atau XLSX dengan kolom "
        "yang sesuai contoh."
    ),
    "version-conflict": _fixed(
        "Data ini baru saja diubah oleh orang lain. Muat ulang halaman, lalu coba lagi."
    ),
    "internal-error": _fixed(_BY_STATUS[500]),
    "not-ready": _fixed(_BY_STATUS[503]),
}
"""A sentence per problem type (`urn:jaga:problem:<slug>`); the status decides the rest."""


def refusal(error: ApiRefused) -> str:
    """One Indonesian sentence (or a few) saying why the API refused."""
    explain = PROBLEM_TYPES.get(error.slug)
    said = explain(error.problem) if explain else None
    return said or _BY_STATUS.get(error.status, "Terjadi kesalahan. Coba lagi.")
