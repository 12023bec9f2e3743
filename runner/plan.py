"""The run plan: suite -> evals -> samples -> requests, one per (sample, variant, epoch).

A request carries the chat messages and explicit sampling params; the engine
renders the chat template once per distinct prompt and records the token ids.
Its `key` is a content hash of everything that determines the result, which
is what the journal resumes by.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from evalrun.evals.core import Eval
from evalrun.models.variant import Variant

MAX_SEED = 2**31 - 1


@dataclass
class Request:
    key: str
    eval: str
    eval_version: int
    variant: str
    sample_id: str
    epoch: int
    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float
    seed: int | None = None
    labels: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def request_seed(run_seed: int, eval_name: str, sample_id: str, epoch: int) -> int:
    """A per-request seed that does not depend on request order (stable across resumes)."""
    digest = hashlib.sha256(f"{run_seed}:{eval_name}:{sample_id}:{epoch}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % MAX_SEED


def request_key(model_fingerprint: str, variant: Variant, ev: Eval, sample_hash: str, req: dict) -> str:
    blob = json.dumps(
        {
            "model": model_fingerprint,
            "variant": [variant.name, variant.kind, variant.fingerprint],
            "eval": [ev.name, ev.version],
            "sample": sample_hash,
            "params": req,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def build_requests(
    evals: list[Eval], variants: list[Variant], model_fingerprint: str, seed: int
) -> list[Request]:
    """Every request of the run, in a stable order (variant, eval, sample, epoch)."""
    requests = []
    for variant in (v for v in variants if v.runs):
        for ev in evals:
            for sample in ev.samples:
                sample_hash = sample.content_hash()
                temperature = ev.temperature if sample.temperature is None else sample.temperature
                for epoch in range(sample.epochs or ev.epochs):
                    sampled = temperature > 0
                    params = {
                        "max_tokens": 1 if sample.choices else ev.max_tokens,
                        "temperature": 0.0 if sample.choices else temperature,
                        "seed": request_seed(seed, ev.name, sample.id, epoch) if sampled else None,
                        "labels": sample.labels,
                        "epoch": epoch,
                    }
                    requests.append(
                        Request(
                            key=request_key(model_fingerprint, variant, ev, sample_hash, params),
                            eval=ev.name,
                            eval_version=ev.version,
                            variant=variant.name,
                            sample_id=sample.id,
                            epoch=epoch,
                            messages=sample.messages,
                            max_tokens=params["max_tokens"],
                            temperature=params["temperature"],
                            seed=params["seed"],
                            labels=sample.labels,
                        )
                    )
    return requests
