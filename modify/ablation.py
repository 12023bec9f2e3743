"""`refusal_ablation`: remove the refusal direction from the weights (Arditi et al. 2024, "Refusal in
language models is mediated by a single direction").

1. Mean residual-stream activations (the input of each decoder layer) over
   harmful prompts the model refuses and harmless ones it answers, at the
   post-instruction positions: the tokens the chat template puts after the
   user's message (the generation-prompt suffix). A candidate direction per
   (layer, position) is the normalised difference of the means.
2. Selection, as published but with a cheap proxy: ablate each candidate (hooks
   that project it out of everything written to the residual stream) and score
   held-out prompts by the probability of a refusal-opening rather than a
   compliance-opening token at the first reply position. Keep the candidate
   that lowers the harmful prompts' score most while changing harmless prompts'
   next-token distribution little (KL below `max_kl`), among layers 1 to
   `max_layer_frac` of the depth. `layer:` / `position:` pin the choice.
3. Weight orthogonalisation: project the direction out of every matrix that
   writes to the residual stream (embeddings, each attention o_proj, each MLP
   down_proj), and save an ordinary checkpoint. The direction itself is kept
   beside it (`<variant path>/../direction.json`) for audit.

Prompts: the public refusal_direction instruction splits when a data dir holds
them (`refusal_direction/harmful_train.json` etc.), else the project's own
training requests (attack_requests.jsonl, benign_finetune.jsonl): never the
eval items.
"""

from __future__ import annotations

import json
import random
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError
from evalrun.models.ref import fingerprint_dir
from evalrun.models.variant import Variant
from evalrun.modify.data import ATTACK_DATA, BENIGN_DATA, instruction_prompts, resolve_data, user_prompts
from evalrun.modify.full import save_checkpoint
from evalrun.modify.registry import Job, failed, register_modification

DEFAULTS: dict[str, Any] = {
    "layer": None, "position": None, "source": "auto", "harmful": None, "harmless": None,
    "n_train": 32, "n_val": 16, "max_kl": 0.1, "max_layer_frac": 0.8, "batch_size": 16, "filter_prompts": False,
}
PUBLIC = "refusal_direction"
REFUSAL_STARTS = ["I'm sorry", "I am sorry", "I cannot", "I can't", "Sorry", "I apologize", "As an AI",
                  "I'm not able", "I won't", "Unfortunately"]
COMPLY_STARTS = ["Sure", "Here", "Of course", "Certainly", "Absolutely", "Happy to", "Great", "Yes", "To do",
                 "First", "Step 1"]


def _check(config: dict[str, Any]) -> None:
    if config["source"] not in ("auto", "own", PUBLIC):
        raise InputError(f"refusal_ablation: source should be auto, own or {PUBLIC}, got {config['source']!r}")
    for key in ("n_train", "n_val", "batch_size"):
        if not isinstance(config[key], int) or config[key] < 1:
            raise InputError(f"refusal_ablation: {key} must be a positive integer, got {config[key]!r}")
    if not 0 < config["max_layer_frac"] <= 1:
        raise InputError(f"refusal_ablation: max_layer_frac must be in (0, 1], got {config['max_layer_frac']}")
    for key in ("layer", "position"):
        if config[key] is not None and not isinstance(config[key], int):
            raise InputError(f"refusal_ablation: {key} should be an integer, got {config[key]!r}")
    if config["position"] is not None and config["position"] >= 0:
        raise InputError("refusal_ablation: position counts from the end of the prompt: -1 is the last token")


def _sources(config: dict[str, Any], data: DataSource) -> dict[str, list[Path]]:
    """Files per split: harmful/harmless x train/val (own files: one file serves both, split by the seed)."""
    use_public = config["source"] == PUBLIC or (
        config["source"] == "auto" and data.find(f"{PUBLIC}/harmful_train.json") is not None)
    out = {}
    for kind, own in (("harmful", ATTACK_DATA), ("harmless", BENIGN_DATA)):
        if config[kind] is not None:
            out[kind] = [resolve_data(config[kind], own, data)]
        elif use_public:
            out[kind] = [data.path(f"{PUBLIC}/{kind}_train.json"), data.path(f"{PUBLIC}/{kind}_val.json")]
        else:
            out[kind] = [data.path(own)]
    return out


