"""Evals scored by a rubric judge model (`evalrun ... --judge MODEL`), StrongREJECT style."""

from evalrun.evals.core import Eval
from evalrun.evals.data import DataSource
from evalrun.evals.judge import judge_metrics
from evalrun.evals.loaders import load_strongreject
from evalrun.evals.registry import register
from evalrun.evals.scorers import refusal_scorer


@register("strongreject_rubric", category="safeguards", version=1, hazardous=True)
def strongreject_rubric(data: DataSource) -> Eval:
    """StrongREJECT prompts graded by a judge model (needs --judge and --data-dir)."""
    return Eval(samples=load_strongreject(data), scorer=refusal_scorer(), metrics=judge_metrics(),
                max_tokens=256, judged=True)
