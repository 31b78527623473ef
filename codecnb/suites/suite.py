"""The suite model: a named set of clip windows, each a training, validation or held-out clip.

A candidate is scored on the training clips (the numbers the generators and the tuner see).
Validation clips are evaluated with them in every full-stage evaluation but never shown to a
generator or the tuner; they decide where a choice must generalise (the campaign's reported
best, the leaderboard's default order). Held-out clips are only used to check the best
candidates afterwards (``codecnb verify``); nothing selects on them.

>>> s = Suite.single("sample:bigbuckbunny", 0, 8)
>>> [c.name for c in s.train], s.validation, s.heldout
(['bigbuckbunny'], (), ())
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from codecnb.errors import SuiteError

ROLES = ("train", "validation", "heldout")
#: What each role is for (help texts and the suites loader's messages).
ROLE_HELP = {"train": "makes the score the generators and the tuner see",
             "validation": "evaluated with the training clips, never shown to a generator or "
                           "the tuner; chooses the reported best",
             "heldout": "only checks the best candidates afterwards (codecnb verify)"}
#: How many of a campaign's best candidates are checked on its held-out clips when it ends
#: (and by ``codecnb verify`` unless ``--top`` says otherwise).
HELDOUT_TOP = 3


def default_clip_name(uri: str) -> str:
    """A short name for a clip from its URI: the file stem, sample name or synthetic kind.

    Examples: ``"sample:bigbuckbunny"`` -> ``"bigbuckbunny"``; ``"/x/park_joy.y4m"`` ->
    ``"park_joy"``; ``"s3://b/clips/a.mp4?versionId=3"`` -> ``"a"``;
    ``"synthetic:pan?size=64x64"`` -> ``"pan"``.
    """
    body = str(uri).partition("?")[0].rstrip("/")
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]+):(?!\\)(.*)$", body)
    if m and len(m.group(1)) >= 2 and m.group(1).lower() in ("sample", "synthetic"):
        body = m.group(2) or m.group(1).lower()
    tail = PurePosixPath(body.replace("\\", "/")).name
    stem = tail.rsplit(".", 1)[0] if "." in tail[1:] else tail
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_") or "clip"


@dataclass(frozen=True)
class Clip:
    """One window of one source in a suite.

    Attributes
    ----------
    uri : str
        Any source URI (local file, ``sample:``, ``synthetic:``, ``s3://``, raw yuv with its
        options).
    start : int
        First frame of the window (0-based, decode order).
    frames : int or None
        Number of frames; ``None`` means to the end of the clip.
    resize : (int, int) or None
        Output (width, height) in pixels, or ``None`` for the native size.
    role : {"train", "validation", "heldout"}
        Training clips make the score; validation clips choose the reported best; held-out
        clips check the best candidates (see :data:`ROLE_HELP`).
    name : str
        Short name used in results and metric names; defaults from the URI.
    """

    uri: str
    start: int = 0
    frames: int | None = None
    resize: tuple[int, int] | None = None
    role: str = "train"
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or not self.uri.strip():
            raise SuiteError(f"clip {self.name or self.uri!r}: uri must be a non-empty string")
        label = self.name or self.uri
        self._merge_uri_window(label)
        if self.role not in ROLES:
            raise SuiteError(f"clip {label!r}: role must be 'train', 'validation' or "
                             f"'heldout', got {self.role!r}")
        if not isinstance(self.start, int) or isinstance(self.start, bool) or self.start < 0:
            raise SuiteError(f"clip {label!r}: start must be an integer >= 0, got {self.start!r}")
        if self.frames is not None and (not isinstance(self.frames, int)
                                        or isinstance(self.frames, bool) or self.frames < 1):
            raise SuiteError(f"clip {label!r}: frames must be an integer >= 1, "
                             f"got {self.frames!r}")
        if self.resize is not None:
            size = tuple(self.resize) if isinstance(self.resize, (list, tuple)) else (self.resize,)
            if (len(size) != 2 or not all(isinstance(v, int) for v in size)
                    or min(size) < 2 or any(v % 2 for v in size)):
                raise SuiteError(f"clip {label!r}: resize must be two even sizes >= 2, "
                                 f"got {self.resize!r}")
            object.__setattr__(self, "resize", (int(size[0]), int(size[1])))
        if not self.name:
            object.__setattr__(self, "name", default_clip_name(self.uri))
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise SuiteError(f"clip {self.name!r}: name may only hold letters, digits, "
                             f"'_', '.' and '-' (it names metrics)")

    def _merge_uri_window(self, label: str) -> None:
        """Window options in the URI (``?start=``, ``frames=``, ``resize=``) fill the fields
        left unset; a field set to another value is refused (neither is silently lost)."""
        from codecnb.errors import SourceError
        from codecnb.sources.uri import merge_window
        if not isinstance(self.start, int) or isinstance(self.start, bool):
            return  # refused below, with the field's own message
        try:
            start, frames, resize = merge_window(
                self.uri, self.start, self.frames,
                tuple(self.resize) if isinstance(self.resize, (list, tuple)) else self.resize)
        except SourceError as exc:
            raise SuiteError(f"clip {label!r}: {exc}") from None
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "resize", resize)

    @property
    def heldout(self) -> bool:
        return self.role == "heldout"

    @property
    def validation(self) -> bool:
        return self.role == "validation"

    def to_dict(self) -> dict:
        """JSON/TOML-friendly description (``resize`` as ``"WxH"`` or None)."""
        return {"name": self.name, "uri": self.uri, "start": self.start, "frames": self.frames,
                "resize": f"{self.resize[0]}x{self.resize[1]}" if self.resize else None,
                "role": self.role}

    @classmethod
    def from_dict(cls, d: dict) -> "Clip":
        """Inverse of :meth:`to_dict`; ``resize`` may be ``"WxH"``, a pair, or absent."""
        resize = d.get("resize")
        if isinstance(resize, str):
            m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", resize)
            if not m:
                raise SuiteError(f"clip {d.get('name') or d.get('uri')!r}: resize must look "
                                 f"like 960x540, got {resize!r}")
            resize = (int(m.group(1)), int(m.group(2)))
        elif resize is not None:
            resize = tuple(resize)
        return cls(uri=d.get("uri", ""), start=d.get("start", 0), frames=d.get("frames"),
                   resize=resize, role=d.get("role", "train"), name=d.get("name") or "")


@dataclass(frozen=True)
class Suite:
    """A named tuple of clips; names are unique, at least one clip is a training clip.

    Attributes
    ----------
    name : str
        The suite's name (bundled name or file stem).
    clips : tuple of Clip
        In file order.
    """

    name: str
    clips: tuple[Clip, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "clips", tuple(self.clips))
        if not self.clips:
            raise SuiteError(f"suite {self.name!r}: no clips")
        seen: set[str] = set()
        for clip in self.clips:
            if clip.name in seen:
                raise SuiteError(f"suite {self.name!r}: clip name {clip.name!r} used twice "
                                 f"(give the clips distinct names)")
            seen.add(clip.name)
        if not self.train:
            raise SuiteError(f"suite {self.name!r}: no training clip (role = 'train')")

    @property
    def train(self) -> tuple[Clip, ...]:
        """The training clips, in order."""
        return self.role("train")

    @property
    def validation(self) -> tuple[Clip, ...]:
        """The validation clips, in order."""
        return self.role("validation")

    @property
    def heldout(self) -> tuple[Clip, ...]:
        """The held-out clips, in order."""
        return self.role("heldout")

    def role(self, role: str) -> tuple[Clip, ...]:
        """The clips of one role (one of :data:`ROLES`), in file order."""
        if role not in ROLES:
            raise SuiteError(f"suite {self.name!r}: no role {role!r} (roles: {', '.join(ROLES)})")
        return tuple(c for c in self.clips if c.role == role)

    def clips_of(self, roles) -> tuple[Clip, ...]:
        """The clips of the given roles, role by role in :data:`ROLES` order."""
        return tuple(c for r in ROLES if r in roles for c in self.role(r))

    def clip(self, name: str) -> Clip:
        """The clip called ``name``."""
        for c in self.clips:
            if c.name == name:
                return c
        raise SuiteError(f"suite {self.name!r}: no clip named {name!r}")

    @classmethod
    def single(cls, uri: str, start: int = 0, frames: int | None = None,
               resize: tuple[int, int] | None = None) -> "Suite":
        """A ``--source`` as a suite of one training clip (named after the URI)."""
        clip = Clip(str(uri), start or 0, frames, resize, "train")
        return cls(clip.name, (clip,))

    def to_dict(self) -> dict:
        return {"name": self.name, "clips": [c.to_dict() for c in self.clips]}

    @classmethod
    def from_dict(cls, d: dict) -> "Suite":
        return cls(d["name"], tuple(Clip.from_dict(c) for c in d["clips"]))
