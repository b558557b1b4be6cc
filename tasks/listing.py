"""The `mabench tasks` listing: one block per task, wrapped to the terminal without ever cutting a word.

A table squeezed into 80 columns cut the Hub ids (``hf:...``) that users need for ``--data-path``; here
every id is printed whole on a line of its own kind, and a synthetic bundled sample is named as such.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from .registry import Task

INDENT = "    "


def _wrap(text: str, width: int, first: str = INDENT) -> list[str]:
    """Lines of at most `width` characters where words allow; ids and paths are never split."""
    return textwrap.wrap(text, width=max(width, 40), initial_indent=first, subsequent_indent=INDENT + "  ",
                         break_long_words=False, break_on_hyphens=False)


def task_block(name: str, task: Task, size: int, width: int) -> list[str]:
    spec = task.spec
    unit = "questions" if size != 1 else "question"
    kind = "SYNTHETIC" if spec.synthetic_sample else "real"
    lines = _wrap(f"{name}  [{','.join(spec.modes)}]  {size} bundled {unit} ({kind})", width, first="")
    if spec.synthetic_sample:
        lines += _wrap("synthetic: the bundled sample was written for mabench in the dataset's schema; its "
                       f"scores say nothing about real data, give --data-path {name}=... for that", width)
    lines += _wrap(spec.description, width)
    lines += _wrap(f"source: {spec.source}", width)
    lines += _wrap(f"--data-path {name}=FILE (original format)"
                   + "".join(f", {name}=hf:{hub}" for hub in spec.hub_ids), width)
    return lines


def task_listing(tasks: Iterable[tuple[str, Task]], width: int) -> str:
    """The whole listing: a block per task (sorted by name as given), separated by blank lines."""
    blocks = ["\n".join(task_block(name, task, len(task.load()), width)) for name, task in tasks]
    return "\n\n".join(blocks)
