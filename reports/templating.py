"""The jinja2 environment every page shares: autoescape on, and the number filters the tables use."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from evalrun.reports import levels
from evalrun.reports.embed import inert


def _num(x: Any, digits: int = 3, signed: bool = False) -> str:
    if not isinstance(x, int | float) or isinstance(x, bool) or not math.isfinite(x):
        return "—"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _ci(ci: Any, digits: int = 3) -> str:
    if not (isinstance(ci, list | tuple) and len(ci) == 2 and all(isinstance(v, int | float) for v in ci)):
        return ""
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _pval(p: Any) -> str:
    if not isinstance(p, int | float):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _thousands(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def _bar(value: Any, ci: Any = None):
    """A small inline bar: the CI as a band and the value as a tick, for figures in [0, 1]."""
    from markupsafe import Markup

    if not isinstance(value, int | float) or not 0 <= value <= 1:
        return ""
    lo, hi = (ci if isinstance(ci, list | tuple) and len(ci) == 2 else (value, value))
    lo, hi = max(0.0, min(1.0, float(lo))), max(0.0, min(1.0, float(hi)))
    return Markup(
        f'<span class="bar"><span class="ci" style="left:{lo * 100:.1f}%;width:{max(0.5, (hi - lo) * 100):.1f}%">'
        f'</span><span class="pt" style="left:{value * 100:.1f}%"></span></span>'
    )


def _finalize(value: Any) -> Any:
    """Every `{{ }}` string shown with its bidi controls inert (our own Markup is left as written)."""
    from markupsafe import Markup

    return inert(value) if isinstance(value, str) and not isinstance(value, Markup) else value


@lru_cache(maxsize=1)
def environment():
    """The shared jinja2 environment (autoescape on for every template and string)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evalrun.reports", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined,
        finalize=_finalize,
    )
    env.filters.update(num=_num, ci=_ci, pval=_pval, thousands=_thousands, bar=_bar, level_css=levels.css_class)
    return env


def static(name: str):
    """A CSS or JS file from templates/, verbatim (ours, so it is marked safe)."""
    from markupsafe import Markup

    env = environment()
    source, _, _ = env.loader.get_source(env, name)
    return Markup(source)


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
