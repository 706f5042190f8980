"""The registry's rules, on SQLite, PostgreSQL and MariaDB: registering models and versions
(again, idempotently), recording deployments, listing, showing, promoting and retiring."""

from __future__ import annotations

import hashlib
from datetime import timezone

import pytest

from modelcrate import ModelcrateError
from modelcrate._errors import RegistryConflictError, RegistryError, RegistryLookupError
from modelcrate.deploy import open_registry

MODEL = "injector-surrogate"
VARIABLES = {
    "input_variables": {"laser_radius": {"variable_class": "ScalarVariable",
                                         "default_value": 1.2, "value_range": [0.5, 3.0]}},
    "output_variables": {"sigma_x": {"variable_class": "ScalarVariable"}},
}  # fmt: skip


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def register(registry, version: str, model: str = MODEL, wheel: str | None = None):
    return registry.register_version(
        model,
        version,
        wheel_sha256=sha(wheel or f"{model} {version}"),
        sdist_sha256=sha(f"sdist {model} {version}"),
        package="injector_surrogate",
        variables=VARIABLES,
        source_url="https://git.example.org/lab/injector-surrogate",
        source_commit="0123456789abcdef0123456789abcdef01234567",
        entry_points={"modelcrate.models": {MODEL: "injector_surrogate.model:Model"}},
        image=f"registry.example.org/injector-surrogate:{version}",
    )


@pytest.fixture
def registry(registry_db):
    with open_registry(registry_db) as opened:
        opened.register_model(MODEL, author="A. Physicist", laboratory="SLAC", facility="LCLS",
                              beampath="cu_hxr", description="Injector surrogate")  # fmt: skip
        yield opened


def test_registering_a_model_again_updates_only_what_is_given(registry):
    again = registry.register_model(MODEL, author="A. Physicist")
    assert not again.changed
    assert again.message == f"model {MODEL} is registered already; nothing changed"
    updated = registry.register_model(MODEL, facility="FACET-II")
    assert updated.changed
    assert updated.message == f"updated model {MODEL} (facility)"
    record = registry.model(MODEL)
    assert (record.author, record.laboratory, record.facility, record.beampath) == (
        "A. Physicist", "SLAC", "FACET-II", "cu_hxr")  # fmt: skip
    assert record.created.tzinfo is timezone.utc and record.updated >= record.created


def test_a_version_is_registered_once_and_again_changes_nothing(registry):
    first = register(registry, "1.0.0")
    assert first.changed and first.message == f"registered {MODEL}@1.0.0"
    version = first.record
    assert (version.version, version.status, version.is_live) == ("1.0.0", "registered", False)
    assert version.variables == VARIABLES
    assert version.entry_points == {"modelcrate.models": {MODEL: "injector_surrogate.model:Model"}}
    assert version.created.tzinfo is timezone.utc

    again = register(registry, "1.0.0")
    assert not again.changed
    assert again.message == f"{MODEL}@1.0.0 is already registered with this wheel; nothing changed"
    assert again.record == version

    with pytest.raises(RegistryConflictError, match="already registered with another wheel"):
        register(registry, "1.0.0", wheel="rebuilt")
    assert registry.version(MODEL, "1.0.0").wheel_sha256 == version.wheel_sha256


def test_a_version_of_an_unknown_model_is_refused(registry):
    with pytest.raises(RegistryLookupError, match="no model 'other' in the registry"):
        register(registry, "1.0.0", model="other")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"wheel": "x"}, "unexpected keyword argument 'wheel'"),
        ({"package": None}, "missing required keyword argument 'package'"),
    ],
)
def test_a_version_given_an_unknown_or_without_a_required_fact_is_refused(
    registry, change, message
):
    facts = {"wheel_sha256": sha("w"), "package": "injector_surrogate", "variables": VARIABLES}
    facts = {k: v for k, v in {**facts, **change}.items() if v is not None}
    for register_it in (
        lambda: registry.register_version(MODEL, "1.0.0", **facts),
        lambda: registry.register_release(
            MODEL, "1.0.0", deployment_id="d1", deployment_name="n", work_pool="p", **facts
        ),
    ):
        with pytest.raises(TypeError, match=message):
            register_it()
    assert registry.model(MODEL).versions == ()


