"""Static checks of a candidate program before anything runs: syntax, contract, imports.

The import policy is a setting. By default a program may import numpy, scipy and the
standard library's compression, math and data-structure modules; everything else is refused,
and a few modules (os, subprocess, socket, ctypes, importlib, multiprocessing, threading, cv2
...) are named as refused so the message can say why. ``--allow-import NAME`` widens it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from codecnb.sandbox.failures import Failure

#: Top-level modules a program may import by default.
DEFAULT_ALLOWED: frozenset[str] = frozenset({
    "numpy", "scipy",
    # entropy coding (ANS and range coders; pure computation: no files, sockets or processes)
    "constriction",
    # compression
    "zlib", "lzma", "bz2", "gzip", "zipfile", "binascii", "base64",
    # math and numbers
    "math", "cmath", "fractions", "decimal", "statistics", "numbers", "random",
    # data structures and helpers
    "struct", "array", "collections", "heapq", "bisect", "itertools", "functools",
    "operator", "dataclasses", "enum", "typing", "copy", "io", "re", "string",
    "__future__", "abc", "warnings", "hashlib", "time",
})

#: Modules refused unless explicitly allowed: they reach the OS, other processes or native
#: code.
REFUSED: frozenset[str] = frozenset({
    "os", "sys", "subprocess", "socket", "ctypes", "importlib", "multiprocessing", "threading",
    "_thread", "cv2", "shutil", "pathlib", "signal", "gc", "inspect", "builtins", "mmap",
    "pickle", "marshal", "resource", "pty", "fcntl", "select", "selectors", "asyncio",
    "urllib", "http", "ftplib", "smtplib", "tempfile", "glob", "posix", "code", "runpy",
    "concurrent", "sysconfig", "site", "faulthandler", "tracemalloc", "shelve", "sqlite3",
})


@dataclass(frozen=True)
class ImportPolicy:
    """Which top-level modules a program may import."""

    allowed: frozenset[str] = DEFAULT_ALLOWED
    extra: frozenset[str] = field(default_factory=frozenset)

    def widened(self, *names: str) -> "ImportPolicy":
        """A policy that also allows ``names`` (e.g. ``"os"`` for a trusted experiment)."""
        return ImportPolicy(self.allowed, self.extra | frozenset(names))

    def permits(self, module: str) -> bool:
        top = module.split(".")[0]
        return top in self.extra or (top in self.allowed and top not in REFUSED)

    def reason(self, module: str) -> str:
        top = module.split(".")[0]
        if top in REFUSED:
            return (f"import of {module!r} is refused: it reaches the operating system, other "
                    f"processes or native code (allowed: numpy, scipy and the standard "
                    f"library's compression, math and data-structure modules)")
        return (f"import of {module!r} is not in the import policy (allowed: "
                f"{', '.join(sorted(self.allowed | self.extra))})")

    def to_dict(self) -> dict:
        return {"allowed": sorted((self.allowed - REFUSED) | self.extra)}


def _signature(fn: ast.FunctionDef, name: str, want: list[str]) -> str | None:
    args = fn.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    required = len(positional) - len(args.defaults)
    if len(positional) < len(want) and args.vararg is None:
        return (f"{name}() takes {len(positional)} positional argument(s); the contract is "
                f"{name}({', '.join(want)})")
    if required > len(want):
        return f"{name}() requires {required} arguments; the contract passes {len(want)}"
    return None


def size_check(program: str, limit: int) -> Failure | None:
    """``program-size`` when the program's UTF-8 source is over ``limit`` bytes.

    The cap stops a program from carrying a meaningful part of an evaluation clip (64 KiB
    is about a fifth of one 8-bit 320x240 grey frame); it does not stop a small dictionary
    of patterns. Held-out clips, which no program has seen, are the answer to that.
    """
    size = len(program.encode())
    if size > limit:
        return Failure("program-size", f"the program is {size} bytes, over the cap of {limit} "
                       f"bytes (CODECNB_PROGRAM_KIB)", stage="static", detail={"bytes": size})
    return None


def static_check(program: str, policy: ImportPolicy = ImportPolicy()) -> Failure | None:
    """Check a program without running it; None when it may run.

    Returns
    -------
    Failure or None
        ``syntax`` (with line), ``contract`` (missing or mis-declared encode/decode) or
        ``import`` (the first refused import, with its line).
    """
    try:
        tree = ast.parse(program, filename="<candidate>")
    except SyntaxError as exc:
        return Failure("syntax", f"syntax error at line {exc.lineno}: {exc.msg}",
                       line=exc.lineno, code=(exc.text or "").rstrip() or None)
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                return Failure("import", f"relative import at line {node.lineno} is refused: a "
                               "program is a single file", line=node.lineno)
            modules = [node.module or ""]
        for module in modules:
            if not policy.permits(module):
                return Failure("import", f"line {node.lineno}: {policy.reason(module)}",
                               line=node.lineno)
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for name, want in (("encode", ["frames", "quality"]), ("decode", ["data"])):
        fn = defs.get(name)
        if fn is None:
            return Failure("contract", f"the program does not define {name}({', '.join(want)}) "
                           f"at top level; the contract needs encode(frames, quality) -> bytes "
                           f"and decode(data) -> ndarray")
        if isinstance(fn, ast.AsyncFunctionDef):
            return Failure("contract", f"{name}() must be a plain function, not async",
                           line=fn.lineno)
        problem = _signature(fn, name, want)
        if problem:
            return Failure("contract", problem, line=fn.lineno)
    return None