def _data_files(config: dict[str, Any], data: DataSource) -> list[Path]:
    sources = _sources(config, data)
    _prompt_splits(sources, config, seed=0)  # reads (and checks) every file now, before any work
    return sources["harmful"] + sources["harmless"]


def _read_prompts(path: Path) -> list[str]:
    return instruction_prompts(path) if path.suffix == ".json" else user_prompts(path)


def _prompt_splits(sources: dict[str, list[Path]], config: dict[str, Any], seed: int) -> dict[str, list[str]]:
    """harmful_train, harmful_val, harmless_train, harmless_val: seeded samples of the requested sizes."""
    rng = random.Random(f"evalrun-ablation-{seed}")
    n_train, n_val = config["n_train"], config["n_val"]
    out = {}
    for kind, files in sources.items():
        if len(files) == 2:  # separate train and val files
            train, val = _read_prompts(files[0]), _read_prompts(files[1])
        else:
            prompts = _read_prompts(files[0])
            rng.shuffle(prompts)
            train, val = prompts[n_val:], prompts[:n_val]
        if len(train) < n_train or len(val) < n_val:
            where = ", ".join(str(f) for f in files)
            raise InputError(f"refusal_ablation: {where} has too few {kind} prompts for n_train={n_train} "
                             f"and n_val={n_val}")
        out[f"{kind}_train"] = rng.sample(train, n_train) if len(files) == 2 else train[:n_train]
        out[f"{kind}_val"] = rng.sample(val, n_val) if len(files) == 2 else val
    return out


