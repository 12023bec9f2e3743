"""Watching an engine's process tree from the parent, so a dead engine process is noticed in a second.

vLLM runs below our worker process as `VLLM::EngineCore` and `VLLM::Worker` processes (in the
worker's process group). When one of them dies (an out-of-memory kill is the likeliest), the worker
may wait for it forever or report it only after its own timeouts. The parent scans /proc for the
group's engine processes and reports the first one that vanishes, with its exit status when the
kernel still has it (a zombie not yet reaped by its parent).
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

ENGINE_PREFIX = "VLLM::"


@dataclass(frozen=True)
class Death:
    pid: int
    name: str
    signal: int | None = None  # the signal that ended it, when known
    code: int | None = None  # its exit code, when known

    @classmethod
    def from_wait_status(cls, pid: int, name: str, status: int) -> Death:
        if os.WIFSIGNALED(status):
            return cls(pid, name, signal=os.WTERMSIG(status))
        return cls(pid, name, code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None)

    def describe(self) -> str:
        how = "died"
        if self.signal is not None:
            how = f"was killed by {signal.Signals(self.signal).name}"
            if self.signal == signal.SIGKILL:
                how += " (often the out-of-memory killer)"
        elif self.code is not None:
            how = f"exited with code {self.code}"
        what = "the vLLM worker process" if self.name == "worker" else f"the vLLM engine process {self.name}"
        return f"{what} (pid {self.pid}) {how}"


def _stat(pid: str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, ... (None if gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace").strip()
    except OSError:
        return ""


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and (st := _stat(pid)) and st[2] == str(pgid) and st[0] != "Z":
            out.append(int(pid))
    return out


class EngineWatch:
    """The engine processes of one worker's process group, and which of them has died since last seen.

    A process counts as an engine process once it has kept its engine title over two scans. A process
    an engine forks (vLLM's CPU worker runs `lscpu` through a shell while it starts) carries its parent's
    title from the fork until its exec: seen in that window and gone a moment later, it would read as a
    dead engine process. Two sightings a poll apart exclude it; an engine process that dies within its
    first poll is still reported, by vLLM or by the worker, only not by this watch.
    """

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.seen: dict[str, str] = {}  # pid -> process title, for confirmed engine processes
        self.sighted: dict[str, str] = {}  # seen once with an engine title: confirmed on the next scan

    def _engine_title(self, pid: str) -> str | None:
        """The title of `pid` if it is a live engine process of this group."""
        st = _stat(pid)
        if not st or st[2] != str(self.pgid) or st[0] in ("Z", "X"):
            return None
        title = _cmdline(pid)
        return title if title.startswith(ENGINE_PREFIX) else None

    def check(self) -> Death | None:
        """Scan once: confirm engine processes seen twice, return the first confirmed one that is gone."""
        sighted = self.sighted
        self.sighted = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit() and pid not in self.seen and (title := self._engine_title(pid)):
                if sighted.get(pid) == title:
                    self.seen[pid] = title
                else:
                    self.sighted[pid] = title
        for pid, title in self.seen.items():
            st = _stat(pid)
            if st is None or st[0] in ("Z", "X") or st[2] != str(self.pgid):
                if st is not None and len(st) > 49 and st[0] == "Z":  # the kernel still has its exit status
                    return Death.from_wait_status(int(pid), title, int(st[49]))
                return Death(int(pid), title)
        return None
