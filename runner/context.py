"""What a run is asked to do (`RunConfig`), what it knows as it goes (`RunContext`) and what it hands back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun.evals.core import Eval
from evalrun.evals.data import DataSource
from evalrun.models.ref import ModelRef
from evalrun.models.variant import Variant
from evalrun.runner.engine import EngineOptions
from evalrun.runner.journal import Journal
from evalrun.runner.plan import Request
from evalrun.runner.ray_cluster import RayOptions
from evalrun.runner.suite import Suite


@dataclass
class RunConfig:
    """The run command's inputs, as given (the CLI builds it; nothing here is resolved yet)."""

    model: str
    suite: str
    out: Path | None = None
    limit: int | None = None
    seed: int = 0
    data_dirs: list[Path] = field(default_factory=list)
    engine: str = "vllm"
    options: EngineOptions = field(default_factory=EngineOptions)
    progress: bool = True
    variants: list[str] = field(default_factory=list)  # --variant NAME=PATH
    judge: str | None = None  # judge model for judged evals
    judge_format: str | None = None  # --judge-format (evals.judge_formats; default: the StrongREJECT rubric)
    argv: list[str] = field(default_factory=list)
    ray: RayOptions | None = None  # --ray/--replicas: vLLM engine replicas on a Ray cluster (runner/ray_pool.py)


@dataclass
class RunContext:
    """The run's state, filled in stage by stage (see runner/run.py for the order)."""

    config: RunConfig
    suite: Suite
    data: DataSource
    evals: list[Eval]
    given: list[Variant]  # --variant, parsed and checked
    references: list[Variant] = field(default_factory=list)  # the suite's reference models (own engines)
    started: float = field(default_factory=time.perf_counter)
    model: ModelRef | None = None
    run_dir: Path = Path()
    previous: dict[str, Any] | None = None  # the run dir's earlier manifest, when resuming
    variants: list[Variant] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    pending: list[Request] = field(default_factory=list)
    journal: Journal | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, dict] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def mark(self, stage: str, since: float) -> None:
        """Record how long `stage` took."""
        self.timings[f"{stage}_s"] = round(time.perf_counter() - since, 3)

    @property
    def running(self) -> list[Variant]:
        """The variants that are evaluated (not skipped or failed), references included."""
        return [v for v in self.variants if v.runs]

    @property
    def candidates(self) -> list[Variant]:
        """The candidate model and the variants of it the run evaluated: what its worst case ranges over."""
        return [v for v in self.running if not v.is_reference]


@dataclass
class RunOutcome:
    run_dir: Path
    results: dict[str, Any]
    generated: int
    resumed: int
    failed: dict[str, str] = field(default_factory=dict)  # variant -> why its modification failed