def test_promote_makes_one_version_live(registry):
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        register(registry, version)
    first = registry.promote(MODEL, "1.0.0")
    assert first.changed and (first.previous_live, first.live) == (None, "1.0.0")
    assert first.message == f"{MODEL}@1.0.0 is live now (no version was live before)"

    second = registry.promote(MODEL, "1.1.0")
    assert second.message == f"{MODEL}@1.1.0 is live now (was 1.0.0)"
    assert (second.previous_live, second.live) == ("1.0.0", "1.1.0")
    statuses = {v.version: v.status for v in registry.model(MODEL).versions}
    assert statuses == {"1.0.0": "registered", "1.1.0": "live", "2.0.0": "registered"}
    assert registry.model(MODEL).live.version == "1.1.0"

    again = registry.promote(MODEL, "1.1.0")
    assert not again.changed and again.message == f"{MODEL}@1.1.0 is live already; nothing changed"


def test_retiring_the_live_version_leaves_none_live_and_it_cannot_come_back(registry):
    register(registry, "1.0.0")
    register(registry, "1.1.0")
    registry.promote(MODEL, "1.1.0")
    registry.record_deployment(MODEL, "1.1.0", deployment_id="d-1", name="v1.1", work_pool="local")

    retired = registry.retire(MODEL, "1.1.0")
    assert retired.changed and (retired.previous_live, retired.live) == ("1.1.0", None)
    assert retired.message == (
        f"retired {MODEL}@1.1.0; it was the live version, so {MODEL} has no live version now "
        f"(promote one: modelcrate registry promote {MODEL}@VERSION)"
    )
    assert retired.record.status == "retired" and retired.record.retired_at is not None
    assert registry.model(MODEL).live is None

    with pytest.raises(
        RegistryConflictError, match=r"1\.1\.0 was retired on .* cannot be made live"
    ):
        registry.promote(MODEL, "1.1.0")
    with pytest.raises(
        RegistryConflictError, match=r"1\.1\.0 was retired on .* cannot be deployed"
    ):
        registry.record_deployment(MODEL, "1.1.0", deployment_id="d-2", name="v", work_pool="local")
    assert not registry.retire(MODEL, "1.1.0").changed  # again: nothing changes

    other = registry.retire(MODEL, "1.0.0")  # not live: the message says just that
    assert other.message == f"retired {MODEL}@1.0.0"
    assert register(registry, "1.1.0").changed is False  # still registered, with its wheel


def test_deployments_are_recorded_and_listed_with_their_version(registry):
    register(registry, "1.0.0")
    schema = {"type": "object", "properties": {"laser_radius": {"type": "number"}}}
    first = registry.record_deployment(MODEL, "1.0.0", deployment_id="7f0c", name="injector",
                                       work_pool="local", parameters_schema=schema)  # fmt: skip
    assert first.changed and first.record.parameters_schema == schema
    same = registry.record_deployment(MODEL, "1.0.0", deployment_id="7f0c", name="injector",
                                      work_pool="local", parameters_schema=schema)  # fmt: skip
    assert not same.changed
    moved = registry.record_deployment(MODEL, "1.0.0", deployment_id="7f0c", name="injector",
                                       work_pool="k8s", parameters_schema=schema)  # fmt: skip
    assert moved.changed and moved.record.work_pool == "k8s"
    registry.record_deployment(MODEL, "1.0.0", deployment_id="9a9a", name="b", work_pool="docker")
    [model] = registry.models()
    assert [(d.deployment_id, d.work_pool) for d in model.versions[0].deployments] == [
        ("7f0c", "k8s"), ("9a9a", "docker")]  # fmt: skip