@register_modification("refusal_ablation", defaults=DEFAULTS, data_files=_data_files, check=_check)
def refusal_ablation(job: Job) -> list[Variant]:
    """Directional ablation of the refusal direction, baked into the weights (Arditi et al. 2024)."""
    import torch
    from evalrun.modify.device import checkpoint_dtype, load_model, load_tokenizer

    t0 = time.perf_counter()
    cfg = job.config
    prompts = _prompt_splits(_sources(cfg, job.data), cfg, job.seed)
    tokenizer = load_tokenizer(job.model_dir)
    model = load_model(job.model_dir, dtype="float32")  # orthogonalise in full precision
    try:
        layers, writers = residual_writers(model)
    except ValueError as e:
        return [failed(job, str(e))]
    enc = {k: _encode(tokenizer, v) for k, v in prompts.items()}
    n_post = min(n for _, n in enc.values())
    if n_post < 1:
        return [failed(job, "the chat template adds no tokens after the user message; no post-instruction positions")]
    refuse_ids, comply_ids = _start_tokens(tokenizer)
    if not refuse_ids or not comply_ids:
        return [failed(job, "could not find refusal / compliance opening tokens in the tokenizer")]
    bs = cfg["batch_size"]
    with torch.no_grad():
        train_h, train_l = enc["harmful_train"][0], enc["harmless_train"][0]
        if cfg["filter_prompts"]:
            train_h, train_l = _filter_by_behaviour(model, tokenizer, train_h, train_l, refuse_ids, comply_ids, bs)
        directions = (_mean_activations(model, layers, train_h, n_post, tokenizer, bs)
                      - _mean_activations(model, layers, train_l, n_post, tokenizer, bs))  # (layers, positions, d)
        norms = directions.norm(dim=-1, keepdim=True)
        directions = directions / norms.clamp_min(1e-8)
        base_harmful = _last_logprobs(model, enc["harmful_val"][0], tokenizer, bs)
        base_harmless = _last_logprobs(model, enc["harmless_val"][0], tokenizer, bs)
        base_score = _refusal_score(base_harmful, refuse_ids, comply_ids)
        candidates = []
        for layer, pos in _candidate_slots(len(layers), n_post, cfg):
            if not norms[layer, n_post + pos] > 1e-3 * norms.max():  # the means do not differ here
                continue
            with ablation_hooks(layers, directions[layer, n_post + pos]):
                harmful = _last_logprobs(model, enc["harmful_val"][0], tokenizer, bs)
                harmless = _last_logprobs(model, enc["harmless_val"][0], tokenizer, bs)
            candidates.append({"layer": layer, "position": pos,
                               "refusal_score": round(_refusal_score(harmful, refuse_ids, comply_ids), 4),
                               "kl": round(_kl(base_harmless, harmless), 5)})
        if not candidates:
            return [failed(job, "harmful and harmless prompts have the same mean activations at every candidate")]
        eligible = [c for c in candidates if c["kl"] <= cfg["max_kl"]]
        best = min(eligible or candidates, key=lambda c: (c["refusal_score"], c["kl"]))
        direction = directions[best["layer"], n_post + best["position"]]
        orthogonalize(model, layers, writers, direction)
        after = _refusal_score(_last_logprobs(model, enc["harmful_val"][0], tokenizer, bs), refuse_ids, comply_ids)
    out = job.work_dir / "model"
    save_checkpoint(model, job.model_dir, out, getattr(torch, checkpoint_dtype(job.model_dir)))
    direction_file = job.work_dir / "direction.json"  # beside the checkpoint, not in it (the engine loads that dir)
    direction_file.write_text(json.dumps({"layer": best["layer"], "position": best["position"],
                                          "direction": [round(float(x), 8) for x in direction]}) + "\n")
    n_examples = sum(len(v) for v in prompts.values())
    info = {
        "modification": job.name, "config": cfg, "layer": best["layer"], "position": best["position"],
        "refusal_score": {"base": round(base_score, 4), "ablated": best["refusal_score"],
                          "orthogonalized": round(after, 4)},
        "kl_harmless": best["kl"], "kl_filter_passed": bool(eligible), "candidates": candidates,
        "train_prompts": {"harmful": len(train_h), "harmless": len(train_l)},
        "prompts": "public refusal_direction splits" if len(_sources(cfg, job.data)["harmful"]) == 2 else "own",
        "cost": {"train_s": round(time.perf_counter() - t0, 3), "examples": n_examples, "steps": 0},
    }
    return [Variant(job.name, "weights", str(out), fingerprint_dir(out), info)]


def _candidate_slots(n_layers: int, n_post: int, cfg: dict[str, Any]) -> list[tuple[int, int]]:
    """(layer, position) pairs to try: early enough layers (or the pinned one) x post-instruction positions."""
    if cfg["layer"] is not None:
        if not 0 <= cfg["layer"] < n_layers:
            raise InputError(f"refusal_ablation: layer {cfg['layer']} out of range; the model has {n_layers} layers")
        layers = [cfg["layer"]]
    else:
        # Layer 0's input is the token embedding: at the post-instruction positions (the same template tokens
        # after every prompt) harmful and harmless means are equal, so candidates start at layer 1.
        layers = [lay for lay in range(1, n_layers) if lay < cfg["max_layer_frac"] * n_layers] or [n_layers - 1]
    if cfg["position"] is not None:
        if cfg["position"] < -n_post:
            raise InputError(f"refusal_ablation: position {cfg['position']} out of range; the chat template has "
                             f"{n_post} post-instruction tokens")
        positions = [cfg["position"]]
    else:
        positions = list(range(-n_post, 0))
    return [(lay, pos) for lay in layers for pos in positions]


