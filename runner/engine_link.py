"""The parent's side of a worker-process engine: messages in, faults and interrupts handled.

Everything that can go wrong while the worker runs ends here with the journal intact: results
already received are committed as they come (the caller's `on_results`), a dead worker or dead
vLLM engine process is noticed within a poll or two (not only the direct child: the engine core
and its workers too), and Ctrl-C / SIGTERM asks the worker to flush what has finished before the
process group is ended. Nothing waits without a bound.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError, RunError
from evalrun.runner.engine_errors import cause_from_log, read_log
from evalrun.runner.interrupts import StopRequests
from evalrun.runner.watchdog import Death, EngineWatch, group_members

POLL_S = 0.2
DEATH_GRACE_S = 2.0  # after a death, how long the worker may still report its own error (the cause)
STOP_GRACE_S = 5.0  # after Ctrl-C, how long the worker may take to send what has finished
TERM_GRACE_S = 2.0


class Link:
    """Receives a worker's messages, delivering results to `on_results` and failing fast on faults."""

    def __init__(self, conn, proc, on_results, log_path: Path | None, log_offset: int, stop: StopRequests) -> None:
        self.conn, self.proc, self.on_results = conn, proc, on_results
        self.log_path, self.log_offset, self.stop = log_path, log_offset, stop
        self.watch = EngineWatch(proc.pid)
        self.ready = False

    def expect(self, expected: str) -> dict[str, Any]:
        """Deliver results until the `expected` message arrives; its payload.

        The process tree is checked every POLL_S whether or not messages flow, so every engine
        process is seen while alive and its death noticed even while results still stream in.
        """
        next_check = 0.0
        while True:
            if self.stop.requested:
                self._stop()
            if time.monotonic() >= next_check:
                death = self.watch.check() or (None if self.proc.is_alive() else self._worker_death())
                if death is not None:
                    self._died(death)
                next_check = time.monotonic() + POLL_S
            if self.conn.poll(POLL_S):
                msg = self._recv()
                if msg is None:
                    self._died(self._worker_death())
                kind, payload = msg
                if kind == expected:
                    return payload
                if kind == "error" and (death := self.watch.check()) is not None:
                    self._died(death, [payload])  # vLLM noticed first; the dead process is the cause
                self._handle(kind, payload)

    def _recv(self) -> tuple[str, Any] | None:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            return None

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "results":
            self.on_results(payload)
        elif kind == "error":
            err_kind, message = payload
            raise (InputError if err_kind == "input" else RunError)(message)
        elif kind != "stopped":
            raise RunError(f"unexpected message {kind!r} from the vLLM worker")

    def _worker_death(self) -> Death:
        self.proc.join(timeout=1)
        code = self.proc.exitcode  # negative: killed by that signal
        if code is None or code >= 0:
            return Death(self.proc.pid, "worker", code=code)
        return Death(self.proc.pid, "worker", signal=-code)

    def _drain(self, until: float, stop_on: str | None = None) -> list[tuple[str, Any]]:
        """Deliver results that are (or become, before `until`) waiting; other messages are returned."""
        other = []
        while time.monotonic() < until and (self.stop.count < 2 or self.conn.poll(0)):
            if not self.conn.poll(POLL_S):
                if not self.proc.is_alive() and not self.conn.poll(0):
                    break
                continue
            msg = self._recv()
            if msg is None:
                break
            if msg[0] == "results":
                self.on_results(msg[1])
            else:
                other.append(msg)
                if msg[0] in (stop_on, "error"):
                    break
        return other

    def _died(self, death: Death, errors: list | None = None) -> None:
        """An engine process is gone: commit what arrived, and fail with the cause and the log.

        After Ctrl-C the engine may die of the interrupt itself (a second Ctrl-C kills its group at once):
        that is the interrupt, not a fault.
        """
        if self.stop.requested:
            self._drain(time.monotonic() + DEATH_GRACE_S)
            raise KeyboardInterrupt
        if errors is None:
            other = self._drain(time.monotonic() + DEATH_GRACE_S, stop_on="error")
            errors = [p for k, p in other if k == "error"]
        if errors and (not self.ready or (death.name == "worker" and death.code == 0)):
            self._handle("error", errors[0])  # the worker ended itself: its own message names the cause
        if death.signal is None and death.code is None:
            death = _status_from_log(death, read_log(self.log_path, self.log_offset))
        cause = None if death.signal is not None else cause_from_log(self.log_path, self.log_offset)
        see = f"see {self.log_path}" if self.log_path else "its log is above"
        why = f"; first error in its log: {cause}" if cause else ""
        raise RunError(f"{death.describe()}{why}; finished results are kept in the journal ({see}); "
                       "rerun the same command to resume")

    def _stop(self) -> None:
        """Ctrl-C / SIGTERM: ask the worker to send what has finished, commit it, then interrupt."""
        if self.ready and self.proc.is_alive():
            try:
                os.kill(self.proc.pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass
            self._drain(time.monotonic() + STOP_GRACE_S, stop_on="stopped")
        raise KeyboardInterrupt


def _status_from_log(death: Death, log: str) -> Death:
    """vLLM logs `Worker proc NAME died unexpectedly (exit code: -9)` when it reaps a worker before we look."""
    m = death.name.startswith("VLLM::Worker") and re.search(r"died unexpectedly \(exit code: (-?\d+)\)", log)
    if not m:
        return death
    code = int(m.group(1))
    return Death(death.pid, death.name, signal=-code) if code < 0 else Death(death.pid, death.name, code=code)


def end_group(proc, gently: bool) -> None:
    """End the worker and every process vLLM started under it (they share its process group).

    `gently`: the worker finished and is shutting its engine down itself, so it gets time to. Otherwise
    (a fault, an interrupt) the engine has nothing left worth a graceful shutdown: it is killed at once
    (multiprocessing's resource tracker still removes the shared memory it leaves).
    """
    if gently:
        proc.join(timeout=10)
    for sig in (signal.SIGTERM, signal.SIGKILL) if gently else (signal.SIGKILL,):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + TERM_GRACE_S
        while time.monotonic() < deadline and group_members(proc.pid):
            time.sleep(0.05)
    if proc.is_alive():  # still in our group (killed before its setpgrp): its lifeline ends the rest
        proc.kill()
    proc.join(timeout=5)


def kill_group(proc) -> None:
    """The second Ctrl-C: end the engine's process group at once (safe to call from a signal handler)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, TypeError):
        pass
