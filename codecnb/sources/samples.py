"""Real clips bundled with the package: ``sample:NAME``.

Each file's licence notice lies beside it in ``codecnb/sources/data/``.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from codecnb.errors import SourceError

#: name -> (file in codecnb/sources/data, one-line description)
SAMPLES: dict[str, tuple[str, str]] = {
    "bigbuckbunny": ("bigbuckbunny_720p.mp4",
                     "Big Buck Bunny excerpt, 1280x720, 25 fps, 132 frames, (c) Blender "
                     "Foundation, CC BY 3.0"),
}
DEFAULT_SAMPLE = "bigbuckbunny"


def sample_path(name: str) -> Path:
    """Local path of bundled sample ``name``."""
    name = name or DEFAULT_SAMPLE
    if name not in SAMPLES:
        raise SourceError(f"source 'sample:{name}': unknown sample (known: {', '.join(SAMPLES)})")
    return Path(str(resources.files("codecnb.sources") / "data" / SAMPLES[name][0]))
