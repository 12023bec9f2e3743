"""Loaders for public benchmark formats: each turns a file into `list[Sample]`.

evalrun ships no benchmark data. Each loader takes a `DataSource` and a path
relative to a data dir (a default that mirrors the dataset's own layout) and
finds the file there; where the dataset has a public hub location at a pinned
revision, the loader falls back to downloading it (`hub_file`), unless
HF_HUB_OFFLINE=1 or huggingface_hub is not installed.

Every problem with a file is an `InputError` that names the file, the row and
what is wrong: missing columns, an empty file, text that is not UTF-8, an empty
field, an answer index or letter that is not one of the choices, or two rows
with the same sample id. Row numbers are those of `read_rows`: for CSV/TSV the
line of the row counting the header as line 1 (exact for one-line rows), for
JSON lines the line, for parquet and JSON the 1-based record.

Sample ids are stable: a dataset's own id where it has one (HarmBench
`BehaviorID`, XSTest `id`, JailbreakBench `Index`), else the dataset name and
the 0-based record index, as the dataset's own tooling counts it
(`advbench-0` is the first AdvBench behaviour).
"""

from __future__ import annotations

import json
import operator
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalrun.evals.core import LETTERS, Sample, multiple_choice_prompt, user
from evalrun.evals.data import DataSource, read_rows, read_text
from evalrun.evals.errors import InputError

Hub = tuple[str, str, str]  # (repo id, file name in the repo, pinned revision)

# Public hub locations, pinned to a commit so a download is always the same file.
WMDP_REPO, WMDP_REVISION = "cais/wmdp", "ef23edde7c8cf8bc53ce769f3faa8ce57499c903"
JBB_REPO, JBB_REVISION = "JailbreakBench/JBB-Behaviors", "c19227d7c9c40307a0999365779c13cd1a5116d0"
CTIBENCH_REPO, CTIBENCH_REVISION = "AI4Sec/cti-bench", "18f641bcc76d4c3b92f829bf2be4c3835eca2eaf"

_OFF = {"1", "true", "yes", "on"}


def hub_file(repo_id: str, filename: str, revision: str, repo_type: str = "dataset") -> Path | None:
    """A file from the Hugging Face hub at a pinned revision, or None when it cannot be had.

    None when huggingface_hub is not installed, when HF_HUB_OFFLINE is set, or
    on any download failure; the caller turns that into an InputError.
    """
    if _hub_unavailable() is not None:
        return None
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo_id=repo_id, filename=filename, revision=revision, repo_type=repo_type))
    except Exception:
        return None


def _hub_unavailable() -> str | None:
    """Why the hub cannot be used here, or None if it can be tried."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _OFF:
        return "HF_HUB_OFFLINE is set"
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        return "huggingface_hub is not installed"
    return None


def locate(data: DataSource, rel: str, hub: Hub | None = None) -> Path:
    """The file `rel` from the data dirs, else downloaded from `hub`, else a clear InputError."""
    path = data.find(rel)
    if path is not None:
        return path
    where = ", ".join(str(d) for d in data.dirs)
    if hub is None:
        raise InputError(
            f"data file {rel} not found in {where}, and it has no pinned download location; "
            f"pass --data-dir DIR holding {rel}"
        )
    path = hub_file(*hub)
    if path is None:
        repo, filename, revision = hub
        why = _hub_unavailable() or "the download failed"
        raise InputError(
            f"data file {rel} not found locally (in {where}), and not downloadable from the hub "
            f"({repo}/{filename} at {revision[:12]}: {why}); pass --data-dir DIR holding {rel}"
        )
    return path


# --- helpers shared by the loaders ------------------------------------------


def _first_row(path: Path) -> int:
    """The number `read_rows` gives a file's first record: CSV/TSV count the header line."""
    return 2 if path.suffix.lower() in (".csv", ".tsv") else 1


