"""Settings from `MODELCRATE_*` environment variables: defaults, parsing, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelcrate import SettingsError, TargetError
from modelcrate.runtime import (
    TARGET_ENV,
    FilesystemTarget,
    Mount,
    Settings,
    default_target_uris,
    load_settings,
    open_target,
    resolve_targets,
)


@pytest.fixture(autouse=True)
def no_modelcrate_env(monkeypatch):
    """Each test starts without any MODELCRATE_* variable of the surrounding environment."""
    for key in list(os.environ):
        if key.upper().startswith("MODELCRATE_"):
            monkeypatch.delenv(key)


def settings_problem(monkeypatch, **env: str) -> str:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- defaults -------------------------------------------------------------------------------------


def test_defaults_without_variables():
    settings = load_settings()
    assert settings == Settings()
    assert (settings.target, settings.targets, settings.mounts) == ([], {}, [])
    assert settings.fsync is True
    assert settings.connect_timeout == 10.0


def test_unrelated_modelcrate_variable_is_ignored(monkeypatch):
    monkeypatch.setenv("MODELCRATE_NO_SUCH_SETTING", "x")
    assert load_settings().model_dump() == Settings().model_dump()


def _imports_pydantic_settings(env: dict[str, str]) -> bool:
    code = (
        "import sys\n"
        "from modelcrate.runtime import default_target_uris, load_settings\n"
        "load_settings(); default_target_uris()\n"
        "print('pydantic_settings' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


def test_pydantic_settings_is_imported_only_when_a_variable_is_set(tmp_path):
    # In a new interpreter: other tests of this process may have imported it already.
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("MODELCRATE_")}
    assert not _imports_pydantic_settings(clean)
    assert _imports_pydantic_settings({**clean, "MODELCRATE_FSYNC": "false"})


# -- MODELCRATE_TARGET ----------------------------------------------------------------------------


def test_target_is_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv(TARGET_ENV, " /data/results , sqlite:///results.db,,")
    assert load_settings().target == ["/data/results", "sqlite:///results.db"]


def test_empty_target_means_none(monkeypatch):
    monkeypatch.setenv(TARGET_ENV, "")
    assert load_settings().target == []


def test_default_target_uris_use_modelcrate_target(monkeypatch, tmp_path):
    assert default_target_uris(tmp_path) == [(tmp_path / "results").resolve().as_uri()]
    monkeypatch.setenv(TARGET_ENV, "/data/results,sqlite:///results.db")
    assert default_target_uris(tmp_path) == ["/data/results", "sqlite:///results.db"]


def test_resolve_targets_defaults_to_modelcrate_target(monkeypatch, tmp_path):
    monkeypatch.setenv(TARGET_ENV, str(tmp_path / "a") + "," + str(tmp_path / "b"))
    opened = resolve_targets()
    assert [type(t) for t in opened] == [FilesystemTarget, FilesystemTarget]
    assert [t.root for t in opened] == [tmp_path / "a", tmp_path / "b"]


# -- named targets: MODELCRATE_TARGETS__NAME and MODELCRATE_TARGETS (JSON) -------------------------


def test_named_targets_from_nested_variables(monkeypatch):
    monkeypatch.setenv("MODELCRATE_TARGETS__PROD", "postgresql://u:secret@db.example/results")
    monkeypatch.setenv("MODELCRATE_TARGETS__LAB_DISK", "/data/results")
    assert load_settings().targets == {
        "prod": "postgresql://u:secret@db.example/results",
        "lab_disk": "/data/results",
    }


def test_named_targets_from_json(monkeypatch):
    monkeypatch.setenv("MODELCRATE_TARGETS", '{"Prod": "sqlite:///prod.db", "lab": "/data"}')
    assert load_settings().targets == {"prod": "sqlite:///prod.db", "lab": "/data"}


def test_json_and_nested_named_targets_are_merged(monkeypatch):
    monkeypatch.setenv("MODELCRATE_TARGETS", '{"lab": "/data", "prod": "sqlite:///old.db"}')
    monkeypatch.setenv("MODELCRATE_TARGETS__PROD", "sqlite:///new.db")
    monkeypatch.setenv("MODELCRATE_TARGETS__SCRATCH", "/tmp/scratch")
    assert load_settings().targets == {
        "lab": "/data",
        "prod": "sqlite:///new.db",
        "scratch": "/tmp/scratch",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not json", "not JSON"),
        ('["a", "b"]', "valid dictionary"),
        ('{"a": 1}', "valid string"),
    ],
)
def test_bad_json_targets_name_the_variable(monkeypatch, value, expected):
    message = settings_problem(monkeypatch, MODELCRATE_TARGETS=value)
    assert message.startswith("MODELCRATE_TARGETS: ")
    assert expected in message


def test_at_name_opens_the_named_target(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELCRATE_TARGETS__LAB", str(tmp_path / "lab"))
    target = open_target("@lab")
    assert isinstance(target, FilesystemTarget) and target.root == tmp_path / "lab"
    assert open_target("@LAB").uri == target.uri


def test_at_name_masks_the_password_of_a_named_database(monkeypatch):
    monkeypatch.setenv("MODELCRATE_TARGETS__PROD", "postgresql://u:secret@db.example/results")
    target = open_target("@prod")  # not connected yet
    assert target.name == "postgresql://u:***@db.example/results"
    assert "secret" not in repr(target)


def test_unknown_at_name_lists_the_known_names_and_the_variable(monkeypatch):
    monkeypatch.setenv("MODELCRATE_TARGETS__PROD", "sqlite:///prod.db")
    monkeypatch.setenv("MODELCRATE_TARGETS__LAB", "/data")
    with pytest.raises(TargetError) as caught:
        open_target("@nope")
    message = str(caught.value)
    assert "@lab, @prod" in message
    assert "MODELCRATE_TARGETS__NOPE=URI" in message
    assert "\n" not in message


def test_unknown_at_name_without_any_named_target(monkeypatch):
    with pytest.raises(TargetError, match=r"none is set.*MODELCRATE_TARGETS__X=URI"):
        open_target("@x")


# -- MODELCRATE_MOUNTS ----------------------------------------------------------------------------


def test_mounts_are_parsed(monkeypatch):
    monkeypatch.setenv("MODELCRATE_MOUNTS", "/data/results:/mnt/results:ro, /scratch/:/mnt/s/,")
    assert load_settings().mounts == [
        Mount(host="/data/results", container="/mnt/results"),
        Mount(host="/scratch", container="/mnt/s"),
    ]


def test_mount_rw_suffix_is_dropped():
    assert Mount.parse("/a:/b:rw") == Mount(host="/a", container="/b")


@pytest.mark.parametrize(
    "value",
    ["data/results:/mnt/results", "/data/results:mnt", "/data/results", "/a:/b,relative:/c"],
)
def test_bad_mount_names_the_variable(monkeypatch, value):
    message = settings_problem(monkeypatch, MODELCRATE_MOUNTS=value)
    assert message.startswith("MODELCRATE_MOUNTS: mount ")
    assert "HOST:CONTAINER with absolute paths" in message
    assert message.endswith("fix the environment variable")


def test_mounts_redirect_a_filesystem_target(monkeypatch, tmp_path):
    host, container = Path("/no/such/host/results"), tmp_path / "mounted"
    monkeypatch.setenv("MODELCRATE_MOUNTS", f"{host}:{container}")
    target = open_target(host.as_uri())
    assert target.storage == container and target.root == host


# -- MODELCRATE_FSYNC and MODELCRATE_CONNECT_TIMEOUT ----------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("true", True)])
def test_fsync(monkeypatch, value, expected):
    monkeypatch.setenv("MODELCRATE_FSYNC", value)
    assert load_settings().fsync is expected


def test_fsync_false_reaches_a_filesystem_target(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELCRATE_FSYNC", "false")
    assert open_target(tmp_path).fsync is False


def test_bad_fsync_names_the_variable(monkeypatch):
    message = settings_problem(monkeypatch, MODELCRATE_FSYNC="maybe")
    assert message.startswith("MODELCRATE_FSYNC: ") and "boolean" in message


def test_connect_timeout(monkeypatch):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "2.5")
    assert load_settings().connect_timeout == 2.5
    assert open_target("postgresql://u@db.example/results").connect_timeout == 2.5


@pytest.mark.parametrize(("value", "expected"), [("soon", "number"), ("0", "greater than 0")])
def test_bad_connect_timeout_names_the_variable(monkeypatch, value, expected):
    message = settings_problem(monkeypatch, MODELCRATE_CONNECT_TIMEOUT=value)
    assert message.startswith("MODELCRATE_CONNECT_TIMEOUT: ") and expected in message


def test_a_bad_variable_fails_opening_any_target(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "soon")
    with pytest.raises(SettingsError, match="MODELCRATE_CONNECT_TIMEOUT"):
        open_target(tmp_path)
