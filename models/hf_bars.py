"""Transformers' own progress bars (loading weights, de-quantising a GGUF, saving), shown or hidden per block.

Transformers draws them whatever its caller's `progress` says, so a run under `--no-progress` or a library
call with `progress=False` printed them anyway. Every load and save that evalrun asks of transformers goes
through `transformers_bars`, which also puts back whatever setting the caller had.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Iterator

# Modules that draw a bar with tqdm directly, outside transformers' switch: its GGUF loader's de-quantising bar.
_OWN_TQDM = ("transformers.modeling_gguf_pytorch_utils",)


@contextlib.contextmanager
def transformers_bars(shown: bool) -> Iterator[None]:
    """Transformers' progress bars on (`shown`) or off inside the block; the earlier setting is restored after."""
    from transformers.utils import logging as hf_logging

    def set_bars(on: bool) -> None:
        (hf_logging.enable_progress_bar if on else hf_logging.disable_progress_bar)()

    was_shown = hf_logging.is_progress_bar_enabled()
    modules = [importlib.import_module(name) for name in _OWN_TQDM]
    own_bars = [module.tqdm for module in modules]
    set_bars(shown)
    for module, bar in zip(modules, own_bars, strict=True):
        module.tqdm = functools.partial(bar, disable=not shown)
    try:
        yield
    finally:
        set_bars(was_shown)
        for module, bar in zip(modules, own_bars, strict=True):
            module.tqdm = bar
