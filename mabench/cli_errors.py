"""Exit codes and the one-line error message shared by every `mabench` command.

0: success; 1: `mabench check` found a regression; 2: bad input, with one line that names the input and what was
expected (never a traceback).
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

REGRESSION = 1
USAGE_ERROR = 2


def fail(message: str, console: Console | None = None) -> typer.Exit:
    """Print `error: message` on stderr and return the exit to raise. The message is printed as written: no markup
    ("[hf]" is text) and no hard wrap inside the paths or commands a user copies from it."""
    (console or Console(stderr=True)).print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False,
                                            soft_wrap=True)
    return typer.Exit(USAGE_ERROR)
