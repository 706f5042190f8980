"""Settings of the runtime, read from `MODELCRATE_*` environment variables (pydantic-settings).

So a container needs no code change: `MODELCRATE_TARGET` names the default targets of runs that
name none, `MODELCRATE_TARGETS__<NAME>` a target that runs refer to as `@name` (a database URL
with its password stays in the environment, out of flow parameters and results), and
`MODELCRATE_MOUNTS` the host paths mounted into the container. `MODELCRATE_REGISTRY` is the model
registry's database URL (read by `modelcrate.deploy`, never by a packaged model).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_PREFIX = "MODELCRATE_"


class Mount(BaseModel):
    """A host directory mounted into a container: results written to `container` are in `host`."""

    model_config = ConfigDict(frozen=True)

    host: str
    container: str

    @classmethod
    def parse(cls, text: str) -> Mount:
        """`HOST:CONTAINER`, as in `docker run -v HOST:CONTAINER`."""
        host, sep, container = text.strip().partition(":")
        if not sep or not host.startswith("/") or not container.startswith("/"):
            shown = repr(text.strip()) if _looks_like_paths(text) else "(not shown)"
            raise ValueError(
                f"mount {shown}: write HOST:CONTAINER with absolute paths, "
                "e.g. /data/results:/mnt/results"
            )
        container = container.split(":", 1)[0]  # drop docker's :ro / :rw
        return cls(host=str(PurePosixPath(host)), container=str(PurePosixPath(container)))


def _looks_like_paths(text: str) -> bool:
    """Whether text can be shown in a message: paths, not a URI that may hold a password."""
    return "@" not in text and "//" not in text and text.count(":") <= 2


class Settings(BaseModel):
    """The runtime's settings; `load_settings()` reads them from the environment."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    target: list[str] = Field(
        default_factory=list,
        description="Default target URIs of runs that name none (comma-separated).",
    )
    targets: dict[str, str] = Field(
        default_factory=dict,
        description="Named targets, used as `@name` (MODELCRATE_TARGETS__NAME=URI).",
    )
    mounts: list[Mount] = Field(
        default_factory=list,
        description="Host directories mounted into this container, HOST:CONTAINER, comma-separated.",
    )
    fsync: bool = Field(
        default=True, description="Flush each result file to disk before it is linked into place."
    )
    registry: str | None = Field(
        default=None,
        description="The model registry's database URL (sqlite:///..., postgresql://..., "
        "mysql+pymysql://...); unset, a SQLite file under the user data directory.",
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a database server before giving up."
    )

    @field_validator("target", mode="before")
    @classmethod
    def _split_targets(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("targets", mode="before")
    @classmethod
    def _named_targets(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise ValueError(
                    f"not JSON ({exc}); write an object of names and URIs, "
                    'e.g. {"prod": "postgresql://host/db"}'
                ) from None
        if isinstance(value, Mapping):
            return {str(k).lower(): v for k, v in value.items()}
        return value

    @field_validator("mounts", mode="before")
    @classmethod
    def _parse_mounts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            mounts = []
            for number, item in enumerate(value, 1):
                try:
                    mounts.append(Mount.parse(item) if isinstance(item, str) else item)
                except ValueError as exc:
                    where = f" (entry {number} of {len(value)}):" if len(value) > 1 else ":"
                    raise ValueError(str(exc).replace(": write", f"{where} write", 1)) from None
            return mounts
        return value


_EnvSettings: type[Settings] | None = None


def load_settings() -> Settings:
    """The settings from `MODELCRATE_*` environment variables (defaults where none is set).

    pydantic-settings is imported only when such a variable is set: it costs a tenth of a
    second, which `modelcrate run` without configuration does not pay.
    """
    if not any(key.upper().startswith(ENV_PREFIX) for key in os.environ):
        return Settings()
    from pydantic import ValidationError

    from .._errors import SettingsError

    try:
        return _env_settings_class()()
    except (ValidationError, ValueError) as exc:
        raise SettingsError(_settings_problem(exc)) from None


def _env_settings_class() -> type[Settings]:
    global _EnvSettings
    if _EnvSettings is None:
        from pydantic.fields import FieldInfo
        from pydantic_settings import (
            BaseSettings,
            EnvSettingsSource,
            PydanticBaseSettingsSource,
            SettingsConfigDict,
        )

        class Source(EnvSettingsSource):
            """Decodes `MODELCRATE_TARGETS` as JSON, so it merges with `MODELCRATE_TARGETS__NAME`
            variables (undecoded, the JSON would replace them); other values stay text."""

            def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
                if field_name == "targets" and isinstance(value, str) and value.strip():
                    try:
                        return json.loads(value)
                    except ValueError:
                        return value  # the validator says what is wrong with it
                return value

        class EnvSettings(BaseSettings, Settings):
            model_config = SettingsConfigDict(
                env_prefix=ENV_PREFIX,
                env_nested_delimiter="__",
                enable_decoding=False,
                frozen=True,
                extra="ignore",
            )

            @classmethod
            def settings_customise_sources(
                cls,
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return init_settings, Source(settings_cls)

        _EnvSettings = EnvSettings
    return _EnvSettings


def _settings_problem(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        field, *inner = [str(p) for p in first["loc"]] or ["?"]
        message = str(first["msg"]).removeprefix("Value error, ")
        where = f" (at {'.'.join(inner)})" if inner else ""
        return f"{ENV_PREFIX}{field.upper()}: {message}{where}; fix the environment variable"
    return f"{ENV_PREFIX}*: {exc}; fix the environment variable"
