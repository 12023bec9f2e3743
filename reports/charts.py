"""The report's charts: matplotlib figures inlined as SVG, so the page needs nothing from the network.

Each function returns an `<svg>` string, or None when its data is absent.
matplotlib is imported lazily (it costs half a second) and used through
`Figure` directly, never pyplot, so no global backend state is touched.
Text stays text in the SVG (smaller, selectable) and mathtext is off, so a
`$` in an eval name is just a dollar sign; matplotlib escapes text as XML.
"""

from __future__ import annotations

import io
import re
from typing import Any

INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"
PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2", "#4b5563", "#db2777"]
LEVEL_COLOURS = {"low": "#16a34a", "medium": "#d97706", "high": "#ea580c", "critical": "#b91c1c"}
_MAX_LABEL = 28


def _short(text: object, n: int = _MAX_LABEL) -> str:
    s = str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def _ci(point: dict[str, Any]) -> tuple[float, float] | None:
    ci = point.get("ci")
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(isinstance(x, int | float) for x in ci):
        return float(ci[0]), float(ci[1])
    return None


def _num(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    fig.patch.set_alpha(0)
    return fig


def _style(ax) -> None:
    ax.set_facecolor("none")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=MUTED, labelsize=9)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _svg(fig, chart_id: str, title: str) -> str:
    import matplotlib

    buf = io.StringIO()
    rc = {"svg.fonttype": "none", "svg.hashsalt": chart_id, "text.parse_math": False}
    with matplotlib.rc_context(rc):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    referenced = set(re.findall(r"#([A-Za-z_][\w.-]*)\)?\"?", svg))
    svg = re.sub(r'\sid="([^"]*)"', lambda m: m.group(0) if m.group(1) in referenced else "", svg)
    head_end = svg.index(">")
    width = re.search(r'\swidth="([\d.]+)pt"', svg[:head_end])
    head = re.sub(r'\s(width|height)="[^"]*"', "", svg[:head_end])
    from xml.sax.saxutils import quoteattr

    head += f' class="chart" role="img" aria-label={quoteattr(title)}'
    if width:  # never drawn wider than its natural size: a one-panel figure would otherwise fill the page
        head += f' style="width:min(100%,{float(width.group(1)) * 4 / 3:.0f}px)"'
    return head + svg[head_end:]


def _whiskers(ax, xs, values, cis, horizontal: bool = False, colour: str = INK) -> None:
    for x, v, ci in zip(xs, values, cis, strict=True):
        if ci is None or v is None:
            continue
        lo, hi = ci
        if horizontal:
            ax.errorbar(v, x, xerr=[[max(0, v - lo)], [max(0, hi - v)]], fmt="none", ecolor=colour, capsize=3, lw=1.2)
        else:
            ax.errorbar(x, v, yerr=[[max(0, v - lo)], [max(0, hi - v)]], fmt="none", ecolor=colour, capsize=3, lw=1.2)


