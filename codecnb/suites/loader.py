"""Reading suites from TOML: a file, or the name of a suite bundled with the package.

A suite file has optional top-level ``name`` and ``description`` and one ``[[clip]]`` table
per clip::

    name = "mine"                    # optional; default: the file's stem

    [[clip]]
    uri = "sample:bigbuckbunny"      # any source URI
    start = 0                        # first frame (default 0)
    frames = 16                      # frame count (default: to the end of the clip)
    resize = "640x360"               # optional output size WxH
    role = "train"                   # "train" (default), "validation" or "heldout"
    name = "bunny"                   # optional; default from the URI

A relative path in ``uri`` is relative to the folder of the suite file, so a suite can sit
beside its clips (a file there wins over a scheme: ``clip:1.mp4`` is that file). Window
options in ``uri`` (``?start=4``) fill the fields left out; the same one given both ways
with different values is refused. Every problem is a :class:`~codecnb.errors.SuiteError` whose one-line
message names the file and the clip.
"""
from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path

from codecnb.errors import SuiteError
from codecnb.suites.suite import Clip, Suite

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: The suite used when a command is asked for ``--suite default``.
DEFAULT_SUITE = "default"
_CLIP_KEYS = {"uri", "start", "frames", "resize", "role", "name"}
_TOP_KEYS = {"name", "description", "clip"}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+:")


def bundled_folder() -> Path:
    """The folder of the bundled suites and their clips (``codecnb/suites/data``)."""
    return Path(str(resources.files("codecnb.suites") / "data"))


def bundled_suites() -> dict[str, Path]:
    """Name -> TOML file of every suite bundled with the package."""
    return {p.stem: p for p in sorted(bundled_folder().glob("*.toml"))}


def _resolve_uri(uri: str, folder: Path) -> str:
    """``uri`` with a relative local path made relative to ``folder`` (options kept).

    A file beside the suite wins over a scheme (``clip:1.mp4`` is that file), and so does
    the part before a ``?`` that names one (``my clip?.y4m?frames=4``).
    """
    if uri.startswith("~") or Path(uri).is_absolute():
        return uri
    for cut in [len(uri), *(i for i, ch in enumerate(uri) if ch == "?")]:
        if (folder / uri[:cut]).is_file():
            return str(folder / uri[:cut]) + uri[cut:]
    if _SCHEME.match(uri):
        return uri  # sample:, synthetic:, s3://, ...
    body, sep, query = uri.partition("?")
    return str(folder / body) + sep + query


def _clip(entry: object, index: int, where: str, folder: Path) -> Clip:
    label = f"{where}: clip {index}"
    if not isinstance(entry, dict):
        raise SuiteError(f"{label}: must be a [[clip]] table")
    if "name" in entry:
        label += f" ({entry['name']!r})"
    elif isinstance(entry.get("uri"), str):
        label += f" ({entry['uri']!r})"
    unknown = set(entry) - _CLIP_KEYS
    if unknown:
        raise SuiteError(f"{label}: unknown key(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(_CLIP_KEYS))})")
    if not isinstance(entry.get("uri"), str) or not entry["uri"].strip():
        raise SuiteError(f"{label}: 'uri' is missing or not a string")
    for key in ("start", "frames"):
        if key in entry and (not isinstance(entry[key], int) or isinstance(entry[key], bool)):
            raise SuiteError(f"{label}: {key!r} must be an integer, got {entry[key]!r}")
    for key in ("resize", "role", "name"):
        if key in entry and not isinstance(entry[key], str):
            raise SuiteError(f"{label}: {key!r} must be a string, got {entry[key]!r}")
    data = dict(entry, uri=_resolve_uri(entry["uri"].strip(), folder))
    try:
        return Clip.from_dict(data)
    except SuiteError as exc:
        message = str(exc)
        message = re.sub(r"^clip '[^']*': ", "", message)
        raise SuiteError(f"{label}: {message}") from None


def parse_suite(text: str, name: str, folder: Path, where: str | None = None) -> Suite:
    """A suite from TOML text.

    Parameters
    ----------
    text : str
        The TOML document.
    name : str
        The suite's name unless the document gives one.
    folder : Path
        Relative clip paths are relative to it.
    where : str, optional
        What to call the document in error messages (default ``"suite NAME"``).
    """
    where = where or f"suite {name!r}"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{where}: not valid TOML ({exc})") from None
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise SuiteError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))} "
                         f"(clips go in [[clip]] tables)")
    entries = doc.get("clip")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{where}: no [[clip]] tables")
    suite_name = doc.get("name", name)
    if not isinstance(suite_name, str) or not suite_name.strip():
        raise SuiteError(f"{where}: 'name' must be a non-empty string")
    clips = tuple(_clip(e, i, where, folder) for i, e in enumerate(entries, 1))
    try:
        return Suite(suite_name.strip(), clips)
    except SuiteError as exc:
        raise SuiteError(f"{where}: {re.sub(r'^suite [^:]*: ', '', str(exc))}") from None


def load_suite(spec: str | Path) -> Suite:
    """The suite in TOML file ``spec``, or the bundled suite called ``spec``.

    An existing file wins over a bundled name.

    Raises
    ------
    SuiteError
        No such file or bundled suite, unreadable file, invalid TOML or clip.
    """
    path = Path(spec).expanduser()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SuiteError(f"suite file {str(path)!r}: cannot read it ({exc})") from None
        return parse_suite(text, path.stem, path.resolve().parent,
                           where=f"suite file {str(path)!r}")
    bundled = bundled_suites()
    if str(spec) in bundled:
        file = bundled[str(spec)]
        return parse_suite(file.read_text(encoding="utf-8"), file.stem, file.parent)
    if path.suffix == ".toml" or "/" in str(spec):
        raise SuiteError(f"suite file {str(spec)!r}: no such file")
    raise SuiteError(f"suite {str(spec)!r}: no such file and no bundled suite of that name "
                     f"(bundled: {', '.join(bundled) or 'none'})")
