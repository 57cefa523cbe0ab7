"""The package's shape stays readable: no import circles, no function of many parameters, no
hand-made process pool."""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for p in sorted(SIM.rglob("*.py")):
        name = ".".join(p.relative_to(SIM.parent).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(p.read_text(), str(p))
    return out


def _imports(tree: ast.Module, known: set[str]) -> set[str]:
    """Every sim module a module imports, anywhere in it (functions and TYPE_CHECKING too)."""
    deps = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.module and n.module.split(".")[0] == "sim":
            deps.add(n.module)
            deps |= {f"{n.module}.{a.name}" for a in n.names} & known
        elif isinstance(n, ast.Import):
            deps |= {a.name for a in n.names if a.name.split(".")[0] == "sim"}
    return deps


def test_no_module_imports_one_that_imports_it():
    mods = _modules()
    graph = {m: _imports(t, set(mods)) - {m} for m, t in mods.items()}

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for d in graph.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    # (the package itself imports its public names lazily, on first use)
    circles = sorted(f"{m} -> {d}" for m in graph if m != "sim" for d in graph[m]
                     if d != "sim" and m in reach(d))
    assert circles == []


def test_no_function_takes_more_than_eight_parameters():
    many = []
    for name, tree in _modules().items():
        for n in ast.walk(tree):
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
                a = n.args
                params = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
                params = [p for p in params if p is not None and p.arg not in ("self", "cls")]
                if len(params) > 8:
                    many.append(f"{name}.{n.name} ({len(params)})")
    assert many == []


def test_the_executors_are_stock_ones():
    """No executor of our own: the runner takes any concurrent.futures.Executor."""
    assert not (SIM / "pool.py").exists()
    for name, tree in _modules().items():
        for n in ast.walk(tree):
            if isinstance(n, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                         for b in n.bases}
                assert "Executor" not in bases, f"{name}.{n.name} is an executor of our own"


def test_counts_take_their_noun_in_the_right_number():
    from sim.text import count

    assert count(1, "run") == "1 run"
    assert count(0, "run") == "0 runs"
    assert count(2000, "mediator") == "2,000 mediators"
    assert count(1, "sweep point") == "1 sweep point"
    assert count(2, "this", "these") == "2 these"
