"""`modelcrate new`: the names it derives and the GitHub account it never invents."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import tomllib

VARIABLES = """\
input_variables:
  x: {type: scalar, default: 1.0}
output_variables:
  y: {type: scalar}
"""


@pytest.fixture
def variables(tmp_path) -> Path:
    """A variables file with a generic name and no model name, in a folder named `work`."""
    path = tmp_path / "work" / "vars.yml"
    path.parent.mkdir()
    path.write_text(VARIABLES)
    return path


@pytest.fixture(autouse=True)
def git_config(tmp_path, monkeypatch) -> Path:
    """git reads only an empty settings file of the test's own (no github.user, no identity)."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return config


def _files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.parts
    }


# -- names -----------------------------------------------------------------------------------------


def test_the_project_is_named_after_the_output_directory(run_cli, tmp_path, variables):
    code, out, err = run_cli("new", variables, "-o", tmp_path / "gas-prompt", "--yes", "--no-git")
    assert code == 0, err
    assert out.startswith("Created gas-prompt in ")
    model = tmp_path / "gas-prompt" / "src" / "gas_prompt" / "model.py"
    assert "class GasPromptModel(Model)" in model.read_text()


@pytest.mark.parametrize(
    "folder", ["two\nlines", "x" * 120, "{{ name }}"], ids=["two-lines", "too-long", "template"]
)
def test_an_output_directory_that_is_no_project_name_leaves_the_name_to_the_variables_file(
    run_cli, tmp_path, variables, folder
):
    code, out, err = run_cli("new", variables, "-o", tmp_path / folder, "--yes", "--no-git")
    assert code == 0, err
    assert out.startswith("Created work in ")  # the variables file's folder, as without -o
    assert (tmp_path / folder / "src" / "work" / "model.py").is_file()


def test_a_model_name_in_the_variables_file_comes_before_the_directory(run_cli, tmp_path):
    variables = tmp_path / "vars.yml"
    variables.write_text("model:\n  name: Beam Size\n" + VARIABLES)
    code, out, err = run_cli("new", variables, "-o", tmp_path / "out", "--yes", "--no-git")
    assert code == 0, err
    assert out.startswith("Created beam-size in ")
    assert (tmp_path / "out" / "src" / "beam_size" / "model.py").is_file()


def test_the_name_option_comes_first(run_cli, tmp_path, variables):
    code, out, err = run_cli(
        "new", variables, "-o", tmp_path / "gas-prompt", "--name", "Laser", "--yes", "--no-git"
    )
    assert code == 0, err
    assert out.startswith("Created laser in ")


def test_without_output_the_name_comes_from_the_variables_file(run_cli, tmp_path, monkeypatch):
    variables = tmp_path / "gas_prompt.yml"
    variables.write_text(VARIABLES)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("new", variables, "--yes", "--no-git")
    assert code == 0, err
    assert out.startswith("Created gas-prompt in gas-prompt ")


def test_the_current_directory_names_a_project_made_in_it(
    run_cli, tmp_path, variables, monkeypatch
):
    (tmp_path / "beam-line").mkdir()
    monkeypatch.chdir(tmp_path / "beam-line")
    code, out, err = run_cli("new", variables, "-o", ".", "--yes", "--no-git")
    assert code == 0, err
    assert out.startswith("Created beam-line in . ")


# -- the GitHub account ----------------------------------------------------------------------------


def test_no_github_account_is_guessed_from_the_author(run_cli, tmp_path, variables):
    code, out, err = run_cli(
        "new", variables, "-o", tmp_path / "p", "--author", "Ada", "--yes", "--no-git"
    )
    assert code == 0, err
    assert (
        "  GitHub      : no account known (--github-user, or `git config --global github.user "
        "NAME`): pyproject.toml has no Source URL; add one under [project.urls]"
    ) in out.splitlines()
    root = tmp_path / "p"
    for name, text in _files(root).items():
        assert "/ada/" not in text.lower(), name
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert "urls" not in pyproject["project"]
    assert pyproject["project"]["authors"] == [{"name": "Ada", "email": "you@example.org"}]
    # The image is named, when the workflow runs, after the account that owns the repository.
    workflow = (root / ".github/workflows/image.yml").read_text()
    assert "OWNER: ${{ github.repository_owner }}" in workflow
    assert 'run: echo "name=ghcr.io/${OWNER,,}/p" >> "$GITHUB_OUTPUT"' in workflow
    assert "${{ steps.image.outputs.name }}:latest" in workflow
    assert (
        "`ghcr.io/OWNER/p` (OWNER: the account that owns the repository, in lower case)"
        in (root / "README.md").read_text()
    )
    assert (
        '        image: "ghcr.io/OWNER/p:latest"  # OWNER: your account, in lower case'
        in (root / "prefect.yaml").read_text()
    )


