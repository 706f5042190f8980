"""Reaching a Dask cluster: a malformed address or scheduler file is one `ClusterError` before
any connection is tried (no client left half-made to close itself for seconds)."""

from __future__ import annotations

import pytest

from modelcrate._errors import ClusterError
from modelcrate.runtime import dask_cluster

pytest.importorskip("prefect_dask")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("http://x", "--dask 'http://x': unknown address scheme 'http'"),
        ("host:notaport", "--dask 'host:notaport': invalid literal for int()"),
        ("tcp://host", "--dask 'tcp://host': missing port number"),
        ("host:99999", "--dask 'host:99999': the port must be between 1 and 65535"),
    ],
)
def test_a_malformed_address_is_refused_before_connecting(address, expected):
    message = refusal(address)
    assert message.startswith(expected)
    assert "tcp://host:8786" in message


def refusal(address: str) -> str:
    """The message `dask_cluster(address)` refuses the address with."""
    with pytest.raises(ClusterError) as caught, dask_cluster(address):
        pass
    return str(caught.value)


def test_a_path_is_read_as_a_scheduler_file_whatever_its_name(tmp_path):
    missing = tmp_path / "scheduler"
    assert refusal(str(missing)).startswith(f"{missing}: no such scheduler file")
    (tmp_path / "folder").mkdir()
    assert refusal(str(tmp_path / "folder")).endswith(": not a Dask scheduler file (not a file)")


def test_a_huge_scheduler_file_is_not_read_whole(tmp_path):
    big = tmp_path / "scheduler.json"
    big.write_text('{"address": "tcp://127.0.0.1:1", "pad": "' + "x" * 2_000_000 + '"}')
    assert refusal(str(big)) == f"{big}: not a Dask scheduler file (2.0 MB)"
