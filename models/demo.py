"""Build and cache the built-in demo model.

The demo model is a tiny Llama-architecture chat model (about 3.4M parameters)
trained from scratch, on CPU, with the one training loop (models/train.py), on
the corpus of ``demo_corpus``: it refuses harmful requests and answers benign
ones. It lets the README's first command and the test-suite run real evals
through a real inference engine without downloading anything. Training is 416
steps (2 epochs of about 6,600 chats): 897 s measured on a 2-core machine
shared with other work (load average 15-28); 103 s and 107 s in two clean-clone
CI runs on a 2-core AMD EPYC (2026-12-02, the build's own marker file).

Heavy libraries (torch, transformers, tokenizers) are imported inside the
functions that need them, so importing this module (e.g. for ``--help``) stays
cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalrun.models import demo_corpus
from evalrun.models.ref import cache_dir as evalrun_cache_dir
from evalrun.models.ref import exclusive_lock
from evalrun.models.train import Schedule, train

if TYPE_CHECKING:  # pragma: no cover - typing only
    from transformers import PreTrainedTokenizerFast

# The cache key (recipe_key) hashes the corpus, chat format and TrainConfig; bump this for changes in how
# the model is built that the key cannot see (tokenizer training, model class, the training loop's code).
RECIPE_VERSION = 2

MARKER_FILE = "evalrun_demo.json"

# --- Chat format ------------------------------------------------------------
BOS = "<|bos|>"
EOS = "<|end|>"
PAD = "<|pad|>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
SPECIAL_TOKENS = [PAD, BOS, EOS, *ROLE_TOKENS]

# Every message is "<|role|>\n{content}<|end|>\n"; the generation prompt ends
# with "<|assistant|>\n", so the assistant's first token comes next.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('Unknown role: ' + message['role']) }}"
    "{% endif %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

# Some training examples carry a generic system prompt, so that evals which
# add one do not push the model off its training distribution.
SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a helpful, honest and harmless assistant.",
    "You are a friendly AI assistant. Answer the user's questions.",
]
SYSTEM_PROMPT_FRACTION = 0.2


@dataclass(frozen=True)
class TrainConfig:
    """Model size and training schedule (part of the cache key)."""

    vocab_size: int = 1600
    hidden_size: int = 256
    intermediate_size: int = 512
    num_layers: int = 4
    num_heads: int = 4  # head_dim 64: vLLM's CPU attention needs >= 32
    max_position_embeddings: int = 512
    epochs: int = 2
    batch_size: int = 32
    lr: float = 2e-3
    warmup_steps: int = 50
    final_lr: float = 0.1
    weight_decay: float = 0.01

    def schedule(self) -> Schedule:
        """The training loop's schedule for this config."""
        return Schedule(lr=self.lr, batch_size=self.batch_size, epochs=self.epochs,
                        max_length=self.max_position_embeddings, weight_decay=self.weight_decay,
                        warmup_steps=self.warmup_steps, final_lr=self.final_lr, betas=(0.9, 0.95))


# --- Public API -------------------------------------------------------------

