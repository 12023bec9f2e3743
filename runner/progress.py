"""The progress bar shown while generating: requests done / total and output tokens per second."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, enabled: bool = True) -> None:
        self.enabled = enabled
        self.tokens = 0
        self.t0 = time.perf_counter()
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, desc="generating (loading engine)", unit="req", file=sys.stderr, mininterval=0.5,
                dynamic_ncols=True,
            )

    def start(self) -> None:
        """The engine is loaded: rates count from now."""
        self.t0 = time.perf_counter()
        if self.bar is not None:
            self.bar.set_description_str("generating")
            self.bar.reset()

    def add(self, tokens: int) -> None:
        self.tokens += tokens
        if self.bar is not None:
            self.bar.update(1)
            rate = self.tokens / max(1e-9, time.perf_counter() - self.t0)
            self.bar.set_postfix_str(f"{rate:,.0f} tok/s", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
