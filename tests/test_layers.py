"""The architecture, checked: sans-IO cores import no I/O, no import cycles, layers point down.

The import graph is read from the source (``ast``), following every ``import`` and
``from ... import`` of a module — including those inside functions, and those under
``TYPE_CHECKING`` — so a cycle hidden in a function body or a type-only import still counts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "rtagents"

#: Packages whose modules must stay sans-IO: no trio, no sockets, no event loop, no clock of
#: their own — time comes in as an argument.
SANS_IO = ("rtagents._core", "rtagents.protocol")
FORBIDDEN = {
    "trio",
    "trio_websocket",
    "asyncio",
    "anyio",
    "socket",
    "ssl",
    "selectors",
    "sounddevice",
    "httpx",
    "wsproto",
    "h11",
}

#: Layers from the bottom up (docs/architecture.md); a module may import its own layer and
#: the ones below it, never one above.
LAYERS = [
    ("rtagents.native",),
    ("rtagents.protocol",),
    (
        "rtagents._core",
        "rtagents.context",
        "rtagents.items",
        "rtagents.events",
        "rtagents.model_events",
        "rtagents.model_inputs",
    ),
    ("rtagents.audio", "rtagents.detectors"),
    (
        "rtagents._mcp",
        "rtagents.mcp",
        "rtagents.function_tools",
        "rtagents.guardrails",
        "rtagents.hooks",
        "rtagents.handoffs",
        "rtagents.agent",
    ),
    ("rtagents.models",),
    ("rtagents.actors",),
    ("rtagents._agency", "rtagents.config"),
    ("rtagents.session", "rtagents.runner"),
    ("rtagents.local",),
    (
        "rtagents.testing",
        "rtagents.apps",
        "rtagents.web",
        "rtagents.phone",
        "rtagents.__init__",
        "rtagents.__main__",
    ),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """Every module `name` imports: rtagents modules by full name, others by top-level name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target
            for alias in node.names:  # `from pkg import module`
                if f"{target}.{alias.name}" in known:
                    yield f"{target}.{alias.name}"


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for target in imports_of(name, path, known):
            if target.startswith("rtagents"):
                # importing a.b.c runs a/__init__ and a/b/__init__ too
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    prefix = ".".join(parts[:i])
                    if prefix in known and prefix != name:
                        targets.add(prefix)
            else:
                targets.add(target.split(".")[0])
        edges[name] = targets
    return edges


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


EDGES = graph()
CORE_MODULES = sorted(m for m in EDGES if m.startswith(SANS_IO))


@pytest.mark.parametrize("module", CORE_MODULES)
def test_sans_io_modules_reach_no_io(module: str) -> None:
    # Package __init__ files of rtagents itself are not followed (importing rtagents._core.x
    # does run rtagents/__init__, the public API, but the core does not depend on it).
    edges = {k: {t for t in v if t != "rtagents"} for k, v in EDGES.items()}
    found = reachable(module, edges) & FORBIDDEN
    path = [m for m in reachable(module, edges) if m.startswith("rtagents")]
    assert not found, f"{module} reaches {sorted(found)} through {sorted(path)}"


def test_the_sans_io_check_can_fail() -> None:
    edges = {"rtagents._core.x": {"rtagents.y"}, "rtagents.y": {"trio"}}
    assert reachable("rtagents._core.x", edges) & FORBIDDEN == {"trio"}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_no_import_cycles_between_modules() -> None:
    # A package's __init__ re-exporting its own modules is not a cycle of design.
    edges = {
        k: {t for t in v if not (k.startswith(t + ".") or t == "rtagents")}
        for k, v in EDGES.items()
    }
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_the_cycle_check_can_fail() -> None:
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def layer_of(module: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    if module == "rtagents":
        return len(LAYERS) - 1
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and the docs)")


def test_layers_point_down() -> None:
    wrong = []
    for module, targets in EDGES.items():
        for target in targets:
            upward = target.startswith("rtagents.") and layer_of(target) > layer_of(module)
            if upward:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports that point up a layer:\n" + "\n".join(sorted(wrong))


def test_the_top_level_is_the_public_api() -> None:
    top = sorted(p.stem for p in ROOT.glob("*.py"))
    assert top == [
        "__init__",
        "__main__",
        "agent",
        "config",
        "context",
        "events",
        "function_tools",
        "guardrails",
        "handoffs",
        "hooks",
        "items",
        "mcp",
        "model_events",
        "model_inputs",
        "runner",
        "session",
    ]


def test_the_runtime_does_not_import_test_machinery() -> None:
    """``import rtagents`` (what a server process pays at start) pulls in neither pytest nor
    ``trio.testing``; ``rtagents.testing`` is imported only by who asks for it."""
    import subprocess
    import sys

    code = (
        "import sys, rtagents, rtagents.apps.cli\n"
        "print(sorted(m for m in ('pytest', 'trio.testing', 'hypothesis', 'rtagents.testing')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
