"""Peserta pages (being built)."""

from __future__ import annotations

from litestar import Controller


class ParticipantPages(Controller):
    path = "/app/participants"
    include_in_schema = False
