"""The model registry: models, their versions and deployments, which version is live.

Every change runs in one transaction that first locks the model's row (SELECT ... FOR UPDATE on
PostgreSQL and MariaDB; SQLite's transactions are serialised by BEGIN IMMEDIATE), so changes to
one model happen one after another, while changes to different models go on side by side. The
database's own constraints back the rules up: a version is unique per model, and at most one
version of a model is live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..._errors import RegistryConflictError, RegistryLookupError
from ...runtime import Settings, load_settings
from ._checks import checked_json, checked_name, checked_sha256, checked_text
from ._database import open_engine, registry_url, reported, shown
from ._records import DeploymentRecord, ModelRecord, Outcome, Release, VersionRecord
from ._tables import deployments, models, versions

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

T = TypeVar("T")

_ATTEMPTS = 4
"""Times a change is tried when the database reports a conflict with a concurrent one."""
_MODEL_FIELDS = ("description", "author", "laboratory", "facility", "beampath")


class _RequiredFacts(TypedDict):
    wheel_sha256: str
    package: str
    variables: Mapping[str, Any]


class VersionFacts(_RequiredFacts, total=False):
    """What the registry records of a version's build, given to `register_version` and
    `register_release` as keywords: the wheel's SHA-256, the import package and the variables
    are required."""

    sdist_sha256: str | None
    source_url: str | None
    source_commit: str | None
    entry_points: Mapping[str, Mapping[str, str]] | None
    image: str | None
    requirements: Sequence[str] | None


def open_registry(url: str | None = None, *, settings: Settings | None = None) -> Registry:
    """The registry at `url`, else `$MODELCRATE_REGISTRY`, else the SQLite file under the user
    data directory; connected and migrated at its first use."""
    return Registry(url, settings=settings)


class Registry:
    """A model registry database. Use it as a context manager, or `close()` it."""

    def __init__(self, url: str | None = None, *, settings: Settings | None = None) -> None:
        settings = settings or load_settings()
        self.url = registry_url(url, settings=settings)
        self.connect_timeout = settings.connect_timeout
        self._engine: sa.Engine | None = None

    @property
    def name(self) -> str:
        """The registry's URL with its password masked, as messages show it."""
        return shown(self.url)

    @property
    def engine(self) -> sa.Engine:
        """The database engine: connected, and migrated at the first use in this process."""
        if self._engine is None:
            self._engine = open_engine(self.url, connect_timeout=self.connect_timeout)
        return self._engine

    def close(self) -> None:
        """Close the registry's connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # -- changes -----------------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        *,
        description: str | None = None,
        author: str | None = None,
        laboratory: str | None = None,
        facility: str | None = None,
        beampath: str | None = None,
    ) -> Outcome[ModelRecord]:
        """Add a model, or update the fields given (not None) of one that is registered."""
        name = checked_name("model name", name, at_sign=False)
        change = _model_change(name, description, author, laboratory, facility, beampath)
        changed, message = self._write(f"cannot register model {name!r}", change)
        return Outcome(self.model(name), changed, message)

    def register_version(
        self, model: str, version: str, **facts: Unpack[VersionFacts]
    ) -> Outcome[VersionRecord]:
        """Register a version of a registered model (`VersionFacts` lists what is recorded).
        Registering it again with the same wheel changes nothing (and says so) but record an
        `image` given for it; with another wheel it is refused."""
        _check_facts(facts)
        model = checked_name("model name", model, at_sign=False)
        version = checked_name("version", version, at_sign=False)
        change = _version_change(model, version, facts)
        changed, message = self._write(f"cannot register {model}@{version}", change)
        record = self.version(model, version)
        live = self._live_of(model)
        return Outcome(record, changed, message, previous_live=live, live=live)

    def record_deployment(
        self,
        model: str,
        version: str,
        *,
        deployment_id: str,
        name: str,
        work_pool: str,
        parameters_schema: Mapping[str, Any] | None = None,
    ) -> Outcome[DeploymentRecord]:
        """Record a Prefect deployment of a version (again: its name, pool or schema updated).
        A retired version cannot be deployed."""
        deployment_id = checked_name("deployment_id", str(deployment_id), limit=64)
        change = _deployment_change(
            model, version, deployment_id, name, work_pool, parameters_schema
        )
        changed, message = self._write(f"cannot record a deployment of {model}@{version}", change)
        record = next(
            d for d in self.version(model, version).deployments if d.deployment_id == deployment_id
        )
        return Outcome(record, changed, message)

    def register_release(
        self,
        model: str,
        version: str,
        *,
        deployment_id: str,
        deployment_name: str,
        work_pool: str,
        parameters_schema: Mapping[str, Any] | None = None,
        description: str | None = None,
        **facts: Unpack[VersionFacts],
    ) -> Release:
        """What `modelcrate deploy` records, in one transaction: the model (added, or its
        description updated), the version (`VersionFacts`), its deployment, and the version made
        live when the model has no live version. Either all of it is recorded or, on any error,
        none."""
        _check_facts(facts)
        model = checked_name("model name", model, at_sign=False)
        version = checked_name("version", version, at_sign=False)
        deployment_id = checked_name("deployment_id", str(deployment_id), limit=64)
        steps = (
            _model_change(model, description),
            _version_change(model, version, facts),
            _deployment_change(
                model, version, deployment_id, deployment_name, work_pool, parameters_schema
            ),
        )
        make_live = _promote_change(model, version)

        def change(connection: sa.Connection) -> list[tuple[bool, str]]:
            done = [step(connection) for step in steps]
            if _live_version(connection, _lock_model(connection, model).id) is None:
                changed, message, _ = make_live(connection)
                done.append((changed, message))
            return done

        done = self._write(f"cannot register {model}@{version}", change)
        return Release(
            self.version(model, version),
            any(changed for changed, _ in done),
            tuple(message for _, message in done),
        )

    def check_release(self, model: str, version: str, *, wheel_sha256: str) -> None:
        """A `RegistryConflictError` if `register_release` of this version and wheel would be
        refused (the version registered with another wheel, or retired): asked before anything
        is changed elsewhere, such as the Prefect deployment that the release records."""
        found = [m for m in self._read(model) if m.name == model]
        record = (
            next((v for v in found[0].versions if v.version == version), None) if found else None
        )
        if record is None:
            return
        if record.wheel_sha256 != checked_sha256("wheel_sha256", wheel_sha256):
            raise RegistryConflictError(
                f"{model}@{version} is already registered with another wheel "
                f"(sha256 {record.wheel_sha256[:12]}…, this one {wheel_sha256[:12]}…); "
                "a version is built once: tag a new version and deploy that"
            )
        if record.retired_at is not None:
            raise RegistryConflictError(
                f"{model}@{version} was retired on {_day(record.retired_at)} and cannot be "
                "deployed; deploy a newer version"
            )

    def promote(self, model: str, version: str) -> Outcome[VersionRecord]:
        """Make a version live; the model's live version before stops being live. A retired
        version cannot be promoted."""
        changed, message, previous = self._write(
            f"cannot promote {model}@{version}", _promote_change(model, version)
        )
        return Outcome(self.version(model, version), changed, message, previous, version)

    def retire(self, model: str, version: str) -> Outcome[VersionRecord]:
        """Retire a version for good: it can no longer be promoted or deployed. Retiring the
        live version leaves the model with no live version (the message says so)."""
        changed, message, previous = self._write(
            f"cannot retire {model}@{version}", _retire_change(model, version)
        )
        live = None if previous == version else previous
        return Outcome(self.version(model, version), changed, message, previous, live)

    # -- reading -----------------------------------------------------------------------------

    def models(self) -> list[ModelRecord]:
        """Every model, by name, each with its versions and their deployments."""
        return self._read(None)

    def model(self, name: str) -> ModelRecord:
        """One model, with its versions and their deployments."""
        found = self._read(name)
        if not found:
            raise RegistryLookupError(
                f"no model {name!r} in {self._known_models()}; check the name, or the registry "
                "(--registry or MODELCRATE_REGISTRY)"
            )
        return found[0]

    def version(self, model: str, version: str) -> VersionRecord:
        """One version of a model, with its deployments."""
        record = self.model(model)
        for found in record.versions:
            if found.version == version:
                return found
        known = ", ".join(v.version for v in record.versions) or "none yet"
        raise RegistryLookupError(
            f"model {model!r} has no version {version!r} in registry {self.name} "
            f"(its versions: {known})"
        )

    def _live_of(self, model: str) -> str | None:
        live = self.model(model).live
        return live.version if live else None

    def _known_models(self) -> str:
        names = [m.name for m in self._read(None)]
        shown_names = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
        return f"registry {self.name} ({'models: ' + shown_names if names else 'it has none'})"

    def _read(self, name: str | None) -> list[ModelRecord]:
        statement = sa.select(models)
        if name is not None:
            statement = statement.where(models.c.name == name)
        with reported(self.url, "cannot read the registry"), self.engine.connect() as connection:
            # sorted here, by code point: databases' collations sort names each their own way
            model_rows = sorted(connection.execute(statement).all(), key=lambda row: row.name)
            ids = [row.id for row in model_rows]
            if not ids:
                return []
            version_rows = connection.execute(
                sa.select(versions)
                .where(versions.c.model_id.in_(ids))
                .order_by(versions.c.created, versions.c.id)
            ).all()
            deployment_rows = connection.execute(
                sa.select(deployments)
                .where(deployments.c.version_id.in_([v.id for v in version_rows] or [-1]))
                .order_by(deployments.c.created, deployments.c.id)
            ).all()
        names = {row.id: row.name for row in model_rows}
        version_names = {row.id: (names[row.model_id], row.version) for row in version_rows}
        deployed: dict[int, list[DeploymentRecord]] = {}
        for d in deployment_rows:
            model_name, version_name = version_names[d.version_id]
            deployed.setdefault(d.version_id, []).append(
                DeploymentRecord(
                    model=model_name,
                    version=version_name,
                    deployment_id=d.deployment_id,
                    name=d.name,
                    work_pool=d.work_pool,
                    parameters_schema=d.parameters_schema,
                    created=d.created,
                )
            )
        by_model: dict[int, list[VersionRecord]] = {}
        for v in version_rows:
            by_model.setdefault(v.model_id, []).append(
                VersionRecord(
                    model=names[v.model_id],
                    version=v.version,
                    wheel_sha256=v.wheel_sha256,
                    sdist_sha256=v.sdist_sha256,
                    source_url=v.source_url,
                    source_commit=v.source_commit,
                    package=v.package,
                    entry_points=v.entry_points,
                    image=v.image,
                    variables=v.variables,
                    requirements=tuple(v.requirements) if v.requirements is not None else None,
                    created=v.created,
                    is_live=bool(v.live),
                    retired_at=v.retired_at,
                    deployments=tuple(deployed.get(v.id, ())),
                )
            )
        return [
            ModelRecord(
                name=m.name,
                description=m.description,
                author=m.author,
                laboratory=m.laboratory,
                facility=m.facility,
                beampath=m.beampath,
                created=m.created,
                updated=m.updated,
                versions=tuple(by_model.get(m.id, ())),
            )
            for m in model_rows
        ]

    def _write(self, doing: str, change: Callable[[sa.Connection], T]) -> T:
        """Run `change` in a transaction; again (up to a few times) when a concurrent change
        got there first (a duplicate key, a deadlock), so the next try sees what it did."""
        engine = self.engine
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with reported(self.url, doing), _retryable(attempt), engine.begin() as connection:
                    return change(connection)
            except _TryAgain:
                continue
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt raises


# -- the changes, each a function of a connection in a transaction that the caller runs -------

Change = Callable[[sa.Connection], T]


def _model_change(
    name: str,
    description: str | None = None,
    author: str | None = None,
    laboratory: str | None = None,
    facility: str | None = None,
    beampath: str | None = None,
) -> Change[tuple[bool, str]]:
    given = {
        key: checked_text(key, value)
        for key, value in zip(
            _MODEL_FIELDS, (description, author, laboratory, facility, beampath), strict=True
        )
        if value is not None
    }

    def change(connection: sa.Connection) -> tuple[bool, str]:
        now = _now()
        row = _lock_model(connection, name, missing_ok=True)
        if row is None:
            connection.execute(
                sa.insert(models).values(name=name, created=now, updated=now, **given)
            )
            return True, f"registered model {name}"
        different = {k: v for k, v in given.items() if getattr(row, k) != v}
        if not different:
            return False, f"model {name} is registered already; nothing changed"
        connection.execute(
            sa.update(models).where(models.c.id == row.id).values(updated=now, **different)
        )
        return True, f"updated model {name} ({', '.join(sorted(different))})"

    return change


def _check_facts(facts: VersionFacts) -> None:
    """The `TypeError` a call would raise if the facts were named parameters."""
    unknown = sorted(facts.keys() - VersionFacts.__annotations__.keys())
    missing = sorted(VersionFacts.__required_keys__ - facts.keys())
    if unknown or missing:
        raise TypeError(
            f"unexpected keyword argument {unknown[0]!r}"
            if unknown
            else f"missing required keyword argument {missing[0]!r}"
        )


def _version_change(model: str, version: str, facts: VersionFacts) -> Change[tuple[bool, str]]:
    wheel_sha256 = checked_sha256("wheel_sha256", facts["wheel_sha256"])
    sdist_sha256, requirements = facts.get("sdist_sha256"), facts.get("requirements")
    row_values = {
        "version": version,
        "wheel_sha256": wheel_sha256,
        "sdist_sha256": checked_sha256("sdist_sha256", sdist_sha256) if sdist_sha256 else None,
        "source_url": checked_text("source_url", facts.get("source_url")),
        "source_commit": checked_text("source_commit", facts.get("source_commit"), limit=64),
        "package": checked_name("package", facts["package"]),
        "entry_points": checked_json("entry_points", dict(facts.get("entry_points") or {})),
        "image": checked_text("image", facts.get("image")),
        "variables": checked_json("variables", dict(facts["variables"])),
        "requirements": (
            checked_json("requirements", [str(line) for line in requirements])
            if requirements is not None
            else None
        ),
    }

    def change(connection: sa.Connection) -> tuple[bool, str]:
        model_row = _lock_model(connection, model)
        existing = connection.execute(
            sa.select(
                versions.c.id, versions.c.wheel_sha256, versions.c.image, versions.c.requirements
            ).where(versions.c.model_id == model_row.id, versions.c.version == version)
        ).first()
        if existing is not None:
            if existing.wheel_sha256 != wheel_sha256:
                raise RegistryConflictError(
                    f"{model}@{version} is already registered with another wheel "
                    f"(sha256 {existing.wheel_sha256[:12]}…, this one {wheel_sha256[:12]}…); "
                    "a version is built once: tag a new version and register that"
                )
            # what a version registered before did not have: its image, named now, and its
            # requirements (a registry made before they were kept)
            later = {
                key: row_values[key]
                for key in ("image", "requirements")
                if row_values[key] is not None and getattr(existing, key) != row_values[key]
            }
            if later:
                connection.execute(
                    sa.update(versions).where(versions.c.id == existing.id).values(**later)
                )
                said = " and ".join(
                    f"the image {value}" if key == "image" else "the requirements"
                    for key, value in later.items()
                )
                return True, f"recorded {said} of {model}@{version}"
            return (
                False,
                f"{model}@{version} is already registered with this wheel; nothing changed",
            )
        connection.execute(
            sa.insert(versions).values(model_id=model_row.id, created=_now(), **row_values)
        )
        return True, f"registered {model}@{version}"

    return change


def _deployment_change(
    model: str,
    version: str,
    deployment_id: str,
    name: str,
    work_pool: str,
    parameters_schema: Mapping[str, Any] | None,
) -> Change[tuple[bool, str]]:
    values = {
        "name": checked_name("deployment name", name),
        "work_pool": checked_name("work pool", work_pool),
        "parameters_schema": (
            checked_json("parameters_schema", dict(parameters_schema))
            if parameters_schema is not None
            else None
        ),
    }

    def change(connection: sa.Connection) -> tuple[bool, str]:
        model_row = _lock_model(connection, model)
        row = _version_row(connection, model_row, model, version)
        if row.retired_at is not None:
            raise RegistryConflictError(
                f"{model}@{version} was retired on {_day(row.retired_at)} and cannot be "
                "deployed; deploy a newer version"
            )
        found = connection.execute(
            sa.select(deployments).where(
                deployments.c.version_id == row.id,
                deployments.c.deployment_id == deployment_id,
            )
        ).first()
        if found is None:
            connection.execute(
                sa.insert(deployments).values(
                    version_id=row.id, deployment_id=deployment_id, created=_now(), **values
                )
            )
            return True, f"recorded deployment {values['name']} of {model}@{version}"
        different = {k: v for k, v in values.items() if getattr(found, k) != v}
        if not different:
            return False, f"deployment {deployment_id} of {model}@{version} is recorded already"
        connection.execute(
            sa.update(deployments).where(deployments.c.id == found.id).values(**different)
        )
        return True, f"updated deployment {deployment_id} of {model}@{version}"

    return change


def _promote_change(model: str, version: str) -> Change[tuple[bool, str, str | None]]:
    def change(connection: sa.Connection) -> tuple[bool, str, str | None]:
        model_row = _lock_model(connection, model)
        row = _version_row(connection, model_row, model, version)
        if row.retired_at is not None:
            raise RegistryConflictError(
                f"{model}@{version} was retired on {_day(row.retired_at)} and cannot be "
                "made live again; promote another version"
            )
        previous = _live_version(connection, model_row.id)
        if previous == version:
            return False, f"{model}@{version} is live already; nothing changed", previous
        connection.execute(
            sa.update(versions)
            .where(versions.c.model_id == model_row.id, versions.c.live.is_not(None))
            .values(live=None)
        )
        connection.execute(sa.update(versions).where(versions.c.id == row.id).values(live=True))
        before = f" (was {previous})" if previous else " (no version was live before)"
        return True, f"{model}@{version} is live now{before}", previous

    return change


def _retire_change(model: str, version: str) -> Change[tuple[bool, str, str | None]]:
    def change(connection: sa.Connection) -> tuple[bool, str, str | None]:
        model_row = _lock_model(connection, model)
        row = _version_row(connection, model_row, model, version)
        previous = _live_version(connection, model_row.id)
        if row.retired_at is not None:
            return False, f"{model}@{version} was retired already; nothing changed", previous
        connection.execute(
            sa.update(versions).where(versions.c.id == row.id).values(retired_at=_now(), live=None)
        )
        message = f"retired {model}@{version}"
        if previous == version:
            message += (
                f"; it was the live version, so {model} has no live version now "
                f"(promote one: modelcrate registry promote {model}@VERSION)"
            )
        return True, message, previous

    return change


class _TryAgain(Exception):
    """A transaction met a concurrent one and is to be run again."""


@contextmanager
def _retryable(attempt: int) -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        if attempt < _ATTEMPTS:
            raise _TryAgain() from None
        raise
    except DBAPIError as exc:
        if attempt < _ATTEMPTS and _is_deadlock(exc):
            raise _TryAgain() from None
        raise


def _is_deadlock(exc: DBAPIError) -> bool:
    """A deadlock, lock wait timeout or serialisation failure: worth trying again."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40001", "40P01"):
        return True
    args: tuple[Any, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] in (1205, 1213)  # MariaDB/MySQL: lock wait, deadlock


