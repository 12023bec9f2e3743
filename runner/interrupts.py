"""Ctrl-C and SIGTERM while an engine runs: say so at once, keep what finished, stop promptly.

Python's default turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be,
which can be inside a journal commit (rolling back finished results) or inside the cleanup that
ends the engine (leaving it alive, and multiprocessing then waits for it at exit: a hang). So
while an engine runs, the first signal only records the request and prints one line; the engine
loop then collects what has finished, commits it and ends the engine. A second signal ends the
engine's process group at once. A request that arrives while the engine is finishing anyway (its
last results in, its shutdown under way) still ends the run as interrupted when the section ends:
the user asked to stop, and a run that then goes on to judge and report would ignore them. Outside
that section SIGTERM is made to behave like Ctrl-C, so a terminated run also records `interrupted`.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """Context manager: SIGINT/SIGTERM set `requested`; the second one calls `force` (end the engine now)."""

    def __init__(self, force: Callable[[], None]) -> None:
        self.force = force
        self.count = 0
        self.saved: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.count > 0

    def _handle(self, signum: int, frame) -> None:
        self.count += 1
        if self.count == 1:
            sys.stderr.write("\nevalrun: interrupted: stopping the engine and keeping every finished result "
                             "(press Ctrl-C again to stop at once)\n")
        else:
            sys.stderr.write("evalrun: stopping the engine now\n")
            self.force()
        sys.stderr.flush()

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            self.saved = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for s, handler in self.saved.items():
            signal.signal(s, handler)
        if self.requested and exc_type is None:
            raise KeyboardInterrupt  # the engine finished before it saw the request; the request stands


def sigterm_as_interrupt() -> None:
    """Make SIGTERM raise KeyboardInterrupt (as Ctrl-C does), so the run's status records it."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
