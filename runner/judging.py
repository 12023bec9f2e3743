"""The rubric judge pass: after generation, judged evals' completions are graded by a judge model.

Judge requests are planned like any others (content-hash keys: judge model, judge prompt version,
the graded request's key), journalled (so a resumed run does not judge twice) and sent to the judge
model's engine in one submission. The graded sample's final score is the judge's; the refusal
classifier's verdict stays beside it in `score.extra["classifier"]`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from evalrun.evals.core import Completion, Eval, Sample, Score
from evalrun.evals.judge import JUDGE_PROMPT_VERSION, judge_messages, judged_score, parse_judge
from evalrun.models.ref import ModelRef
from evalrun.runner.plan import Request

JUDGE_MAX_TOKENS = 256
SUFFIX = ":judge"


def judge_key(judge: ModelRef, graded_key: str) -> str:
    blob = f"{judge.fingerprint}|{JUDGE_PROMPT_VERSION}|{graded_key}"
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def judge_requests(judge: ModelRef, evals: list[Eval], requests: list[Request], rows: dict[str, dict]) -> list[Request]:
    """One judge request per finished request of a judged eval."""
    judged = {ev.name: ev for ev in evals if ev.judged}
    out = []
    for r in requests:
        if r.eval not in judged or r.key not in rows:
            continue
        prompt = r.messages[-1]["content"]
        out.append(Request(
            key=judge_key(judge, r.key), eval=r.eval + SUFFIX, eval_version=r.eval_version, variant=r.variant,
            sample_id=r.sample_id, epoch=r.epoch,
            messages=judge_messages(prompt, rows[r.key]["completion"]["text"]),
            max_tokens=JUDGE_MAX_TOKENS, temperature=0.0,
        ))
    return out


def judge_scorer(_sample: Sample, completion: Completion) -> Score:
    """Parse the judge's reply (None on failure, never a silent 0)."""
    return judged_score(parse_judge(completion.text), completion.text)


def apply_judgements(judge: ModelRef, records: list[dict[str, Any]], rows: dict[str, dict]) -> None:
    """Replace judged samples' scores with the judge's, keeping the classifier's verdict beside it."""
    for rec in records:
        row = rows.get(judge_key(judge, rec["key"]))
        if row is None:
            continue
        score = dict(row["score"])
        score["extra"] = {**score.get("extra", {}), "classifier": rec["score"]}
        rec["score"] = score
