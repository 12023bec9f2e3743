"""Finding a public benchmark's file: the user's path, a published name in a data dir, or the pinned hub copy.

A loader knows its dataset's published file names (HarmBench's
`harmbench_behaviors_text_{val,test,all}.csv`, CyberMetric's
`CyberMetric-{80,500,2000,10000}-v1.json`, ...); `locate` looks for them in
the data dirs in order. A suite can name the file instead
(`{eval: jailbreakbench, path: my/copy.csv}`): then that file is read and
nothing is downloaded. Only when the dataset's folder is absent from every
user data dir does `locate` fall back to the pinned hub copy (unless
HF_HUB_OFFLINE=1 or huggingface_hub is missing): a folder holding other
files means the user meant local data, so that is an error listing them,
never a silent download of something else. Every file found is recorded in
the `DataSource` (with the hub repo and resolved revision for downloads).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from evalrun.evals.data import DataSource
from evalrun.evals.errors import InputError

Hub = tuple[str, str, str]  # (repo id, file name in the repo, pinned revision)

_OFF = {"1", "true", "yes", "on"}


def hub_file(repo_id: str, filename: str, revision: str, repo_type: str = "dataset") -> Path | None:
    """A file from the Hugging Face hub at a pinned revision, or None when it cannot be had.

    None when huggingface_hub is not installed, when HF_HUB_OFFLINE is set, or
    on any download failure; the caller turns that into an InputError.
    """
    if hub_unavailable() is not None:
        return None
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo_id=repo_id, filename=filename, revision=revision, repo_type=repo_type))
    except Exception:
        return None


def hub_unavailable() -> str | None:
    """Why the hub cannot be used here, or None if it can be tried."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _OFF:
        return "HF_HUB_OFFLINE is set"
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        return "huggingface_hub is not installed"
    return None


def resolved_revision(path: Path, pinned: str) -> str:
    """The commit a hub cache path belongs to (`.../snapshots/<commit>/...`), else the pinned revision."""
    parts = path.parts
    if "snapshots" in parts and parts.index("snapshots") + 1 < len(parts):
        return parts[parts.index("snapshots") + 1]
    return pinned


def given_file(data: DataSource, rel: str) -> Path:
    """A file the suite named (`path:`): in a data dir, else absolute or relative to the current directory."""
    found = data.find(rel)
    if found is None and Path(rel).expanduser().is_file():
        found = Path(rel).expanduser()
    if found is None:
        where = ", ".join(str(d) for d in data.user_dirs) or "no --data-dir"
        raise InputError(f"data file {rel} (the suite's path:) not found in {where} or the current directory; "
                         f"fix the path or pass --data-dir DIR holding it")
    return data.record(found)


def locate(data: DataSource, names: str | Sequence[str], hub: Hub | None = None, *,
           path: str | None = None, hint: str = "") -> Path:
    """The file to read: `path` if given, else the first published name found, else the hub copy.

    `hint` says how to select another published file (e.g. "select another split with `split:`").
    """
    if path:
        return given_file(data, path)
    names = [names] if isinstance(names, str) else list(names)
    for rel in names:
        found = data.find(rel)
        if found is not None:
            return data.record(found)
    where = ", ".join(str(d) for d in data.dirs)
    hint = f"; {hint}" if hint else ""
    _refuse_if_folder_differs(data, names[0], hint)
    if hub is None:
        raise InputError(
            f"data file {names[0]} not found in {where}, and it has no pinned download location; "
            f"pass --data-dir DIR holding {names[0]}{hint}"
        )
    downloaded = hub_file(*hub)
    repo, filename, revision = hub
    if downloaded is None:
        why = hub_unavailable() or "the download failed"
        raise InputError(
            f"data file {names[0]} not found locally (in {where}), and not downloadable from the hub "
            f"({repo}/{filename} at {revision[:12]}: {why}); pass --data-dir DIR holding {names[0]}{hint}"
        )
    info = {"repo": repo, "file": filename, "revision": resolved_revision(downloaded, revision)}
    return data.record(downloaded, hub=info)


def _refuse_if_folder_differs(data: DataSource, rel: str, hint: str) -> None:
    """An InputError when a user data dir has the dataset's folder but not the expected file."""
    folder = Path(rel).parts[0]
    for d in data.user_dirs:
        if (d / folder).is_dir():
            held = sorted(str(p.relative_to(d)) for p in (d / folder).rglob("*") if p.is_file())
            shown = ", ".join(held[:6]) + (", ..." if len(held) > 6 else "") if held else "no files"
            raise InputError(
                f"data file {rel} not found: {d / folder} holds {shown}; name the file to read in the suite "
                f"(`{{eval: NAME, path: FILE}}`) or save it under its published name{hint}"
            )
