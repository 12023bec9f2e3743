"""Per-replica progress: one bar per Ray replica with its requests done and output tokens per second.

The run's own bar (total requests) stays as in a local run; these lines under it show whether the
replicas share the work evenly, and their figures go into the manifest.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class ReplicaBars:
    def __init__(self, replicas: int, enabled: bool = True) -> None:
        self.t0 = [time.perf_counter()] * replicas
        self.requests = [0] * replicas
        self.tokens = [0] * replicas
        self.ready: set[int] = set()
        self.bars = []
        if enabled:
            from tqdm import tqdm

            self.bars = [tqdm(desc=f"  replica {i} (starting)", unit="req", file=sys.stderr, position=i + 1,
                              mininterval=0.5, dynamic_ncols=True, leave=False) for i in range(replicas)]

    def label(self, i: int, host: str) -> None:
        """Replica `i` is ready: its rate counts from the first time it is (a restart keeps counting)."""
        if i not in self.ready:
            self.ready.add(i)
            self.t0[i] = time.perf_counter()
        if self.bars:
            self.bars[i].set_description_str(f"  replica {i} ({host})")

    def add(self, i: int, requests: int, tokens: int) -> None:
        self.requests[i] += requests
        self.tokens[i] += tokens
        if self.bars:
            self.bars[i].update(requests)
            self.bars[i].set_postfix_str(f"{self.rate(i):,.0f} tok/s", refresh=False)

    def rate(self, i: int) -> float:
        return self.tokens[i] / max(1e-9, time.perf_counter() - self.t0[i])

    def figures(self, i: int) -> dict[str, Any]:
        return {"requests": self.requests[i], "tokens": self.tokens[i], "tokens_per_s": round(self.rate(i), 1)}

    def close(self) -> None:
        for bar in self.bars:
            bar.close()
