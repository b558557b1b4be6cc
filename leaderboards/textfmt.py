"""Plain-text rendering shared by the commands: fixed-width tables and number formats (stable in CI logs)."""

from __future__ import annotations

from collections.abc import Sequence

DASH = "–"


def num(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:+.{digits}f}"


def interval(low: float | None, high: float | None, digits: int = 3, sign: bool = False) -> str:
    if low is None or high is None:
        return ""
    f = signed if sign else num
    return f"[{f(low, digits)}, {f(high, digits)}]"


def pvalue(p: float | None) -> str:
    if p is None:
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """Left-aligned columns separated by two spaces; no trailing spaces."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [indent + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines)