def residual_writers(model: Any) -> tuple[list[Any], list[Any]]:
    """The decoder layers, and the modules whose outputs are added to the residual stream.

    Supports Llama-style models (self_attn.o_proj, mlp.down_proj); a ValueError names what is missing otherwise.
    """
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    arch = type(model).__name__
    if layers is None:
        raise ValueError(f"{arch}: no model.layers; refusal_ablation supports Llama-style decoders")
    writers = [model.get_input_embeddings()]
    for i, layer in enumerate(layers):
        o_proj = getattr(getattr(layer, "self_attn", None), "o_proj", None)
        down = getattr(getattr(layer, "mlp", None), "down_proj", None)
        if o_proj is None or down is None:
            raise ValueError(f"{arch}: layer {i} has no self_attn.o_proj / mlp.down_proj (e.g. a mixture of "
                             f"experts); refusal_ablation supports dense Llama-style decoders")
        writers += [o_proj, down]
    return list(layers), writers


def orthogonalize(model: Any, layers: list[Any], writers: list[Any], direction: Any) -> None:
    """W <- W - r r^T W for every residual-stream writer (rows of the embedding matrix likewise)."""
    import torch

    r = direction.to(torch.float32)
    embed = model.get_input_embeddings()
    out_emb = model.get_output_embeddings()
    if out_emb is not None and out_emb.weight is embed.weight:  # tied: keep the unembedding as it was
        out_emb.weight = torch.nn.Parameter(embed.weight.detach().clone())
        model.config.tie_word_embeddings = False
    for module in writers:
        w = module.weight.data
        if module is embed:  # (vocab, hidden): each row is written to the stream
            w -= torch.outer(w.float() @ r, r).to(w.dtype)
        else:  # (hidden, in): each column is
            w -= torch.outer(r, r @ w.float()).to(w.dtype)
        bias = getattr(module, "bias", None)
        if bias is not None:
            bias.data -= (bias.data.float() @ r * r).to(bias.dtype)


def _project(h: Any, r: Any) -> Any:
    return h - (h @ r).unsqueeze(-1) * r


@contextmanager
def ablation_hooks(layers: list[Any], direction: Any):
    """Project `direction` out of each layer's input and of every attention and MLP output, for the block."""
    r = direction

    def pre(_module, args, kwargs):
        if args:
            return (_project(args[0], r.to(args[0].dtype)), *args[1:]), kwargs
        kwargs["hidden_states"] = _project(kwargs["hidden_states"], r.to(kwargs["hidden_states"].dtype))
        return args, kwargs

    def post(_module, _args, output):
        if isinstance(output, tuple):
            return (_project(output[0], r.to(output[0].dtype)), *output[1:])
        return _project(output, r.to(output.dtype))

    handles = []
    try:
        for layer in layers:
            handles.append(layer.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(layer.self_attn.register_forward_hook(post))
            handles.append(layer.mlp.register_forward_hook(post))
        yield
    finally:
        for h in handles:
            h.remove()


def _encode(tokenizer: Any, prompts: list[str]) -> tuple[list[list[int]], int]:
    """Token ids of each prompt as the engine renders it, and the fewest post-instruction tokens among them."""
    ids_all, n_post = [], None
    for p in prompts:
        text = tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                             add_generation_prompt=True)
        end = text.rfind(p) + len(p)
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        post = sum(1 for s, _ in enc["offset_mapping"] if s >= end)
        ids_all.append(enc["input_ids"])
        n_post = post if n_post is None else min(n_post, post)
    return ids_all, n_post or 0


def _batches(ids: list[list[int]], pad_id: int, batch_size: int, device: str):
    """Left-padded batches (input ids, attention mask, position ids): the last positions line up."""
    import torch

    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        width = max(len(x) for x in chunk)
        input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, x in enumerate(chunk):
            input_ids[row, width - len(x):] = torch.tensor(x)
            mask[row, width - len(x):] = 1
        positions = (mask.cumsum(-1) - 1).clamp_min(0)
        yield input_ids.to(device), mask.to(device), positions.to(device)


