"""The architecture as a test: imports point one way, cli -> service -> adapters -> core.

The package's imports are read with `ast` (every import, also those inside functions and under
TYPE_CHECKING, since a hidden import is still a dependency), so the layout cannot rot silently:
a cycle, an import against the layer direction, production code importing the lab, or the
core touching files, sockets, the clock, the environment or the store fails here with the
offending module and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support import REPO

PACKAGE = REPO / "daemon"
#: What each layer may import from the package (besides itself).
MAY_IMPORT = {
    "errors": set(),
    "core": {"errors"},
    "adapters": {"core", "errors"},
    "service": {"adapters", "core", "errors"},
    "cli": {"service", "adapters", "core", "errors", "top"},
    "lab": {"cli", "service", "adapters", "core", "errors", "top"},
    "top": {"cli", "errors"},  # daemon/__init__.py, daemon/__main__.py
}
#: Third-party libraries the pure core may use: data in, data out.
CORE_LIBRARIES = {"yaml", "jinja2", "markupsafe", "holidays"}
#: Standard modules that mean I/O, processes, the clock or the environment.
IO_MODULES = {
    "os",
    "socket",
    "ssl",
    "subprocess",
    "fcntl",
    "time",
    "signal",
    "shutil",
    "tempfile",
    "imaplib",
    "smtplib",
    "asyncio",
    "threading",
    "glob",
    "sys",
    "logging",
    "pathlib",
}
#: Calls that read files, the clock or the terminal.
IO_CALLS = {
    "open",
    "print",
    "input",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "now",
    "utcnow",
    "today",
    "getenv",
    "iterdir",
    "glob",
}


def settle(kind: str, found: list[str]) -> None:
    """Fail with every offence of one kind, one per line."""
    assert not found, f"{kind}:\n" + "\n".join(found)


@dataclass(frozen=True)
class Import:
    source: str  # dotted module name of the importing file
    target: str  # dotted module (or package) imported
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            for alias in node.names:
                sub = f"{origin}.{alias.name}"
                yield Import(name, sub if sub in known else origin, node.lineno)


def layer(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return "top"
    return parts[1]


def package_graph() -> tuple[dict[str, set[str]], list[Import]]:
    mods = modules()
    known = set(mods)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    edges = []
    for name, path in mods.items():
        for imp in imports_of(name, path, known):
            if imp.target.split(".")[0] != "daemon" or imp.target == name:
                continue
            target = imp.target
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known and target != name:
                graph[name].add(target)
                edges.append(Import(name, target, imp.line))
    return graph, edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components larger than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def is_ancestor_package(source: str, target: str) -> bool:
    """`daemon.core.rules.loader` importing `daemon.core.rules` is a submodule reaching for its
    own facade: the facade imports the submodule, so that is a cycle in waiting."""
    return source.startswith(target + ".")


def test_the_package_has_no_import_cycle() -> None:
    graph, _ = package_graph()
    settle("cycle", [" <-> ".join(c) for c in cycles(graph)])


def test_imports_point_down_the_layers_only() -> None:
    _, edges = package_graph()
    wrong = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in edges
        if layer(e.target) != layer(e.source) and layer(e.target) not in MAY_IMPORT[layer(e.source)]
    ]
    assert not wrong, "\n".join(wrong)


def test_no_submodule_imports_its_own_package_facade() -> None:
    _, edges = package_graph()
    settle(
        "facade",
        sorted(
            {
                f"{e.source} imports {e.target}"
                for e in edges
                if is_ancestor_package(e.source, e.target) and e.target != "daemon"
            }
        ),
    )


def io_offences(name: str, source: str) -> set[str]:
    """What in one core module's source touches files, the clock, the terminal or the world."""
    wrong: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            roots = (
                [a.name.split(".")[0] for a in node.names]
                if isinstance(node, ast.Import)
                else [(node.module or "").split(".")[0]]
            )
            for root in roots:
                if root in IO_MODULES or (
                    root not in CORE_LIBRARIES
                    and root != "daemon"
                    and root
                    and not _is_stdlib(root)
                ):
                    wrong.add(f"{name} imports {root}")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in IO_CALLS:
                wrong.add(f"{name} calls {called}()")
    return wrong


def test_the_core_does_no_io() -> None:
    wrong: set[str] = set()
    for name, path in modules().items():
        if layer(name) == "core":
            wrong |= io_offences(name, path.read_text(encoding="utf-8"))
    settle("io", sorted(wrong))


def _is_stdlib(root: str) -> bool:
    import sys

    return root in sys.stdlib_module_names or root == "__future__"


def test_the_guard_sees_a_cycle_and_a_wrong_direction() -> None:
    """The checks above must be able to fail: fed a graph with a cycle, they say so."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert "adapters" not in MAY_IMPORT["core"]
    assert layer("daemon.core.rules.loader") == "core"
    assert layer("daemon.errors") == "errors"
    assert is_ancestor_package("daemon.core.rules.loader", "daemon.core.rules")
    leaky = "import os\nimport tinydb\nfrom datetime import datetime\nx = datetime.now()\n"
    assert io_offences("m", leaky) == {"m imports os", "m imports tinydb", "m calls now()"}
