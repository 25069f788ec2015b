"""Helpers shared by the embedded-server tests."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from services.processes import cmdline_tokens, is_alive


def servers_on(data_dir: Path) -> list[psutil.Process]:
    """Live processes with the data dir in their command line (postmaster, valkey-server)."""
    prefix = str(data_dir)
    return [
        proc
        for proc in psutil.process_iter()
        if proc.pid != os.getpid()
        and any(token.startswith(prefix) for token in cmdline_tokens(proc))
        and is_alive(proc)
    ]
