"""GGUF checkpoints as models: converted once to a Hugging Face checkpoint in the cache, then run like any other.

Many open-weight releases ship as GGUF (llama.cpp's single-file format,
usually quantised). vLLM and the modification plugins want a Hugging Face
directory, so `--model FILE.gguf` (or a directory holding one .gguf and no
config.json) is dequantised by transformers' GGUF loader (with the `gguf`
package) into a float32 checkpoint, with the tokenizer and chat template
from the GGUF metadata, under the cache dir, keyed by the file's sha256: a
second run, or the same bytes under another name, reuses it.

`check_gguf` reads only the header (memory-mapped, no weights), so an
unsupported architecture or quantisation type is a one-line InputError
before anything loads. The conversion leaves `gguf-source.json` beside the
weights (source sha256, architecture, quantisation types, converter
versions); `conversion_record` puts it in the run's manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.fileio import file_sha256
from evalrun.models.hf_bars import transformers_bars
from evalrun.models.ref import ModelRef, cache_dir, declared_dtype, exclusive_lock, fingerprint_dir

SOURCE_FILE = "gguf-source.json"
MAGIC = b"GGUF"
_NOT_MODELS = {"general", "tokenizer"}  # sections of transformers' GGUF mapping that are not architectures


def find_gguf(path: Path) -> Path | None:
    """`path` if it is a .gguf file, the one .gguf in a directory without config.json, else None."""
    if path.is_file():
        return path if path.suffix.lower() == ".gguf" else None
    if not path.is_dir() or (path / "config.json").is_file():
        return None
    files = sorted(path.glob("*.gguf"))
    if len(files) > 1:
        names = ", ".join(f.name for f in files[:4])
        raise InputError(f"{path} holds several .gguf files ({names}); pass the one to evaluate as --model FILE")
    return files[0] if files else None


def _reader(file: Path):
    """A gguf.GGUFReader over `file` (memory-mapped), or an InputError for a missing package or a bad file."""
    with file.open("rb") as f:
        if f.read(4) != MAGIC:
            raise InputError(f"{file} is not a GGUF file (no GGUF magic bytes); pass a .gguf checkpoint")
    try:
        from gguf import GGUFReader
    except ImportError:
        raise InputError(f"{file}: reading GGUF checkpoints needs the `gguf` package; run `pip install gguf`") from None
    try:
        return GGUFReader(file)
    except Exception as e:  # the reader raises ValueError/struct errors on damaged headers
        raise InputError(f"{file} has an unreadable GGUF header ({type(e).__name__}: {e}); download it again") from None


def _architecture(reader, file: Path) -> str:
    field = reader.fields.get("general.architecture")
    if field is None:
        raise InputError(f"{file} has no general.architecture in its GGUF metadata; the file is damaged")
    return str(field.contents())


def supported_architectures() -> list[str]:
    """The GGUF architectures transformers can convert (reads its mapping table; imports transformers)."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    return sorted(set(GGUF_SUPPORTED_ARCHITECTURES) - _NOT_MODELS)


def quant_types(reader) -> list[str]:
    """The tensor types in the file, e.g. ["F32", "Q4_1", "Q6_K"]."""
    return sorted({t.tensor_type.name for t in reader.tensors})


def unsupported_quant_types(reader) -> list[str]:
    """Tensor types gguf's dequantiser cannot expand (it handles F32, F16 and its table of quant types)."""
    from gguf import GGMLQuantizationType
    from gguf.quants import _type_traits

    native = {GGMLQuantizationType.F32, GGMLQuantizationType.F16}
    return sorted({t.tensor_type.name for t in reader.tensors if t.tensor_type not in native | set(_type_traits)})


def check_gguf(file: Path) -> dict[str, Any]:
    """The file's architecture and tensor types, or an InputError for what cannot be converted (header only)."""
    reader = _reader(file)
    arch = _architecture(reader, file)
    supported = supported_architectures()
    if arch not in supported and arch.replace("-", "_") not in supported:
        raise InputError(f"{file}: GGUF architecture {arch!r} cannot be converted (transformers supports "
                         f"{', '.join(supported)}); convert it to a Hugging Face checkpoint another way")
    bad = unsupported_quant_types(reader)
    if bad:
        raise InputError(f"{file}: quantisation type(s) {', '.join(bad)} cannot be dequantised by the gguf package; "
                         f"use a file with another quantisation (e.g. Q8_0, Q4_K_M or F16)")
    return {"architecture": arch, "quantization": quant_types(reader), "tensors": len(reader.tensors)}


def converted_dir(sha256: str) -> Path:
    """Where the checkpoint converted from the GGUF with this sha256 lives in the cache."""
    return cache_dir() / "gguf" / sha256[:24]


def resolve_gguf(file: Path, progress: bool = True) -> ModelRef:
    """The converted checkpoint of `file` (built on first use, under a lock) as a ModelRef."""
    header = check_gguf(file)
    sha = file_sha256(file)
    out = converted_dir(sha)
    if not (out / SOURCE_FILE).is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(out.parent / f"{sha[:24]}.lock"):
            if not (out / SOURCE_FILE).is_file():  # another process may have built it while we waited
                _convert(file, sha, header, out, progress)
    return ModelRef(str(out), file.stem, fingerprint_dir(out), True, declared_dtype(out))


def _convert(file: Path, sha: str, header: dict[str, Any], out: Path, progress: bool) -> None:
    """Dequantise `file` into a float32 Hugging Face checkpoint at `out` (written to a temp dir, then renamed)."""
    import gguf
    import torch
    import transformers
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with transformers_bars(progress), \
            tqdm(total=3, desc=f"converting {file.name} (GGUF -> Hugging Face, once)", disable=not progress) as bar:
        tokenizer = AutoTokenizer.from_pretrained(file.parent, gguf_file=file.name)
        if not getattr(tokenizer, "chat_template", None):
            raise InputError(f"{file} has no chat template in its GGUF metadata (tokenizer.chat_template); "
                             "evalrun needs one to prompt the model")
        bar.update()
        loaded = AutoModelForCausalLM.from_pretrained(file.parent, gguf_file=file.name, dtype=torch.float32)
        bar.update()
        # The GGUF loader marks the model as quantised (it refuses to save, and vLLM would look for a quantisation
        # method), though its weights are plain float32: rebuild it from the config without that entry.
        settings = loaded.config.to_dict()
        settings.pop("quantization_config", None)
        model = type(loaded)(type(loaded.config).from_dict(settings))
        model.load_state_dict(loaded.state_dict())
        model.tie_weights()
        del loaded
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        bar.update()
    # Only what the bytes and the converter determine: the record is hashed into the model's fingerprint, which
    # must be the same wherever and whenever the same file is converted.
    record = {
        "format": "gguf",
        "sha256": sha,
        "size": file.stat().st_size,
        **header,
        "converted_to": "float32 safetensors",
        "converter": {"transformers": transformers.__version__, "gguf": _version(gguf), "torch": torch.__version__},
    }
    (tmp / SOURCE_FILE).write_text(json.dumps(record, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def _version(module) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.__name__)
    except PackageNotFoundError:
        return "unknown"


def conversion_record(model_path: str) -> dict[str, Any] | None:
    """The GGUF provenance of a converted checkpoint (source sha256, quantisation, converter), or None."""
    try:
        return json.loads((Path(model_path) / SOURCE_FILE).read_text())
    except (OSError, ValueError):
        return None
