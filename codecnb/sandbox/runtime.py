"""The read-only runtime a candidate sees: an allowlist of files, nothing else of the host.

A candidate's root file system is built by bubblewrap from this allowlist only:

* the Python interpreter, ``libpython`` and the standard library (without
  ``site-packages``), at their own paths, so the interpreter finds its prefix;
* the packages the import policy allows that are installed as distributions (numpy,
  scipy, constriction and their vendored ``*.libs`` folders), under :data:`SITE`;
* the shared libraries those need from the system (resolved with the dynamic loader), each
  bound as a single file, with the symbolic links that lead to it;
* the bootstrap ``child.py`` at :data:`CHILD_PATH`.

Where the sandbox's unprivileged user cannot reach the originals (a Python under a mode-700
home, as when the evaluator runs as root), the allowlisted trees are first mirrored into a
snapshot folder that it can read (hard links when on the same file system, else copies),
keyed by the interpreter and the package versions, built once and atomically.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from codecnb.errors import SandboxError

log = logging.getLogger(__name__)

#: Where the allowed packages appear inside the sandbox.
SITE = "/usr/lib/codecnb/site"
#: Where the bootstrap appears inside the sandbox.
CHILD_PATH = "/usr/lib/codecnb/child.py"
CHILD = Path(__file__).with_name("child.py")
#: The isolation probe (codecnb.sandbox.jailprobe), beside the bootstrap.
PROBE_PATH = "/usr/lib/codecnb/jailprobe.py"
PROBE = Path(__file__).with_name("jailprobe.py")
#: Distributions whose packages a candidate may import, if the import policy allows them.
PACKAGES = ("numpy", "scipy", "constriction")
#: Version of the snapshot layout (part of its key).
_LAYOUT = "6"
#: What a candidate never needs (tests, GUI, the static library and build files under
#: config-*, type stubs, C sources and headers): not mirrored.
_NOT_MIRRORED = ("site-packages", "dist-packages", "test", "tests", "idlelib", "tkinter",
                 "ensurepip", "turtledemo", "config-*", "*.pyi", "*.pxd", "*.pyx", "*.c",
                 "*.h", "*.a")
#: Standard-library extension modules whose system libraries are not made available (GUI,
#: terminal, databases, TLS): they fail to import inside the sandbox. (ctypes stays: the
#: OS layers must hold against native calls too, and the isolation probe uses it.)
_UNUSED_EXTENSIONS = ("_tkinter", "_curses", "readline", "_sqlite3", "_ssl", "_hashlib",
                      "_dbm", "_gdbm", "nis", "_crypt", "_uuid")


@dataclass(frozen=True)
class Runtime:
    """The allowlist, as bind mounts (host source -> sandbox path) and symbolic links.

    Attributes
    ----------
    executable : str
        The interpreter's path inside the sandbox.
    binds : tuple of (str, str)
        Read-only bind mounts, host path -> sandbox path.
    symlinks : tuple of (str, str)
        Symbolic links to create, (target, link path).
    roots : tuple of str
        Sandbox paths a program may read (for the audit hook).

    Every bind whose source is a folder is replaced, for each jail, by a private copy of it
    (:class:`Farms`), so that no two jails share a folder: the kernel's cache of names
    looked up in a folder, found or not, would otherwise carry data from one to the other.
    """

    executable: str
    binds: tuple[tuple[str, str], ...]
    symlinks: tuple[tuple[str, str], ...]
    roots: tuple[str, ...]

    @property
    def folders(self) -> tuple[str, ...]:
        return tuple(src for src, _ in self.binds if os.path.isdir(src))

    def bwrap_args(self, farm: dict[str, str] | None = None) -> list[str]:
        """bubblewrap options; ``farm`` maps folder sources to this jail's copies."""
        out: list[str] = []
        for target, link in self.symlinks:
            out += ["--symlink", target, link]
        for src, dst in self.binds:
            out += ["--ro-bind", (farm or {}).get(src, src), dst]
        return out


def _package_trees(names: tuple[str, ...]) -> dict[str, Path]:
    """name -> folder (or module file) of each importable package, plus vendored libs."""
    out: dict[str, Path] = {}
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            path = Path(list(spec.submodule_search_locations)[0])
        else:
            path = Path(spec.origin)
        out[path.name] = path
        libs = path.parent / f"{name}.libs"
        if libs.is_dir():
            out[libs.name] = libs
    return out


def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


