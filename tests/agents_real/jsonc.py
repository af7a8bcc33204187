"""JSON with comments, read the way the agents read it: Qwen Code strips
`//` and `/* */` comments and then runs `JSON.parse` (a trailing comma is an
error); opencode's JSONC also allows trailing commas."""

from __future__ import annotations

import json


def _clean(text: str, trailing_commas: bool) -> str:
    """`text` with comments blanked (and trailing commas dropped when
    allowed); strings are copied untouched."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c in "}]" and trailing_commas:
            # Drop the comma before this closer, past blanks already copied.
            k = len(out) - 1
            while k >= 0 and out[k].isspace():
                k -= 1
            if k >= 0 and out[k] == ",":
                out[k] = " "
            out.append(c)
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def loads(text: str, trailing_commas: bool = False):
    """Parses JSON with comments; raises `ValueError` on anything else."""
    return json.loads(_clean(text.removeprefix("\ufeff"), trailing_commas))
