"""Files written so that nothing finished is ever lost or half-written, and the one way to hash them.

The bottom of the package (it imports nothing of evalrun): every package writes through it.

- `write_atomic`: a file is written beside its destination and renamed into place, so a crash
  mid-write leaves the previous version intact.
- `build_dir`: a directory (a trained model, a modification's variants, a converted checkpoint) is
  built in a temporary directory beside its destination and renamed into place only when complete;
  a failed or killed build leaves nothing behind but a `.NAME.tmp-*` directory that the next build
  under the same lock removes.
- `file_sha256`: the content hash every manifest, cache key and fingerprint uses.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` atomically; the temporary file never outlives a failure."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, streamed."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def stale_builds(final: Path) -> list[Path]:
    """Temporary directories left beside `final` by killed builds (remove them only while holding its lock)."""
    return sorted(Path(final).parent.glob(f".{Path(final).name}.tmp-*"))


def build_dir(final: Path, build: Callable[[Path], bool]) -> bool:
    """Run `build(tmp)` in a fresh directory beside `final`; if it returns True, rename it into place.

    An existing `final` is replaced atomically (moved aside, then deleted), so `final` is never a
    partly written directory. Returns whether `final` was replaced. Callers serialise builds of the
    same `final` with a lock; a build that raises leaves nothing behind.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; models and variants are ordinary files
    try:
        if not build(tmp):
            return False
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.replace(final, old / "previous")
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
