"""The durable journal: one SQLite row per finished request, committed as results arrive.

Rows are keyed by the request's content hash (model, variant, eval version,
sample content, sampling params, epoch), so re-running the same command
resumes: requests whose key is present are not generated again, and a key is
never written twice.

Each row carries a sha256 of its stored fields, checked whenever the journal is
opened: SQLite does not checksum its pages, so a flipped bit inside a completion
or score would otherwise resume as a different result. A row that fails the
check (or has no checksum: written before checksums existed) is moved to the
`quarantine` table and counts as missing, so it is generated again. A file
SQLite cannot read at all is an error that says how to recover.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalrun.evals.errors import InputError
from evalrun.rundir.files import disk_full

COLUMNS = ("key", "eval", "eval_version", "variant", "sample_id", "epoch", "request", "completion", "score",
           "created")
SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    eval TEXT NOT NULL,
    eval_version INTEGER NOT NULL,
    variant TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    request TEXT NOT NULL,
    completion TEXT NOT NULL,
    score TEXT NOT NULL,
    created REAL NOT NULL,
    checksum TEXT
);
CREATE TABLE IF NOT EXISTS quarantine (
    key TEXT, eval TEXT, eval_version INTEGER, variant TEXT, sample_id TEXT, epoch INTEGER, request TEXT,
    completion TEXT, score TEXT, created REAL, checksum TEXT, reason TEXT, moved REAL
);
"""


def row_checksum(values: tuple) -> str:
    """sha256 over a row's stored column values (in COLUMNS order), as SQLite returns them."""
    return hashlib.sha256(json.dumps(list(values), ensure_ascii=False).encode()).hexdigest()


def reseal(db: sqlite3.Connection, keys: Iterable[str]) -> None:
    """Recompute the checksums of rows rewritten on purpose (redaction), inside the caller's transaction."""
    cols = ", ".join(COLUMNS)
    for key in keys:
        for values in db.execute(f"SELECT {cols} FROM results WHERE key = ?", (key,)).fetchall():
            db.execute("UPDATE results SET checksum = ? WHERE key = ?", (row_checksum(values), key))


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            if "checksum" not in {row[1] for row in self.db.execute("PRAGMA table_info(results)")}:
                self.db.execute("ALTER TABLE results ADD COLUMN checksum TEXT")
            self.bad = self._quarantine_bad_rows()
        except sqlite3.DatabaseError as e:
            raise disk_full(e, path) or self._damaged(e) from None

    def _damaged(self, e: sqlite3.DatabaseError) -> InputError:
        return InputError(f"the journal {self.path} is damaged ({e}); move it aside (e.g. mv {self.path} "
                          f"{self.path}.damaged) and rerun the same command to generate its results again")

    def _quarantine_bad_rows(self) -> int:
        """Move rows whose checksum is missing or wrong out of `results`; returns how many, warning once."""
        cols = ", ".join(COLUMNS)
        bad = [(key, "no checksum" if stored is None else "checksum mismatch")
               for key, *values, stored in self.db.execute(f"SELECT {cols}, checksum FROM results")
               if stored != row_checksum((key, *values))]
        if not bad:
            return 0
        with self.db:
            self.db.execute("BEGIN")
            for key, reason in bad:
                self.db.execute(f"INSERT INTO quarantine SELECT {cols}, checksum, ?, ? FROM results WHERE key = ?",
                                (reason, time.time(), key))
                self.db.execute("DELETE FROM results WHERE key = ?", (key,))
        damaged = sum(reason == "checksum mismatch" for _, reason in bad)
        print(f"evalrun: warning: {self.path}: {damaged} rows failed their checksum and {len(bad) - damaged} rows "
              "have none (older evalrun); they are kept in its quarantine table and generated again", file=sys.stderr)
        return len(bad)

    def done_keys(self) -> set[str]:
        return {k for (k,) in self.db.execute("SELECT key FROM results")}

    def add(self, rows: Iterable[dict[str, Any]]) -> int:
        """Commit finished rows in one transaction; rows already present are left alone."""
        now = time.time()
        params = []
        for r in rows:
            values = (
                r["key"], r["eval"], r["eval_version"], r["variant"], r["sample_id"], r["epoch"],
                json.dumps(r["request"], ensure_ascii=False), json.dumps(r["completion"], ensure_ascii=False),
                json.dumps(r["score"], ensure_ascii=False), now,
            )
            params.append((*values, row_checksum(values)))
        try:
            with self.db:
                self.db.execute("BEGIN")
                cur = self.db.executemany("INSERT OR IGNORE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?)", params)
        except sqlite3.DatabaseError as e:
            raise disk_full(e, self.path) or self._damaged(e) from None
        return cur.rowcount

    def rows(self, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Finished rows by key (all, or those among `keys`), JSON fields decoded."""
        wanted = set(keys) if keys is not None else None
        out = {}
        cur = self.db.execute(
            "SELECT key, eval, eval_version, variant, sample_id, epoch, request, completion, score FROM results"
        )
        for key, ev, ver, variant, sid, epoch, req, comp, score in cur:
            if wanted is not None and key not in wanted:
                continue
            out[key] = {
                "key": key, "eval": ev, "eval_version": ver, "variant": variant, "sample_id": sid,
                "epoch": epoch, "request": json.loads(req), "completion": json.loads(comp),
                "score": json.loads(score),
            }
        return out

    def drop(self, keys: Iterable[str]) -> None:
        """Forget these rows (requests that are to run again), in one transaction."""
        try:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany("DELETE FROM results WHERE key = ?", [(k,) for k in keys])
        except sqlite3.DatabaseError as e:
            raise disk_full(e, self.path) or self._damaged(e) from None

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        self.db.close()