def category_chart(categories: dict[str, Any]) -> str | None:
    """Per tracked category: each eval's value with its CI, and the category's level thresholds as lines."""
    cats = [(name, c) for name, c in categories.items() if isinstance(c, dict)]
    if not cats:
        return None
    cols = min(len(cats), 3)
    rows = (len(cats) + cols - 1) // cols
    fig = _figure(3.6 * cols, 2.9 * rows)
    for i, (name, cat) in enumerate(cats):
        ax = fig.add_subplot(rows, cols, i + 1)
        _style(ax)
        evs = [e for e in cat.get("evals") or [] if isinstance(e, dict)] or [
            {"eval": name, **(cat.get("basis") or {})}]
        labels = [_short(e.get("eval", ""), 18) for e in evs]
        values = [_num(e.get("value")) for e in evs]
        xs = list(range(len(evs)))
        ax.bar(xs, [v or 0 for v in values], color=PALETTE[0], alpha=0.85, width=0.6)
        _whiskers(ax, xs, values, [_ci(e) for e in evs])
        top = max([1.0] + [(_ci(e) or (0, 0))[1] for e in evs])
        for level, x in sorted((cat.get("thresholds") or {}).items(), key=lambda kv: _num(kv[1]) or 0):
            if _num(x) is None:
                continue
            colour = LEVEL_COLOURS.get(str(level).lower(), MUTED)
            ax.axhline(float(x), color=colour, linestyle="--", linewidth=1.2)
            ax.text(len(evs) - 0.5, float(x), f" {_short(level, 12)}", color=colour, va="bottom", ha="right",
                    fontsize=8)
        ax.set_xticks(xs, labels, rotation=20 if len(evs) > 2 else 0, ha="right" if len(evs) > 2 else "center")
        ax.set_ylim(0, top * 1.05)
        ax.set_xlim(-0.6, len(evs) - 0.4)
        ax.set_title(f"{_short(name, 24)} · {_short(cat.get('level', '?'), 12)}", fontsize=10, color=INK, loc="left")
    fig.tight_layout()
    return _svg(fig, "categories", "Tracked categories: eval values with 95% CIs against level thresholds")


def delta_chart(comparisons: dict[str, Any], directions: dict[tuple[str, str], int] | None = None) -> str | None:
    """Paired before/after deltas (variant - base) with CIs, one panel per modification.

    `directions` maps (eval, metric) to +1 (higher is safer) or -1: a CI wholly on the unsafe side is red,
    wholly on the safe side green; metrics without a direction are blue when the change is clear, else grey.
    """
    directions = directions or {}
    by_variant: dict[str, list[tuple[str, dict[str, Any], int]]] = {}
    for ev, per_variant in comparisons.items():
        for variant, c in (per_variant or {}).items():
            if isinstance(c, dict) and _num((c.get("delta") or {}).get("value")) is not None:
                metric = str(c.get("metric", ""))
                row = (f"{ev} · {metric}", c, directions.get((ev, metric), 0))
                by_variant[variant] = [*by_variant.get(variant, []), row]
    if not by_variant:
        return None
    height = sum(0.8 + 0.32 * len(rows) for rows in by_variant.values())
    fig = _figure(7.2, max(2.2, height))
    ratios = [max(1, len(rows)) + 1.5 for rows in by_variant.values()]
    axes = fig.subplots(len(by_variant), 1, squeeze=False, gridspec_kw={"height_ratios": ratios})[:, 0]
    lim = 0.05
    for ax, (variant, rows) in zip(axes, by_variant.items(), strict=True):
        _style(ax)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ys = list(range(len(rows)))[::-1]
        values = [float(c["delta"]["value"]) for _, c, _ in rows]
        cis = [_ci(c["delta"]) for _, c, _ in rows]
        colours = [_delta_colour(ci, d) for ci, (_, _, d) in zip(cis, rows, strict=True)]
        ax.axvline(0, color=MUTED, linewidth=1)
        for y, v, ci, colour in zip(ys, values, cis, colours, strict=True):
            _whiskers(ax, [y], [v], [ci], horizontal=True, colour=colour)
            ax.plot([v], [y], "o", color=colour, markersize=6)
        lim = max([lim] + [abs(x) for ci in cis if ci for x in ci] + [abs(v) for v in values])
        ax.set_yticks(ys, [_short(label, 40) for label, _, _ in rows])
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_title(f"{_short(variant, 40)} − base", fontsize=10, color=INK, loc="left")
    for ax in axes:
        ax.set_xlim(-lim * 1.1, lim * 1.1)
    axes[-1].set_xlabel("paired difference (variant − base), 95% CI", color=MUTED, fontsize=9)
    fig.tight_layout()
    return _svg(fig, "deltas", "Before and after each modification: paired deltas with 95% CIs")


