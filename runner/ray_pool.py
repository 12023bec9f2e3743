"""Engine replicas on Ray: the same engine contract as the local vLLM engine, spread over a pool of actors.

The driver (the run) keeps the journal: it splits the pending requests into work units (one variant
each, prompts sharing a prefix kept together so prefix caching still pays), hands a unit to each idle
replica, drains finished completions from every busy replica a few times a second and passes them to
`on_results`, which commits them exactly as in a local run. A replica that dies has the part of its
unit that had not come back re-queued for the others; Ray restarts it once if the cluster can place it
again. When every replica is dead the run fails with one line and the journal holds every completion
that came back, so a rerun resumes. Each request is delivered once: a late duplicate is dropped.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun.evals.core import Completion
from evalrun.evals.errors import RunError
from evalrun.runner.engine import EngineOptions, OnResults
from evalrun.runner.plan import Request
from evalrun.runner.ray_cluster import RayOptions, connect
from evalrun.runner.ray_progress import ReplicaBars

DRAIN_EVERY_S = 0.25
UNITS_PER_REPLICA = 4  # enough units that a fast replica takes over a slow one's share
MAX_UNIT = 512
MAX_RESTARTS = 1
RELOAD_WAIT_S, RELOADS = 2.0, 5  # a call right after a death can still reach the dead process: retry, then give up


def work_units(requests: list[Request], replicas: int) -> list[list[int]]:
    """Request indices in units of one variant each, prompts sorted so that shared prefixes sit together."""
    size = max(1, min(MAX_UNIT, math.ceil(len(requests) / (replicas * UNITS_PER_REPLICA))))
    by_variant: dict[str, list[int]] = {}
    for i, r in enumerate(requests):
        by_variant.setdefault(r.variant, []).append(i)
    units = []
    for idx in by_variant.values():
        idx.sort(key=lambda i: json.dumps(requests[i].messages, sort_keys=True))
        units += [idx[k:k + size] for k in range(0, len(idx), size)]
    return units


@dataclass
class _Slot:
    """The driver's view of one replica."""

    index: int
    actor: Any
    state: str = "starting"  # starting -> idle <-> busy; -> dead
    pending: Any = None  # ObjectRef: load() while starting, run_unit() while busy
    drain: Any = None  # ObjectRef of an outstanding drain()
    unit: list[int] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    deaths: int = 0
    causes: list[str] = field(default_factory=list)  # why it died, each time
    reloads: int = 0  # load() calls lost since the last death
    retry_at: float = 0.0  # when to call load() again
    last_drain: float = 0.0
    stats: dict[str, float] = field(default_factory=lambda: {"units": 0, "render_s": 0.0, "generate_s": 0.0})


