"""What a deployment on a Docker or Kubernetes pool runs: the version's image (given, or the one
the project's workflow publishes for its git tag) and the job variables of its prefect.yaml."""

from __future__ import annotations

import subprocess

import pytest

from modelcrate._errors import DeployError
from modelcrate.deploy._images import check_image, image_job

PREFECT_YAML = """\
name: scaler
deployments:
  - name: scaler-local
    entrypoint: src/scaler/flow.py:scaler_flow
    work_pool: {name: local-process}
  - name: scaler-k8s
    entrypoint: scaler.flow:scaler_flow
    pull:
      - prefect.deployments.steps.set_working_directory: {directory: /home/model}
    work_pool:
      name: kubernetes
      job_variables:
        image: IMAGE
        image_pull_policy: IfNotPresent
        namespace: accel
        service_account_name: models
        env: {MODELCRATE_TARGET: "file:///data/results"}
"""
K8S = frozenset({"image", "image_pull_policy", "namespace", "service_account_name", "env"})


def _project(tmp_path, image="ghcr.io/my-lab/scaler:latest", tag="v1.2.0"):
    (tmp_path / "prefect.yaml").write_text(PREFECT_YAML.replace("IMAGE", image))
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    if tag:
        subprocess.run([*git, "tag", tag], check=True)
    return tmp_path


def test_the_published_image_is_the_one_of_the_versions_tag(tmp_path):
    job = image_job(_project(tmp_path), pool="k8s", pool_variables=K8S, version="1.2.0", image=None)
    assert job.image == "ghcr.io/my-lab/scaler:v1.2.0"
    assert job.job_variables == {
        "image": "ghcr.io/my-lab/scaler:v1.2.0",
        "image_pull_policy": "IfNotPresent",
        "namespace": "accel",
        "service_account_name": "models",
        "env": {"MODELCRATE_TARGET": "file:///data/results"},
    }
    assert job.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "/home/model"}}
    ]
    assert job.left_out == ()


def test_an_image_given_wins_and_what_the_pool_does_not_take_is_left_out(tmp_path):
    docker = frozenset({"image", "image_pull_policy", "env"})
    job = image_job(
        _project(tmp_path, tag=None),
        pool="docker",
        pool_variables=docker,
        version="1.2.0",
        image="registry.example.org:5000/lab/scaler@sha256:" + "a" * 64,
    )
    assert job.image.startswith("registry.example.org:5000/lab/scaler@sha256:")
    assert set(job.job_variables) == {"image", "image_pull_policy", "env"}
    assert job.left_out == ("namespace", "service_account_name")


def test_a_project_without_prefect_yaml_runs_the_image_given(tmp_path):
    job = image_job(tmp_path, pool="k8s", pool_variables=None, version="1", image="lab/m:1")
    assert (job.job_variables, job.pull_steps) == ({"image": "lab/m:1"}, [])
    with pytest.raises(DeployError, match="names no image of the project; give"):
        image_job(tmp_path, pool="k8s", pool_variables=None, version="1", image=None)


@pytest.mark.parametrize(
    ("image", "tag", "message"),
    [
        ("ghcr.io/OWNER/scaler:latest", "v1.2.0", "placeholder OWNER"),
        ("ghcr.io/my-lab/scaler:latest", None, "no git tag of version 1.2.0 at HEAD"),
        ("ghcr.io/my-lab/scaler:latest", "v1.1.0", "no git tag of version 1.2.0 at HEAD"),
        ("Not An Image", "v1.2.0", r"prefect\.yaml: image 'Not An Image:v1\.2\.0'"),
    ],
)
def test_an_image_that_cannot_be_named_says_what_to_do(tmp_path, image, tag, message):
    with pytest.raises(DeployError, match=message):
        image_job(
            _project(tmp_path, image=image, tag=tag),
            pool="k8s",
            pool_variables=K8S,
            version="1.2.0",
            image=None,
        )


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "a b",
        "lab/m:1\n",
        "lab/UPPER",
        "lab/m:" + "x" * 200,
        "lab/m;rm -rf /",
        "-lab/m",
        "m@md5:1",
    ],
)
def test_references_registries_would_not_take_are_refused(reference):
    with pytest.raises(DeployError, match="not an image reference"):
        check_image(reference)


def test_a_broken_prefect_yaml_is_one_error_naming_it(tmp_path):
    (tmp_path / "prefect.yaml").write_text("deployments: [\n")
    with pytest.raises(DeployError, match=r"prefect\.yaml: .*invalid YAML"):
        image_job(tmp_path, pool="k8s", pool_variables=None, version="1", image=None)


@pytest.mark.parametrize("variables", ["[ab, cd]", "abc", "5"])
def test_job_variables_that_are_not_a_mapping_are_one_error(tmp_path, variables):
    (tmp_path / "prefect.yaml").write_text(
        "deployments:\n  - name: k8s\n    work_pool:\n      name: k8s\n"
        f"      job_variables: {variables}\n"
    )
    with pytest.raises(DeployError, match="job_variables of deployment 'k8s' are not a mapping"):
        image_job(tmp_path, pool="k8s", pool_variables=None, version="1", image="lab/m:1")


def test_a_pool_that_takes_no_image_is_refused(tmp_path):
    with pytest.raises(DeployError, match="takes no image"):
        image_job(
            tmp_path, pool="odd", pool_variables=frozenset({"env"}), version="1", image="lab/m:1"
        )
