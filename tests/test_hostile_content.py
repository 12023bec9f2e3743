"""Hostile text in what a run holds: bidi controls shown inert everywhere they are embedded; charts sized sanely.

A completion with U+202E (right-to-left override) would, shown raw, reorder
the text after it, so a reader could see a refusal where the model complied.
Every page evalrun writes shows such characters as a visible `[U+202E]`.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from evalrun.reports.charts import category_chart  # noqa: E402
from evalrun.reports.compare import write_compare  # noqa: E402
from evalrun.reports.embed import BIDI_CONTROLS, inert, safe_json  # noqa: E402
from evalrun.reports.html import write_report  # noqa: E402
from reporting_fixtures import make_run  # noqa: E402

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_every_bidi_control_becomes_visible_text():
    assert all(BIDI_CONTROLS.match(c) for c in BIDI)
    shown = inert("I refuse\u202e.ylgnilliw ylpmoc I")
    assert shown == "I refuse[U+202E].ylgnilliw ylpmoc I"
    text = safe_json({"completion": "x" + BIDI + "y", "name": "\u2067eval"})
    assert not BIDI_CONTROLS.search(text)
    assert json.loads(text)["completion"] == "x" + "".join(f"[U+{ord(c):04X}]" for c in BIDI) + "y"


def _plant_bidi(run: Path) -> None:
    lines = (run / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    recs = [json.loads(x) for x in lines]
    for r in recs:
        r["completion"] = "Sure\u202e ,won't do that" + BIDI
        r["metadata"] = {"template": "\u2066role\u2069"}
    (run / "samples.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs),
                                       encoding="utf-8")


def test_report_and_comparison_pages_hold_no_raw_bidi_control(tmp_path: Path):
    a, b = make_run(tmp_path / "a", n_per_eval=8, seed=1, shift=-0.3), make_run(tmp_path / "b", n_per_eval=8, seed=1)
    _plant_bidi(a)
    _plant_bidi(b)
    html = write_report(a).read_text(encoding="utf-8")
    assert "[U+202E]" in html and not BIDI_CONTROLS.search(html)
    page = write_compare(a, b, tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert "[U+202E]" in page and not BIDI_CONTROLS.search(page)


def _width(svg: str) -> int:
    m = re.search(r'style="width:min\(100%,(\d+)px\)"', svg)
    assert m, svg[:300]
    return int(m.group(1))


def test_a_one_category_chart_is_not_drawn_page_wide():
    cat = {"level": "low", "thresholds": {"high": 0.6}, "evals": [{"eval": "x", "value": 0.5, "ci": [0.4, 0.6]}]}
    one, three = category_chart({"bio": cat}), category_chart({"a": cat, "b": cat, "c": cat})
    assert _width(one) < 450  # its natural size, not stretched to the page's 860px
    assert 2.5 < _width(three) / _width(one) < 3.5  # the same scale per panel