def test_lookups_name_what_is_missing(registry):
    register(registry, "1.0.0")
    with pytest.raises(RegistryLookupError, match=r"no model 'nope' in registry .*models: "):
        registry.model("nope")
    with pytest.raises(RegistryLookupError, match=r"has no version '9' .*its versions: 1\.0\.0"):
        registry.version(MODEL, "9")
    with pytest.raises(RegistryLookupError, match=r"has no version '9' \(its versions: 1\.0\.0\)"):
        registry.promote(MODEL, "9")


HOSTILE = [
    'O\'Brien "quoted" model',
    "Robert'); DROP TABLE modelcrate_registry_models;--",
    "模型-Ünïcødé-🚀",
    "QUAD:IN20:121:BACT",
    "%_ wildcards \\ back\\slash",
    "x" * 255,
]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_and_versions_are_stored_exactly(registry, name):
    registry.register_model(name, description=name + "\n second line")
    version = name[:200] if name != "x" * 255 else "v" * 255
    register(registry, version, model=name)
    registry.promote(name, version)
    record = registry.model(name)
    assert record.name == name and record.description == name + "\n second line"
    assert [v.version for v in record.versions] == [version]
    assert record.live.version == version
    assert {m.name for m in registry.models()} == {MODEL, name}  # nothing else touched


def test_names_differing_in_case_are_different_models(registry):
    registry.register_model(MODEL.upper())
    assert [m.name for m in registry.models()] == [MODEL.upper(), MODEL]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "the model name is empty; give one"),
        (" padded", "the model name ' padded' starts or ends with a space; remove it"),
        ("two\nlines", "the model name 'two\\nlines' holds a line break or control character"),
        ("a@b", "the model name 'a@b' holds '@', which separates MODEL@VERSION; remove it"),
        ("y" * 256, "is 256 characters long; the registry keeps at most 255"),
    ],
)
def test_names_the_registry_cannot_keep_are_refused_before_the_database(registry, name, message):
    with pytest.raises(RegistryConflictError) as caught:
        registry.register_model(name)
    assert message in str(caught.value)


def test_values_that_are_not_plain_json_are_refused(registry):
    with pytest.raises(RegistryConflictError, match="variables cannot be stored as JSON"):
        registry.register_version(MODEL, "1", wheel_sha256=sha("w"), package="p",
                                  variables={"x": float("nan")})  # fmt: skip
    with pytest.raises(RegistryConflictError, match="not a SHA-256 digest"):
        registry.register_version(MODEL, "1", wheel_sha256="abc", package="p", variables={})


def test_an_unreachable_registry_is_one_error_without_its_password():
    url = "postgresql://admin:s3cr%40t-pw@127.0.0.1:1/registry"
    with pytest.raises(RegistryError) as caught, open_registry(url) as registry:
        registry.models()
    message = str(caught.value)
    assert message.startswith(
        "registry postgresql://admin:***@127.0.0.1:1/registry: cannot connect"
    )
    assert "s3cr" not in message and "check that the database server is running" in message
    assert isinstance(caught.value, ModelcrateError)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("oracle://u:pw9@h/db", "registry oracle://u:***@h/db: unknown database 'oracle'"),
        ("mysql+mysqldb://u:pw9@h/db",
         "registry mysql+mysqldb://u:***@h/db: unknown or unsupported driver 'mysqldb' for mysql; "
         "write mysql://... or mysql+pymysql://..."),
        ("postgresql+asyncpg://u:pw9@h/db", "unknown or unsupported driver 'asyncpg'"),
        ("postgresql://u:pw9@h", "registry postgresql://u:***@h: name the database"),
        ("sqlite://", "a SQLite registry needs a file"),
    ],
)  # fmt: skip
def test_a_url_the_registry_cannot_use_is_refused(url, message):
    with pytest.raises(RegistryError) as caught, open_registry(url) as registry:
        registry.models()
    assert message in str(caught.value) and "pw9" not in str(caught.value)


