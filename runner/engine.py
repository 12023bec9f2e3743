"""What every engine provides, and the options they share.

An engine takes the run's requests in one submission and reports completions
as they finish (so the journal commits them as they arrive), in any order,
each tagged with its index in the submitted list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from evalrun.evals.core import Completion
from evalrun.runner.plan import Request

OnResults = Callable[[list[tuple[int, Completion]]], None]


@dataclass
class EngineOptions:
    dtype: str = "auto"
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1  # with distributed_executor_backend="ray": one engine over several nodes
    distributed_executor_backend: str | None = None  # vLLM's own executor ("ray", "mp"); None: vLLM picks
    enforce_eager: bool | None = None  # None: eager on CPU (fast start), compiled on GPU
    kv_cache_gb: float | None = None
    max_lora_rank: int = 16
    seed: int = 0
    base_url: str = ""  # the openai engine's server
    api_key: str = ""
    concurrency: int = 16
    debug: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("api_key")
        return d


class Engine(Protocol):
    def generate(
        self, requests: list[Request], on_results: OnResults, on_ready: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """Run every request; call `on_ready` once loaded and `on_results` as completions finish.

        Returns engine info and timings."""
        ...
