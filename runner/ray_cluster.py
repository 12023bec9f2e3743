"""Joining (or starting) the Ray cluster and checking it can hold the replicas, before any model loads.

`--ray` with no address starts a local cluster on this machine's cores; `--ray auto` joins the cluster
`ray start` runs here; `--ray HOST:PORT` joins a remote head. A replica reserves `tensor_parallel_size x
pipeline_parallel_size` GPUs on a GPU cluster and an equal share of the cores on a CPU-only one; a
request for more replicas than the cluster can place is refused with a one-line error.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.runner.engine import EngineOptions

LOCAL = ""  # --ray without an address
REACH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RayOptions:
    address: str = LOCAL  # "" starts a local cluster, "auto" joins the local running one, else HOST:PORT
    replicas: int = 1


def check_options(ray_opts: RayOptions) -> None:
    """Input errors that need no cluster: checked with the other cheap checks."""
    if ray_opts.replicas < 1:
        raise InputError(f"--replicas must be at least 1, got {ray_opts.replicas}")


def connect(ray_opts: RayOptions, options: EngineOptions) -> dict[str, Any]:
    """Join or start the cluster (once per process) and return each replica's Ray resources."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'evalrun[cluster]'") from None
    check_options(ray_opts)
    if not ray.is_initialized():
        _init(ray_opts.address, options.debug)
    return replica_resources(ray_opts.replicas, options)


def _init(address: str, debug: bool) -> None:
    import ray

    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=debug,
                                  logging_level=logging.INFO if debug else logging.ERROR)
    if address == LOCAL:
        ray.init(address="local", num_cpus=len(os.sched_getaffinity(0)), **kwargs)
        return
    if address != "auto":
        _check_reachable(address)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        hint = "start one with `ray start --head`" if address == "auto" else "check the head node's address and port"
        raise InputError(f"--ray {address}: cannot join a Ray cluster ({_first_line(e)}); {hint}") from None


def _check_reachable(address: str) -> None:
    """A TCP connect to the head's port: a wrong address fails in seconds instead of Ray's long retry loop."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InputError(f"--ray {address}: expected HOST:PORT (e.g. 10.0.0.1:6379), `auto`, or no address")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as e:
        raise InputError(f"--ray {address}: no Ray head reachable there ({e.strerror or e}); "
                         "check the address, or start the head with `ray start --head`") from None


def replica_resources(replicas: int, options: EngineOptions) -> dict[str, Any]:
    """Ray actor resources for one replica; an InputError when the cluster cannot place `replicas` of them."""
    import ray

    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    gpus_per_engine = options.tensor_parallel_size * options.pipeline_parallel_size
    total_gpus = sum(n.get("GPU", 0) for n in nodes)
    if total_gpus:
        if options.distributed_executor_backend == "ray":
            # vLLM places the engine's own workers (possibly on several nodes); the replica actor holds none.
            capacity, need = int(total_gpus // gpus_per_engine), {"num_cpus": 1, "num_gpus": 0}
        else:
            capacity = sum(int(n.get("GPU", 0) // gpus_per_engine) for n in nodes)
            need = {"num_cpus": 1, "num_gpus": gpus_per_engine}
        what = f"{gpus_per_engine} GPU(s) each, the cluster has {total_gpus:g} GPU(s)"
    else:
        total_cpus = sum(n.get("CPU", 0) for n in nodes)
        cpus = max(1, int(total_cpus // replicas))
        capacity = sum(int(n.get("CPU", 0) // cpus) for n in nodes)
        need = {"num_cpus": cpus, "num_gpus": 0}
        what = f"at least one core each, the cluster has {total_cpus:g} CPU(s) and no GPU"
    if capacity < replicas:
        raise InputError(f"--replicas {replicas}: the Ray cluster can place only {capacity} replica(s) "
                         f"({what}); ask for fewer replicas or add nodes")
    return {**need, "nodes": len(nodes)}


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
