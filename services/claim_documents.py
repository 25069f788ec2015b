"""The documents a claim needs, per claim kind (domain.md "Claims").

A JKK claim needs the worker's identity and participant card, the Stage I accident report, the
doctor's statement (Stage II) and a bank account; a police report for a traffic accident; the
death certificate and the heirs' documents when the worker died. A JKM claim needs the identity
and card of the deceased, the death certificate, the heirs' documents and their bank account.
An NPWP is needed only when the benefit is above the four-eyes threshold, which is known when
the claim is decided (services/claim_decider.py checks it then).
"""

from __future__ import annotations

from enum import StrEnum

from services.domain.errors import ValidationFailed


class Document(StrEnum):
    KTP = "ktp"
    """The participant's identity card (KTP)."""
    KPJ_CARD = "kpj_card"
    """The BPJS Ketenagakerjaan participant card (KPJ)."""
    FAMILY_CARD = "family_card"
    """Kartu keluarga: shows the heirs."""
    ACCIDENT_REPORT = "accident_report"
    """The Stage I accident report form, signed by the witnesses."""
    POLICE_REPORT = "police_report"
    """For a traffic accident."""
    DOCTOR_STATEMENT = "doctor_statement"
    """The doctor's statement of outcome (Stage II)."""
    MEDICAL_BILLS = "medical_bills"
    """Receipts for care paid by the worker (optional: care is usually billed directly)."""
    DEATH_CERTIFICATE = "death_certificate"
    HEIR_STATEMENT = "heir_statement"
    """Surat keterangan ahli waris: who the heirs are."""
    HEIR_KTP = "heir_ktp"
    BANK_ACCOUNT = "bank_account"
    """The account the benefit is paid into (the worker's, or the heir's after a death)."""
    NPWP = "npwp"
    """Tax number: needed for a benefit above the four-eyes threshold."""


_HEIRS = (Document.DEATH_CERTIFICATE, Document.HEIR_STATEMENT, Document.HEIR_KTP,
          Document.FAMILY_CARD)  # fmt: skip


def required_documents(
    kind: str, *, traffic: bool = False, outcome: str | None = None
) -> tuple[Document, ...]:
    """The checklist of a claim: JKK (per accident, by its outcome) or JKM (per death)."""
    if kind == "JKK":
        docs = [Document.KTP, Document.KPJ_CARD, Document.ACCIDENT_REPORT,
                Document.DOCTOR_STATEMENT, Document.BANK_ACCOUNT]  # fmt: skip
        if traffic:
            docs.append(Document.POLICE_REPORT)
        if outcome == "death":
            docs += _HEIRS
        return tuple(docs)
    if kind == "JKM":
        return (Document.KTP, Document.KPJ_CARD, *_HEIRS, Document.BANK_ACCOUNT)
    raise ValueError(f"no such claim kind {kind!r}: JKK or JKM")


def document(text: str, field: str = "document") -> Document:
    """A document name from a command; a ValidationFailed naming the known ones otherwise."""
    try:
        return Document(text.strip().lower())
    except ValueError:
        known = ", ".join(d.value for d in Document)
        raise ValidationFailed.one(field, f"unknown document {text!r}; one of {known}") from None
