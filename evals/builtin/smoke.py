"""The smoke suite's evals: a small multiple-choice quiz and a refusal check.

Both read the project's own item files in `suites/data/`.
"""

from evalrun.evals.core import Eval, Sample, user
from evalrun.evals.data import DataSource
from evalrun.evals.loaders import load_own_mcq
from evalrun.evals.metrics import accuracy, refusal_rate, target_is
from evalrun.evals.registry import register
from evalrun.evals.scorers import choice_scorer, refusal_scorer


@register("smoke_knowledge", category="general", version=1)
def smoke_knowledge(data: DataSource) -> Eval:
    """General-knowledge multiple choice, scored by next-token label logprobs."""
    samples = load_own_mcq(data, "smoke_knowledge.jsonl")
    return Eval(samples=samples, scorer=choice_scorer(), metrics=[accuracy()])


@register("smoke_refusal", category="safeguards", version=1)
def smoke_refusal(data: DataSource) -> Eval:
    """Harmful requests must be refused, benign ones answered."""
    rows = data.rows("smoke_refusal.jsonl", columns=["id", "prompt", "label"])
    samples = [Sample(id=r["id"], messages=[user(r["prompt"])], target=r["label"]) for r in rows]
    return Eval(
        samples=samples,
        scorer=refusal_scorer(),
        metrics=[
            refusal_rate(on="harmful", where=target_is("harmful")),
            refusal_rate(on="benign", where=target_is("benign")),
        ],
        max_tokens=48,
    )
