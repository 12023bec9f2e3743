"""Where eval data comes from: the user's data dirs first, then the built-in items; what was read.

Public benchmarks are not shipped with evalrun. An eval names the file it
wants relative to a data dir (e.g. "xstest/xstest_prompts.csv"); `DataSource`
finds it in `--data-dir` directories, then in the project's own item files
(`suites/data/`). Every problem with a file is an `InputError` naming the
file, the row and what is wrong.

Files are recognised by their content, not their name (users save JSON as
`.csv`, pandas writes CSV with an unnamed index column): `read_rows` reads
CSV, TSV, JSON lines, a JSON list of records and parquet, and names the
format it found in its errors.

Provenance: every file an eval reads is recorded (path, size, sha256, and
for hub downloads the repo and resolved revision), per eval, so a run's
manifest says exactly which bytes produced its results (`files_used`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.fileio import file_sha256

BUILTIN_DATA = Path(__file__).resolve().parent.parent / "suites" / "data"

FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "jsonl": "JSON lines", "json": "JSON", "parquet": "parquet"}
_SUFFIX_FORMAT = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}
_UNNAMED_INDEX = ("", "Unnamed: 0")  # how pandas' to_csv() / read_csv() name the index column


class DataSource:
    """Resolves and reads data files for evals, recording each file read per eval."""

    def __init__(self, data_dirs: Iterable[Path | str] = ()) -> None:
        self.user_dirs = [Path(d).expanduser() for d in data_dirs]
        for d in self.user_dirs:
            if not d.is_dir():
                raise InputError(f"data dir {d} does not exist or is not a directory; pass an existing --data-dir")
        self.dirs = [*self.user_dirs, BUILTIN_DATA]
        self._scope = ""
        self._used: dict[str, dict[str, dict[str, Any]]] = {}

    @contextlib.contextmanager
    def reading_for(self, eval_name: str) -> Iterator[None]:
        """Attribute the files read inside the block to `eval_name`."""
        outer, self._scope = self._scope, eval_name
        try:
            yield
        finally:
            self._scope = outer

    def record(self, path: Path, hub: dict[str, str] | None = None) -> Path:
        """Note that the current eval reads `path` (downloaded from `hub`, if given); returns `path`."""
        key = str(path.resolve())
        used = self._used.setdefault(self._scope, {})
        if key not in used:
            used[key] = {"path": key, "size": path.stat().st_size, "sha256": file_sha256(path), **(hub or {})}
        return path

    def files_used(self) -> dict[str, list[dict[str, Any]]]:
        """Per eval name, the files it read, in reading order: path, size, sha256 (+ repo, revision)."""
        return {name: list(files.values()) for name, files in self._used.items()}

    def find(self, rel: str) -> Path | None:
        """The first data dir holding `rel`, or None (nothing is recorded: this only looks)."""
        for d in self.dirs:
            p = d / rel
            if p.is_file():
                return p
        return None

    def path(self, rel: str) -> Path:
        """The file `rel`, recorded as read, or an InputError saying where it was looked for."""
        p = self.find(rel)
        if p is None:
            where = ", ".join(str(d) for d in self.dirs)
            raise InputError(f"data file {rel} not found in {where}; pass --data-dir DIR holding {rel}")
        return self.record(p)

    def rows(self, rel: str, columns: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Rows of a CSV/TSV/JSONL/JSON/parquet file as dicts, checked for `columns`."""
        return read_rows(self.path(rel), columns)


