"""Agreement with people: how often a judgement of completions says what human raters said.

A labelled file holds completions and a human label, refusal or compliance (binary: a partial
refusal counts as refusal, like XSTest's `3_partial_refusal`). Two formats:

- `xstest`: XSTest's completion files (`completion`, `final_label` in `1_full_compliance`,
  `2_full_refusal`, `3_partial_refusal`; `id`, `prompt`, `type`, `strmatch_label` when present);
- `generic`: a CSV with `prompt`, `completion`, `label` in {refusal, compliance} (`id`, `type` optional).

`measure` gives agreement with a Wilson 95% CI, Cohen's kappa, the confusion matrix (refusal is the
positive class: sensitivity is the share of human refusals the judgement calls refusal), and a
breakdown by the file's `type` column. A judgement may return None (a judge reply it could not
parse): those rows are counted as `parse_failures` and left out of every figure.

The fixed split: every row falls by a hash of its source and id into `dev` or `heldout`. Rules of the
default judgement were written looking at `dev` rows only; README figures are `heldout`. The split
does not depend on the judgement, on row order or on the Python hash seed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalrun.evals.data import read_rows
from evalrun.evals.errors import InputError
from evalrun.evals.stats import wilson

XSTEST_LABELS = {"1_full_compliance": False, "2_full_refusal": True, "3_partial_refusal": True}
GENERIC_LABELS = {"compliance": False, "refusal": True}
FORMATS = ("xstest", "generic")


@dataclass(frozen=True)
class LabelledCompletion:
    """One human-labelled completion; `refused` is the human's binary label."""

    source: str  # which file ("gpt4" for completions_gpt4_labeled.csv)
    id: str
    prompt: str
    completion: str
    refused: bool
    type: str = ""
    strmatch_refused: bool | None = None  # XSTest's own string-match baseline, where the file has it

    @property
    def split(self) -> str:
        return split_of(self.source, self.id)


def split_of(source: str, row_id: str) -> str:
    """`dev` or `heldout`: the parity of the last byte of sha256("{source}:{id}")."""
    digest = hashlib.sha256(f"{source}:{row_id}".encode()).digest()
    return "dev" if digest[-1] % 2 == 0 else "heldout"


def source_name(path: Path) -> str:
    """`completions_gpt4_labeled.csv` -> `gpt4`; other files by their stem."""
    m = re.fullmatch(r"completions_(.+)_labeled", path.stem)
    return m.group(1) if m else path.stem


def load_labelled(path: Path, fmt: str | None = None) -> list[LabelledCompletion]:
    """The rows of one labelled file (format detected from the header unless given); an InputError
    naming the file, row and column on bad input."""
    if not path.is_file():
        raise InputError(f"labelled file {path} does not exist; pass a CSV of human-labelled completions")
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown --format {fmt!r}; use xstest or generic")
    header = set(read_rows(path)[0])
    fmt = fmt or ("xstest" if "final_label" in header else "generic" if "label" in header else None)
    if fmt is None:
        raise InputError(f"{path}: no final_label (xstest) or label (generic) column; pass --format or fix the file")
    label_col, labels = ("final_label", XSTEST_LABELS) if fmt == "xstest" else ("label", GENERIC_LABELS)
    rows = read_rows(path, ["completion", label_col] + (["prompt"] if fmt == "generic" else []))
    source = source_name(path)
    out = []
    for i, r in enumerate(rows, start=2):  # line 1 is the header
        label = str(r.get(label_col) or "").strip()
        if label not in labels:
            raise InputError(f"{path}: row {i}: {label_col} {label!r} is not one of {', '.join(labels)}; fix that row")
        strmatch = r.get("strmatch_label")
        out.append(LabelledCompletion(
            source, str(r.get("id") or i), str(r.get("prompt") or ""), str(r.get("completion") or ""), labels[label],
            str(r.get("type") or ""), None if strmatch in (None, "") else XSTEST_LABELS.get(strmatch, True)))
    return out


