"""Audit pages (being built)."""

from __future__ import annotations

from litestar import Controller


class AuditPages(Controller):
    path = "/app/audit"
    include_in_schema = False
