"""The packages import each other in one direction only (lazy imports inside functions count too).

    cli -> runner -> modify -> models -> evals
        -> reports -> rundir -----------^
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Each package may import only the packages listed for it; `evalrun` itself (the version) is always allowed.
ALLOWED: dict[str, set[str]] = {
    "evals": set(),
    "suites": set(),
    "rundir": {"evals"},
    "models": {"evals"},
    "modify": {"evals", "models", "rundir"},
    "reports": {"evals", "rundir"},
    "runner": {"evals", "models", "rundir", "modify", "suites"},
    "cli": {"evals", "models", "rundir", "modify", "reports", "runner", "suites"},
}


def package_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[0] if len(parts) > 1 and parts[0] in ALLOWED else None


def imported_packages(path: Path) -> set[str]:
    """Top-level evalrun packages `path` imports, resolving relative imports against its location."""
    module = ["evalrun", *path.relative_to(ROOT).with_suffix("").parts]
    package = module[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = [".".join(base + ([node.module] if node.module else []))]
                if not node.module:
                    names = [".".join(base + [a.name]) for a in node.names]
            else:
                names = [node.module or ""]
                if node.module == "evalrun":
                    names = ["evalrun." + a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if len(parts) > 1 and parts[0] == "evalrun" and parts[1] in ALLOWED:
                found.add(parts[1])
    return found


def edges() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        pkg = package_of(path)
        if pkg is None or ".venv" in path.parts:
            continue
        for other in imported_packages(path) - {pkg}:
            out.setdefault((pkg, other), []).append(str(path.relative_to(ROOT)))
    return out


def test_every_edge_points_down():
    bad = {f"{a} -> {b}": files for (a, b), files in edges().items() if b not in ALLOWED[a]}
    assert not bad, f"imports against the layering: {bad}"


def test_layering_itself_has_no_cycle():
    seen: dict[str, int] = {}

    def visit(node: str, stack: tuple[str, ...]) -> None:
        if node in stack:
            pytest.fail(f"cycle in ALLOWED: {' -> '.join((*stack, node))}")
        for nxt in ALLOWED[node]:
            visit(nxt, (*stack, node))
        seen[node] = 1

    for pkg in ALLOWED:
        visit(pkg, ())


def test_checker_sees_lazy_and_relative_imports(tmp_path):
    """The checker itself must catch an import inside a function and a relative one."""
    probe = ROOT / "reports" / "_probe_import_graph.py"
    probe.write_text("def f():\n    from ..runner import run\n    from evalrun.modify import build\n")
    try:
        assert imported_packages(probe) == {"runner", "modify"}
    finally:
        probe.unlink()