class RayEngine:
    """Runs requests on `model` (+ LoRA adapters) on `ray.replicas` long-lived Ray actors."""

    def __init__(
        self, ray_opts: RayOptions, model: str, options: EngineOptions, loras: dict[str, str] | None = None,
        extra_args: dict | None = None, log_path: Path | None = None, progress: bool = True,
    ) -> None:
        self.ray_opts, self.model, self.options = ray_opts, model, options
        self.loras, self.extra_args = loras or {}, extra_args or {}
        self.log_path = None if options.debug else log_path
        self.progress = progress

    def generate(self, requests: list[Request], on_results: OnResults, on_ready=None) -> dict[str, Any]:
        import ray

        resources = connect(self.ray_opts, self.options)
        slots = self._start(resources, requests)
        try:
            return self._drive(slots, requests, on_results, on_ready, resources)
        finally:
            for s in slots:
                ray.kill(s.actor, no_restart=True)

    def _start(self, resources: dict[str, Any], requests: list[Request]) -> list[_Slot]:
        import ray
        from evalrun.runner.ray_replica import Replica
        from evalrun.runner.ray_ship import pack
        from evalrun.runner.vllm_engine import engine_args_for

        model = pack(self.model)
        loras = {name: pack(path) for name, path in self.loras.items()}
        actor = ray.remote(Replica).options(
            num_cpus=resources["num_cpus"], num_gpus=resources["num_gpus"], max_restarts=MAX_RESTARTS,
            max_task_retries=0, max_concurrency=2, runtime_env={"env_vars": self._env()},
        )
        log = str(self.log_path) if self.log_path else None
        # built as the local engine would be for these requests (seeded sampling: no chunked prefill on CPU)
        self._load_args = (model, self.options, loras, engine_args_for(self.extra_args, requests))
        slots = [_Slot(i, actor.remote(i, log)) for i in range(self.ray_opts.replicas)]
        return slots

    def _env(self) -> dict[str, str]:
        """The replicas' environment: vLLM in the actor's own process, the local engine's KV cache and log level."""
        import os

        env = {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
        kv = self.options.kv_cache_gb
        env["VLLM_CPU_KVCACHE_SPACE"] = str(max(1, round(kv))) if kv is not None else \
            os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2")
        if not self.options.debug:
            env["VLLM_LOGGING_LEVEL"] = os.environ.get("VLLM_LOGGING_LEVEL", "WARNING")
        for name in ("HF_HUB_OFFLINE", "HF_HOME"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def _drive(self, slots, requests, on_results, on_ready, resources) -> dict[str, Any]:
        import ray

        queue = deque(work_units(requests, len(slots)))
        delivered: set[int] = set()
        bars = ReplicaBars(len(slots), enabled=self.progress)
        t0 = None
        requeued = 0

        def deliver(slot: _Slot, batch: list[tuple[int, dict]]) -> None:
            fresh = []
            for local, comp in batch:
                i = slot.unit[local]
                if i not in delivered:
                    delivered.add(i)
                    fresh.append((i, Completion.from_dict(comp)))
            if fresh:
                on_results(fresh)
                bars.add(slot.index, len(fresh), sum(c.output_tokens for _, c in fresh))

        try:
            while queue or any(s.state == "busy" for s in slots):
                live = [s for s in slots if s.state != "dead"]
                if not live:
                    why = "; ".join(sorted({s.causes[-1] if s.causes else "died" for s in slots}))
                    raise RunError(f"all {len(slots)} Ray replicas died ({why}); "
                                   f"{len(delivered)} of {len(requests)} results were saved: rerun the same command "
                                   "to resume")
                for s in live:
                    if s.state == "starting" and s.pending is None and time.perf_counter() >= s.retry_at:
                        s.pending = s.actor.load.remote(*self._load_args)  # waits for Ray's restart after a death
                    if s.state == "idle" and queue:
                        s.unit = [i for i in queue.popleft() if i not in delivered]
                        if s.unit:
                            s.state, s.last_drain = "busy", time.perf_counter()
                            s.pending = s.actor.run_unit.remote([requests[i].to_dict() for i in s.unit])
                refs = [r for s in live for r in (s.pending, s.drain) if r is not None]
                if not refs:
                    time.sleep(DRAIN_EVERY_S)
                    continue
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=DRAIN_EVERY_S)
                ready = set(ready)
                for s in live:
                    if s.drain is not None and s.drain in ready:
                        ref, s.drain = s.drain, None
                        try:
                            deliver(s, ray.get(ref))
                        except ray.exceptions.RayActorError:
                            pass  # the unit's own ref reports the death
                    if s.pending is None or s.pending not in ready:
                        continue
                    ref, s.pending = s.pending, None
                    try:
                        if s.drain is not None:  # its indices belong to this unit: take it before the next
                            deliver(s, ray.get(s.drain))
                            s.drain = None
                        out = ray.get(ref)
                    except ray.exceptions.RayActorError as e:
                        if s.state == "starting" and s.deaths and s.reloads < RELOADS:
                            s.reloads, s.retry_at = s.reloads + 1, time.perf_counter() + RELOAD_WAIT_S
                        else:
                            requeued += self._lost(s, e, delivered, queue)
                        continue
                    except ray.exceptions.RayTaskError as e:
                        what = "could not load the model" if s.state == "starting" else "failed generating"
                        raise RunError(f"Ray replica {s.index} {what}: {_cause(e)}") from None
                    if s.state == "starting":
                        s.info, s.state, s.reloads = out, "idle", 0
                        bars.label(s.index, out.get("host", ""))
                        if t0 is None:
                            t0 = time.perf_counter()
                            if on_ready is not None:
                                on_ready()
                    else:
                        deliver(s, out["results"])
                        s.stats["units"] += 1
                        for k in ("render_s", "generate_s"):
                            s.stats[k] += out["stats"][k]
                        s.state, s.unit = "idle", []
                now = time.perf_counter()
                for s in live:
                    if s.state == "busy" and s.drain is None and now - s.last_drain >= DRAIN_EVERY_S:
                        s.drain, s.last_drain = s.actor.drain.remote(), now
        finally:
            bars.close()
        generate_s = time.perf_counter() - t0 if t0 is not None else 0.0
        return _info(slots, resources, generate_s, requeued, bars)

    @staticmethod
    def _lost(s: _Slot, error: Exception, delivered: set[int], queue: deque) -> int:
        """A replica died: re-queue what it had not returned; it starts again unless it has used its restarts."""
        unfinished = [i for i in s.unit if i not in delivered]
        if unfinished:
            queue.appendleft(unfinished)
        s.deaths += 1
        s.causes.append(_cause(error))
        s.unit, s.drain, s.retry_at = [], None, 0.0
        s.state = "dead" if s.deaths > MAX_RESTARTS else "starting"
        return len(unfinished)


def _info(slots: list[_Slot], resources: dict[str, Any], generate_s: float, requeued: int, bars) -> dict[str, Any]:
    """Engine info as the local engine reports it, plus the cluster: nodes, replicas, resources, versions."""
    described = [s for s in slots if s.info.get("engine")]
    first = dict(described[0].info) if described else {}
    replicas = [{
        "replica": s.index, "host": s.info.get("host"), "node_id": s.info.get("node_id"),
        "resources": s.info.get("resources"), "ray_version": s.info.get("ray_version"),
        "vllm_version": s.info.get("vllm_version"), "device": s.info.get("device_name"),
        "engine_load_s": s.info.get("engine_load_s"), "deaths": s.deaths, "death_causes": s.causes, **s.stats,
        **bars.figures(s.index),
    } for s in slots]
    nodes = sorted({r["node_id"] for r in replicas if r["node_id"]})
    for k in ("replica", "node_id", "host", "pid", "resources"):
        first.pop(k, None)
    return {
        **first,
        "engine": "vllm+ray",
        "device_name": f"{len(slots)} Ray replicas on {len(nodes)} node(s), {first.get('device_name', '?')} each",
        "engine_load_s": max((s.info.get("engine_load_s") or 0 for s in slots), default=0),
        "render_s": round(sum(s.stats["render_s"] for s in slots), 3),
        "generate_s": round(generate_s, 3),
        "output_tokens": sum(r["tokens"] for r in replicas),
        "cluster": {"nodes": len(nodes), "cluster_nodes": resources["nodes"], "replicas": replicas,
                    "per_replica": {"num_cpus": resources["num_cpus"], "num_gpus": resources["num_gpus"]},
                    "requeued_requests": requeued},
    }


def _cause(e: Exception) -> str:
    """One line saying why a Ray call failed (the replica's own error when there is one)."""
    cause = getattr(e, "cause", None) or e
    text = str(cause).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return f"{type(cause).__name__}: {lines[-1] if lines else ''}"[:300]
