"""The variant cache: a modification's output, kept under a content hash of everything that determines it.

    cache_dir()/variants/<name>-<hash>/variants.json   the variants (paths relative to the dir)
                                      /<variant dirs>  adapters or checkpoints

The hash covers the base model's fingerprint, the modification's name and version,
its resolved options, the content of its data files, the seed, the training
device/precision and MODIFY_VERSION, so a changed input never reuses a stale
result. A build writes into a temporary dir renamed into place when complete
(under a lock, so two runs do not train the same thing twice).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalrun.models.ref import cache_dir, exclusive_lock
from evalrun.models.variant import Variant

MODIFY_VERSION = 3  # bump when shared code (training loop, data encoding, the info recorded) changes what is made
INDEX = "variants.json"


def content_key(parts: dict[str, Any]) -> str:
    """A short hash of a JSON-able description of a build."""
    blob = json.dumps({**parts, "modify_version": MODIFY_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def variants_root() -> Path:
    return cache_dir() / "variants"


def cached_or_build(slot: str, build: Callable[[Path], list[Variant]]) -> tuple[list[Variant], bool]:
    """The variants cached under `slot`, or those `build(tmp_dir)` makes (cached unless one failed).

    Returns (variants with absolute paths, whether they came from the cache).
    """
    root = variants_root()
    final = root / slot
    if _complete(final):
        return _load(final), True
    root.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(root / f".{slot}.lock"):
        if _complete(final):
            return _load(final), True
        for stale in root.glob(f".{slot}.tmp-*"):  # left by a killed build (evalrun #14); we hold its lock
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{slot}.tmp-", dir=root))
        tmp.chmod(0o755)  # mkdtemp makes it private; variants are ordinary model files
        try:
            variants = build(tmp)
            if any(not v.runs for v in variants):
                return variants, False  # failures and skips are not results to keep
            _save(tmp, variants)
            if final.exists():  # a stale or damaged dir: replace it
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _load(final), False


def _complete(dir_: Path) -> bool:
    """Whether `dir_` holds a finished build whose every variant still has its weight files."""
    if not (dir_ / INDEX).is_file():
        return False
    try:
        variants = _load(dir_)
    except (OSError, ValueError, KeyError):
        return False
    return all(not v.path or not Path(v.path).is_relative_to(dir_) or any(Path(v.path).glob("*.safetensors"))
               for v in variants)


def _save(dir_: Path, variants: list[Variant]) -> None:
    rows = []
    for v in variants:
        path = Path(v.path)
        rel = str(path.relative_to(dir_)) if path.is_relative_to(dir_) else str(path)
        rows.append({"name": v.name, "kind": v.kind, "path": rel, "fingerprint": v.fingerprint, "info": v.info,
                     "engine_args": v.engine_args})
    (dir_ / INDEX).write_text(json.dumps(rows, indent=1) + "\n")


def _load(dir_: Path) -> list[Variant]:
    rows = json.loads((dir_ / INDEX).read_text())
    return [
        Variant(r["name"], r["kind"], str(dir_ / r["path"]) if r["path"] and not os.path.isabs(r["path"])
                else r["path"], r["fingerprint"], r["info"], r.get("engine_args") or {})
        for r in rows
    ]


def renamed(variants: list[Variant], old: str, new: str) -> list[Variant]:
    """The variants of a cached build under another base name (`as:` is not part of the cache key)."""
    if old == new:
        return variants
    return [replace(v, name=new + v.name[len(old):]) if v.name.startswith(old) else v for v in variants]


