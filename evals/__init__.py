"""What an eval is: samples, scorers, metrics, data loading and the registry.

This is the public API for writing an eval; see `evals/builtin/` for examples.
It never imports vLLM or torch.
"""

from .core import Completion, Eval, Sample, Score, multiple_choice_prompt, system, user
from .data import DataSource
from .errors import EvalrunError, InputError, RunError
from .metrics import accuracy, rate, target_is
from .registry import all_specs, get_spec, load_eval, register
from .scorers import choice_scorer, refusal_scorer

__all__ = [
    "Completion", "DataSource", "Eval", "EvalrunError", "InputError", "RunError", "Sample", "Score",
    "accuracy", "all_specs", "choice_scorer", "get_spec", "load_eval", "multiple_choice_prompt",
    "rate", "refusal_scorer", "register", "system", "target_is", "user",
]
