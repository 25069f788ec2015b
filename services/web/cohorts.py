"""Kohort pages (being built)."""

from __future__ import annotations

from litestar import Controller


class CohortPages(Controller):
    path = "/app/cohorts"
    include_in_schema = False