def _delta_colour(ci: tuple[float, float] | None, direction: int) -> str:
    if ci is None or ci[0] <= 0 <= ci[1]:
        return PALETTE[6]
    if direction == 0:
        return PALETTE[0]
    up = ci[0] > 0
    return PALETTE[2] if up == (direction > 0) else PALETTE[4]


def durability_chart(durability: dict[str, Any]) -> str | None:
    """Safeguard metric against attack effort (examples, else steps), one line per modification and eval."""
    lines = []
    for mod, points in durability.items():
        pts = [p for p in points or [] if isinstance(p, dict) and _num(p.get("value")) is not None]
        for ev in dict.fromkeys(str(p.get("eval", "")) for p in pts):
            these = [p for p in pts if str(p.get("eval", "")) == ev]
            use_examples = all(_num(p.get("examples")) is not None for p in these) and any(
                p.get("examples") for p in these)
            xkey = "examples" if use_examples else "step"
            these = sorted(these, key=lambda p: _num(p.get(xkey)) or 0)
            label = f"{mod} · {ev}" if ev else str(mod)
            metric = these[0].get("metric", "") if these else ""
            lines.append((label, xkey, metric, these))
    if not lines:
        return None
    fig = _figure(7.2, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    _style(ax)
    for i, (label, xkey, _, pts) in enumerate(lines):
        colour = PALETTE[i % len(PALETTE)]
        xs = [_num(p.get(xkey)) or 0 for p in pts]
        ys = [float(p["value"]) for p in pts]
        cis = [_ci(p) for p in pts]
        if all(cis):
            ax.fill_between(xs, [c[0] for c in cis], [c[1] for c in cis], color=colour, alpha=0.15, linewidth=0)
        ax.plot(xs, ys, "-o", color=colour, markersize=4, linewidth=1.6, label=_short(label, 40))
    xkeys = {xkey for _, xkey, _, _ in lines}
    metrics = {m for _, _, m, _ in lines if m}
    ax.set_xlabel("fine-tuning examples" if xkeys == {"examples"} else "attack steps", color=MUTED, fontsize=9)
    ax.set_ylabel(_short(", ".join(sorted(metrics)) or "safeguard metric", 36), color=MUTED, fontsize=9)
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    return _svg(fig, "durability", "Durability: safeguard metric against attack effort, 95% CI bands")


def jailbreak_chart(safeguards: dict[str, Any]) -> str | None:
    """Jailbreak success (1 − refusal rate) per template, with CIs; one panel per safeguard eval.

    `by_template` always holds refusal rates (FORMAT.md), whatever the eval's main metric is.
    """
    panels = [(ev, s) for ev, s in safeguards.items() if isinstance(s, dict) and s.get("by_template")]
    if not panels:
        return None
    height = sum(0.9 + 0.3 * len(s["by_template"]) for _, s in panels)
    fig = _figure(7.2, max(2.2, height))
    ratios = [len(s["by_template"]) + 1.5 for _, s in panels]
    axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": ratios})[:, 0]
    for ax, (ev, s) in zip(axes, panels, strict=True):
        _style(ax)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        rows = [(t, p) for t, p in s["by_template"].items() if isinstance(p, dict) and _num(p.get("value")) is not None]
        rows.sort(key=lambda tp: tp[1]["value"])
        ys = list(range(len(rows)))[::-1]
        values = [1 - p["value"] for _, p in rows]
        cis = [(1 - ci[1], 1 - ci[0]) if ci else None for ci in (_ci(p) for _, p in rows)]
        ax.barh(ys, values, color=PALETTE[4], alpha=0.8, height=0.6)
        _whiskers(ax, ys, values, cis, horizontal=True)
        ax.set_yticks(ys, [_short(t, 32) for t, _ in rows])
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_title(f"{_short(ev, 40)}: jailbreak success (1 − refusal rate)", fontsize=10, color=INK, loc="left")
    fig.tight_layout()
    return _svg(fig, "jailbreaks", "Jailbreak success per template with 95% CIs")
