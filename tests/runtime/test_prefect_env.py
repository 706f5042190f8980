"""`shared_local_server`: the processes a local Dask cluster starts share this process's
temporary Prefect server instead of each starting one."""

from __future__ import annotations

import os

import pytest

from modelcrate import PrefectStartError
from modelcrate.runtime import _prefect_env


def test_a_configured_server_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://example.invalid:4200/api")
    monkeypatch.setattr(_prefect_env, "_start_temporary_server", pytest.fail)
    with _prefect_env.shared_local_server() as address:
        assert address is None
        assert os.environ["PREFECT_API_URL"] == "http://example.invalid:4200/api"
    assert os.environ["PREFECT_API_URL"] == "http://example.invalid:4200/api"


def test_the_temporary_server_is_shared_while_the_block_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.settings import get_current_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(_prefect_env, "_configured_api_url", lambda: None)
    monkeypatch.setattr(
        _prefect_env, "_start_temporary_server", lambda: "http://127.0.0.1:8123/api"
    )
    before = get_current_settings().api.url
    with _prefect_env.shared_local_server() as address:
        assert address == "http://127.0.0.1:8123/api"
        assert os.environ["PREFECT_API_URL"] == address  # for worker processes
        assert get_current_settings().api.url == address  # sent with each task run
    assert "PREFECT_API_URL" not in os.environ
    assert get_current_settings().api.url == before


def test_a_server_that_does_not_start_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def timed_out() -> str:
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(_prefect_env, "_configured_api_url", lambda: None)
    monkeypatch.setattr(_prefect_env, "_start_temporary_server", timed_out)
    with (
        pytest.raises(PrefectStartError, match="did not start within"),
        _prefect_env.shared_local_server(),
    ):
        pytest.fail("the block ran without a server")
    assert "PREFECT_API_URL" not in os.environ
