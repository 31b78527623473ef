"""Taking the program out of a model's reply."""
from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)```", re.S)


def extract_program(text: str) -> str | None:
    """The program in a reply: the longest fenced block tagged python (or untagged), else the
    whole reply if it defines both ``encode`` and ``decode``; None if there is no program.
    """
    blocks = [m.group("body") for m in _FENCE.finditer(text)
              if m.group("lang").lower() in ("", "python", "py", "python3")]
    if not blocks:
        # An unterminated fence (a reply cut at max_tokens) still carries a program start.
        m = re.search(r"```[ \t]*(?:python|py)?[^\n]*\n(?P<body>.*)$", text, re.S)
        blocks = [m.group("body")] if m else []
    candidates = blocks or [text]
    best = max(candidates, key=len).strip("\n")
    if "def encode" in best and "def decode" in best:
        return best + "\n"
    for block in sorted(candidates, key=len, reverse=True):
        if "def encode" in block or "def decode" in block:
            return block.strip("\n") + "\n"
    return None
