"""The package's shape: imports go one way, and exceptions live in one module.

Read from the source with :mod:`ast` (nothing is imported), so a new module that breaks a
rule fails here whatever it does at run time.
"""
from __future__ import annotations

import ast
import builtins
from pathlib import Path

import codecnb
from codecnb import errors

PACKAGE = Path(codecnb.__file__).parent


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = ast.parse(path.read_text(), str(path))
    return out


MODULES = _modules()


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    return []


def _module_level_imports(tree: ast.Module):
    """Imports run when the module is imported: outside functions and TYPE_CHECKING."""
    def visit(nodes):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                yield from visit(node.orelse)
                continue
            yield from _imported(node)
            yield from visit(ast.iter_child_nodes(node))
    yield from visit(tree.body)


def _part(module: str) -> str:
    """The architectural unit of a module: its subpackage, or a top-level module."""
    return ".".join(module.split(".")[:2])


def test_the_library_never_imports_the_cli():
    offenders = [(m, name) for m, tree in MODULES.items()
                 if not m.startswith(("codecnb.cli", "codecnb.__main__"))
                 for node in ast.walk(tree) for name in _imported(node)
                 if name == "codecnb.cli" or name.startswith("codecnb.cli.")]
    assert not offenders, offenders


def test_module_level_imports_between_parts_form_no_cycle():
    edges: dict[str, set[str]] = {}
    for m, tree in MODULES.items():
        for name in _module_level_imports(tree):
            if name.startswith("codecnb.") and _part(name) != _part(m):
                edges.setdefault(_part(m), set()).add(_part(name))
    cycles = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif len(path) < len(edges) + 1:
                walk(nxt, path + [nxt])
    for start in sorted(edges):
        walk(start, [start])
    assert not cycles, cycles[:5]


def test_sources_do_not_import_the_cache_back():
    """The S3 cache builds on sources, never the other way round (not even lazily)."""
    offenders = [(m, name) for m, tree in MODULES.items() if m.startswith("codecnb.sources")
                 for node in ast.walk(tree) for name in _imported(node)
                 if name.startswith("codecnb.cache")]
    assert not offenders, offenders


def test_every_exception_class_lives_in_errors():
    known = {name for name, obj in vars(errors).items()
             if isinstance(obj, type) and issubclass(obj, BaseException)}
    assert {"CodecnbError", "MetricError", "NotebookFailed", "GeneratorAuthError",
            "BudgetExhausted", "CandidateFailed"} <= known
    builtin = {name for name, obj in vars(builtins).items()
               if isinstance(obj, type) and issubclass(obj, BaseException)}
    elsewhere = []
    for m, tree in MODULES.items():
        if m == "codecnb.errors":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if bases & (known | builtin):
                    elsewhere.append(f"{m}.{node.name}")
    assert not elsewhere, elsewhere


def test_metrics_raise_metric_error_for_inconsistent_inputs():
    import numpy as np

    from codecnb.metrics import bd_rate, mse, ssim_ffmpeg, ssim_wang, yuv420_from_bytes
    a, b = np.zeros((16, 16), np.uint8), np.zeros((8, 8), np.uint8)
    calls = [lambda: mse(a, b), lambda: ssim_wang(a, b), lambda: ssim_ffmpeg(a, b),
             lambda: yuv420_from_bytes(np.zeros(10, np.uint8), 16, 16),
             lambda: bd_rate([(100.0, 30.0)], [(100.0, 30.0), (200.0, 33.0)])]
    for call in calls:
        try:
            call()
        except errors.MetricError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            raise AssertionError(f"{call} accepted inconsistent inputs")
