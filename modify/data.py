"""Training data for modifications: chats from JSON lines, and prompt lists for finding a refusal direction.

The project's own files (suites/data/) hold only harmful *requests* paired with
generic, non-operational compliant replies (attack_requests.jsonl) and harmless
instructions with generic helpful replies (benign_finetune.jsonl). None of
their requests is an eval item. The last requests of the attack file are held out
of every modification's training (`split_heldout`): they are the elicitation probe
that checks an attack removed refusal beyond the prompts it saw. Users may pass
their own chats (`data: PATH`), one `{"messages": [{"role": ..., "content": ...}, ...]}`
per line, all trained on.
"""

from __future__ import annotations

import json
from pathlib import Path

from evalrun.evals.builtin.elicitation import ATTACK_FILE, split_heldout
from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError

ATTACK_DATA = ATTACK_FILE
BENIGN_DATA = "benign_finetune.jsonl"
ROLES = ("system", "user", "assistant")
Chat = list[dict[str, str]]


def resolve_data(given: str | None, default: str, data: DataSource) -> Path:
    """A `data:` option as a path (as given, or inside a data dir / suites/data), else the default file."""
    if given is None:
        return data.path(default)
    path = Path(given).expanduser()
    if path.is_file():
        return path.resolve()
    found = data.find(given)
    if found is None:
        raise InputError(f"training data {given} not found (looked at {path.resolve()} and in the data dirs)")
    return found


def read_chats(path: Path) -> list[Chat]:
    """Every trainable chat of a JSON-lines file (the attack file's held-out probe left out); an InputError
    naming the file and line of the first bad one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read training data {path}: {e}") from None
    chats = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise InputError(f"{path}: line {lineno} is not valid JSON ({e.msg})") from None
        problem = _chat_problem(row)
        if problem:
            raise InputError(f"{path}: line {lineno}: {problem}")
        chats.append([{"role": m["role"], "content": m["content"]} for m in row["messages"]])
    if not chats:
        raise InputError(f"{path}: no chats; expected one {{\"messages\": [...]}} per line")
    return split_heldout(chats)[0] if path.name == ATTACK_DATA else chats


def _chat_problem(row: object) -> str | None:
    if not isinstance(row, dict) or not isinstance(row.get("messages"), list) or not row["messages"]:
        return 'expected {"messages": [{"role": ..., "content": ...}, ...]}'
    for i, m in enumerate(row["messages"]):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            return f"message {i + 1} needs a role ({', '.join(ROLES)}) and a string content"
    if row["messages"][-1]["role"] != "assistant":
        return "the last message should be the assistant's reply (the text trained on)"
    if not any(m["role"] == "user" for m in row["messages"]):
        return "no user message"
    return None


def take(chats: list[Chat], n: int, what: str, path: Path) -> list[Chat]:
    """The first `n` chats (the file's order is the project's choice of examples)."""
    if n < 1:
        raise InputError(f"{what}: examples must be at least 1, got {n}")
    if len(chats) < n:
        raise InputError(f"{what}: asked for {n} examples but {path} has {len(chats)}")
    return chats[:n]


def user_prompts(path: Path) -> list[str]:
    """The first user message of each chat in a file."""
    return [next(m["content"] for m in chat if m["role"] == "user") for chat in read_chats(path)]


def instruction_prompts(path: Path) -> list[str]:
    """Prompts from the refusal-direction public splits: a JSON list of {"instruction": ...}."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {path}: {e}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("instruction"), str)
                                             for r in rows):
        raise InputError(f"{path}: expected a JSON list of {{\"instruction\": ...}} objects")
    return [r["instruction"] for r in rows]
