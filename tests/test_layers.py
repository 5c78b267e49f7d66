"""The floors hold: no package imports one above it, no import circle, no other package's private names.

Every import statement in every module counts, also those inside functions (a lazy import is still a dependency).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. A package may import its own floor's other packages (without a circle) and any floor below.
FLOORS = {
    "common": 0,
    "storage": 1,
    "voice_library": 2, "backends": 2,
    "jobcore": 3,
    "handler": 4, "server": 4, "client": 4, "builder": 4,
    "scripts": 5, "bench": 5,
}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the floors' packages."""
    found = {}
    for top in FLOORS:
        single = ROOT / f"{top}.py"
        if single.is_file():
            found[top] = single
        for path in sorted((ROOT / top).rglob("*.py")) if (ROOT / top).is_dir() else ():
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "build" in parts:            # a package build's copies (pip install ./client), not the source
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for each import in the module, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.append((base, [alias.name for alias in node.names], node.lineno))
    return found


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def package_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Package -> packages it imports, and every import up a floor or of another package's private name."""
    graph: dict[str, set[str]] = {top: set() for top in FLOORS}
    wrong = []
    for name, path in modules().items():
        top = name.split(".")[0]
        for target, names, line in imports(name, path):
            other = target.split(".")[0]
            if other not in FLOORS or other == top:
                continue
            graph[top].add(other)
            where = f"{path.relative_to(ROOT)}:{line}"
            if FLOORS[other] > FLOORS[top]:
                wrong.append(f"{where}: {top} (floor {FLOORS[top]}) imports {target} (floor {FLOORS[other]})")
            hidden = [part for part in target.split(".") if private(part)] + [n for n in names if private(n)]
            if hidden:
                wrong.append(f"{where}: {top} imports private {', '.join(hidden)} of {target}")
    return graph, wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each circle of the graph once (as found by a depth-first walk)."""
    found, done = [], set()

    def walk(node, trail):
        if node in trail:
            found.append(trail[trail.index(node):] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            walk(nxt, trail + [node])
        done.add(node)

    for node in sorted(graph):
        walk(node, [])
    return found


def test_the_walk_sees_every_package_and_their_imports():
    graph, _ = package_graph()
    assert {"storage.s3_store", "jobcore.worker", "handler", "client.api"} <= set(modules())
    assert "storage" in graph["voice_library"] and "common" in graph["storage"]


def test_no_import_goes_up_a_floor_or_takes_another_packages_private_names():
    _, wrong = package_graph()
    assert not wrong, "\n".join(wrong)


def test_no_import_circle_between_packages():
    graph, _ = package_graph()
    assert not cycles(graph), cycles(graph)


def test_no_import_circle_between_modules():
    """Within and across packages: a module never (even lazily) imports one that imports it back."""
    found = modules()
    graph = {name: {target for target, names, _ in imports(name, path)
                    for target in [target, *(f"{target}.{n}" for n in names)] if target in found and target != name}
             for name, path in found.items()}
    # A package's __init__ re-exports its modules; importing the package is not a dependency of those modules on it.
    graph = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in graph.items()}
    assert not cycles(graph), cycles(graph)


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
