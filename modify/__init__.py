"""Model modifications: attacks and edits that make variants of the base model to evaluate beside it.

A suite lists them (`modifications: [harmful_lora, {name: refusal_ablation, layer: 2}]`);
`build_variants` turns that list into `Variant`s (LoRA adapters, checkpoints, or
engine settings), training or editing on first use and caching the result by
content hash. Modifications are plugins like evals: `@register_modification`
here, or a module under the `evalrun.modifications` entry-point group.

Built in: harmful_lora, harmful_full, benign_finetune, refusal_ablation, quantize.
"""

from __future__ import annotations

from evalrun.modify.build import build_variants, skipped_variants
from evalrun.modify.cache import MODIFY_VERSION
from evalrun.modify.checks import check_adapter, check_checkpoint
from evalrun.modify.registry import Job, ModificationSpec, all_modifications, get_modification, register_modification

__all__ = [
    "MODIFY_VERSION", "Job", "ModificationSpec", "all_modifications", "build_variants", "check_adapter",
    "check_checkpoint", "get_modification", "register_modification", "skipped_variants",
]
