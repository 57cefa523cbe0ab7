"""`python -m sim`, and the `negsim` command's entry point.

The command line imports typer, rich and pydantic before it can catch anything; a Ctrl-C in
that first moment ends the command here, with a line instead of Python's traceback."""

import sys


def main() -> None:
    try:
        from sim.cli import main as cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    cli()


if __name__ == "__main__":
    main()
