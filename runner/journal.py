"""The durable journal: one SQLite row per finished request, committed as results arrive.

Rows are keyed by the request's content hash (model, variant, eval version,
sample content, sampling params, epoch), so re-running the same command
resumes: requests whose key is present are not generated again, and a key is
never written twice.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
    created REAL NOT NULL
);
"""


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def done_keys(self) -> set[str]:
        return {k for (k,) in self.db.execute("SELECT key FROM results")}

    def add(self, rows: Iterable[dict[str, Any]]) -> int:
        """Commit finished rows in one transaction; rows already present are left alone."""
        now = time.time()
        params = [
            (
                r["key"], r["eval"], r["eval_version"], r["variant"], r["sample_id"], r["epoch"],
                json.dumps(r["request"], ensure_ascii=False), json.dumps(r["completion"], ensure_ascii=False),
                json.dumps(r["score"], ensure_ascii=False), now,
            )
            for r in rows
        ]
        with self.db:
            self.db.execute("BEGIN")
            cur = self.db.executemany("INSERT OR IGNORE INTO results VALUES (?,?,?,?,?,?,?,?,?,?)", params)
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

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        self.db.close()