def test_the_docker_hub_image_is_named_after_the_docker_hub_account(run_cli, tmp_path, variables):
    code, _, err = run_cli(
        "new", variables, "-o", tmp_path / "p", "--registry", "dockerhub", "--yes", "--no-git"
    )
    assert code == 0, err
    workflow = (tmp_path / "p" / ".github/workflows/image.yml").read_text()
    assert "OWNER: ${{ secrets.DOCKERHUB_USERNAME }}" in workflow
    assert 'run: echo "name=docker.io/${OWNER,,}/p" >> "$GITHUB_OUTPUT"' in workflow


def test_the_github_account_comes_from_git_config(run_cli, tmp_path, variables, git_config):
    git_config.write_text("[github]\n\tuser = Ada-L\n")
    code, out, err = run_cli(
        "new", variables, "-o", tmp_path / "p", "--author", "Ada", "--yes", "--no-git"
    )
    assert code == 0, err
    assert "GitHub" not in out
    root = tmp_path / "p"
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["urls"] == {"Source": "https://github.com/Ada-L/p"}
    workflow = (root / ".github/workflows/image.yml").read_text()
    assert "ghcr.io/ada-l/p:latest" in workflow and "steps.image" not in workflow
    assert '        image: "ghcr.io/ada-l/p:latest"' in (root / "prefect.yaml").read_text()


def test_the_github_user_option_comes_before_git_config(run_cli, tmp_path, variables, git_config):
    git_config.write_text("[github]\n\tuser = Ada-L\n")
    code, _, err = run_cli(
        "new", variables, "-o", tmp_path / "p", "--github-user", "beam-lab", "--yes", "--no-git"
    )
    assert code == 0, err
    pyproject = tomllib.loads((tmp_path / "p" / "pyproject.toml").read_text())
    assert pyproject["project"]["urls"] == {"Source": "https://github.com/beam-lab/p"}


def test_the_prompt_takes_an_empty_github_account(run_cli, tmp_path, variables, monkeypatch):
    from modelcrate.cli import _questions

    monkeypatch.setattr(_questions, "_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n" * 20))
    code, out, err = run_cli("new", variables, "-o", tmp_path / "p", "--no-git")
    assert code == 0, err
    assert "GitHub user or organisation (empty: fill in later)" in out
    assert "urls" not in tomllib.loads((tmp_path / "p" / "pyproject.toml").read_text())["project"]


def test_the_prompt_offers_the_account_of_git_config(
    run_cli, tmp_path, variables, monkeypatch, git_config
):
    from modelcrate.cli import _questions

    git_config.write_text("[github]\n\tuser = Ada-L\n")
    monkeypatch.setattr(_questions, "_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n" * 20))
    code, out, err = run_cli("new", variables, "-o", tmp_path / "p", "--no-git")
    assert code == 0, err
    assert "GitHub user or organisation (empty: fill in later) [Ada-L]" in out


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (
            "model:\n  description: |\n    Toy gun scan,\n    two lines.\n",
            "Toy gun scan, two lines.",
        ),
        ("description: Scans the gun.\n", "Scans the gun."),
        ('model:\n  description: "bad \\x07 bell"\n', "Gun, packaged with modelcrate."),
        ("", "Gun, packaged with modelcrate."),
    ],
    ids=["model-description", "top-level", "unwritable", "none"],
)
def test_the_description_comes_from_the_variables_file(run_cli, tmp_path, declared, expected):
    path = tmp_path / "v.yml"
    path.write_text(declared + VARIABLES)
    code, _, err = run_cli("new", path, "-o", tmp_path / "p", "--yes", "--no-git", "--name",
                           "Gun", "--modelcrate-requirement", "0.1")  # fmt: skip
    assert code == 0, err
    project = tomllib.loads((tmp_path / "p" / "pyproject.toml").read_text())["project"]
    assert project["description"] == expected


def test_the_description_option_comes_first(run_cli, tmp_path):
    path = tmp_path / "v.yml"
    path.write_text("model: {description: From the file.}\n" + VARIABLES)
    code, _, err = run_cli("new", path, "-o", tmp_path / "p", "--yes", "--no-git",
                           "--description", "Given.", "--modelcrate-requirement", "0.1")  # fmt: skip
    assert code == 0, err
    assert 'description = "Given."' in (tmp_path / "p" / "pyproject.toml").read_text()