class Records(list):
    """Rows read from a file, with the format they were read as and the number of the first row.

    Row numbers in messages: for CSV/TSV the line counting the header as line
    1 (exact for one-line rows), for JSON lines the line, for parquet and JSON
    the 1-based record.
    """

    def __init__(self, rows: Iterable[dict[str, Any]], fmt: str) -> None:
        super().__init__(rows)
        self.format = fmt
        self.first_row = 2 if fmt in ("csv", "tsv") else 1


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read data file {path}: {e.strerror}") from None


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        for lineno, line in enumerate(raw.split(b"\n"), 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{path}: row {lineno} is not UTF-8 text; re-save the file as UTF-8") from None
        raise


def read_text(path: Path) -> str:
    """UTF-8 text of a file; an InputError naming the first undecodable line otherwise."""
    return _decode(path, _read_bytes(path))


def sniff_format(path: Path, raw: bytes) -> str:
    """The format a file's bytes hold: parquet, json, jsonl, tsv or csv (the name is only a tie-break)."""
    if raw[:4] == b"PAR1":
        return "parquet"
    head = raw[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"[":
        return "json"
    if head[:1] == b"{":
        first, _, rest = head.partition(b"\n")
        try:
            is_record = isinstance(json.loads(first), dict)
        except ValueError:  # a pretty-printed object: its first line alone is not JSON
            is_record = False
        return "jsonl" if is_record and rest.strip() else "json"  # one line: a JSON document (or one record)
    first_line = head.split(b"\n", 1)[0]
    if path.suffix.lower() == ".tsv" or first_line.count(b"\t") > first_line.count(b","):
        return "tsv"
    return "csv"


def describe_format(path: Path, fmt: str) -> str:
    """ "CSV", or "JSON (the file is named .csv)" when the content is not what the name says."""
    named = _SUFFIX_FORMAT.get(path.suffix.lower())
    if named is None or named == fmt or {named, fmt} <= {"csv", "tsv"} or {named, fmt} <= {"json", "jsonl"}:
        return FORMAT_NAMES[fmt]
    return f"{FORMAT_NAMES[fmt]} (the file is named {path.suffix}, but holds {FORMAT_NAMES[fmt]})"


def read_rows(path: Path, columns: Iterable[str] = ()) -> Records:
    """Parse a tabular or JSON-lines file, recognised by its content, and check it for `columns`."""
    columns = list(columns)
    raw = _read_bytes(path)
    fmt = sniff_format(path, raw)
    what = describe_format(path, fmt)
    if fmt == "parquet":
        rows, header = _parquet_rows(path)
    else:
        rows, header = _text_rows(path, _decode(path, raw), fmt, what)
    if not rows:
        raise InputError(f"{path}: the file has no rows (read as {what})")
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(
            f"{path}: read as {what}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, header))}"
        )
    records = Records(rows, fmt)
    for i, row in enumerate(records, records.first_row):
        for c in columns:
            if row.get(c) is None:
                raise InputError(f"{path}: row {i} has no value for column {c}")
    return records


def _text_rows(path: Path, text: str, fmt: str, what: str) -> tuple[list[dict[str, Any]], list[str]]:
    if fmt in ("csv", "tsv"):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if fmt == "tsv" else ",")
        rows = list(reader)
        header = list(reader.fieldnames or [])
        if header and header[0] in _UNNAMED_INDEX and header[0] not in header[1:]:  # pandas' index column
            header = header[1:]
            for r in rows:
                r.pop(_UNNAMED_INDEX[0], None)
                r.pop(_UNNAMED_INDEX[1], None)
        return rows, header
    if fmt == "jsonl":
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}: read as {what}: row {lineno} is not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path}: read as {what}: row {lineno} is not a JSON object")
            rows.append(obj)
        return rows, sorted({k for r in rows for k in r})
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: read as {what}: not valid JSON at line {e.lineno} ({e.msg})") from None
    if isinstance(obj, dict) and "\n" not in text.strip():
        obj = [obj]  # a one-line object: JSON lines with one record
    if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
        kind = "a JSON object" if isinstance(obj, dict) else f"a JSON {type(obj).__name__}"
        raise InputError(f"{path}: read as {what}: holds {kind}; expected a list of records (or CSV / JSON lines)")
    return obj, sorted({k for r in obj for k in r})


def _parquet_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
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
    return frame.to_dict("records"), [str(c) for c in frame.columns]
