"""Filling a (small, mounted) filesystem, for the tests of a full disk."""

from __future__ import annotations

import os
from pathlib import Path


def fill(path: Path) -> None:
    """Write zeros to `path` until its filesystem refuses more (ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
