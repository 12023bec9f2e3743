"""The judge pass: after generation, judged evals' completions are graded by a judge model.

Judge requests are planned like any others (content-hash keys: judge model, judge format and its
version, the graded request's key), journalled (so a resumed run does not judge twice) and sent to the
judge model's engine in one submission (`--engine openai --base-url` serves the judge too). The graded
sample's final score is the judge's; the default judgement's verdict stays beside it in
`score.extra["classifier"]`, so the two can be compared (`evals.agreement.judgement_agreement`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from evalrun.evals.core import Completion, Eval, Sample, Score
from evalrun.evals.judge_formats import JudgeFormat, get_format, verdict_score
from evalrun.models.ref import ModelRef
from evalrun.runner.plan import Request

SUFFIX = ":judge"


def judge_key(judge: ModelRef, graded_key: str, fmt: JudgeFormat | None = None) -> str:
    fmt = fmt or get_format(None)
    blob = f"{judge.fingerprint}|{fmt.version}|{graded_key}"
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def judge_request(judge: ModelRef, fmt: JudgeFormat, key: str, eval_name: str, prompt: str, response: str,
                  **fields: Any) -> Request:
    """The judge request grading `response` to `prompt` (greedy, the format's token budget)."""
    return Request(key=judge_key(judge, key, fmt), eval=eval_name + SUFFIX, messages=fmt.render(prompt, response),
                   max_tokens=fmt.max_tokens, temperature=0.0, **fields)


def judge_requests(judge: ModelRef, evals: list[Eval], requests: list[Request], rows: dict[str, dict],
                   fmt: JudgeFormat | None = None) -> list[Request]:
    """One judge request per finished request of a judged eval."""
    fmt = fmt or get_format(None)
    judged = {ev.name for ev in evals if ev.judged}
    return [judge_request(judge, fmt, r.key, r.eval, r.messages[-1]["content"], rows[r.key]["completion"]["text"],
                          eval_version=r.eval_version, variant=r.variant, sample_id=r.sample_id, epoch=r.epoch)
            for r in requests if r.eval in judged and r.key in rows]


def judge_scorer(_sample: Sample, completion: Completion) -> Score:
    """Parse a reply in the default (StrongREJECT rubric) format (a failure is labelled, never a silent 0)."""
    return verdict_score(get_format(None), completion.text)


def request_scorer(fmt: JudgeFormat) -> Callable[[Request, Completion], Score]:
    """score(request, completion) for judge requests in `fmt`."""
    return lambda _req, completion: verdict_score(fmt, completion.text)


def apply_judgements(judge: ModelRef, records: list[dict[str, Any]], rows: dict[str, dict],
                     fmt: JudgeFormat | None = None) -> None:
    """Replace judged samples' scores with the judge's, keeping the default judgement's verdict beside it."""
    for rec in records:
        row = rows.get(judge_key(judge, rec["key"], fmt))
        if row is None:
            continue
        score = dict(row["score"])
        score["extra"] = {**score.get("extra", {}), "classifier": rec["score"]}
        rec["score"] = score
