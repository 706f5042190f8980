"""Settings for running a Prefect flow locally, in-process, with no server started by hand."""

from __future__ import annotations

import os
from pathlib import Path

LOCAL_PREFECT_SETTINGS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}


def use_local_prefect(home: Path) -> bool:
    """Point Prefect at a private home and a patient temporary server, unless one is configured.

    Returns False (and changes nothing) when `PREFECT_API_URL` names a server to use instead.
    Call it before Prefect is imported.
    """
    if os.environ.get("PREFECT_API_URL"):
        return False
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    for key, value in LOCAL_PREFECT_SETTINGS.items():
        os.environ.setdefault(key, value)
    return True
