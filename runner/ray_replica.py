"""One engine replica: a long-lived Ray actor owning one vLLM engine, built exactly as the local engine is.

The engine is built by the local engine's own `_build_llm` (same options, same engine arguments) and
each work unit runs through its `_run` (same chat-template rendering, same label-token logic, the same
per-adapter submissions on CPU), so a replica's completions are the local engine's completions. The
actor is threaded: one thread runs a unit while another hands the finished completions to the driver,
which is the only writer of the journal. vLLM runs in the actor's own process (no engine-core child
process), so a replica that is killed takes its engine with it.
"""

from __future__ import annotations

import os
import platform
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from evalrun.runner.engine import EngineOptions
from evalrun.runner.ray_ship import Shipment, unpack


class _Buffer:
    """Stands in for the worker's pipe: `_run` sends ("results", batch) here, the driver drains it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[int, dict]] = []

    def send(self, message: tuple[str, Any]) -> None:
        kind, payload = message
        if kind == "results":
            with self.lock:
                self.items.extend(payload)

    def take(self) -> list[tuple[int, dict]]:
        with self.lock:
            out, self.items = self.items, []
        return out


class Replica:
    """Ray actor body (decorated with ray.remote by the pool, which picks its resources)."""

    def __init__(self, index: int, log_path: str | None) -> None:
        if log_path and Path(log_path).parent.is_dir():  # a node that sees the run dir logs there
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
        self.index = index
        self.buffer = _Buffer()
        self.llm, self.loras, self.info = None, {}, {}

    def load(
        self, model: Shipment, options: EngineOptions, loras: dict[str, Shipment], extra_args: dict
    ) -> dict[str, Any]:
        """Fetch and check the model and adapters, build the engine; what this replica is, for the manifest.

        A method rather than the constructor so that the driver calls it again after Ray restarts the actor
        (a constructor holding object-store references cannot be replayed safely)."""
        import ray
        from evalrun.runner.vllm_engine import _build_llm

        scratch = Path(tempfile.mkdtemp(prefix=f"evalrun-replica{self.index}-"))
        t0 = time.perf_counter()
        model_path = unpack(model, scratch)
        self.loras = {name: unpack(s, scratch) for name, s in loras.items()}
        ship_s = time.perf_counter() - t0
        self.llm, self.info = _build_llm(model_path, options, self.loras, extra_args)
        ctx = ray.get_runtime_context()
        self.info.update(
            engine_load_s=round(time.perf_counter() - t0, 3), ship_s=round(ship_s, 3), replica=self.index,
            node_id=ctx.get_node_id(), host=socket.gethostname(), pid=os.getpid(), ray_version=ray.__version__,
            resources=dict(ctx.get_assigned_resources()), python=platform.python_version(),
            model_fingerprint=model.fingerprint, lora_fingerprints={n: s.fingerprint for n, s in loras.items()},
        )
        return self.info

    def run_unit(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        """Generate one work unit; completions stream out through `drain`, the rest come back with the stats."""
        from evalrun.runner.vllm_engine import _run

        stats = _run(self.llm, requests, self.loras, self.buffer)
        return {"stats": stats, "results": self.buffer.take()}

    def drain(self) -> list[tuple[int, dict]]:
        """Completions finished since the last call: (index in the unit, Completion as a dict)."""
        return self.buffer.take()
