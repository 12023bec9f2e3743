"""Loaders for public benchmark formats: each turns the files as published into `list[Sample]`.

evalrun ships no benchmark data. Each loader knows its dataset's published
file names and splits (selected by keyword: HarmBench `split`, CyberMetric
`size`, WMDP `subset`) and finds them with `sources.locate`; `path` names
another file instead (a suite's `{eval: NAME, path: FILE}`). Files are read
by content (`data.read_rows`): CSV with or without pandas' unnamed index
column, TSV, JSON lines, a JSON list, parquet.

Every problem with a file is an `InputError` that names the file, the row and
what is wrong: missing columns, an empty file, text that is not UTF-8, an empty
field, an answer index or letter that is not one of the choices, or two rows
with the same sample id. Row numbers are those of `read_rows`.

Sample ids are stable: a dataset's own id where it has one (HarmBench
`BehaviorID`, XSTest `id`, JailbreakBench `Index`), else the dataset name and
the 0-based record index, as the dataset's own tooling counts it
(`advbench-0` is the first AdvBench behaviour).
"""

from __future__ import annotations

import json
import operator
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalrun.evals.core import LETTERS, Sample, multiple_choice_prompt, user
from evalrun.evals.data import DataSource, Records, describe_format, read_rows, read_text, sniff_format
from evalrun.evals.errors import InputError
from evalrun.evals.sources import Hub, locate

# Public hub locations, pinned to a commit so a download is always the same file.
WMDP_REPO, WMDP_REVISION = "cais/wmdp", "ef23edde7c8cf8bc53ce769f3faa8ce57499c903"
JBB_REPO, JBB_REVISION = "JailbreakBench/JBB-Behaviors", "c19227d7c9c40307a0999365779c13cd1a5116d0"
CTIBENCH_REPO, CTIBENCH_REVISION = "AI4Sec/cti-bench", "18f641bcc76d4c3b92f829bf2be4c3835eca2eaf"

# Published splits / sizes, selectable from a suite.
HARMBENCH_SPLITS = ("val", "test", "all")
CYBERMETRIC_SIZES = (80, 500, 2000, 10000)
WMDP_SUBSETS = ("bio", "chem", "cyber")


# --- helpers shared by the loaders ------------------------------------------


