"""Executed notebooks as standalone HTML: images embedded, no script or font fetched from
the internet, code cells optional. It opens offline in any browser."""
from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"


def to_html(notebook: str | Path, with_code: bool = True) -> str:
    """Render an executed notebook to one self-contained HTML page.

    Parameters
    ----------
    notebook : str or Path
        The ``.ipynb`` file.
    with_code : bool
        Show the code cells; False shows only markdown and outputs.

    Notes
    -----
    JupyterLab's nbconvert template (``lab``) loads require.js, MathJax and Mermaid from a
    CDN; ``templates/standalone`` extends it without those, so nothing is fetched when the
    page opens. Images are the notebook's PNG outputs, embedded as data URIs.
    """
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="standalone", extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=not with_code, exclude_input_prompt=not with_code,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_filename(str(notebook))
    return body
