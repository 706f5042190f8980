"""Shared fixtures: example files and a runner for the `modelcrate` command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# Prefect, when a test imports it, runs against a private home and a patient temporary server.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture
def example_variables() -> Path:
    """The injector example's variables file."""
    return EXAMPLES / "injector" / "variables.yml"


@pytest.fixture
def run_cli(capsys):
    """Call `modelcrate` in-process; returns (exit code, stdout, stderr)."""
    from modelcrate.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