def _prefix_parts() -> dict[str, Path]:
    """The interpreter's own files: executable, shared library, standard library."""
    exe = Path(sys.executable).resolve()
    parts = {"exe": exe, "stdlib": _stdlib()}
    for line in Path("/proc/self/maps").read_text().splitlines():  # the one actually loaded
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if "/libpython" in path and path.startswith("/"):
            parts["libpython"] = Path(path).resolve()
            break
    return parts


def _key(names: tuple[str, ...]) -> str:
    items = [_LAYOUT, sys.version, str(Path(sys.executable).resolve()), str(_stdlib())]
    for name in names:
        try:
            items.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    for path in _package_trees(names).values():
        items.append(f"{path}:{path.stat().st_mtime_ns}")
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def _reachable(path: Path) -> bool:
    """Whether the sandbox's user can reach ``path``: this user itself when unprivileged,
    else any unrelated user (search permission for others on every folder above it)."""
    if os.geteuid() != 0:
        while not path.exists():  # made later by this user
            path = path.parent
        return os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0))
    for parent in list(path.parents)[::-1]:
        try:
            if not parent.stat().st_mode & 0o001:
                return False
        except FileNotFoundError:  # made later, world-searchable (mode 0755)
            continue
        except OSError:
            return False
    return True


def _mirror(src: Path, dst: Path) -> None:
    """Hard-link (or copy, across file systems) the tree or file ``src`` to ``dst``."""
    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=link,
                        ignore=shutil.ignore_patterns(*_NOT_MIRRORED))
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        link(str(src), str(dst))


