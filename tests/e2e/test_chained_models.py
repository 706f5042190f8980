"""Two generated models chained through a results database, as a user would wire them.

Model A (the injector example) stores its result in SQLite; model B's flow, extended the way
its flow.py suggests, loads A's newest result with the `load_result` task and feeds A's
`sigma_x` output into B's `beam_size` input: a flow calling a flow, both real Prefect runs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from _projects import EXAMPLE, EXAMPLE_MODEL, ROOT, find_uv, sh

from modelcrate.runtime import open_target

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent

CHAINED_FLOW = '''

@flow(name="linac-from-injector")
def linac_from_injector(upstream_target: str, targets: list[str] | None = None):
    """Model B on model A's newest stored beam size."""
    upstream = load_result(upstream_target, "injector-surrogate")
    return linac_downstream_flow(
        inputs={"beam_size": upstream.outputs["sigma_x"]}, targets=targets
    )
'''

SCRIPT = """
import json, sys
from injector_surrogate.flow import injector_surrogate_flow
from linac_downstream.flow import linac_from_injector

database = sys.argv[1]
[a] = injector_surrogate_flow(inputs={"laser_radius": 0.6}, targets=[database])
[b] = linac_from_injector(upstream_target=database, targets=[database])
print(json.dumps({"a": a.result.hash, "b": b.result.hash, "b_inputs": b.result.inputs,
                  "a_sigma_x": a.result.outputs["sigma_x"], "b_flow_run": b.result.flow_run_id}))
"""


def test_model_b_flow_uses_model_a_stored_output(tmp_path):
    projects = {}
    for name, variables in (
        ("Injector Surrogate", EXAMPLE),
        ("Linac Downstream", HERE / "variables/linac_downstream.yml"),
    ):
        project = tmp_path / name.lower().replace(" ", "-")
        sh(sys.executable, "-m", "modelcrate", "new", variables, "-o", project, "--yes",
           "--name", name, "--no-git", "--modelcrate-requirement", ROOT)  # fmt: skip
        projects[name] = project
    shutil.copy(
        EXAMPLE_MODEL,
        projects["Injector Surrogate"] / "src/injector_surrogate/model.py",
    )
    flow_py = projects["Linac Downstream"] / "src/linac_downstream/flow.py"
    flow_py.write_text(flow_py.read_text() + textwrap.dedent(CHAINED_FLOW))

    venv = tmp_path / ".venv"
    uv = find_uv()
    if uv is None:  # pragma: no cover - uv is a dev dependency
        pytest.skip("needs uv to make the environment")
    sh(uv, "venv", "-q", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    sh(uv, "pip", "install", "-q", "--python", python,
       "-e", projects["Injector Surrogate"], "-e", projects["Linac Downstream"])  # fmt: skip

    database = f"sqlite:///{tmp_path / 'results.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MODELCRATE_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    done = sh(python, "-c", SCRIPT, database, cwd=tmp_path, env=env)
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["b_inputs"]["beam_size"] == report["a_sigma_x"]
    assert report["b_flow_run"]  # stored by a Prefect flow run
    stored = {r.model: r for r in open_target(database).list()}
    assert set(stored) == {"injector-surrogate", "linac-downstream"}
    assert (
        stored["linac-downstream"].inputs["beam_size"]
        == stored["injector-surrogate"].outputs["sigma_x"]
    )
    assert stored["linac-downstream"].hash == report["b"]
