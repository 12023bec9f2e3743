"""The report's summary as plain rows: what each table shows, decided here so the template only lays out.

Every section is optional except the evals table: categories, safeguards,
comparisons and durability come from later stages of a run and are shown
whenever results.json has them.
"""

from __future__ import annotations

import math
from typing import Any

from evalrun.evals.metrics import HARMFUL_REFUSAL, OVER_REFUSAL
from evalrun.reports import levels
from evalrun.reports.meaning import describe, direction
from evalrun.rundir.reader import BASE, Run


def _num(x: object) -> float | None:
    ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
    return float(x) if ok else None


def _ci(x: object) -> list[float] | None:
    if isinstance(x, list | tuple) and len(x) == 2 and all(_num(v) is not None for v in x):
        return [float(x[0]), float(x[1])]
    return None


def scorecard(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per tracked category: its level, the evals behind it, the basis value and the thresholds."""
    rows = []
    for name, c in (results.get("categories") or {}).items():
        if not isinstance(c, dict):
            continue
        basis = c.get("basis") or {}
        thresholds = c.get("thresholds") or {}
        released = (c.get("as_released") or {}).get("level")
        rows.append({
            "deciding": c.get("deciding_variant"), "released": released, "released_css": levels.css_class(released),
            "by_variant": [(v, lvl, levels.css_class(lvl)) for v, lvl in (c.get("by_variant") or {}).items()],
            "name": name, "level": c.get("level", "?"), "css": levels.css_class(c.get("level")),
            "scale": c.get("scale", ""), "rule": c.get("rule", ""),
            "evals": [e for e in c.get("evals") or [] if isinstance(e, dict)],
            "value": _num(basis.get("value")), "ci": _ci(basis.get("ci")), "n": basis.get("n"),
            "thresholds": sorted(((k, v) for k, v in thresholds.items() if _num(v) is not None), key=lambda kv: kv[1]),
        })
    return rows


def _definition(results: dict[str, Any], ev: str, metric: str) -> dict[str, Any] | None:
    """The definition recorded with `metric` of eval `ev` (any variant's entry: they are the same)."""
    for v in (((results.get("evals") or {}).get(ev) or {}).get("variants") or {}).values():
        d = ((v.get("metrics") or {}).get(metric) or {}).get("definition")
        if isinstance(d, dict):
            return d
    return None


def safeguards(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Safeguard rows: results.safeguards if present, else every refusal metric of the base variant."""
    rows = []
    sg = results.get("safeguards")
    if isinstance(sg, dict) and sg:
        for ev, s in sg.items():
            if not isinstance(s, dict):
                continue
            templates = [{"name": t, "value": _num(p.get("value")), "ci": _ci(p.get("ci")), "n": p.get("n")}
                         for t, p in (s.get("by_template") or {}).items() if isinstance(p, dict)]
            rows.append({"eval": ev, "metric": s.get("metric", ""), "value": _num(s.get("value")),
                         "ci": _ci(s.get("ci")), "n": s.get("n"), "templates": templates,
                         "direction": describe(_definition(results, ev, str(s.get("metric", "")))),
                         **_judgement_and_worst_case(results, ev, str(s.get("metric", "")))})
        return rows
    for ev, e in (results.get("evals") or {}).items():
        base = ((e.get("variants") or {}).get(BASE) or {}).get("metrics") or {}
        for metric, m in base.items():
            if isinstance(m, dict) and (m.get("definition") or {}).get("measures") in (HARMFUL_REFUSAL, OVER_REFUSAL):
                rows.append({"eval": ev, "metric": metric, "value": _num(m.get("value")), "ci": _ci(m.get("ci")),
                             "n": m.get("n"), "templates": [], "direction": describe(m.get("definition")),
                             **_judgement_and_worst_case(results, ev, metric)})
    return rows


def _judgement_and_worst_case(results: dict[str, Any], ev: str, metric: str) -> dict[str, Any]:
    """Beside a safeguard figure: the rate corrected for the judgement's measured errors, and the worst case
    over every attack and variant (with the attacks that broke the most prompts)."""
    base = ((((results.get("evals") or {}).get(ev) or {}).get("variants") or {}).get(BASE) or {}).get("metrics") or {}
    cal = (base.get(metric) or {}).get("calibrated") or {}
    wc = (results.get("worst_case") or {}).get(ev) or {}
    rate = wc.get("worst_case_refusal_rate") or {}
    attacks = sorted(((f"{t}", _num(x.get("value"))) for t, x in (wc.get("by_transform") or {}).items()),
                     key=lambda a: (a[1] is None, a[1]))
    return {"calibrated": _num(cal.get("value")), "calibrated_ci": _ci(cal.get("ci")),
            "worst": _num(rate.get("value")), "worst_ci": _ci(rate.get("ci")), "worst_n": rate.get("n"),
            "weakest": attacks[:3], "variants": len(wc.get("variants") or [])}


def elicitation(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per trained attack: elicited or not, why, and its evidence (probe refusal, loss), selected configs first."""
    rows = []
    for name, info in (results.get("variants") or {}).items():
        el = info.get("elicitation") if isinstance(info, dict) else None
        if not isinstance(el, dict):
            continue
        ev = el.get("evidence") or {}
        probe, loss = ev.get("probe") or {}, ev.get("loss") or {}
        rows.append({"name": name, "status": el.get("status"), "selected": el.get("selected"),
                     "css": "pill-pass" if el.get("status") == "elicited" else "pill-fail",
                     "reason": el.get("reason", ""), "group": el.get("group"), "overrides": el.get("overrides"),
                     "probe": _num(probe.get("value")), "probe_ci": _ci(probe.get("ci")), "probe_n": probe.get("n"),
                     "final_loss": _num(loss.get("final")), "falling": loss.get("still_falling")})
    return sorted(rows, key=lambda r: (r["group"] or "", not r["selected"], r["name"]))


def marginal(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The marginal-risk rows: per category and per safeguard, the candidate's worst case against the best reference."""
    m = results.get("marginal") or {}
    cats = [{"name": name, "candidate": c.get("candidate") or {}, "reference": c.get("best_reference") or {},
             "advances": c.get("advances_frontier"), "delta": _num(((c.get("delta") or {}).get("delta") or {})
                                                                   .get("value")),
             "delta_ci": _ci(((c.get("delta") or {}).get("delta") or {}).get("ci"))}
            for name, c in (m.get("categories") or {}).items()]
    sgs = [{"eval": ev, "metric": s.get("metric"), "candidate": s.get("candidate") or {},
            "reference": s.get("best_reference") or {},
            "delta": _num(((s.get("delta") or {}).get("delta") or {}).get("value")),
            "delta_ci": _ci(((s.get("delta") or {}).get("delta") or {}).get("ci"))}
           for ev, s in (m.get("safeguards") or {}).items()]
    return {"categories": cats, "safeguards": sgs} if cats or sgs else {}


def modifications(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per non-base variant: what it is (kind, config, cost or why skipped) and its paired comparisons."""
    variants = results.get("variants") or {}
    comps = results.get("comparisons") or {}
    names = [v for v in variants if v != BASE]
    for per_variant in comps.values():
        names += [v for v in (per_variant or {}) if v not in names]
    out = []
    for v in names:
        info = variants.get(v) or {}
        rows = []
        for ev, per_variant in comps.items():
            c = (per_variant or {}).get(v)
            if not isinstance(c, dict):
                continue
            by_metric = c.get("by_metric") if isinstance(c.get("by_metric"), dict) else {}
            metrics = by_metric or {c.get("metric", ""): c}
            for metric, m in metrics.items():
                rows.append({
                    "eval": ev, "metric": metric or m.get("metric", ""), "primary": metric == c.get("metric"),
                    "base": _num((m.get("base") or {}).get("value")), "base_ci": _ci((m.get("base") or {}).get("ci")),
                    "variant": _num((m.get("variant") or {}).get("value")),
                    "variant_ci": _ci((m.get("variant") or {}).get("ci")),
                    "delta": _num((m.get("delta") or {}).get("value")),
                    "delta_ci": _ci((m.get("delta") or {}).get("ci")),
                    "n_pairs": m.get("n_pairs"), "mcnemar_p": _num(m.get("mcnemar_p")),
                    "retention": _num(m.get("retention")), "changed": m.get("changed"),
                })
        out.append({"name": v, "kind": info.get("kind", ""), "modification": info.get("modification", ""),
                    "path": info.get("path", ""), "config": info.get("config"), "cost": info.get("cost"),
                    "skipped": info.get("skipped"), "rows": rows})
    return out


def eval_rows(run: Run) -> list[dict[str, Any]]:
    """Every eval, variant and metric: value, CI and n, plus the outcome counts."""
    out = []
    variants = run.variant_names()
    for name, e in run.evals.items():
        per_variant = e.get("variants") or {}
        vrows = []
        for v in [x for x in variants if x in per_variant]:
            pv = per_variant[v] or {}
            metrics = [{"name": m, "value": _num(x.get("value")), "ci": _ci(x.get("ci")), "n": x.get("n")}
                       for m, x in (pv.get("metrics") or {}).items() if isinstance(x, dict)]
            vrows.append({"variant": v, "n": pv.get("n"), "metrics": metrics, "outcomes": pv.get("outcomes") or {}})
        out.append({"name": name, "version": e.get("version"), "category": e.get("category", ""),
                    "hazardous": bool(e.get("hazardous")), "kind": e.get("kind", ""),
                    "description": e.get("description", ""), "n_samples": e.get("n_samples"),
                    "epochs": e.get("epochs"), "variants": vrows,
                    "span": sum(max(1, len(r["metrics"])) for r in vrows) or 1})
    return out


def provenance(run: Run) -> dict[str, Any]:
    """The manifest, arranged: identity rows, the engine, timings and counts, per-eval sampling."""
    m = run.manifest
    info = m.get("engine_info") or {}
    model = m.get("model") or run.results.get("model") or {}
    suite = m.get("suite") or run.results.get("suite") or {}
    ident = [
        ("evalrun", m.get("evalrun_version")), ("git revision", m.get("git_revision")),
        ("status", m.get("status")), ("started", m.get("started")), ("results created", run.results.get("created")),
        ("model", model.get("name")), ("model path", model.get("path")),
        ("model fingerprint", model.get("fingerprint")),
        ("suite", f"{suite.get('name', '')} v{suite.get('version', '')}"), ("suite file", suite.get("path")),
        ("seed", m.get("seed")), ("limit", m.get("limit")), ("data dirs", ", ".join(m.get("data_dirs") or []) or None),
        ("command", " ".join(str(a) for a in m.get("command") or []) or None),
        ("python", m.get("python")), ("platform", m.get("platform")),
    ]
    engine = [
        ("engine", m.get("engine") or info.get("engine")), ("vLLM", info.get("vllm_version")),
        ("torch", info.get("torch_version")), ("device", info.get("device")), ("device name", info.get("device_name")),
    ]
    judge = m.get("judge") if isinstance(m.get("judge"), dict) else {}
    if judge:
        ident += [("judge model", judge.get("model")), ("judge fingerprint", judge.get("fingerprint")),
                  ("judge prompt", judge.get("prompt_version"))]
    loads = [e for e in m.get("engines") or [] if isinstance(e, dict)]
    engines = [{"variants": ", ".join(map(str, e.get("variants") or [])) or "—", "device": e.get("device_name")
                or e.get("device"), "load_s": e.get("engine_load_s"), "generate_s": e.get("generate_s"),
                "tokens": e.get("output_tokens")} for e in loads] if len(loads) > 1 else []
    return {
        "ident": [(k, v) for k, v in ident if v not in (None, "", " v")], "engine_loads": engines,
        "engine": [(k, v) for k, v in engine if v not in (None, "")],
        "engine_args": info.get("engine_args"), "engine_options": m.get("engine_options"),
        "timings": _timings(m.get("timings") or {}), "counts": m.get("counts") or {},
        "evals": m.get("evals") or {}, "variants": m.get("variants") or [],
    }


def _timings(t: dict[str, Any]) -> dict[str, Any]:
    """Flat timing rows: the engine totals, then one row per pipeline stage."""
    flat = {k: v for k, v in t.items() if not isinstance(v, dict)}
    stages = t.get("stages") if isinstance(t.get("stages"), dict) else {}
    return {**flat, **{f"stage {k}": v for k, v in stages.items()}}


def verdict(run: Run) -> dict[str, Any] | None:
    """The gate's verdict for the banner: passed or not, and the failed checks (why), measured failures before
    inconclusive ones (a reader sees first what the evidence shows, then what it could not settle)."""
    v = run.verdict
    if not isinstance(v, dict) or "passed" not in v:
        return None
    checks = [c for c in v.get("checks") or [] if isinstance(c, dict)]
    failed = sorted((c for c in checks if not c.get("passed")), key=lambda c: c.get("status") == "inconclusive")
    reasons = [r for r in v.get("reasons") or [] if isinstance(r, str)]
    return {"passed": bool(v.get("passed")), "stale": run.verdict_stale, "checks": checks, "failed": failed,
            "reasons": reasons, "created": v.get("created"),
            "policy": (v.get("policy") or {}).get("source") if isinstance(v.get("policy"), dict) else None}


def key_figures(results: dict[str, Any], limit: int = 4) -> list[dict[str, str]]:
    """The few numbers a reader wants first: highest level, safeguard refusal, worst retention, else metrics."""
    out: list[dict[str, str]] = []
    cards = scorecard(results)
    if cards:
        order = {"lvl-low": 0, "lvl-medium": 1, "lvl-high": 2, "lvl-critical": 3, "lvl-other": -1}
        worst = max(order.get(c["css"], -1) for c in cards)
        at = [c for c in cards if order.get(c["css"], -1) == worst]
        names = f"all {len(cards)}" if len(at) == len(cards) > 1 else ", ".join(c["name"] for c in at[:2])
        names += "…" if 2 < len(at) < len(cards) else ""
        out.append({"label": "highest level", "value": f"{at[0]['level']} ({names})"})
    for s in safeguards(results)[:2]:
        if s["value"] is not None:
            out.append({"label": f"{s['eval']} · {s['metric']}".replace("_", " "), "value": f"{s['value']:.2f}"})
    retentions = [(r["retention"], m["name"], r["eval"]) for m in modifications(results) for r in m["rows"]
                  if r["primary"] and r["retention"] is not None
                  and (_definition(results, r["eval"], r["metric"]) or {}).get("measures") == HARMFUL_REFUSAL]
    if retentions:
        worst = min(retentions)
        out.append({"label": f"retention after {worst[1]}", "value": f"{worst[0]:.2f}"})
    if not out:
        for ev, e in (results.get("evals") or {}).items():
            for metric, m in (((e.get("variants") or {}).get(BASE) or {}).get("metrics") or {}).items():
                if isinstance(m, dict) and _num(m.get("value")) is not None:
                    out.append({"label": f"{ev} · {metric}".replace("_", " "), "value": f"{m['value']:.2f}"})
                    break
    return out[:limit]


def directions(results: dict[str, Any]) -> dict[tuple[str, str], int]:
    """(eval, metric) -> which way is safer, for colouring the before/after chart."""
    out = {}
    for ev, per_variant in (results.get("comparisons") or {}).items():
        for c in (per_variant or {}).values():
            if isinstance(c, dict):
                out[(ev, str(c.get("metric", "")))] = direction(c.get("definition"))
    return out
