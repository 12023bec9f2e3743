"""One plugin registry for every kind of plugin: evals, modifications, prompt transforms.

A registry holds named items of one kind. Built-ins and the modules named by the
kind's entry-point group (e.g. `evalrun.evals`) are imported on first use, so
listing stays cheap and `--help` never pays for them. A name registered twice by
different code is an error: a plugin must never silently replace the built-in
eval (or attack) a release gate relies on. Re-importing the same module (the same
object, or one with the same module and qualified name) is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from evalrun.evals.errors import InputError

T = TypeVar("T")


def _origin(obj: object) -> str:
    """Where an item was defined, for collision messages and re-import detection."""
    target = getattr(obj, "factory", None) or getattr(obj, "func", None) or getattr(obj, "apply", None) or obj
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(target).__name__)}"


class Registry(Generic[T]):
    """Named plugins of one `kind`, loaded lazily from `load_builtins()` and the entry-point `group`."""

    def __init__(self, kind: str, group: str, load_builtins: Callable[[], None],
                 hint: str | Callable[[list[str]], str]) -> None:
        self.kind, self.group, self.hint = kind, group, hint
        self._load_builtins = load_builtins
        self._items: dict[str, T] = {}
        self._loaded = False

    def add(self, name: str, item: T) -> T:
        """Register `item` as `name`; an InputError if other code already registered that name."""
        old = self._items.get(name)
        if old is not None and old is not item and _origin(old) != _origin(item):
            raise InputError(f"{self.kind} {name!r} is registered twice ({_origin(old)} and {_origin(item)}); "
                             f"rename the plugin's {self.kind}: a plugin may not replace a built-in")
        self._items[name] = item
        return item

    def remove(self, name: str) -> None:
        """Forget `name` (a test's temporary plugin)."""
        self._items.pop(name, None)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self._load_builtins()
        for ep in entry_points(group=self.group):
            ep.load()

    def all(self) -> dict[str, T]:
        """Every registered item by name, in registration order (built-ins first)."""
        self._load()
        return dict(self._items)

    def get(self, name: str) -> T:
        """The item `name`, or an InputError suggesting the closest names."""
        self._load()
        if name in self._items:
            return self._items[name]
        close = difflib.get_close_matches(name, self._items, n=3)
        fallback = self.hint(list(self._items)) if callable(self.hint) else self.hint
        hint = f"; did you mean {', '.join(close)}?" if close else f"; {fallback}"
        raise InputError(f"unknown {self.kind} {name!r}{hint}")

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.all())
