"""Refusals in plain Indonesian: what a page shows when the API says no.

The API's problems are for programs (a stable `type`, an English `detail`); an officer
reads this instead. Each problem type has a sentence of its own; field errors name the
field the officer filled in.
"""

from __future__ import annotations

from services.web.client import ApiRefused

_BY_STATUS = {
    400: "Permintaan tidak dapat dibaca. Periksa isian Anda.",
    401: "Sesi Anda telah berakhir. Silakan masuk kembali.",
    403: "Anda tidak berhak melakukan tindakan ini.",
    404: "Data tidak ditemukan, atau berada di luar wilayah kerja Anda.",
    409: "Tindakan ini tidak dapat dilakukan pada keadaan data sekarang.",
    422: "Isian tidak valid.",
    429: "Terlalu banyak percobaan. Tunggu sebentar, lalu coba lagi.",
    503: "Sistem sedang sibuk. Coba lagi sebentar lagi.",
}


def refusal(error: ApiRefused) -> str:
    """One Indonesian sentence (or a few) saying why the API refused."""
    return _BY_STATUS.get(error.status, "Terjadi kesalahan. Coba lagi.")
