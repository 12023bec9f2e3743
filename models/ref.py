"""Which model a run evaluates: resolving --model and fingerprinting its files.

The fingerprint (a content hash of config, tokenizer and weight files) goes
into every journal key, so results of a changed model are never resumed from.
Hashing large weights is cached by (path, size, mtime) in the user cache dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evalrun.evals.errors import InputError

HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def cache_dir() -> Path:
    """evalrun's cache dir: $EVALRUN_CACHE, else $XDG_CACHE_HOME/evalrun, else ~/.cache/evalrun."""
    if os.environ.get("EVALRUN_CACHE"):
        return Path(os.environ["EVALRUN_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "evalrun"


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive fcntl lock on `path` (waits for other holders), for builds into the cache.

    The kernel drops the lock when its holder dies, so a killed build never blocks later ones.
    """
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class ModelRef:
    path: str  # a local directory, or a hub id vLLM resolves itself
    name: str
    fingerprint: str
    local: bool


def _file_digest(path: Path, memo: dict[str, str]) -> str:
    st = path.stat()
    memo_key = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    if memo_key not in memo:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        memo[memo_key] = h.hexdigest()
    return memo[memo_key]


def fingerprint_dir(model_dir: Path) -> str:
    """Content hash of the files that define a model's behaviour."""
    memo_path = cache_dir() / "file-hashes.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    h = hashlib.sha256()
    for p in sorted(model_dir.iterdir()):
        if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.suffix in (".json", ".jinja", ".model", ".txt")):
            h.update(p.name.encode())
            h.update(_file_digest(p, memo).encode())
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo))
        tmp.replace(memo_path)
    except OSError:
        pass  # the memo only saves time
    return h.hexdigest()[:20]


def check_model_dir(path: Path, what: str = "model") -> None:
    """An InputError unless `path` looks like a loadable model directory."""
    if not path.exists():
        raise InputError(f"{what} path {path} does not exist; pass a model directory, a hub id or `demo`")
    if not path.is_dir():
        raise InputError(f"{what} path {path} is not a directory; pass the directory holding config.json")
    if not (path / "config.json").is_file():
        raise InputError(f"{path} is not a model directory (no config.json); pass a Hugging Face model directory")
    if not any(p.suffix in WEIGHT_SUFFIXES for p in path.iterdir()):
        raise InputError(f"{path} has no weight files (*.safetensors or *.bin); the checkpoint is incomplete")


def resolve_model(spec: str, progress: bool = True) -> ModelRef:
    """`demo`, a local model directory, or a hub id (`org/name`)."""
    if spec == "demo":
        from evalrun.models.demo import demo_model_path

        path = demo_model_path(progress=progress)
        return ModelRef(str(path), "evalrun-demo", fingerprint_dir(path), True)
    path = Path(spec).expanduser()
    if path.exists() or not HUB_ID.match(spec):
        check_model_dir(path)
        return ModelRef(str(path.resolve()), path.resolve().name, fingerprint_dir(path), True)
    return ModelRef(spec, spec, "hub:" + spec, False)