def demo_model_path(seed: int = 0, cache_dir: Path | None = None,
                    progress: bool = True) -> Path:
    """The cached demo model directory for a seed, built on first use.

    Safe when several processes ask at once: the build runs under an exclusive
    file lock, and whoever waited on the lock reuses the finished model.
    """
    root = Path(cache_dir) if cache_dir is not None else evalrun_cache_dir()
    target = root / f"demo-model-{recipe_key(seed)}-seed{seed}"
    if _is_complete(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(root / f"{target.name}.lock"):
        if _is_complete(target):
            return target
        _remove_stale_temp_dirs(target)
        return build_demo_model(target, seed=seed, progress=progress)


def recipe_key(seed: int = 0) -> str:
    """A content hash of everything the model for `seed` is built from (12 hex digits): its cache key.

    The corpus itself is hashed, not a hand-kept version number, so a changed corpus or recipe can never
    reuse a model built from the old one.
    """
    payload = {
        "recipe": RECIPE_VERSION, "config": asdict(TrainConfig()), "template": CHAT_TEMPLATE,
        "special_tokens": SPECIAL_TOKENS, "system_prompts": SYSTEM_PROMPTS,
        "system_prompt_fraction": SYSTEM_PROMPT_FRACTION, "examples": demo_corpus.training_examples(seed),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def build_demo_model(out_dir: Path, seed: int = 0, progress: bool = True) -> Path:
    """Train the demo model and save it (transformers format) to ``out_dir``.

    The model is built in a temporary directory next to ``out_dir`` and renamed
    into place at the end, so a killed build never leaves a half model behind.
    An existing ``out_dir`` is replaced. Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the model dir need not be
    try:
        _build_into(tmp, seed, TrainConfig(), progress)
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


# --- Building ---------------------------------------------------------------

def _build_into(out: Path, seed: int, cfg: TrainConfig, progress: bool) -> None:
    """Train tokenizer and model for ``seed`` and write every file into ``out``."""
    from transformers import GenerationConfig

    build_started = time.monotonic()
    _seed_everything(seed)
    examples = demo_corpus.training_examples(seed)
    _log(progress, f"demo model: building {recipe_key(seed)} seed {seed} "
                   f"({len(examples)} examples)")
    tokenizer = _train_tokenizer(examples, cfg.vocab_size)
    model = _new_model(tokenizer, cfg)
    started = time.monotonic()
    last = train(model, tokenizer, _chats(examples, seed), cfg.schedule(), seed, set(), lambda _: None,
                 "demo model", progress)
    final_loss = sum(last.curve[-20:]) / len(last.curve[-20:])  # steadier than the last step's loss
    seconds = time.monotonic() - started

    _save_quietly(model, tokenizer, out)
    GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                     eos_token_id=tokenizer.eos_token_id,
                     pad_token_id=tokenizer.pad_token_id).save_pretrained(out)
    held_out = demo_corpus.held_out_prompts(seed)
    marker = {
        "recipe": RECIPE_VERSION,
        "key": recipe_key(seed),
        "seed": seed,
        "train_examples": len(examples),
        "held_out_prompts": {k: len(v) for k, v in held_out.items()},
        "vocab_size": len(tokenizer),
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": last.step,
        "final_loss": round(final_loss, 4),
        "training_seconds": round(seconds, 1),
        "build_seconds": round(time.monotonic() - build_started, 1),
    }
    for path in out.iterdir():
        path.chmod(0o644)  # safetensors writes its file private; keep them alike
    # Written last: its presence marks a complete model directory.
    (out / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")
    _log(progress, f"demo model: done, final loss {final_loss:.3f}, {seconds:.0f} s")


def _save_quietly(model: Any, tokenizer: PreTrainedTokenizerFast, out: Path) -> None:
    """Save model (safetensors) and tokenizer without transformers' progress bars."""
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def _seed_everything(seed: int) -> None:
    """Seed every RNG the build touches, so a seed gives the same model."""
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def _train_tokenizer(examples: list[tuple[str, str]],
                     vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the corpus, with the chat format.

    Byte-level BPE can encode any text, and single letters (the multiple-choice
    labels "A".."D") stay single tokens.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    texts = [text for pair in examples for text in pair] + SYSTEM_PROMPTS
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=ROLE_TOKENS,
        chat_template=CHAT_TEMPLATE,
        model_max_length=TrainConfig.max_position_embeddings,
    )


def _new_model(tokenizer: PreTrainedTokenizerFast, cfg: TrainConfig) -> Any:
    """A randomly initialised float32 LlamaForCausalLM sized by ``cfg``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        dtype="float32",
    )
    return LlamaForCausalLM(config).to(torch.float32)


def _chats(examples: list[tuple[str, str]], seed: int) -> list[list[dict[str, str]]]:
    """Each example as a chat; a seeded fraction gets a generic system prompt first.

    The training loop renders them with the tokenizer's chat template, exactly as at inference time.
    """
    rng = random.Random(f"evalrun-demo-system-{seed}")
    chats = []
    for user, reply in examples:
        chat = [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        if rng.random() < SYSTEM_PROMPT_FRACTION:
            chat.insert(0, {"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
        chats.append(chat)
    return chats


# --- Files and locking ------------------------------------------------------

def _is_complete(model_dir: Path) -> bool:
    """Whether ``model_dir`` holds a finished build (its marker file exists)."""
    return (model_dir / MARKER_FILE).is_file()


def _replace_dir(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``, replacing any existing directory there.

    The final rename is atomic; an old ``target`` is first moved aside and then
    deleted, so ``target`` is never a partly written model.
    """
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / "model")
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_temp_dirs(target: Path) -> None:
    """Delete temp dirs left by killed builds (call only while holding the lock)."""
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for stale in target.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


def _log(enabled: bool, message: str) -> None:
    """Print a progress line to stderr when progress output is enabled."""
    if enabled:
        print(message, file=sys.stderr, flush=True)
