"""A model version deployed to the local services runs from its own environment, made from its
wheel: two versions of one model deployed side by side each run their own code."""

from __future__ import annotations

import contextlib
import os

import pytest
from _projects import SCALER_VARIABLES, free_port, scaler_model

from modelcrate._errors import DeployError


@pytest.fixture
def deploy_env(tmp_path, monkeypatch):
    """Services and environments of the test's own (in its directory, on a free port)."""
    for name in [n for n in os.environ if n.startswith("PREFECT_API_URL")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MODELCRATE_SERVICES_DIR", str(tmp_path / "services"))
    monkeypatch.setenv("MODELCRATE_SERVICES_PORT", str(free_port()))
    # a space in the path, as in macOS's "Application Support": the run's command is quoted
    monkeypatch.setenv("MODELCRATE_ENVIRONMENTS", str(tmp_path / "version environments"))
    from modelcrate.deploy import load_services_settings, stop_services

    yield tmp_path
    stop_services(load_services_settings(), say=lambda line: None)


def test_without_a_server_deploying_says_how_to_start_one(deploy_env):
    from modelcrate.deploy import prefect_api_url

    with pytest.raises(DeployError, match="modelcrate services start"):
        prefect_api_url()


def test_a_server_that_does_not_answer_is_said_before_any_work(deploy_env, monkeypatch):
    from _projects import free_port

    from modelcrate.deploy import deploy_project

    monkeypatch.setenv("PREFECT_API_URL", f"http://admin:hunter2@127.0.0.1:{free_port()}/api")
    with pytest.raises(DeployError, match="does not answer") as caught:
        deploy_project(deploy_env / "nowhere", say=lambda line: None)
    assert "hunter2" not in str(caught.value)


def test_a_pool_name_modelcrate_would_not_make_is_refused(deploy_env):
    from modelcrate.deploy import deploy_project

    with pytest.raises(DeployError, match="--pool 'a b/c': a work pool name is"):
        deploy_project(deploy_env, pool="a b/c", say=lambda line: None)


@pytest.mark.parametrize(
    ("entry_points", "metadata"),
    [("[x\n", b"Name: m\nVersion: 1\n"), ("", b"Name: m\nVersion: \xff\n"), ("a = b\n", b"x")],
)
def test_a_wheel_whose_metadata_cannot_be_read_is_one_error(deploy_env, entry_points, metadata):
    import zipfile

    from modelcrate.deploy._deploy import _wheel_metadata

    wheel = deploy_env / "m-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("m-1.dist-info/METADATA", metadata)
        archive.writestr("m-1.dist-info/entry_points.txt", entry_points)
    with pytest.raises(DeployError, match=r"m-1-py3-none-any\.whl"):
        _wheel_metadata(wheel)


def test_a_malformed_model_reference_is_bad_input(deploy_env):
    from modelcrate import InputError
    from modelcrate.deploy import deployed_version

    for reference in ("scaler@", "@1.0.0", " "):
        with pytest.raises(
            InputError, match=r"is not MODEL or MODEL@VERSION; write e.g. injector-surrogate@1.2.0$"
        ):
            deployed_version(reference)


def test_a_file_that_is_no_wheel_is_refused(deploy_env):
    from modelcrate.deploy import version_environment

    bad = deploy_env / "model.zip"
    bad.write_bytes(b"PK")
    with pytest.raises(DeployError, match="not a wheel file"):
        version_environment(bad)


@pytest.mark.slow
def test_two_versions_deployed_side_by_side_each_run_their_own_code(deploy_env, make_project):
    from modelcrate.deploy import (
        apply_deployment,
        load_services_settings,
        read_flow,
        run_deployment,
        start_services,
        version_environment,
    )
    from modelcrate.packaging import build_project
    from modelcrate.runtime import open_target

    variables = deploy_env / "variables.yml"
    variables.write_text(SCALER_VARIABLES)
    start_services(load_services_settings(), say=lambda line: None)
    results = deploy_env / "results"
    deployed = {}
    for label, factor in (("one", 2.0), ("two", 3.0)):
        source = deploy_env / f"model-{label}.py"
        source.write_text(scaler_model(factor))
        project = make_project(
            variables, project_name="scaler", model=source, dest=deploy_env / f"project-{label}"
        )
        wheel = build_project(project, deploy_env / f"dist-{label}").wheel
        environment = version_environment(wheel)
        assert environment.made and environment.python.is_file()
        assert not version_environment(wheel).made  # found whole the second time
        flow = read_flow(environment.python, "scaler.flow:scaler_flow")
        assert flow.name == "scaler" and "inputs" in flow.parameter_schema["properties"]
        deployed[label] = apply_deployment(
            flow,
            name=f"scaler-{label}",
            pool="modelcrate",
            version=label,
            python=environment.python,
        )
    states = []
    for label, factor in (("one", 2.0), ("two", 3.0)):
        target = f"file://{results / label}"
        outcome = run_deployment(
            deployed[label].name,
            {"inputs": {"x": 1.5}, "targets": [target]},
            timeout=300,
            on_state=lambda state, message: states.append(state),
        )
        assert outcome.state == "COMPLETED", outcome
        stored = list(open_target(target).query())
        assert [r.outputs["y"] for r in stored] == [factor * 1.5]
        assert stored[0].flow_run_id == outcome.id
    assert "Completed" in states

    refused = run_deployment(
        deployed["one"].name,
        {"inputs": {"x": 1.5}, "targets": ["file:///nonexistent\x00"]},
        timeout=300,
    )
    assert refused.failed
    with pytest.raises(DeployError, match="no deployment 'scaler/nothing'"):
        run_deployment("scaler/nothing", {})


def _git(project, *args):
    import subprocess

    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


@pytest.mark.slow
def test_deploy_checks_builds_registers_and_deploys_once(deploy_env, make_project, monkeypatch):
    import json
    import subprocess
    import sys

    from modelcrate.deploy import load_services_settings, run_deployment, start_services
    from modelcrate.runtime import open_target

    monkeypatch.setenv("MODELCRATE_REGISTRY", f"sqlite:///{deploy_env / 'registry.db'}")
    variables = deploy_env / "variables.yml"
    variables.write_text(SCALER_VARIABLES)
    source = deploy_env / "model.py"
    source.write_text(scaler_model(4.0))
    project = make_project(variables, project_name="scaler", model=source, git=True)
    start_services(load_services_settings(), say=lambda line: None)

    def modelcrate(*args):
        return subprocess.run(
            [sys.executable, "-m", "modelcrate", *args],
            capture_output=True,
            text=True,
            timeout=900,
        )

    refused = modelcrate("deploy", str(project))  # the model file is not committed
    assert refused.returncode == 1, refused.stderr
    assert "is not a release" in refused.stderr and "--dev" in refused.stderr
    assert "Traceback" not in refused.stderr

    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "The model")
    _git(project, "tag", "v1.0.0")
    first = modelcrate("deploy", str(project), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["model"], report["version"], report["changed"]) == ("scaler", "1.0.0", True)
    assert report["deployment"]["name"] == "scaler/1.0.0"
    again = modelcrate("deploy", str(project))
    assert again.returncode == 0, again.stderr
    assert (
        "is deployed already as scaler/1.0.0" in again.stdout and "nothing changed" in again.stdout
    )

    shown = modelcrate("registry", "show", "scaler@1.0.0", "--json")
    assert shown.returncode == 0, shown.stderr
    assert report["deployment"]["id"] in shown.stdout
    assert json.loads(shown.stdout)["version"]["is_live"] is True  # the model's first version

    target = f"file://{deploy_env / 'results'}"
    outcome = run_deployment(
        "scaler/1.0.0", {"inputs": {"x": 2.0}, "targets": [target]}, timeout=300
    )
    assert outcome.state == "COMPLETED", outcome
    assert [r.outputs["y"] for r in open_target(target).query()] == [8.0]

    # the live version, run from here by its name: the result it stored is printed
    ran_in = str(deploy_env / "ran")
    ran = modelcrate("run", "scaler", "--deployment", "--set", "x=1.5", "-t", ran_in)
    assert ran.returncode == 0, ran.stderr
    assert "Running scaler 1.0.0 (scaler/1.0.0)" in ran.stderr and "Completed" in ran.stderr
    assert "Stored result" in ran.stdout and "6" in ran.stdout
    as_json = modelcrate(
        "run", "scaler@1.0.0", "--deployment", "--set", "x=0.5", "-t", ran_in, "--json"
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["outputs"]["y"] == 2.0
    later = modelcrate("run", "scaler", "--deployment", "--no-wait", "-t", ran_in)
    assert later.returncode == 0, later.stderr
    assert "/runs/flow-run/" in later.stdout

    warned = modelcrate("run", "scaler", "--deployment", "--set", "x=50", "-t", ran_in, "--json")
    assert warned.returncode == 0, warned.stderr  # the policy `warn`: said, and run
    assert "outside the range [-10, 10]" in warned.stderr
    assert json.loads(warned.stdout)["outputs"]["y"] == 200.0
    for bad, message in (
        (("run", "scaler", "--deployment", "--set", "x=abc"), "input 'x'"),
        (("run", "nothing", "--deployment"), "no model 'nothing'"),
        (("run", "scaler@9.9", "--deployment"), "9.9"),
        (("run", "scaler", "--deployment", "--set", "z=1"), "has no input 'z'"),
        (("run", "scaler", "--no-wait"), "add --deployment"),
    ):
        done = modelcrate(*bad)
        assert done.returncode == 2, (bad, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr

    # a second version beside it, from the command line: it runs its own code
    (project / "src" / "scaler" / "model.py").write_text(scaler_model(5.0))
    _git(project, "commit", "-q", "-am", "A better model")
    _git(project, "tag", "v1.1.0")
    second = modelcrate("deploy", str(project), "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["deployment"]["name"] == "scaler/1.1.0"

    def output(reference, x):
        done = modelcrate(
            "run", reference, "--deployment", "--set", f"x={x}", "-t", ran_in, "--json"
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["outputs"]["y"]

    assert (output("scaler@1.1.0", 1.0), output("scaler", 1.0)) == (5.0, 4.0)  # 1.0.0 is live
    promoted = modelcrate("registry", "promote", "scaler@1.1.0")
    assert promoted.returncode == 0, promoted.stderr
    assert output("scaler", 1.0) == 5.0

    # a Kubernetes pool: the deployment names the version's image and the job variables of the
    # project's prefect.yaml that the pool's base job template takes (no cluster runs it here)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import temporary_settings
    from prefect_kubernetes.worker import KubernetesWorker

    from modelcrate.deploy import prefect_api_url
    from modelcrate.deploy._services import _group_alive

    api = {"api.url": prefect_api_url()}  # Prefect's settings of this process: this server's
    template = KubernetesWorker.get_default_base_job_template()
    with temporary_settings(updates=api), get_client(sync_client=True) as client:
        client.create_work_pool(
            WorkPoolCreate(name="k8s", type="kubernetes", base_job_template=template)
        )
    image = "registry.example.org/lab/scaler:v1.1.0"
    refused = modelcrate("deploy", str(project), "--image", image)  # the services' process pool
    assert refused.returncode == 1 and "is a process pool" in refused.stderr, refused.stderr
    on_k8s = modelcrate("deploy", str(project), "--pool", "k8s", "--image", image, "--json")
    assert on_k8s.returncode == 0, on_k8s.stderr
    report = json.loads(on_k8s.stdout)
    assert (report["image"], report["deployment"]["name"]) == (image, "scaler/1.1.0-k8s")
    assert "'finished_job_ttl'" not in on_k8s.stderr  # the Kubernetes template takes it
    with temporary_settings(updates=api), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("scaler/1.1.0-k8s")
    assert deployment.work_pool_name == "k8s"
    assert deployment.entrypoint == "scaler.flow:scaler_flow"
    assert deployment.job_variables["image"] == image
    assert deployment.job_variables["namespace"] == "default"
    assert "command" not in deployment.job_variables  # the image's own Python runs it
    shown = json.loads(modelcrate("registry", "show", "scaler@1.1.0", "--json").stdout)
    assert shown["version"]["image"] == image
    assert {d["work_pool"] for d in shown["version"]["deployments"]} == {"modelcrate", "k8s"}

    # the version's latest deployment is the Kubernetes one, which no worker polls here: the
    # run is said to wait, and --timeout ends the waiting; --pool picks the local deployment
    waited = modelcrate(
        "run", "scaler@1.1.0", "--deployment", "--set", "x=1", "-t", ran_in, "--timeout", "2"
    )
    assert waited.returncode == 1, waited.stderr
    assert "no worker has polled the pool 'k8s'" in waited.stderr
    assert "did not end within 2 s; it goes on" in waited.stderr
    on_pool = modelcrate(
        "run",
        "scaler",
        "--deployment",
        "--pool",
        "modelcrate",
        "--set",
        "x=2",
        "-t",
        ran_in,
        "--json",
    )
    assert on_pool.returncode == 0, on_pool.stderr
    assert json.loads(on_pool.stdout)["outputs"]["y"] == 10.0 and "warning" not in on_pool.stderr
    nowhere = modelcrate("run", "scaler", "--deployment", "--pool", "elsewhere")
    assert nowhere.returncode == 1 and "not deployed on the work pool 'elsewhere'" in nowhere.stderr

    # `services stop` ends the server and the worker: no process is left
    status = json.loads(modelcrate("services", "status", "--json").stdout)
    pids = [process["pid"] for process in status["processes"].values()]
    assert pids and all(process["running"] for process in status["processes"].values())
    stopped = modelcrate("services", "stop")
    assert stopped.returncode == 0, stopped.stderr
    for pid in pids:  # each service leads a process group of its own
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # started from this process: collect its exit
        assert not _group_alive(pid)


def test_an_api_url_set_in_the_active_prefect_profile_is_used(tmp_path):
    import subprocess
    import sys

    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        'active = "lab"\n\n[profiles.lab]\nPREFECT_API_URL = "http://prefect.example.org:4200/api"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MODELCRATE_"))}
    env |= {"PREFECT_HOME": str(home), "MODELCRATE_SERVICES_DIR": str(tmp_path / "services")}
    probe = "from modelcrate.deploy import prefect_api_url; print(prefect_api_url())"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "http://prefect.example.org:4200/api", done.stderr
    env["PREFECT_API_URL"] = "http://127.0.0.1:1/api"  # the environment wins
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "http://127.0.0.1:1/api", done.stderr


def test_a_versions_flow_is_read_in_its_environment_once(tmp_path, monkeypatch):
    from modelcrate.deploy import FlowOfVersion, VersionEnvironment, _deploy

    calls = []

    def read(python, entrypoint, **kwargs):
        calls.append(entrypoint)
        return FlowOfVersion(entrypoint, "scaler", {"type": "object", "properties": {}})

    monkeypatch.setattr(_deploy, "read_flow", read)
    environment = VersionEnvironment(tmp_path, tmp_path / "bin" / "python", "a" * 64, made=True)
    first = _deploy._flow_of(environment, "scaler.flow:scaler_flow")
    again = _deploy._flow_of(environment, "scaler.flow:scaler_flow")
    assert first == again and calls == ["scaler.flow:scaler_flow"]
    other = _deploy._flow_of(environment, "scaler.flow:sweep_flow")  # another entry point
    assert other.entrypoint == "scaler.flow:sweep_flow" and len(calls) == 2
    (tmp_path / ".modelcrate-flow.json").write_text("{not json")
    _deploy._flow_of(environment, "scaler.flow:sweep_flow")  # unreadable: read again
    assert len(calls) == 3


def test_the_result_of_a_deployed_run_is_its_own_or_the_one_stored_for_the_same_inputs():
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace

    from modelcrate.cli._run import _results_of_run

    now = datetime.now(timezone.utc)

    def result(name, inputs, run, minutes, version="1.0"):
        return SimpleNamespace(id=name, version=version, inputs=inputs, flow_run_id=run,
                               created=now + timedelta(minutes=minutes))  # fmt: skip

    stored = [
        result("deployed", {"x": 1.0, "y": 2.0}, "old-run", 0),
        result("local", {"x": 1.0, "y": 5.0}, None, 1),  # another y: not these inputs
        result("local-same", {"x": 1.0, "y": 2.0}, None, 2),  # by `modelcrate run`, later
        result("other-version", {"x": 1.0, "y": 2.0}, "new-run", 3, version="2.0"),
    ]
    target = SimpleNamespace(query=lambda model: iter(stored))
    wanted = [{"x": 1.0, "y": 2.0}]
    assert [r.id for r in _results_of_run(target, "m", "1.0", "new-run", wanted)] == ["deployed"]
    stored.append(result("mine", {"x": 1.0, "y": 2.0}, "new-run", -5))
    assert [r.id for r in _results_of_run(target, "m", "1.0", "new-run", wanted)] == ["mine"]
    assert _results_of_run(target, "m", "1.0", "new-run", [{"x": 3.0, "y": 2.0}]) == []


def test_asking_prefect_leaves_the_processs_environment_as_it_was(deploy_env, monkeypatch):
    """What a deploy or a run asks Prefect must not leave PREFECT_API_URL behind: a command run
    after it (a flow run of another project) would try that server."""
    from modelcrate.deploy import load_services_settings, start_services
    from modelcrate.deploy._deployments import _client

    start_services(load_services_settings(), say=lambda line: None)
    assert "PREFECT_API_URL" not in os.environ
    with _client() as client:
        assert os.environ["PREFECT_API_URL"].startswith("http://127.0.0.1:")
        client.read_work_pool("modelcrate")
    assert "PREFECT_API_URL" not in os.environ
