"""The `modelcrate` command line."""

import sys

from ._main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, cli, main


def _script() -> None:
    """Console-script entry point: run and exit with the code."""
    sys.exit(main())


__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "cli", "main"]
