"""Turn SIGTERM into the same clean shutdown as Ctrl-C.

Python only raises KeyboardInterrupt on SIGINT; SIGTERM (what `docker stop`,
systemd and `kill` send) would end the process on the spot and orphan the
embedded servers. Both now unwind `with` blocks, which stop what they started.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

log = logging.getLogger("jaga")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ShutdownSignals:
    """Raise KeyboardInterrupt on the first SIGINT/SIGTERM and ignore repeats.

    Ignoring repeats keeps an impatient second Ctrl-C from cutting the
    shutdown short and leaving servers behind. (uvicorn installs its own
    handlers while it serves and re-raises the signal once drained, which
    lands here.)
    """

    def __init__(self) -> None:
        self.received: signal.Signals | None = None

    def install(self) -> None:
        """Install the handlers (main thread only)."""
        for sig in SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            log.warning("%s ignored: already shutting down", signal.Signals(signum).name)
            return
        self.received = signal.Signals(signum)
        log.info("%s received: shutting down", self.received.name)
        raise KeyboardInterrupt
