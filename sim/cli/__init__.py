"""The `negsim` command line.

``sim.cli.app`` holds the app and what the commands share; each command group registers on it
from its own module: ``running`` (run, sweep), ``describe`` (check, explain, fields),
``charts`` (plot, report, compare), ``exporting`` (export), ``scoring`` (score),
``analysis`` (analyze), ``calibrating`` (calibrate), ``exploring`` (discover, attribute)
and ``viz`` (viz).
"""

from __future__ import annotations

import os
import sys

from sim.cli import (  # noqa: F401  (they register commands)
    analysis,
    calibrating,
    charts,
    describe,
    exploring,
    exporting,
    running,
    scoring,
    viz,
)
from sim.cli.app import EXIT_INTERRUPTED, app, available_cores, err, progress_bar

__all__ = ["app", "available_cores", "main", "progress_bar"]


def main() -> None:
    """Console entry point."""
    if os.environ.get("NEGSIM_DEBUG"):
        app()
        return
    try:
        app()
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as exc:
        # typer turns a KeyboardInterrupt in a command into exit code 130 and prints nothing;
        # a command that stops its runs says more itself (and its exit has no such cause)
        if exc.code == EXIT_INTERRUPTED and isinstance(
                getattr(exc.__context__, "__cause__", None), KeyboardInterrupt):
            err.print("[yellow]interrupted[/]")
        raise
