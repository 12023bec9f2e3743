"""Where eval data comes from: the user's data dirs first, then the built-in items.

Public benchmarks are not shipped with evalrun. An eval names the file it
wants relative to a data dir (e.g. "xstest/xstest_prompts.csv"); `DataSource`
finds it in `--data-dir` directories, then in the project's own item files
(`suites/data/`). Every problem with a file is an `InputError` naming the
file, the row and what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError

BUILTIN_DATA = Path(__file__).resolve().parent.parent / "suites" / "data"


class DataSource:
    """Resolves and reads data files for evals."""

    def __init__(self, data_dirs: Iterable[Path | str] = ()) -> None:
        self.dirs = [Path(d).expanduser() for d in data_dirs]
        for d in self.dirs:
            if not d.is_dir():
                raise InputError(f"data dir {d} does not exist or is not a directory; pass an existing --data-dir")
        self.dirs.append(BUILTIN_DATA)

    def find(self, rel: str) -> Path | None:
        """The first data dir holding `rel`, or None."""
        for d in self.dirs:
            p = d / rel
            if p.is_file():
                return p
        return None

    def path(self, rel: str) -> Path:
        """The file `rel`, or an InputError saying where it was looked for."""
        p = self.find(rel)
        if p is None:
            where = ", ".join(str(d) for d in self.dirs)
            raise InputError(f"data file {rel} not found in {where}; pass --data-dir DIR holding {rel}")
        return p

    def rows(self, rel: str, columns: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Rows of a CSV/TSV/JSONL/JSON file as dicts, checked for `columns`."""
        return read_rows(self.path(rel), columns)


def read_text(path: Path) -> str:
    """UTF-8 text of a file; an InputError naming the first undecodable line otherwise."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read data file {path}: {e.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        for lineno, line in enumerate(raw.split(b"\n"), 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{path}: row {lineno} is not UTF-8 text; re-save the file as UTF-8") from None
        raise


def read_rows(path: Path, columns: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Parse a tabular or JSON-lines file by its extension and check it."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        rows = list(reader)
        header = reader.fieldnames or []
    elif suffix == ".jsonl":
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}: row {lineno} is not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path}: row {lineno} is not a JSON object")
            rows.append(obj)
        header = sorted({k for r in rows for k in r})
    elif suffix == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not valid JSON at line {e.lineno} ({e.msg})") from None
        if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
            raise InputError(f"{path}: expected a JSON list of objects")
        rows = obj
        header = sorted({k for r in rows for k in r})
    else:
        raise InputError(f"{path}: unsupported data format {suffix!r}; use .csv, .tsv, .jsonl or .json")
    if not rows:
        raise InputError(f"{path}: the file has no rows")
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, header))}")
    for i, row in enumerate(rows, 2 if suffix in (".csv", ".tsv") else 1):
        for c in columns:
            if row.get(c) is None:
                raise InputError(f"{path}: row {i} has no value for column {c}")
    return rows
