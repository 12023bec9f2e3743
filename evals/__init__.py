"""What an eval is: samples, scorers, metrics, data loading and the registry.

This is the public API for writing an eval; see `evals/builtin/` for examples.
It never imports vLLM or torch.
"""

from evalrun.evals.core import Completion, Eval, Sample, Score, multiple_choice_prompt, system, user
from evalrun.evals.data import DataSource
from evalrun.evals.errors import EvalrunError, InputError, RunError
from evalrun.evals.metrics import (
    CAPABILITY,
    HARM,
    HARMFUL_REFUSAL,
    OVER_REFUSAL,
    UTILITY,
    Metric,
    MetricDefinition,
    Where,
    accuracy,
    mean,
    metadata_is,
    rate,
    refusal_rate,
    target_is,
)
from evalrun.evals.registry import all_specs, get_spec, load_eval, register
from evalrun.evals.scorers import choice_scorer, refusal_scorer

__all__ = [
    "Completion", "DataSource", "Eval", "EvalrunError", "InputError", "RunError", "Sample", "Score",
    "accuracy", "all_specs", "choice_scorer", "get_spec", "load_eval", "multiple_choice_prompt",
    "rate", "refusal_scorer", "register", "system", "target_is", "user", "CAPABILITY", "HARM", "HARMFUL_REFUSAL",
    "OVER_REFUSAL", "UTILITY", "Metric", "MetricDefinition", "Where", "mean", "metadata_is", "refusal_rate",
]
