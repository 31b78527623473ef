"""Diff edits: SEARCH/REPLACE blocks applied exactly to a parent program.

A reply may hold one or more blocks of the form::

    <<<<<<< SEARCH
    lines copied exactly from the parent
    =======
    replacement lines
    >>>>>>> REPLACE

Each SEARCH text must occur exactly once in the program as edited by the blocks before it;
otherwise nothing is applied and :class:`~codecnb.errors.EditError` names every block that
failed, so the model can repair them.

References
----------
The block format of Aider's "diff" edit format, also used by OpenEvolve and ShinkaEvolve.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from codecnb.errors import EditError

_START = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_MID = re.compile(r"^\s*={5,9}\s*$")
_END = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")


@dataclass(frozen=True)
class Block:
    """One edit: ``search`` (exact text of the parent) becomes ``replace``."""

    search: str
    replace: str


def parse_blocks(text: str) -> list[Block]:
    """The SEARCH/REPLACE blocks of a reply, in order ([] if it has none). An unterminated
    block (a reply cut off) is dropped."""
    blocks, state, search, replace = [], None, [], []
    for line in text.splitlines():
        if state is None and _START.match(line):
            state, search, replace = "search", [], []
        elif state == "search" and _MID.match(line):
            state = "replace"
        elif state == "replace" and _END.match(line):
            blocks.append(Block("\n".join(search), "\n".join(replace)))
            state = None
        elif state == "search":
            search.append(line)
        elif state == "replace":
            replace.append(line)
    return blocks


def _snippet(text: str) -> str:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return first[:80]


def apply_blocks(parent: str, blocks: list[Block]) -> str:
    """``parent`` with every block applied in order.

    Raises
    ------
    EditError
        If a block's SEARCH text is empty, absent or ambiguous; the message names each
        failing block (1-based) and its first line.
    """
    if not blocks:
        raise EditError("the reply contains no SEARCH/REPLACE block")
    text, problems = parent, []
    for i, b in enumerate(blocks, 1):
        if not b.search.strip():
            problems.append(f"block {i}: the SEARCH part is empty")
            continue
        n = text.count(b.search)
        if n == 0:
            problems.append(f"block {i}: its SEARCH lines are not in the program exactly "
                            f"(first line: {_snippet(b.search)!r})")
        elif n > 1:
            problems.append(f"block {i}: its SEARCH lines occur {n} times; include more "
                            f"lines to make them unique (first line: {_snippet(b.search)!r})")
        else:
            text = text.replace(b.search, b.replace, 1)
    if problems:
        raise EditError("; ".join(problems))
    return text
