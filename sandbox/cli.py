"""`mabench sandbox ...` commands (mounted by the main CLI)."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from mabench.cli_errors import fail
from mabench.ray_cluster import RayUnavailable

from .config import BACKENDS, SandboxConfig
from .describe import describe_isolation
from .isolation import SandboxUnavailable
from .pool import open_sandbox

app = typer.Typer(help="The code-execution sandbox.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The code-execution sandbox."""


@app.command()
def check(
    backend: str = typer.Option("auto", "--backend", "--sandbox",
                                help=f"One of: {', '.join(BACKENDS)}. auto: bwrap, else unshare; no other."),
    as_json: bool = typer.Option(False, "--json", help="Print the record as JSON."),
    python: str | None = typer.Option(None, help="Interpreter to run programs with."),
    executor: str = typer.Option("local", help="local: this machine; ray: every node of the Ray cluster at "
                                 "$RAY_ADDRESS (else a local Ray), which must all isolate programs the same way"),
) -> None:
    """Print which isolation is active on this machine (or on a Ray cluster's nodes), and why."""
    console = Console()
    try:
        config = SandboxConfig(backend=backend, python=python, executor=executor)  # type: ignore[arg-type]
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    nodes: list[str] = []
    try:
        if config.executor == "ray":
            with open_sandbox(1, config) as sandbox:  # one actor per free CPU, each probing its own node
                isolation, nodes = sandbox.isolation, getattr(sandbox, "nodes", [])
        else:
            isolation = describe_isolation(config)
    except SandboxUnavailable as error:
        console.print(f"[bold red]No sandbox available:[/] {error}")
        raise typer.Exit(2) from None
    except RayUnavailable as error:
        raise fail(str(error)) from None  # printed as written: "[ray]" is text, not markup
    if as_json:
        typer.echo(json.dumps(isolation.to_dict(), indent=2))
        return
    style = "bold yellow" if isolation.fallback or isolation.backend == "subprocess" else "bold green"
    console.print(f"Active isolation: [{style}]{isolation.backend}[/]" + (" (fallback)" if isolation.fallback else ""))
    console.print(f"Why: {isolation.reason}")
    if nodes:
        console.print(f"Ray nodes, all isolating programs this way: {', '.join(nodes)}", highlight=False)
    console.print(f"Programs run as: {isolation.program_user}; interpreter {isolation.python}")
    for layer in isolation.layers:
        console.print(f"  • {layer}")
    for name, why in isolation.rejected:
        console.print(f"[yellow]Not used[/] {name}: {why}")
    for warning in isolation.warnings:
        console.print(f"[bold yellow]Warning:[/] {warning}")