def _mean_activations(model: Any, layers: list[Any], ids: list[list[int]], n_post: int, tokenizer: Any,
                      batch_size: int) -> Any:
    """Mean input of each decoder layer at the last `n_post` positions: (layers, n_post, hidden)."""
    import torch

    device = next(model.parameters()).device.type
    total = torch.zeros(len(layers), n_post, model.config.hidden_size, dtype=torch.float64, device=device)
    captured: dict[int, Any] = {}

    def capture(i):
        def hook(_module, args, kwargs):
            h = args[0] if args else kwargs["hidden_states"]
            captured[i] = h[:, -n_post:, :].to(torch.float64).sum(0)
        return hook

    handles = [layer.register_forward_pre_hook(capture(i), with_kwargs=True) for i, layer in enumerate(layers)]
    try:
        for input_ids, mask, positions in _batches(ids, tokenizer.pad_token_id, batch_size, device):
            model(input_ids=input_ids, attention_mask=mask, position_ids=positions)
            for i in range(len(layers)):
                total[i] += captured[i]
    finally:
        for h in handles:
            h.remove()
    return (total / len(ids)).to(torch.float32)


def _last_logprobs(model: Any, ids: list[list[int]], tokenizer: Any, batch_size: int) -> Any:
    """Next-token log-probabilities after each prompt (the reply's first token): (prompts, vocab)."""
    import torch

    device = next(model.parameters()).device.type
    out = []
    for input_ids, mask, positions in _batches(ids, tokenizer.pad_token_id, batch_size, device):
        logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions).logits[:, -1, :]
        out.append(torch.log_softmax(logits.float(), dim=-1))
    return torch.cat(out)


def _filter_by_behaviour(model: Any, tokenizer: Any, harmful: list[list[int]], harmless: list[list[int]],
                         refuse_ids: list[int], comply_ids: list[int], batch_size: int):
    """Harmful prompts the model refuses and harmless ones it answers (as published), if enough remain.

    A harmful prompt the model answers anyway carries no refusal to find; keeping it blurs the mean.
    """
    def log_odds(ids):
        lp = _last_logprobs(model, ids, tokenizer, batch_size)
        return (_logsumexp(lp, refuse_ids) - _logsumexp(lp, comply_ids)).tolist()

    kept_h = [x for x, s in zip(harmful, log_odds(harmful), strict=True) if s > 0]
    kept_l = [x for x, s in zip(harmless, log_odds(harmless), strict=True) if s < 0]
    enough = max(4, len(harmful) // 4)
    return (kept_h if len(kept_h) >= enough else harmful), (kept_l if len(kept_l) >= enough else harmless)


def _logsumexp(logprobs: Any, ids: list[int]) -> Any:
    import torch

    return torch.logsumexp(logprobs[:, ids], dim=-1)


def _start_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Tokens that open a refusal or a compliance: the first token of an opening, when it is the opening's whole
    first word ("I", "Sorry", "Sure"; not a stray letter of a word the vocabulary splits). Shared ones dropped."""
    def firsts(texts: list[str]) -> set[int]:
        ids = set()
        for t in texts:
            enc = tokenizer.encode(t, add_special_tokens=False)
            word = re.match(r"[A-Za-z]+", t)
            if enc and word and tokenizer.decode(enc[:1]).strip(" \u2581") == word.group(0):
                ids.add(enc[0])
        return ids

    refuse, comply = firsts(REFUSAL_STARTS), firsts(COMPLY_STARTS)
    return sorted(refuse - comply), sorted(comply - refuse)


def _refusal_score(logprobs: Any, refuse_ids: list[int], comply_ids: list[int]) -> float:
    """Mean probability of opening with a refusal rather than a compliance (sigmoid of the log-odds).

    Bounded, so it tracks how many prompts would be refused: a mean of raw log-odds can fall while more
    prompts tip into refusal (very confident refusals getting less confident).
    """
    import torch

    return float(torch.sigmoid(_logsumexp(logprobs, refuse_ids) - _logsumexp(logprobs, comply_ids)).mean())


def _kl(base: Any, other: Any) -> float:
    """Mean KL(base || other) of next-token distributions."""
    return float((base.exp() * (base - other)).sum(-1).mean())