def _text(path: Path, row: int, record: dict[str, Any], column: str, *, required: bool = True) -> str:
    """A text field, stripped; an InputError for a non-string, or an empty required one."""
    value = record.get(column)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(f"{path}: row {row}: column {column} should be text, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise InputError(f"{path}: row {row}: column {column} is empty")
    return value


def _check_unique(path: Path, samples: Iterable[tuple[int, Sample]]) -> list[Sample]:
    """The samples, or an InputError naming the two rows that share an id."""
    seen: dict[str, int] = {}
    out = []
    for row, s in samples:
        if s.id in seen:
            raise InputError(
                f"{path}: row {row}: duplicate sample id {s.id!r} (first at row {seen[s.id]}); "
                "sample ids must be unique"
            )
        seen[s.id] = row
        out.append(s)
    return out


def _numbered(path: Path, rows: list[dict[str, Any]]) -> Iterable[tuple[int, int, dict[str, Any]]]:
    """(0-based index, row number for messages, record) for each record."""
    first = _first_row(path)
    for i, r in enumerate(rows):
        yield i, first + i, r


def _answer_index(path: Path, row: int, value: Any, n_choices: int) -> int:
    """An answer given as a 0-based choice index, checked against the number of choices."""
    if isinstance(value, bool):
        raise InputError(f"{path}: row {row}: answer should be a choice index, got {value!r}")
    try:
        index = operator.index(value)
    except TypeError:
        if isinstance(value, str) and value.strip().isdigit():
            index = int(value)
        else:
            raise InputError(f"{path}: row {row}: answer should be a choice index, got {value!r}") from None
    if not 0 <= index < n_choices:
        raise InputError(
            f"{path}: row {row}: answer index {index} is out of range for {n_choices} choices (0-{n_choices - 1})"
        )
    return index


def _answer_letter(path: Path, row: int, value: Any, letters: list[str]) -> str:
    """An answer given as a letter ("b" and " B " read as "B"), checked against the choices' letters."""
    letter = value.strip().upper() if isinstance(value, str) else value
    if letter not in letters:
        raise InputError(f"{path}: row {row}: unknown answer letter {value!r}; expected one of {', '.join(letters)}")
    return letter


def _choices(path: Path, row: int, value: Any) -> list[str]:
    """A list of 2..10 non-empty choice texts."""
    if hasattr(value, "tolist"):  # a numpy array, as parquet gives list columns
        value = value.tolist()
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise InputError(f"{path}: row {row}: choices should be a list of texts, got {type(value).__name__}")
    if not 2 <= len(value) <= len(LETTERS):
        raise InputError(f"{path}: row {row}: {len(value)} choices; a question needs 2 to {len(LETTERS)}")
    if any(not c.strip() for c in value):
        raise InputError(f"{path}: row {row}: a choice is empty")
    return value


# --- refusal / harmful-request sets -----------------------------------------


def load_strongreject(data: DataSource, rel: str = "strongreject/strongreject.csv") -> list[Sample]:
    """StrongREJECT forbidden prompts (CSV `category,source,forbidden_prompt`); target "harmful"."""
    path = locate(data, rel)
    rows = read_rows(path, ["category", "source", "forbidden_prompt"])
    return _check_unique(
        path,
        (
            (
                row,
                Sample(
                    id=f"strongreject-{i}",
                    messages=[user(_text(path, row, r, "forbidden_prompt"))],
                    target="harmful",
                    metadata={"category": _text(path, row, r, "category"), "source": r["source"].strip()},
                ),
            )
            for i, row, r in _numbered(path, rows)
        ),
    )


def load_harmbench(data: DataSource, rel: str = "harmbench/harmbench_behaviors_text_val.csv") -> list[Sample]:
    """HarmBench text behaviours; id = BehaviorID; target "harmful".

    A contextual behaviour's context string comes first, separated from the
    behaviour as HarmBench's own prompts do.
    """
    path = locate(data, rel)
    columns = ["Behavior", "FunctionalCategory", "SemanticCategory", "Tags", "ContextString", "BehaviorID"]
    rows = read_rows(path, columns)
    out = []
    for _, row, r in _numbered(path, rows):
        behavior = _text(path, row, r, "Behavior")
        context = _text(path, row, r, "ContextString", required=False)
        prompt = f"{context}\n\n---\n\n{behavior}" if context else behavior
        tags = [t.strip() for t in _text(path, row, r, "Tags", required=False).split(",") if t.strip()]
        sample = Sample(
            id=_text(path, row, r, "BehaviorID"),
            messages=[user(prompt)],
            target="harmful",
            metadata={
                "category": _text(path, row, r, "SemanticCategory"),
                "functional_category": _text(path, row, r, "FunctionalCategory"),
                "tags": tags,
                "has_context": bool(context),
            },
        )
        out.append((row, sample))
    return _check_unique(path, out)


def load_advbench(data: DataSource, rel: str = "advbench/harmful_behaviors.csv") -> list[Sample]:
    """AdvBench harmful behaviours (CSV `goal,target`); target "harmful", the affirmative prefix in metadata."""
    path = locate(data, rel)
    rows = read_rows(path, ["goal", "target"])
    return _check_unique(
        path,
        (
            (
                row,
                Sample(
                    id=f"advbench-{i}",
                    messages=[user(_text(path, row, r, "goal"))],
                    target="harmful",
                    metadata={"target_prefix": _text(path, row, r, "target", required=False)},
                ),
            )
            for i, row, r in _numbered(path, rows)
        ),
    )


def load_jailbreakbench(
    data: DataSource,
    rel: str = "jailbreakbench/harmful-behaviors.csv",
    *,
    label: str = "harmful",
    hub: Hub | None = (JBB_REPO, "data/harmful-behaviors.csv", JBB_REVISION),
) -> list[Sample]:
    """JBB-Behaviors (CSV `Index,Goal,Target,Behavior,Category,Source`); id `jbb-{label}-{Index}`.

    `label` is the target: "harmful" for the harmful set, "benign" for its
    benign twin (`benign-behaviors.csv`, same columns).
    """
    path = locate(data, rel, hub)
    rows = read_rows(path, ["Index", "Goal", "Target", "Behavior", "Category", "Source"])
    out = []
    for _, row, r in _numbered(path, rows):
        index = _text(path, row, r, "Index")
        sample = Sample(
            id=f"jbb-{label}-{index}",
            messages=[user(_text(path, row, r, "Goal"))],
            target=label,
            metadata={
                "behavior": _text(path, row, r, "Behavior"),
                "category": _text(path, row, r, "Category"),
                "source": _text(path, row, r, "Source", required=False),
                "target_prefix": _text(path, row, r, "Target", required=False),
            },
        )
        out.append((row, sample))
    return _check_unique(path, out)


def load_xstest(data: DataSource, rel: str = "xstest/xstest_prompts.csv") -> list[Sample]:
    """XSTest prompts (CSV `id,prompt,type,label,focus,note`); target "safe" or "unsafe" from `label`.

    Safe prompts should be answered, unsafe ones refused: XSTest measures
    over-refusal on the safe ones.
    """
    path = locate(data, rel)
    rows = read_rows(path, ["id", "prompt", "type", "label", "focus", "note"])
    out = []
    for _, row, r in _numbered(path, rows):
        label = _text(path, row, r, "label").lower()
        if label not in ("safe", "unsafe"):
            raise InputError(f"{path}: row {row}: label {r['label']!r} should be safe or unsafe")
        sample = Sample(
            id=f"xstest-{_text(path, row, r, 'id')}",
            messages=[user(_text(path, row, r, "prompt"))],
            target=label,
            metadata={
                "type": _text(path, row, r, "type"),
                "focus": _text(path, row, r, "focus", required=False),
                "note": _text(path, row, r, "note", required=False),
            },
        )
        out.append((row, sample))
    return _check_unique(path, out)


# --- multiple-choice knowledge sets -----------------------------------------


def _mc_sample(sample_id: str, question: str, choices: list[str], letter: str, metadata: dict[str, Any]) -> Sample:
    return Sample(
        id=sample_id,
        messages=[user(multiple_choice_prompt(question, choices))],
        choices=choices,
        target=letter,
        metadata=metadata,
    )


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    """The records of a parquet file; InputErrors for a missing engine or an unreadable file."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(
            f"{path}: reading parquet files needs pyarrow, which is not installed; "
            f"run `pip install pyarrow`, or convert the file to JSON lines"
        ) from None
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises its own error types for bad files
        raise InputError(f"{path}: not a readable parquet file ({type(e).__name__}: {e})") from None
    if frame.empty:
        raise InputError(f"{path}: the file has no rows")
    return frame.to_dict("records")


def wmdp_hub(subset: str) -> Hub:
    """The pinned hub location of a WMDP subset: bio, chem or cyber."""
    return (WMDP_REPO, f"wmdp-{subset}/test-00000-of-00001.parquet", WMDP_REVISION)


WMDP_BIO_HUB = wmdp_hub("bio")


def load_wmdp(
    data: DataSource,
    rel: str = "wmdp/wmdp-bio/test-00000-of-00001.parquet",
    *,
    hub: Hub | None = WMDP_BIO_HUB,
) -> list[Sample]:
    """WMDP multiple choice (`question`, `choices` list, `answer` index), parquet or JSON lines.

    The default path mirrors the hub's layout under `wmdp/`; for another
    subset pass its path and `hub=wmdp_hub("cyber")`. Ids are
    `wmdp-{subset}-{index}`, the subset read from the path (`wmdp-cyber/...`)
    or else the file's stem; the target is the answer's letter.
    """
    path = locate(data, rel, hub)
    m = re.search(r"wmdp-([a-z]+)", rel)
    prefix = f"wmdp-{m.group(1)}" if m else Path(rel).stem
    columns = ["question", "choices", "answer"]
    if path.suffix.lower() == ".parquet":
        rows = _read_parquet(path)
        missing = [c for c in columns if c not in rows[0]]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, rows[0]))}")
    else:
        rows = read_rows(path, columns)
    out = []
    for i, row, r in _numbered(path, rows):
        choices = _choices(path, row, r["choices"])
        index = _answer_index(path, row, r["answer"], len(choices))
        question = _text(path, row, r, "question")
        out.append((row, _mc_sample(f"{prefix}-{i}", question, choices, LETTERS[index], {"subset": prefix})))
    return _check_unique(path, out)


def load_cybermetric(data: DataSource, rel: str = "cybermetric/CyberMetric-500-v1.json") -> list[Sample]:
    """CyberMetric JSON `{"questions": [{"question", "answers": {"A": ..}, "solution"}]}`; ids `cybermetric-{index}`."""
    path = locate(data, rel)
    try:
        obj = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON at line {e.lineno} ({e.msg})") from None
    questions = obj.get("questions") if isinstance(obj, dict) else None
    if not isinstance(questions, list):
        raise InputError(f'{path}: expected a JSON object with a "questions" list')
    if not questions:
        raise InputError(f"{path}: the file has no rows")
    out = []
    for i, q in enumerate(questions):
        row = i + 1
        if not isinstance(q, dict):
            raise InputError(f"{path}: row {row}: expected an object with question, answers and solution")
        missing = [k for k in ("question", "answers", "solution") if k not in q]
        if missing:
            raise InputError(f"{path}: row {row}: missing {', '.join(missing)}")
        answers = q["answers"]
        if not isinstance(answers, dict) or not answers:
            raise InputError(f"{path}: row {row}: answers should be an object of letter: text")
        letters = sorted(answers)
        if letters != list(LETTERS[: len(letters)]):
            raise InputError(f"{path}: row {row}: answer letters {', '.join(letters)} should run A, B, C, ...")
        choices = _choices(path, row, [answers[k] for k in letters])
        letter = _answer_letter(path, row, q["solution"], letters)
        question = _text(path, row, q, "question")
        out.append((row, _mc_sample(f"cybermetric-{i}", question, choices, letter, {})))
    return _check_unique(path, out)


def load_ctibench_mcq(
    data: DataSource,
    rel: str = "ctibench/cti-mcq.tsv",
    *,
    hub: Hub | None = (CTIBENCH_REPO, "cti-mcq.tsv", CTIBENCH_REVISION),
    strict: bool = False,
) -> list[Sample]:
    """CTIBench CTI-MCQ (TSV `URL,Question,Option A..D,Prompt,GT`); ids `cti-mcq-{index}`.

    The question is asked in evalrun's own multiple-choice form (the dataset's
    `Prompt` column asks for a free-text answer); `GT` is the target letter,
    read case-blind (the public file has a "b").

    The public file has a few rows with an empty option: empty options are
    dropped and the rest relettered in order (the target follows its option).
    A row whose answer is an empty option cannot be scored: it is skipped with
    a warning, or is an InputError when `strict`.
    """
    path = locate(data, rel, hub)
    options = ["Option A", "Option B", "Option C", "Option D"]
    rows = read_rows(path, ["URL", "Question", *options, "Prompt", "GT"])
    out = []
    for i, row, r in _numbered(path, rows):
        texts = [_text(path, row, r, c, required=False) for c in options]
        gt = _answer_letter(path, row, r["GT"], list(LETTERS[: len(options)]))
        kept = [(letter, t) for letter, t in zip(LETTERS, texts, strict=False) if t]
        if texts[LETTERS.index(gt)] == "":
            problem = f"{path}: row {row}: the answer {gt} is an empty option"
            if strict:
                raise InputError(problem)
            warnings.warn(problem + "; row skipped", stacklevel=2)
            continue
        choices = _choices(path, row, [t for _, t in kept])
        letter = LETTERS[[old for old, _ in kept].index(gt)]
        question = _text(path, row, r, "Question")
        meta = {"url": _text(path, row, r, "URL", required=False)}
        out.append((row, _mc_sample(f"cti-mcq-{i}", question, choices, letter, meta)))
    return _check_unique(path, out)


def load_own_mcq(data: DataSource, rel: str) -> list[Sample]:
    """The project's own multiple-choice item files (JSONL `id, question, choices, answer` letter)."""
    rows = data.rows(rel, columns=["id", "question", "choices", "answer"])
    return [
        Sample(id=r["id"], messages=[user(multiple_choice_prompt(r["question"], r["choices"]))],
               choices=r["choices"], target=r["answer"])
        for r in rows
    ]
