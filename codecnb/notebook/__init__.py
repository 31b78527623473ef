"""Notebooks as the library runs them: where they are (:mod:`~.locate`), executing them
with papermill (:mod:`~.execute`) and rendering them to standalone HTML (:mod:`~.html`)."""
from codecnb.errors import NotebookFailed
from codecnb.notebook.execute import execute
from codecnb.notebook.html import to_html
from codecnb.notebook.locate import notebook_path

__all__ = ["NotebookFailed", "execute", "notebook_path", "to_html"]