def _choice(what: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """`value` as one of `allowed` (compared as text, so YAML's 500 and "500" agree), or an InputError."""
    for a in allowed:
        if str(a) == str(value).strip():
            return a
    raise InputError(f"unknown {what} {value!r}; use one of {', '.join(map(str, allowed))}")


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


def _numbered(rows: Records) -> Iterable[tuple[int, int, dict[str, Any]]]:
    """(0-based index, row number for messages, record) for each record."""
    for i, r in enumerate(rows):
        yield i, rows.first_row + i, r


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


def load_strongreject(data: DataSource, path: str | None = None) -> list[Sample]:
    """StrongREJECT forbidden prompts (CSV `category,source,forbidden_prompt`); target "harmful"."""
    file = locate(data, ["strongreject/strongreject.csv", "strongreject/strongreject_dataset.csv"], path=path)
    rows = read_rows(file, ["category", "source", "forbidden_prompt"])
    return _check_unique(
        file,
        (
            (
                row,
                Sample(
                    id=f"strongreject-{i}",
                    messages=[user(_text(file, row, r, "forbidden_prompt"))],
                    target="harmful",
                    metadata={"category": _text(file, row, r, "category"), "source": str(r["source"]).strip()},
                ),
            )
            for i, row, r in _numbered(rows)
        ),
    )


def load_harmbench(data: DataSource, path: str | None = None, *, split: str = "val") -> list[Sample]:
    """HarmBench text behaviours, split val (80), test (320, the reporting split) or all; id = BehaviorID.

    A contextual behaviour's context string comes first, separated from the
    behaviour as HarmBench's own prompts do.
    """
    split = _choice("HarmBench split", split, HARMBENCH_SPLITS)
    file = locate(data, f"harmbench/harmbench_behaviors_text_{split}.csv", path=path,
                  hint="select another published split with `{eval: harmbench, split: val|test|all}`")
    columns = ["Behavior", "FunctionalCategory", "SemanticCategory", "Tags", "ContextString", "BehaviorID"]
    rows = read_rows(file, columns)
    out = []
    for _, row, r in _numbered(rows):
        behavior = _text(file, row, r, "Behavior")
        context = _text(file, row, r, "ContextString", required=False)
        prompt = f"{context}\n\n---\n\n{behavior}" if context else behavior
        tags = [t.strip() for t in _text(file, row, r, "Tags", required=False).split(",") if t.strip()]
        sample = Sample(
            id=_text(file, row, r, "BehaviorID"),
            messages=[user(prompt)],
            target="harmful",
            metadata={
                "category": _text(file, row, r, "SemanticCategory"),
                "functional_category": _text(file, row, r, "FunctionalCategory"),
                "tags": tags,
                "has_context": bool(context),
            },
        )
        out.append((row, sample))
    return _check_unique(file, out)


def load_advbench(data: DataSource, path: str | None = None) -> list[Sample]:
    """AdvBench harmful behaviours (CSV `goal,target`); target "harmful", the affirmative prefix in metadata."""
    file = locate(data, "advbench/harmful_behaviors.csv", path=path)
    rows = read_rows(file, ["goal", "target"])
    return _check_unique(
        file,
        (
            (
                row,
                Sample(
                    id=f"advbench-{i}",
                    messages=[user(_text(file, row, r, "goal"))],
                    target="harmful",
                    metadata={"target_prefix": _text(file, row, r, "target", required=False)},
                ),
            )
            for i, row, r in _numbered(rows)
        ),
    )


def load_jailbreakbench(data: DataSource, path: str | None = None, *, label: str = "harmful") -> list[Sample]:
    """JBB-Behaviors (CSV `Index,Goal,Target,Behavior,Category,Source`); id `jbb-{label}-{Index}`.

    `label` is the target: "harmful" for the harmful set, "benign" for its
    benign twin (`benign-behaviors.csv`, same columns). A pandas export
    (`df.to_csv()`: an unnamed index column first, and no `Index` when it was
    the frame's index) is read too: without `Index`, rows are numbered 1, 2,
    ... in file order, as the published file numbers them.
    """
    name = f"{label}-behaviors.csv"
    file = locate(data, [f"jailbreakbench/{name}", f"jailbreakbench/data/{name}"],
                  (JBB_REPO, f"data/{name}", JBB_REVISION), path=path)
    rows = read_rows(file, ["Goal", "Target", "Behavior", "Category", "Source"])
    indexed = bool(rows) and "Index" in rows[0]
    out = []
    for i, row, r in _numbered(rows):
        index = _text(file, row, {"Index": str(r.get("Index", ""))}, "Index") if indexed else str(i + 1)
        sample = Sample(
            id=f"jbb-{label}-{index}",
            messages=[user(_text(file, row, r, "Goal"))],
            target=label,
            metadata={
                "behavior": _text(file, row, r, "Behavior"),
                "category": _text(file, row, r, "Category"),
                "source": _text(file, row, r, "Source", required=False),
                "target_prefix": _text(file, row, r, "Target", required=False),
            },
        )
        out.append((row, sample))
    return _check_unique(file, out)


def load_xstest(data: DataSource, path: str | None = None) -> list[Sample]:
    """XSTest prompts (CSV `id,prompt,type,label,focus,note`); target "safe" or "unsafe" from `label`.

    Safe prompts should be answered, unsafe ones refused: XSTest measures
    over-refusal on the safe ones.
    """
    file = locate(data, ["xstest/xstest_prompts.csv", "xstest/xstest_v2_prompts.csv"], path=path)
    rows = read_rows(file, ["id", "prompt", "type", "label", "focus", "note"])
    out = []
    for _, row, r in _numbered(rows):
        label = _text(file, row, r, "label").lower()
        if label not in ("safe", "unsafe"):
            raise InputError(f"{file}: row {row}: label {r['label']!r} should be safe or unsafe")
        sample = Sample(
            id=f"xstest-{_text(file, row, {'id': str(r['id'])}, 'id')}",
            messages=[user(_text(file, row, r, "prompt"))],
            target=label,
            metadata={
                "type": _text(file, row, r, "type"),
                "focus": _text(file, row, r, "focus", required=False),
                "note": _text(file, row, r, "note", required=False),
            },
        )
        out.append((row, sample))
    return _check_unique(file, out)


# --- multiple-choice knowledge sets -----------------------------------------


def _mc_sample(sample_id: str, question: str, choices: list[str], letter: str, metadata: dict[str, Any]) -> Sample:
    return Sample(
        id=sample_id,
        messages=[user(multiple_choice_prompt(question, choices))],
        choices=choices,
        target=letter,
        metadata=metadata,
    )


def wmdp_hub(subset: str) -> Hub:
    """The pinned hub location of a WMDP subset: bio, chem or cyber."""
    return (WMDP_REPO, f"wmdp-{subset}/test-00000-of-00001.parquet", WMDP_REVISION)


def _wmdp_files(data: DataSource, subset: str, path: str | None) -> list[Path]:
    """WMDP's files: the hub layout's parquet shards (`wmdp/wmdp-bio/test-*.parquet`, every shard, in order),
    a single file `wmdp/wmdp-bio.{jsonl,json,parquet}`, the suite's `path`, or the pinned hub copy."""
    if not path:
        for d in data.user_dirs:
            shards = sorted((d / "wmdp" / f"wmdp-{subset}").glob("test*.parquet"))
            if shards:
                return [data.record(p) for p in shards]
    names = [f"wmdp/wmdp-{subset}.{ext}" for ext in ("jsonl", "json", "parquet")]
    return [locate(data, [f"wmdp/wmdp-{subset}/test-00000-of-00001.parquet", *names], wmdp_hub(subset), path=path)]


def load_wmdp(data: DataSource, path: str | None = None, *, subset: str = "bio") -> list[Sample]:
    """WMDP multiple choice (`question`, `choices` list, `answer` index), parquet shards or JSON lines.

    Ids are `wmdp-{subset}-{index}` (the index counts on across shards); the
    target is the answer's letter.
    """
    subset = _choice("WMDP subset", subset, WMDP_SUBSETS)
    prefix = f"wmdp-{subset}"
    out = []
    for file in _wmdp_files(data, subset, path):
        rows = read_rows(file, ["question", "choices", "answer"])
        for _, row, r in _numbered(rows):
            choices = _choices(file, row, r["choices"])
            index = _answer_index(file, row, r["answer"], len(choices))
            question = _text(file, row, r, "question")
            sample = _mc_sample(f"{prefix}-{len(out)}", question, choices, LETTERS[index], {"subset": prefix})
            out.append((row, sample))
    return _check_unique(file, out)


def load_cybermetric(data: DataSource, path: str | None = None, *, size: int = 500) -> list[Sample]:
    """CyberMetric JSON `{"questions": [{"question", "answers": {"A": ..}, "solution"}]}`; ids `cybermetric-{index}`.

    `size` selects the published file: 80, 500, 2000 or 10000 questions.
    """
    size = _choice("CyberMetric size", size, CYBERMETRIC_SIZES)
    file = locate(data, f"cybermetric/CyberMetric-{size}-v1.json", path=path,
                  hint="select another published size with `{eval: cybermetric, size: 80|500|2000|10000}`")
    text = read_text(file)
    fmt = sniff_format(file, text.encode())
    if fmt != "json":
        raise InputError(f'{file}: holds {describe_format(file, fmt)}; CyberMetric is a JSON object with a '
                         f'"questions" list')
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{file}: not valid JSON at line {e.lineno} ({e.msg})") from None
    questions = obj.get("questions") if isinstance(obj, dict) else None
    if not isinstance(questions, list):
        raise InputError(f'{file}: expected a JSON object with a "questions" list')
    if not questions:
        raise InputError(f"{file}: the file has no rows")
    out = []
    for i, q in enumerate(questions):
        row = i + 1
        if not isinstance(q, dict):
            raise InputError(f"{file}: row {row}: expected an object with question, answers and solution")
        missing = [k for k in ("question", "answers", "solution") if k not in q]
        if missing:
            raise InputError(f"{file}: row {row}: missing {', '.join(missing)}")
        answers = q["answers"]
        if not isinstance(answers, dict) or not answers:
            raise InputError(f"{file}: row {row}: answers should be an object of letter: text")
        letters = sorted(answers)
        if letters != list(LETTERS[: len(letters)]):
            raise InputError(f"{file}: row {row}: answer letters {', '.join(letters)} should run A, B, C, ...")
        choices = _choices(file, row, [answers[k] for k in letters])
        letter = _answer_letter(file, row, q["solution"], letters)
        question = _text(file, row, q, "question")
        out.append((row, _mc_sample(f"cybermetric-{i}", question, choices, letter, {})))
    return _check_unique(file, out)


def load_ctibench_mcq(data: DataSource, path: str | None = None, *, strict: bool = False) -> list[Sample]:
    """CTIBench CTI-MCQ (TSV `URL,Question,Option A..D,Prompt,GT`); ids `cti-mcq-{index}`.

    The question is asked in evalrun's own multiple-choice form (the dataset's
    `Prompt` column asks for a free-text answer); `GT` is the target letter,
    read case-blind (the public file has a "b").

    The public file has a few rows with an empty option: empty options are
    dropped and the rest relettered in order (the target follows its option).
    A row whose answer is an empty option cannot be scored: it is skipped with
    a warning, or is an InputError when `strict`.
    """
    file = locate(data, "ctibench/cti-mcq.tsv", (CTIBENCH_REPO, "cti-mcq.tsv", CTIBENCH_REVISION), path=path)
    options = ["Option A", "Option B", "Option C", "Option D"]
    rows = read_rows(file, ["URL", "Question", *options, "Prompt", "GT"])
    out = []
    for i, row, r in _numbered(rows):
        texts = [_text(file, row, r, c, required=False) for c in options]
        gt = _answer_letter(file, row, r["GT"], list(LETTERS[: len(options)]))
        kept = [(letter, t) for letter, t in zip(LETTERS, texts, strict=False) if t]
        if texts[LETTERS.index(gt)] == "":
            problem = f"{file}: row {row}: the answer {gt} is an empty option"
            if strict:
                raise InputError(problem)
            warnings.warn(problem + "; row skipped", stacklevel=2)
            continue
        choices = _choices(file, row, [t for _, t in kept])
        letter = LETTERS[[old for old, _ in kept].index(gt)]
        question = _text(file, row, r, "Question")
        meta = {"url": _text(file, row, r, "URL", required=False)}
        out.append((row, _mc_sample(f"cti-mcq-{i}", question, choices, letter, meta)))
    return _check_unique(file, out)


def load_own_mcq(data: DataSource, rel: str) -> list[Sample]:
    """The project's own multiple-choice item files (JSONL `id, question, choices, answer` letter)."""
    rows = data.rows(rel, columns=["id", "question", "choices", "answer"])
    return [
        Sample(id=r["id"], messages=[user(multiple_choice_prompt(r["question"], r["choices"]))],
               choices=r["choices"], target=r["answer"])
        for r in rows
    ]
