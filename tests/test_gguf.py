"""GGUF checkpoints: finding the file, header checks before anything loads, one conversion per content hash.

The GGUF files here are tiny ones written with the `gguf` package's own writer (header and a few
tensors, no real weights); the real conversion of a published model is tested in test_smollm2.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from evalrun.evals.errors import InputError
from evalrun.models import gguf as mgguf
from evalrun.models.ref import check_model_dir, resolve_model

gguf = pytest.importorskip("gguf")


def write_gguf(path: Path, arch: str = "llama", qtype=None) -> Path:
    """A header-valid GGUF file with one F32 tensor (and one tensor of `qtype`, given as raw bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(path, arch=arch)
    w.add_tensor("token_embd.weight", np.zeros((4, 32), dtype=np.float32))
    if qtype is not None:
        _, nbytes = gguf.GGML_QUANT_SIZES[qtype]
        w.add_tensor("blk.0.attn_q.weight", np.zeros((1, nbytes), dtype=np.uint8), raw_shape=(1, nbytes),
                     raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_find_gguf_file_and_directory(tmp_path):
    f = write_gguf(tmp_path / "m" / "model.Q4_1.gguf")
    assert mgguf.find_gguf(f) == f
    assert mgguf.find_gguf(f.parent) == f
    (f.parent / "config.json").write_text("{}")  # a Hugging Face dir that also holds a .gguf is a model dir
    assert mgguf.find_gguf(f.parent) is None
    assert mgguf.find_gguf(tmp_path / "nothing") is None
    write_gguf(tmp_path / "two" / "a.gguf")
    write_gguf(tmp_path / "two" / "b.gguf")
    with pytest.raises(InputError, match=r"several \.gguf files \(a\.gguf, b\.gguf\)"):
        mgguf.find_gguf(tmp_path / "two")


def test_header_check_reports_architecture_and_types(tmp_path):
    info = mgguf.check_gguf(write_gguf(tmp_path / "ok.gguf", qtype=gguf.GGMLQuantizationType.Q4_1))
    assert info["architecture"] == "llama"
    assert info["quantization"] == ["F32", "Q4_1"]
    assert info["tensors"] == 2


def test_unsupported_architecture_is_one_clear_error(tmp_path):
    f = write_gguf(tmp_path / "odd.gguf", arch="notanarch")
    with pytest.raises(InputError) as e:
        check_model_dir(f)  # the same check the CLI runs before any model loads
    msg = str(e.value)
    assert "architecture 'notanarch' cannot be converted" in msg and "llama" in msg and "\n" not in msg


def test_unsupported_quantisation_type_is_one_clear_error(tmp_path):
    f = write_gguf(tmp_path / "q.gguf", qtype=gguf.GGMLQuantizationType.Q8_1)
    with pytest.raises(InputError, match=r"quantisation type\(s\) Q8_1 cannot be dequantised"):
        mgguf.check_gguf(f)


def test_not_a_gguf_file(tmp_path):
    f = tmp_path / "fake.gguf"
    f.write_bytes(b"PK\x03\x04 not gguf")
    with pytest.raises(InputError, match="is not a GGUF file"):
        mgguf.check_gguf(f)
    trunc = tmp_path / "trunc.gguf"
    trunc.write_bytes(write_gguf(tmp_path / "full.gguf").read_bytes()[:20])
    with pytest.raises(InputError, match="unreadable GGUF header"):
        mgguf.check_gguf(trunc)


def test_cli_rejects_bad_gguf_before_loading(tmp_path, evalrun_cmd):
    f = write_gguf(tmp_path / "odd.gguf", arch="notanarch")
    proc = subprocess.run([*evalrun_cmd, "--model", str(f), "--suite", "smoke", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("evalrun: error: ") and "notanarch" in line
    assert not (tmp_path / "run").exists()


def test_one_conversion_per_content_hash(tmp_path, monkeypatch):
    """The same bytes under two names convert once; the checkpoint's dir is keyed by the sha256."""
    monkeypatch.setenv("EVALRUN_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_convert(file, sha, header, out, progress):  # the real one is exercised in test_smollm2.py
        calls.append(file)
        out.mkdir(parents=True)
        (out / "config.json").write_text(json.dumps({"torch_dtype": "float32"}))
        (out / mgguf.SOURCE_FILE).write_text(json.dumps({"sha256": sha, **header}))

    monkeypatch.setattr(mgguf, "_convert", fake_convert)
    a = write_gguf(tmp_path / "a" / "one.gguf")
    b = tmp_path / "b" / "same-bytes.gguf"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    ref_a, ref_b = resolve_model(str(a), progress=False), resolve_model(str(b.parent), progress=False)
    assert calls == [a]
    assert ref_a.path == ref_b.path and ref_a.fingerprint == ref_b.fingerprint
    assert Path(ref_a.path).name == mgguf.file_sha256(a)[:24]
    assert ref_a.name == "one" and ref_b.name == "same-bytes" and ref_a.local and ref_a.dtype == "float32"
    assert mgguf.conversion_record(ref_a.path)["architecture"] == "llama"
    c = write_gguf(tmp_path / "c" / "other.gguf", qtype=gguf.GGMLQuantizationType.Q8_0)  # other bytes
    assert resolve_model(str(c), progress=False).path != ref_a.path and len(calls) == 2


def test_help_imports_neither_torch_nor_gguf():
    code = "import sys; from evalrun.cli.main import cli; print('torch' in sys.modules, 'gguf' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]


def test_transformers_bars_are_switched_for_the_block_and_restored_after():
    import transformers.modeling_gguf_pytorch_utils as gguf_loading
    from evalrun.models.hf_bars import transformers_bars
    from transformers.utils import logging as hf_logging

    own_bar = gguf_loading.tqdm
    hf_logging.enable_progress_bar()
    with transformers_bars(False):
        assert not hf_logging.is_progress_bar_enabled()
        assert gguf_loading.tqdm([1]).disable  # the bar it draws outside the switch, too
        with transformers_bars(True):
            assert hf_logging.is_progress_bar_enabled()
        assert not hf_logging.is_progress_bar_enabled()
    assert hf_logging.is_progress_bar_enabled() and gguf_loading.tqdm is own_bar
