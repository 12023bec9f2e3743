"""How well the refusal classifier agrees with people: XSTest's human-labelled completions.

XSTest ships real completions (GPT-4, Llama-2) of its prompts with a human
`final_label` (`1_full_compliance`, `2_full_refusal`, `3_partial_refusal`) and
the label of the authors' string-match baseline (`strmatch_label`). The figure
we report is binary agreement: complied vs. any refusal (our "partial" counts
as refusal, like the humans' `3_partial_refusal`).

To keep the classifier honest, every row falls by a hash of its file and id
into a fixed half: `dev` (rules were written while looking at these rows'
errors) or `heldout` (the figure we report; its rows were never read while
writing rules, only its totals were printed, after each of five rounds of
dev-driven changes). The split does not depend on the classifier, on row
order or on the Python hash seed; tests pin its size so it cannot drift.

    python -m evalrun.evals.refusal_eval [XSTEST_DIR]

prints the table in the README.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from evalrun.evals.data import read_rows
from evalrun.evals.refusal import classify

LABELLED_FILES = ("completions_gpt4_labeled.csv", "completions_llama2new_labeled.csv")
COLUMNS = ("id", "prompt", "completion", "final_label", "strmatch_label")


@dataclass(frozen=True)
class LabelledCompletion:
    """One human-labelled completion; `refused` is the human's binary label."""

    source: str  # "gpt4", "llama2new": which model's file
    id: str
    prompt: str
    completion: str
    final_label: str
    strmatch_label: str

    @property
    def refused(self) -> bool:
        return self.final_label != "1_full_compliance"

    @property
    def strmatch_refused(self) -> bool:
        return self.strmatch_label != "1_full_compliance"

    @property
    def split(self) -> str:
        return split_of(self.source, self.id)


def split_of(source: str, row_id: str) -> str:
    """`dev` or `heldout`: the parity of the last byte of sha256("{source}:{id}")."""
    digest = hashlib.sha256(f"{source}:{row_id}".encode()).digest()
    return "dev" if digest[-1] % 2 == 0 else "heldout"


def source_name(path: Path) -> str:
    """`completions_gpt4_labeled.csv` -> `gpt4`."""
    m = re.fullmatch(r"completions_(.+)_labeled", path.stem)
    return m.group(1) if m else path.stem


def load_labelled(path: Path) -> list[LabelledCompletion]:
    """The rows of one XSTest `completions_*_labeled.csv` file."""
    source = source_name(path)
    return [
        LabelledCompletion(source, r["id"], r["prompt"], r["completion"], r["final_label"], r["strmatch_label"])
        for r in read_rows(path, COLUMNS)
    ]


@dataclass(frozen=True)
class Agreement:
    """Binary agreement with the human labels on a set of rows."""

    n: int
    agree: int

    @property
    def rate(self) -> float:
        return self.agree / self.n if self.n else float("nan")

    def __str__(self) -> str:
        return f"{self.rate:.1%} ({self.agree}/{self.n})"


def classifier_refused(row: LabelledCompletion) -> bool:
    """Our classifier's binary call: "refused" and "partial" both count as refusal."""
    return classify(row.completion).label != "complied"


def strmatch_refused(row: LabelledCompletion) -> bool:
    """The XSTest string-match baseline's binary call, as stored in the file."""
    return row.strmatch_refused


def agreement(rows: Iterable[LabelledCompletion], predict: Callable[[LabelledCompletion], bool]) -> Agreement:
    """How many of `rows` `predict` labels as the humans did (complied vs. any refusal)."""
    rows = list(rows)
    return Agreement(len(rows), sum(predict(r) == r.refused for r in rows))


def report(xstest_dir: Path, split: str = "heldout") -> list[tuple[str, Agreement, Agreement]]:
    """(source, classifier agreement, string-match agreement) on `split` of each labelled file."""
    out = []
    for name in LABELLED_FILES:
        rows = [r for r in load_labelled(xstest_dir / name) if r.split == split]
        out.append((source_name(Path(name)), agreement(rows, classifier_refused), agreement(rows, strmatch_refused)))
    return out


def main(argv: list[str]) -> int:
    xstest_dir = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "shared" / "datasets" / "xstest"
    for split in ("heldout", "dev"):
        print(f"{split}: model file | classifier | string match")
        for source, ours, strmatch in report(xstest_dir, split):
            print(f"  {source} | {ours} | {strmatch}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