def test_the_registry_setting_and_the_default_file(monkeypatch, tmp_path):
    from modelcrate.deploy.registry import default_registry_path, registry_url

    monkeypatch.delenv("MODELCRATE_REGISTRY", raising=False)
    assert registry_url() == f"sqlite:///{default_registry_path()}"
    assert default_registry_path().name == "registry.db"
    monkeypatch.setenv("MODELCRATE_REGISTRY", "postgresql://u@h/reg")
    assert registry_url() == "postgresql://u@h/reg"
    assert registry_url("mysql://u@h/r") == "mysql://u@h/r"  # given beats the setting
    monkeypatch.setenv("MODELCRATE_REGISTRY", str(tmp_path / "reg.db"))
    with open_registry() as registry:
        assert registry.models() == []
    assert (tmp_path / "reg.db").is_file()


def release(registry, version: str, *, model: str = "beam-size", wheel: str | None = None, **more):
    return registry.register_release(
        model,
        version,
        description=more.pop("description", "Beam size"),
        wheel_sha256=sha(wheel or f"{model} {version}"),
        package="beam_size",
        variables=VARIABLES,
        deployment_id=more.pop("deployment_id", f"id-{version}"),
        deployment_name=version,
        work_pool="local",
        **more,
    )


def test_a_release_records_model_version_and_deployment_and_the_first_goes_live(registry):
    first = release(registry, "1.0.0")
    assert first.changed and first.record.is_live
    assert first.messages == (
        "registered model beam-size",
        "registered beam-size@1.0.0",
        "recorded deployment 1.0.0 of beam-size@1.0.0",
        "beam-size@1.0.0 is live now (no version was live before)",
    )
    assert [d.deployment_id for d in first.record.deployments] == ["id-1.0.0"]
    again = release(registry, "1.0.0")
    assert not again.changed and again.record.is_live
    second = release(registry, "1.1.0")
    assert second.changed and not second.record.is_live  # waits for `registry promote`
    assert registry.model("beam-size").live.version == "1.0.0"


def test_a_release_that_fails_at_any_step_records_nothing(registry, monkeypatch):
    release(registry, "1.0.0", description="Beam size")
    # another wheel for a registered version: refused after the model's step ran
    with pytest.raises(RegistryConflictError, match="another wheel"):
        release(registry, "1.0.0", wheel="rebuilt", description="Changed")
    assert registry.model("beam-size").description == "Beam size"
    # a failure in the last step: the model and version of the same transaction are gone too
    from modelcrate.deploy.registry import _registry

    def failing(*args, **kwargs):
        def change(connection):
            raise RegistryConflictError("the deployment cannot be recorded")

        return change

    monkeypatch.setattr(_registry, "_deployment_change", failing)
    with pytest.raises(RegistryConflictError, match="cannot be recorded"):
        release(registry, "0.1.0", model="brand-new")
    assert [m.name for m in registry.models()] == ["beam-size", MODEL]
    assert [v.version for v in registry.model("beam-size").versions] == ["1.0.0"]


def test_a_retired_version_cannot_be_released_again(registry):
    release(registry, "1.0.0")
    registry.retire("beam-size", "1.0.0")
    with pytest.raises(RegistryConflictError, match="retired"):
        release(registry, "1.0.0", deployment_id="another")
    assert [d.deployment_id for d in registry.version("beam-size", "1.0.0").deployments] == [
        "id-1.0.0"
    ]


def test_a_release_the_registry_would_refuse_is_known_before_anything_changes(registry):
    registry.check_release("beam-size", "1.0.0", wheel_sha256=sha("x"))  # nothing registered
    release(registry, "1.0.0")
    registry.check_release("beam-size", "1.0.0", wheel_sha256=sha("beam-size 1.0.0"))  # again
    with pytest.raises(RegistryConflictError, match="another wheel"):
        registry.check_release("beam-size", "1.0.0", wheel_sha256=sha("rebuilt"))
    registry.retire("beam-size", "1.0.0")
    with pytest.raises(RegistryConflictError, match="retired"):
        registry.check_release("beam-size", "1.0.0", wheel_sha256=sha("beam-size 1.0.0"))
