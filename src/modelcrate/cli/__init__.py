"""The `modelcrate` command line."""

import sys

from ._main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, cli


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `modelcrate` script; returns (and, as a script, exits with) the code."""
    from ._main import main as _run

    return _run(argv)


def _script() -> None:
    sys.exit(main())


__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "cli", "main"]
