"""Running the command line in tests: `invoke` with a wide, colourless console, and `bad`,
which holds a refused command to exit code 2 with a message and no traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from sim.cli import app

#: A wide terminal without colour, and no debug tracebacks.
ENV = {"COLUMNS": "400", "NO_COLOR": "1", "NEGSIM_DEBUG": None}


def invoke(*args):
    """Run ``negsim ARGS...`` in-process (arguments may be paths or numbers)."""
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def bad(result, *needles: str) -> str:
    """Exit code 2, no traceback, and every needle in the output; returns the output."""
    out = result.output
    assert result.exit_code == 2, f"exit {result.exit_code}\n{out}\n{result.exception!r}"
    assert "Traceback" not in out
    for n in needles:
        assert n in out, f"{n!r} not in:\n{out}"
    return out
