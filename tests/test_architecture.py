"""The library's shape: short functions, no import cycles, no private names across modules."""

import ast
from pathlib import Path

from .conftest import ROOT

SRC = ROOT / "src"
MAX_FUNCTION_LINES = 80


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "govlib").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, node: ast.ImportFrom) -> str:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def top_level_edges() -> dict[str, set[str]]:
    """Module -> govlib modules it imports when it is imported (not inside functions)."""
    mods, edges = modules(), {}
    for name, path in mods.items():
        for node in ast.parse(path.read_text()).body:
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = imported(name, path, node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]  # fmt: skip
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges[name] = edges.get(name, set()) | {
                t
                for t in targets
                if t in mods and t != name and not name.startswith(t + ".")  # own package
            }
    return edges


def test_no_function_is_longer_than_the_limit():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert long == []


def test_no_module_uses_another_modules_private_names():
    mods = modules()
    short = {name.rsplit(".", 1)[-1] for name in mods}
    found = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and imported(name, path, node).startswith("govlib"):
                found += [f"{name}: {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]  # fmt: skip
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id in short and node.value.id != name.rsplit(".", 1)[-1]
                  and node.attr.startswith("_") and not node.attr.startswith("__")):  # fmt: skip
                found.append(f"{name}: {node.value.id}.{node.attr}")
    assert found == []


def test_no_import_cycles_at_import_time():
    edges = top_level_edges()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(node)

    done: set[str] = set()
    for name in sorted(edges):
        if name not in done:
            visit(name, [name])
    assert cycles == []
