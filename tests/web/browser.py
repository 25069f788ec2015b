"""Debian's Chromium for the browser tests, installed when missing.

Playwright drives the browser at /usr/bin/chromium (JAGA_CHROMIUM overrides). When it is not
there, the test setup installs Debian's `chromium` (and the fonts it recommends) as root with
apt-get, or else Playwright's own build (`playwright install chromium`), and fails plainly if
neither works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


def chromium_executable() -> str | None:
    """The browser to drive: a path, or None for Playwright's own build (installed here)."""
    configured = os.environ.get("JAGA_CHROMIUM")
    if configured:
        return configured
    if DEBIAN_CHROMIUM.exists():
        return str(DEBIAN_CHROMIUM)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        apt = ["apt-get", "-qq", "-o", "Dpkg::Use-Pty=0"]
        subprocess.run([*apt, "update"], check=True, env=env, capture_output=True)
        done = subprocess.run(
            [*apt, "install", "-y", "--no-install-recommends", "chromium", "fonts-liberation"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode == 0 and DEBIAN_CHROMIUM.exists():
            return str(DEBIAN_CHROMIUM)
    done = subprocess.run(
        [sys.executable, "-m", "playwright", "install", "chromium"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(
            "the browser tests need Chromium: install Debian's `chromium` package, or let "
            f"`playwright install chromium` download it (it said: {done.stderr.strip()[-500:]})"
        )
    return None