def _lock_model(connection: sa.Connection, name: str, *, missing_ok: bool = False) -> Any:
    """The model's row, locked until the transaction ends; a `RegistryLookupError` if there is
    none (None with `missing_ok`)."""
    row = connection.execute(
        sa.select(models).where(models.c.name == name).with_for_update()
    ).first()
    if row is None and not missing_ok:
        raise RegistryLookupError(
            f"no model {name!r} in the registry (`modelcrate registry list` shows its models)"
        )
    return row


def _version_row(connection: sa.Connection, model_row: Any, model: str, version: str) -> Any:
    row = connection.execute(
        sa.select(versions)
        .where(versions.c.model_id == model_row.id, versions.c.version == version)
        .with_for_update()
    ).first()
    if row is None:
        known = connection.execute(
            sa.select(versions.c.version)
            .where(versions.c.model_id == model_row.id)
            .order_by(versions.c.created, versions.c.id)
        ).scalars()
        listed = ", ".join(known) or "none yet"
        raise RegistryLookupError(
            f"model {model!r} has no version {version!r} (its versions: {listed}); "
            "see modelcrate registry show " + model
        )
    return row


def _live_version(connection: sa.Connection, model_id: int) -> str | None:
    found: str | None = connection.execute(
        sa.select(versions.c.version).where(
            versions.c.model_id == model_id, versions.c.live.is_not(None)
        )
    ).scalar()
    return found


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _day(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
