"""Getting model directories to Ray replicas: built once on the driver, checked by content hash on arrival.

The base model, LoRA adapters and trained checkpoints are made (or found) on the driver. A replica
uses the same path when its node sees it (a shared filesystem, or a one-node cluster) and its content
hash matches; a directory small enough to ship (adapters, small checkpoints) also travels in Ray's
object store and is unpacked on a node that does not see the path. Either way the replica recomputes
the hash and refuses a mismatch, so no replica ever evaluates other weights than the driver planned.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalrun.evals.errors import RunError
from evalrun.models.ref import fingerprint_dir

SHIP_LIMIT_BYTES = 1 << 30  # larger directories must be on a filesystem every node sees


@dataclass(frozen=True)
class Shipment:
    """A model directory as the driver saw it: its path, content hash and (if small) its files in the object store."""

    path: str
    fingerprint: str
    files: Any = None  # a Ray ObjectRef to {relative name: bytes}, or None (shared path only)


def pack(path: str) -> Shipment:
    """On the driver: hash the directory and put it in the object store when it is small enough."""
    import ray

    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    ref = ray.put({str(p.relative_to(root)): p.read_bytes() for p in files}) if size <= SHIP_LIMIT_BYTES else None
    return Shipment(str(root), fingerprint_dir(root), ref)


def unpack(shipment: Shipment, scratch: Path) -> str:
    """On a replica: a local directory with the driver's content (the same path, or an unpacked copy)."""
    import ray

    local = Path(shipment.path)
    if local.is_dir() and fingerprint_dir(local) == shipment.fingerprint:
        return str(local)
    if shipment.files is None:
        raise RunError(f"{shipment.path} is missing or differs on this node and is too large to ship; "
                       "put it on a filesystem every node mounts at the same path")
    dest = Path(tempfile.mkdtemp(prefix=f"{local.name}-", dir=scratch))
    for name, data in ray.get(shipment.files).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
    got = fingerprint_dir(dest)
    if got != shipment.fingerprint:
        raise RunError(f"{shipment.path} arrived with content hash {got}, expected {shipment.fingerprint}")
    return str(dest)
