"""Accident report pages (being built)."""

from __future__ import annotations

from litestar import Controller


class AccidentPages(Controller):
    path = "/app/accidents"
    include_in_schema = False
