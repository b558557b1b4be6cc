"""`mabench lm-eval-path`: write mabench's tasks as lm-eval task YAMLs and print the folder, for
`lm_eval --include_path "$(mabench lm-eval-path)"`. Importing this module is light: no lm_eval import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mabench.cli_errors import USAGE_ERROR


def lm_eval_path(
    tasks: Annotated[str | None, typer.Option(help="comma-separated mabench tasks (default: all installed)")] = None,
    k: Annotated[int, typer.Option(help="K candidates in multi mode; k samples (lm-eval repeats) in bok mode")] = 3,
    data_path: Annotated[list[str] | None, typer.Option(
        help="a task's data file in its original format: TASK=PATH; repeatable")] = None,
    temperature: Annotated[float, typer.Option(help="sampling temperature (0: greedy)")] = 0.7,
    max_new_tokens: Annotated[int, typer.Option(help="completion length cap")] = 256,
    out: Annotated[Path | None, typer.Option(help="folder to write under (default: mabench's user cache)")] = None,
) -> None:
    """Write mabench's tasks as lm-eval tasks and print their folder.

    Tasks are named mabench_<task>_multi and mabench_<task>_bok (tag: mabench). Use the folder as lm-eval's
    include path; with --log_samples, `mabench run --model replay:OUTPUT_PATH` scores the samples with every
    mabench metric."""
    from pydantic import ValidationError

    from mabench.tasks import DataFormatError, UnknownTaskError, available_tasks, load_task

    from .tasks import IncludeSettings, write_include_dir

    names = [t.strip() for t in (tasks or ",".join(sorted(available_tasks()))).split(",") if t.strip()]
    try:
        paths = {}
        for value in data_path or []:
            name, sep, path = value.partition("=")
            if not sep or not Path(path).exists():
                raise ValueError(f"--data-path {value!r}: expected TASK=PATH with an existing PATH")
            paths[name] = str(Path(path).resolve())
        settings = IncludeSettings(tasks=names, k=k, data_path=paths, temperature=temperature,
                                   max_new_tokens=max_new_tokens)
        loaded = {name: load_task(name) for name in names}
        unknown = sorted(set(paths) - set(names))
        if unknown:
            raise ValueError(f"--data-path names tasks not being written: {', '.join(unknown)}; tasks: "
                             f"{', '.join(names)}")
        if out is None:
            from mabench.backends.default_model import cache_root

            out = cache_root() / "lm-eval-tasks"
        folder = write_include_dir(out, settings, loaded)
    except ValidationError as err:
        problems = "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in err.errors())
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(USAGE_ERROR) from None
    except (ValueError, UnknownTaskError, DataFormatError, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(USAGE_ERROR) from None
    typer.echo(str(folder))
