"""The judging stage: judged evals' completions graded by the judge model, in one batched submission.

The judge is built by the same engine factory as the evaluated model, so it honours
`--engine openai --base-url` too; its requests are journalled like any others, so a
resumed run never grades a completion twice.
"""

from __future__ import annotations

from evalrun.runner.context import RunContext
from evalrun.runner.generate import engine_options, make_engine, run_requests
from evalrun.runner.prepare import resolve


def judge(ctx: RunContext) -> None:
    """Grade the judged evals and put the judge's scores on their records (the default judgement kept beside)."""
    if not any(ev.judged for ev in ctx.evals):
        return
    from evalrun.evals.judge_formats import get_format
    from evalrun.runner.judging import apply_judgements, judge_requests, request_scorer

    assert ctx.journal is not None and ctx.config.judge is not None
    fmt = get_format(ctx.config.judge_format)
    model = resolve(ctx.config, ctx.config.judge)
    ctx.manifest["judge"] = {"model": model.path, "fingerprint": model.fingerprint, "format": fmt.name,
                             "prompt_version": fmt.version}
    wanted = judge_requests(model, ctx.evals, ctx.requests, ctx.rows, fmt)
    done = ctx.journal.done_keys()
    pending = [r for r in wanted if r.key not in done]
    if pending:
        engine = make_engine(ctx.config, model.path, engine_options(ctx.config, model), ctx.run_dir / "engine.log")
        info = run_requests(ctx.config, engine, request_scorer(fmt), pending, ctx.journal)
        ctx.manifest["engines"].append({**info, "variants": ["judge"]})
    apply_judgements(model, ctx.records, ctx.journal.rows(r.key for r in wanted), fmt)
