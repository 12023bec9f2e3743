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
from evalrun.fileio import file_sha256

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
    dtype: str = "auto"  # what the checkpoint's config.json declares (`torch_dtype`/`dtype`), else "auto"


def _file_digest(path: Path, memo: dict[str, str]) -> str:
    st = path.stat()
    memo_key = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    if memo_key not in memo:
        memo[memo_key] = file_sha256(path)
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


def _gguf(path: Path) -> Path | None:
    """The .gguf file `path` is, or the one a directory without config.json holds (see models/gguf.py)."""
    from evalrun.models.gguf import find_gguf

    return find_gguf(path)


def check_model_dir(path: Path, what: str = "model") -> None:
    """An InputError unless `path` looks like a loadable model directory.

    Everything checkable without loading is checked here, before any engine starts, so that a broken
    checkpoint is one clear line and not a vLLM exception after a minute of engine start-up.
    """
    if not path.exists():
        raise InputError(f"{what} path {path} does not exist; pass a model directory, a hub id or `demo`")
    if _gguf(path) is not None:  # checked by its header; converted to a model directory when resolved
        from evalrun.models.gguf import check_gguf

        check_gguf(_gguf(path))
        return
    if not path.is_dir():
        raise InputError(f"{what} path {path} is not a directory; pass the directory holding config.json")
    if not (path / "config.json").is_file():
        raise InputError(f"{path} is not a model directory (no config.json); pass a Hugging Face model directory")
    if not any(p.suffix in WEIGHT_SUFFIXES for p in path.iterdir()):
        raise InputError(f"{path} has no weight files (*.safetensors or *.bin); the checkpoint is incomplete")
    config = model_config(path)
    check_weights(path)
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise InputError(f"{path} has no tokenizer ({', '.join(TOKENIZER_FILES)}); copy the model's tokenizer "
                         "files into the directory")
    check_architecture(path, config)


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tiktoken.model")


def model_config(path: Path) -> dict:
    """config.json of a model dir, parsed, or an InputError saying what is wrong with it."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{path / 'config.json'} is not valid JSON ({e}); the checkpoint is damaged") from None
    if not isinstance(config, dict):
        raise InputError(f"{path / 'config.json'} is not a JSON object; the checkpoint is damaged")
    return config


def _safetensors_size(path: Path) -> int | None:
    """The size a .safetensors file must have according to its own header (None if the header is unreadable)."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return None
            n = int.from_bytes(head, "little")
            if n > 100_000_000:
                return None
            header = json.loads(f.read(n))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict):
        return None
    ends = [t["data_offsets"][1] for k, t in header.items()
            if k != "__metadata__" and isinstance(t, dict) and isinstance(t.get("data_offsets"), list)]
    return 8 + n + max(ends, default=0)


def check_weights(path: Path) -> None:
    """Every safetensors shard present (per its index) and as long as its header says: truncation shows here."""
    index = path / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise InputError(f"{index} is not a valid safetensors index; the checkpoint is damaged") from None
        missing = sorted(s for s in shards if not (path / str(s)).is_file())
        if missing:
            raise InputError(f"{path} lacks weight shard(s) {', '.join(missing[:3])} named in {index.name}; "
                             "the download is incomplete")
    for f in sorted(path.glob("*.safetensors")):
        want, have = _safetensors_size(f), f.stat().st_size
        if want is None:
            raise InputError(f"{f} has no readable safetensors header; the file is damaged, download it again")
        if have != want:
            raise InputError(f"{f} is {have} bytes but its header describes {want}; the file is truncated or "
                             "damaged, download it again")


def _vllm_architectures() -> set[str] | None:
    """Architecture names in vLLM's model registry, read as text (importing vLLM takes seconds); None if unknown."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("vllm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    registry = Path(list(spec.submodule_search_locations)[0]) / "model_executor" / "models" / "registry.py"
    try:
        return set(re.findall(r'^\s*"(\w+)":\s*\(', registry.read_text(encoding="utf-8"), re.MULTILINE)) or None
    except OSError:
        return None


def check_architecture(path: Path, config: dict) -> None:
    """An InputError when config.json names an architecture neither vLLM nor transformers knows."""
    archs = config.get("architectures")
    if not isinstance(archs, list) or not archs or "auto_map" in config:
        return  # no claim to check, or custom code the model ships itself
    known = _vllm_architectures()
    unknown = [a for a in archs if known is not None and str(a) not in known]
    if not unknown:
        return
    import transformers

    if all(hasattr(transformers, str(a)) for a in unknown):
        return  # vLLM can run it through its transformers backend
    raise InputError(f"{path / 'config.json'}: architecture {unknown[0]} is not supported by vLLM or transformers; "
                     "check config.json's `architectures`")


def check_parallel(path: Path, tensor_parallel_size: int) -> None:
    """An InputError unless --tensor-parallel-size divides the model's attention (and KV) head counts."""
    config = model_config(path)
    config = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    for key in ("num_attention_heads", "num_key_value_heads"):
        heads = config.get(key)
        if isinstance(heads, int) and heads > 0 and heads % tensor_parallel_size:
            raise InputError(f"--tensor-parallel-size {tensor_parallel_size} does not divide the model's {key} "
                             f"({heads}); use a divisor of {heads}")


def resolve_model(spec: str, progress: bool = True) -> ModelRef:
    """`demo`, a local model directory, or a hub id (`org/name`)."""
    if spec == "demo":
        from evalrun.models.demo import demo_model_path

        path = demo_model_path(progress=progress)
        return ModelRef(str(path), "evalrun-demo", fingerprint_dir(path), True, declared_dtype(path))
    path = Path(spec).expanduser()
    if path.exists() and _gguf(path) is not None:  # a GGUF checkpoint: converted once into the cache
        from evalrun.models.gguf import resolve_gguf

        return resolve_gguf(_gguf(path), progress=progress)
    if path.exists() or not HUB_ID.match(spec):
        check_model_dir(path)
        return ModelRef(str(path.resolve()), path.resolve().name, fingerprint_dir(path), True, declared_dtype(path))
    return ModelRef(spec, spec, "hub:" + spec, False)


def declared_dtype(model_dir: Path) -> str:
    """The weights dtype a checkpoint's config.json declares, or "auto" when it declares none."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return "auto"
    dtype = config.get("torch_dtype") or config.get("dtype") if isinstance(config, dict) else None
    return dtype if isinstance(dtype, str) else "auto"