def _snapshot(parts: dict[str, Path], folder: Path) -> dict[str, Path]:
    """Mirror ``parts`` (name -> path) into ``folder``, once, atomically; new name -> path."""
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    out = {name: folder / name / path.name for name, path in parts.items()}
    if (folder / "manifest.json").exists():
        return out
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "manifest.json").exists():
            return out
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            tmp.chmod(0o755)
            for name, path in parts.items():
                (tmp / name).mkdir(mode=0o755, parents=True)
                if name == "stdlib":
                    _mirror_stdlib(path, tmp / name)
                else:
                    _mirror(path, tmp / name / path.name)
            (tmp / "manifest.json").write_text(json.dumps({k: str(v) for k, v in parts.items()}))
            os.rename(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    log.info("sandbox runtime mirrored into %s", folder)
    return out


def _stdlib_zip() -> Path:
    """Where the interpreter looks for its standard library as a zip (first on sys.path)."""
    zips = [p for p in sys.path if p.endswith(".zip") and "python3" in Path(p).name]
    if zips:
        return Path(zips[0])
    return _stdlib().parent / f"python{sys.version_info[0]}{sys.version_info[1]}.zip"


def _mirror_stdlib(src: Path, dst: Path) -> None:
    """The standard library as the interpreter's zip of compiled modules (one file: no
    folder of it for a jail to look names up in), beside a folder that keeps only the
    extension modules (``lib-dynload``) and the ``os.py`` landmark."""
    import py_compile
    folder = dst / src.name
    folder.mkdir(mode=0o755)
    _mirror(src / "lib-dynload", folder / "lib-dynload")
    _mirror(src / "os.py", folder / "os.py")
    skip = set(_NOT_MIRRORED) | {"lib-dynload", "__pycache__"}
    with tempfile.TemporaryDirectory() as work, \
            zipfile.ZipFile(dst / _stdlib_zip().name, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(src.rglob("*.py")):
            rel = path.relative_to(src)
            if any(part in skip or part.startswith("config-") for part in rel.parts):
                continue
            pyc = Path(work) / rel.with_suffix(".pyc")
            try:
                py_compile.compile(str(path), cfile=str(pyc), dfile=str(path), doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:  # e.g. lib2to3 test data: not importable
                continue
            zf.write(pyc, str(rel.with_suffix(".pyc")))


def warm(runtime: Runtime) -> int:
    """Bring every file of the allowlist into the page cache, charged to this process.

    Then no candidate can signal through the cache state of those shared files by loading
    a page (it is already there), and it cannot evict one: the eviction calls are refused
    by the seccomp filter, and its cgroup's memory pressure only reclaims pages charged to
    its own group. Returns how many files were advised.
    """
    count = 0
    for src, _ in runtime.binds:
        root = Path(src)
        files = [root] if root.is_file() else (f for f in root.rglob("*")
                                               if f.is_file() and not f.is_symlink())
        for f in files:
            try:
                fd = os.open(f, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
                count += 1
            finally:
                os.close(fd)
    return count


def _boot_copy(src: Path, folder: Path) -> Path:
    """A copy of a bootstrap file where the sandbox's user can read it (content-keyed)."""
    data = src.read_bytes()
    dst = folder / f"boot-{hashlib.sha256(data).hexdigest()[:16]}" / src.name
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        tmp = dst.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o644)
        os.replace(tmp, dst)
    return dst


def _needed_libraries(files: list[Path], inside: list[Path]) -> set[Path]:
    """System shared libraries (and the loader) that ``files`` load, outside ``inside``."""
    objects = [str(f) for f in files]
    if not objects:
        return set()
    out: set[Path] = set()
    for i in range(0, len(objects), 64):
        proc = subprocess.run(["ldd", *objects[i:i + 64]], capture_output=True, text=True,
                              env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
        for line in proc.stdout.splitlines():
            line = line.strip()
            path = line.split("=>")[-1].split("(")[0].strip() if "=>" in line else (
                line.split("(")[0].strip() if line.startswith("/") else "")
            if path.startswith("/") and not line.endswith(":"):
                p = Path(path)
                if not any(r == p or r in p.parents for r in inside):
                    out.add(p)
    return out


def _link_chain(path: Path, symlinks: dict[str, str], binds: dict[str, str]) -> None:
    """Allow ``path``: bind its real file and recreate the symbolic links on the way."""
    parts = path.parts
    current = Path("/")
    for i, part in enumerate(parts[1:], start=1):
        current = current / part
        if current.is_symlink():
            target = os.readlink(current)
            symlinks[str(current)] = target
            rest = Path(*parts[i + 1:]) if i + 1 < len(parts) else None
            resolved = (current.parent / target)
            _link_chain(Path(os.path.normpath(resolved / rest if rest else resolved)),
                        symlinks, binds)
            return
    binds[str(current)] = str(current)


@functools.lru_cache(maxsize=None)
def build(snapshot_dir: str, names: tuple[str, ...] = PACKAGES) -> Runtime:
    """The runtime allowlist of a sandbox (whose host user is never root).

    Resolving the shared libraries takes a couple of seconds, so the allowlist is kept in
    ``snapshot_dir`` under the runtime's key (interpreter, packages and their versions)
    and the bootstrap's content, and read back by later processes.

    Parameters
    ----------
    snapshot_dir : str
        Folder for mirrored runtimes, used when the sandbox's user cannot reach the
        originals (must itself be reachable by that user).
    names : tuple of str
        Packages to make importable (those the import policy may allow).
    """
    boot = hashlib.sha256(CHILD.read_bytes() + PROBE.read_bytes()).hexdigest()[:12]
    saved = Path(snapshot_dir) / f"allowlist-{_key(names)}-{boot}-{os.geteuid() == 0:d}.json"
    try:
        data = json.loads(saved.read_text())
        runtime = Runtime(data["executable"], *(tuple(tuple(x) if isinstance(x, list) else x
                                                      for x in data[k])
                                                for k in ("binds", "symlinks", "roots")))
        if all(os.path.exists(src) for src, _ in runtime.binds):
            return runtime
    except (OSError, ValueError, KeyError, TypeError):
        pass
    runtime = _resolve(snapshot_dir, names)
    saved.parent.mkdir(parents=True, exist_ok=True)
    tmp = saved.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"executable": runtime.executable, "binds": runtime.binds,
                               "symlinks": runtime.symlinks, "roots": runtime.roots}))
    os.replace(tmp, saved)
    return runtime


def _resolve(snapshot_dir: str, names: tuple[str, ...]) -> Runtime:
    own = _prefix_parts()
    pkgs = _package_trees(names)
    every = {**own, **{f"site/{k}": v for k, v in pkgs.items()}}
    # Always a mirror: the sandbox's user can read it, and each jail's private copies of
    # its folders are hard links into it (the user owns it, so the kernel allows them).
    folder = Path(snapshot_dir) / _key(names)
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if not _reachable(folder / "manifest.json"):
        raise SandboxError(f"sandbox runtime folder {snapshot_dir}: not readable by the "
                           f"sandbox's user; set CODECNB_RUNTIME_DIR to another folder")
    host = _snapshot(every, folder)
    binds: dict[str, str] = {}
    symlinks: dict[str, str] = {}
    # the interpreter's own files at their own paths (its prefix is found from them)
    binds[str(own["exe"])] = str(host["exe"])
    binds[str(own["stdlib"])] = str(host["stdlib"])
    binds[str(_stdlib_zip())] = str(host["stdlib"].parent / _stdlib_zip().name)
    if "libpython" in own:
        binds[str(own["libpython"])] = str(host["libpython"])
    for name in pkgs:
        binds[f"{SITE}/{name}"] = str(host[f"site/{name}"])
    for dst, src in {CHILD_PATH: CHILD, PROBE_PATH: PROBE}.items():
        # always a copy: the jail's mount table then names no folder of the checkout
        binds[dst] = str(_boot_copy(src, Path(snapshot_dir)))
    # the libraries of the interpreter and of every extension module, and the loader
    objects = [own["exe"], *([own["libpython"]] if "libpython" in own else [])]
    for tree in [own["stdlib"] / "lib-dynload", *pkgs.values()]:
        objects += sorted(tree.rglob("*.so*")) if tree.is_dir() else [tree]
    objects = [o for o in objects if not o.name.startswith(_UNUSED_EXTENSIONS)]
    inside = [own["stdlib"], *pkgs.values(), own["exe"].parent.parent]
    for lib in sorted(_needed_libraries(objects, inside)):
        _link_chain(lib, symlinks, binds)
    pairs = tuple(sorted(((src, dst) for dst, src in binds.items()), key=lambda sd: sd[1]))
    links = tuple(sorted(((t, link) for link, t in symlinks.items()), key=lambda tl: tl[1]))
    roots = tuple(sorted({str(own["stdlib"]), str(_stdlib_zip()), SITE, CHILD_PATH,
                          str(own["exe"])}))
    return Runtime(str(own["exe"]), pairs, links, roots)


class Farms:
    """Private copies of the runtime's folders, one set per jail, made of hard links.

    A copy is a new tree of folders whose files are hard links into the mirror (a few
    thousand links; the files' contents are shared, and read-only in the jail). Copies are
    made ahead in a background thread, used once, and removed in the background after
    their jail has ended; the names a jail looked up in them go with them.

    Parameters
    ----------
    runtime : Runtime
    folder : Path
        Where copies are made (beside the mirror: the same file system).
    ready : int
        Copies kept made ahead.
    """

    def __init__(self, runtime: Runtime, folder: Path, ready: int = 5, workers: int = 2):
        self.runtime, self.folder, self.ready = runtime, folder, ready
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o755)
        self.closed = False
        self._made: list[tuple[Path, dict[str, str]]] = []
        self._lock = threading.Condition()
        self._work: list = []  # ("make", None) or ("remove", path)
        for i in range(workers):  # links and unlinks release the GIL
            threading.Thread(target=self._worker, daemon=True, name=f"codecnb-farms-{i}").start()
        self._ask(("make", None), self.ready)

    def _ask(self, job, times: int = 1) -> None:
        with self._lock:
            self._work += [job] * times
            self._lock.notify()

    def _worker(self) -> None:
        while True:
            with self._lock:
                while not self._work:
                    self._lock.wait()
                kind, path = self._work.pop(0)
            try:
                if kind == "make":
                    made = self._make()
                    with self._lock:
                        self._made.append(made)
                        self._lock.notify_all()
                else:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError as exc:
                if not self.closed:  # at exit the whole folder goes at once
                    log.warning("sandbox folder copies: %s", exc)

    def _make(self) -> tuple[Path, dict[str, str]]:
        root = Path(tempfile.mkdtemp(prefix="farm-", dir=self.folder))
        root.chmod(0o755)
        mapping = {}
        for i, src in enumerate(self.runtime.folders):
            dst = root / str(i)
            _link_tree(Path(src), dst)
            mapping[src] = str(dst)
        return root, mapping

    def take(self) -> tuple[Path, dict[str, str]]:
        """A fresh copy (made now if none is ready): (its folder, source -> copy)."""
        with self._lock:
            made = self._made.pop(0) if self._made else None
        self._ask(("make", None))
        return made or self._make()

    def release(self, root: Path) -> None:
        """Remove a copy once its jail has ended (in the background)."""
        self._ask(("remove", root))


def _link_tree(src: Path, dst: Path) -> None:
    """A copy of the folder ``src`` at ``dst``: new folders, files hard-linked."""
    os.mkdir(dst, 0o755)
    stack = [(str(src), str(dst))]
    while stack:
        s, d = stack.pop()
        with os.scandir(s) as entries:
            for e in entries:
                target = os.path.join(d, e.name)
                if e.is_symlink():
                    os.symlink(os.readlink(e.path), target)
                elif e.is_dir():
                    os.mkdir(target, 0o755)
                    stack.append((e.path, target))
                else:
                    os.link(e.path, target)
