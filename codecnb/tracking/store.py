"""Where runs are tracked: the MLflow client, the default local store, experiments.

The default store is ``sqlite:///mlruns/mlflow.db`` with artifacts under
``mlruns/artifacts``, both in the current folder (MLflow >= 3.13 refuses the old file
store). Paths are made absolute so that workers and notebook kernels started elsewhere
write to the same store. SQLite allows one writer at a time; every write here goes through
:func:`retry_locked`, which waits with backoff instead of failing on "database is locked".
"""
from __future__ import annotations

import fcntl
import logging
import os
import random
import socket
import time
from pathlib import Path
from typing import Callable, TypeVar

from codecnb import config
from codecnb.errors import CodecnbError

log = logging.getLogger(__name__)
T = TypeVar("T")

MLRUNS = Path("mlruns")


def default_tracking_uri() -> str:
    return f"sqlite:///{(MLRUNS / 'mlflow.db').resolve()}"


def tracking_uri(uri: str | None = None) -> str:
    """The tracking URI: ``uri``, else the setting, else the local sqlite store (absolute)."""
    uri = config.resolve("tracking_uri", uri) or default_tracking_uri()
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = f"sqlite:///{Path(uri[len('sqlite:///'):]).resolve()}"
    return uri


#: Tracking URI schemes MLflow can open (anything else ends in MLflow's KeyError).
SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks")
#: Seconds to wait for a tracking server to accept a connection before refusing its URI.
CONNECT_TIMEOUT_S = 3.0
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_tracking_uri(uri: str) -> str:
    """Refuse a tracking URI that cannot work, before anything is created or retried.

    Checks the scheme (one of :data:`SCHEMES`, a ``+driver`` allowed), that a local sqlite
    path is a SQLite database or does not exist yet (its folder then must not be a file),
    and that an http(s) server accepts a TCP connection within :data:`CONNECT_TIMEOUT_S`
    seconds (MLflow itself retries for minutes).

    Returns
    -------
    str
        ``uri`` unchanged.

    Raises
    ------
    CodecnbError
        One line naming the URI and the problem.
    """
    from urllib.parse import urlsplit
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    if scheme not in SCHEMES:
        raise CodecnbError(f"tracking URI {uri!r}: unknown scheme {scheme or '(none)'!r} "
                           f"(use one of {', '.join(s + '://' for s in SCHEMES)})")
    if scheme == "sqlite":
        if not uri.startswith("sqlite:///"):
            raise CodecnbError(f"tracking URI {uri!r}: a sqlite URI is sqlite:///PATH")
        db = Path(uri[len("sqlite:///"):])
        if db.is_dir():
            raise CodecnbError(f"tracking URI {uri!r}: {db} is a folder, not a database file")
        if db.exists():
            try:
                with open(db, "rb") as f:
                    head = f.read(len(_SQLITE_MAGIC))
            except OSError as exc:
                raise CodecnbError(f"tracking URI {uri!r}: cannot read {db}: "
                                   f"{exc.strerror}") from None
            if head and head != _SQLITE_MAGIC:
                raise CodecnbError(f"tracking URI {uri!r}: {db} is not a SQLite database")
        else:
            parent = next((p for p in db.parents if p.exists()), None)
            if parent is not None and not parent.is_dir():
                raise CodecnbError(f"tracking URI {uri!r}: {parent} is a file, not a folder")
    elif scheme in ("http", "https"):
        parts = urlsplit(uri)
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise CodecnbError(f"tracking URI {uri!r}: bad port") from None
        if not parts.hostname:
            raise CodecnbError(f"tracking URI {uri!r}: no host")
        try:
            socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CodecnbError(f"tracking URI {uri!r}: server unreachable "
                               f"({reason}, {CONNECT_TIMEOUT_S:g} s timeout)") from None
    return uri


def artifact_root(uri: str) -> str | None:
    """Artifact location for new experiments: ``mlruns/artifacts`` beside a sqlite file."""
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return (db.parent / "artifacts").resolve().as_uri()
    return None  # a tracking server decides (--default-artifact-root / --artifacts-destination)


def retry_locked(fn: Callable[..., T], *args, attempts: int = 40, **kw) -> T:
    """Call ``fn``; on SQLite "database is locked", wait with jittered backoff and retry."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return fn(*args, **kw)
        except Exception as exc:  # noqa: BLE001 - MlflowException or SQLAlchemy errors
            if "database is locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.6, 2.0)
    raise AssertionError("unreachable")


def client(uri: str | None = None):
    """An ``MlflowClient`` for the tracking URI (creates the local store if needed).

    Opening a sqlite store runs MLflow's schema migrations; two processes doing that at
    once collide ("table ... already exists"), so it happens under a file lock.
    """
    # MLflow draws a tqdm bar for every artifact download; in notebooks and logs it is noise
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from mlflow.tracking import MlflowClient
    uri = check_tracking_uri(tracking_uri(uri))
    if not uri.startswith("sqlite:///"):
        return MlflowClient(tracking_uri=uri)
    db = Path(uri[len("sqlite:///"):])
    db.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        c = MlflowClient(tracking_uri=uri)
        retry_locked(c.search_experiments, max_results=1)  # opens (and migrates) the store
        return c
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def ensure_experiment(c, name: str) -> str:
    """The id of experiment ``name``, created (with the local artifact root) if missing."""
    exp = retry_locked(c.get_experiment_by_name, name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            raise CodecnbError(f"experiment {name!r} is deleted; restore it or pick another name")
        return exp.experiment_id
    try:
        return retry_locked(c.create_experiment, name,
                            artifact_location=artifact_root(c.tracking_uri))
    except Exception:  # noqa: BLE001 - created concurrently by another process
        exp = retry_locked(c.get_experiment_by_name, name)
        if exp is None:
            raise
        return exp.experiment_id


def store_exists(uri: str) -> bool:
    """False only for a local sqlite store whose file does not exist yet."""
    return not uri.startswith("sqlite:///") or Path(uri[len("sqlite:///"):]).exists()


def open_experiment(name: str, uri: str | None = None) -> tuple[object, str]:
    """(client, experiment id) of an existing experiment, creating nothing: for commands
    that only read.

    Raises
    ------
    CodecnbError
        When the local store or the experiment does not exist.
    """
    uri = check_tracking_uri(tracking_uri(uri))
    if not store_exists(uri):
        raise CodecnbError(f"no MLflow store at {uri[len('sqlite:///'):]}; `codecnb run` "
                           f"creates one (or pass --tracking-uri)")
    c = client(uri)
    exp = retry_locked(c.get_experiment_by_name, name)
    if exp is None:
        raise CodecnbError(f"experiment {name!r} not found in {uri}; run "
                           f"`codecnb run --experiment {name}` first")
    return c, exp.experiment_id