@dataclass
class Confusion:
    """Binary confusion matrix, refusal as the positive class (human label vs judgement)."""

    tp: int = 0  # both say refusal
    fp: int = 0  # the judgement says refusal, the human compliance
    fn: int = 0  # the judgement says compliance, the human refusal
    tn: int = 0  # both say compliance

    def add(self, human: bool, judged: bool) -> None:
        attr = ("tp" if judged else "fn") if human else ("fp" if judged else "tn")
        setattr(self, attr, getattr(self, attr) + 1)

    def __iadd__(self, other: Confusion) -> Confusion:
        self.tp, self.fp, self.fn, self.tn = (self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                                              self.tn + other.tn)
        return self

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def agree(self) -> int:
        return self.tp + self.tn

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: agreement beyond what the two marginals give by chance (None when undefined)."""
        n = self.n
        if not n:
            return None
        po = self.agree / n
        pe = ((self.tp + self.fp) * (self.tp + self.fn) + (self.fn + self.tn) * (self.fp + self.tn)) / (n * n)
        return None if pe >= 1 else (po - pe) / (1 - pe)

    def to_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}


@dataclass
class Agreement:
    """Agreement of a judgement with the human labels of some rows."""

    confusion: Confusion = field(default_factory=Confusion)
    parse_failures: int = 0
    by_type: dict[str, Confusion] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.confusion.n

    @property
    def rate(self) -> float | None:
        return self.confusion.agree / self.n if self.n else None

    def merge(self, other: Agreement) -> None:
        self.confusion += other.confusion
        self.parse_failures += other.parse_failures
        for t, c in other.by_type.items():
            self.by_type.setdefault(t, Confusion()).__iadd__(c)

    def to_dict(self) -> dict[str, Any]:
        c = self.confusion
        return {
            "n": self.n, "agreement": self.rate, "ci": list(wilson(c.agree, self.n)) if self.n else None,
            "kappa": c.kappa, "confusion": c.to_dict(), "parse_failures": self.parse_failures,
            "sensitivity": c.tp / (c.tp + c.fn) if c.tp + c.fn else None,
            "specificity": c.tn / (c.tn + c.fp) if c.tn + c.fp else None,
            "by_type": {t: {"n": b.n, "agreement": b.agree / b.n if b.n else None}
                        for t, b in sorted(self.by_type.items())},
        }


def measure(rows: Iterable[LabelledCompletion], judged: Iterable[bool | None]) -> Agreement:
    """Agreement of `judged` (True = refusal, None = unparseable) with the rows' human labels."""
    out = Agreement()
    for row, call in zip(rows, judged, strict=True):
        if call is None:
            out.parse_failures += 1
            continue
        out.confusion.add(row.refused, call)
        out.by_type.setdefault(row.type or "-", Confusion()).add(row.refused, call)
    return out


def classifier_refused(completion: str) -> bool:
    """The default judgement's binary call: "refused" and "partial" both count as refusal."""
    from evalrun.evals.refusal import classify

    return classify(completion).label != "complied"


# --scorer NAME: judgements that need no model. `strmatch` is the file's own baseline column.
SCORERS: dict[str, Callable[[LabelledCompletion], bool | None]] = {
    "default": lambda row: classifier_refused(row.completion),
    "strmatch": lambda row: row.strmatch_refused,
}


def score_rows(rows: list[LabelledCompletion], scorer: str) -> list[bool | None]:
    """Each row's call by the named scorer; an InputError for an unknown name or a missing column."""
    if scorer not in SCORERS:
        raise InputError(f"unknown --scorer {scorer!r}; known: {', '.join(SCORERS)}")
    if scorer == "strmatch" and rows and rows[0].strmatch_refused is None:
        raise InputError(f"{rows[0].source}: no strmatch_label column for --scorer strmatch")
    return [SCORERS[scorer](r) for r in rows]


def judgement_agreement(records: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """How often a judge model and the default judgement agree on the samples both scored.

    `records` are sample records whose `score.extra["classifier"]` holds the default judgement (the
    judge pass puts it there). Binary: refusal (refused, partial) vs compliance; samples the judge
    could not parse, or whose judge format says nothing about refusal, are left out. Returns
    {"n", "agree", "agreement", "ci", "disagree_ids"} or None when no sample was scored by both.
    """
    n = agree = 0
    disagree: list[str] = []
    for rec in records:
        score = rec.get("score") or {}
        d = disagreement(score)
        if d is None:
            continue
        n += 1
        if d:
            disagree.append(f"{rec.get('eval')}/{rec.get('variant')}/{rec.get('sample_id')}/{rec.get('epoch', 0)}")
        else:
            agree += 1
    if not n:
        return None
    return {"n": n, "agree": agree, "agreement": agree / n, "ci": list(wilson(agree, n)), "disagree_ids": disagree}


REFUSAL_LABELS = {"refused": True, "partial": True, "complied": False}


def disagreement(score: dict[str, Any]) -> bool | None:
    """Do the judge (this score) and the default judgement (its `extra["classifier"]`) disagree on refusal?

    None when the sample was not scored by both, or either call says nothing about refusal."""
    classifier = (score.get("extra") or {}).get("classifier")
    if not isinstance(classifier, dict):
        return None
    ours, theirs = REFUSAL_LABELS.get(str(classifier.get("label"))), REFUSAL_LABELS.get(str(score.get("label")))
    return None if ours is None or theirs is None else ours != theirs

