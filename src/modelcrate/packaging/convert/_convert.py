"""`convert_artifact`: a trained model (an ONNX graph, a scikit-learn estimator, a TorchScript
module, a lume-torch model config) into the same complete project `new` makes, with the artifact
inside and a model class that runs it."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from ..._errors import ArtifactError, OutputError, ProjectError, SpecError
from ...runtime import (
    BINDING_FILE,
    Binding,
    Slot,
    encode_value,
    file_sha256,
    pack_inputs,
    read_binding,
    unpack_outputs,
)
from ...spec import Spec, dump_spec, load_spec, parse_spec, write_text_atomic
from .._options import ProjectOptions
from .._project import variables_path
from ..scaffold._releases import TemplateRelease
from ..scaffold._write import write_project
from ._inferred import Inferred, listed, reason
from ._kinds import kind_of
from ._variables import draw_samples, open_ranges, reconcile

log = logging.getLogger("modelcrate.packaging")

SAMPLES_FILE = "tests/artifact_samples.json"
"""Where a converted project keeps the inputs drawn at conversion and the artifact's outputs."""


@dataclass(frozen=True)
class Conversion:
    """What `read_artifact` found: the artifact, its variables (inferred, or given and checked),
    the input sets its tests replay and the outputs the artifact gave for them, and what the
    user should review."""

    source: Path
    inferred: Inferred
    spec: Spec
    samples: tuple[dict[str, Any], ...]
    expected: tuple[dict[str, Any], ...]
    review: tuple[str, ...]

    @property
    def described(self) -> tuple[tuple[str, str], ...]:
        """What was read from the artifact, as (label, text) lines; the inputs' and outputs'
        lines name the variables as the package does (a variables file's names, say)."""
        slots = {"inputs": self.inferred.inputs, "outputs": self.inferred.outputs}
        return tuple(
            (label, _named(text, slots[label]) if label in slots else text)
            for label, text in self.inferred.described
        )


@dataclass(frozen=True)
class Converted:
    """What `convert_artifact` made: where, from what, and whether it is a git repository."""

    path: Path
    options: ProjectOptions
    conversion: Conversion
    git: bool
    template: TemplateRelease | None = None

    @property
    def spec(self) -> Spec:
        """The project's variables."""
        return self.conversion.spec


def read_artifact(
    artifact: str | os.PathLike[str],
    *,
    variables: str | os.PathLike[str] | None = None,
    trust: bool = False,
) -> Conversion:
    """Read a trained model and infer its variables (or check those of `variables` against it),
    draw sample inputs and record the artifact's own outputs for them. Writes nothing.

    `trust` loads what runs code or holds types that are not trusted by default (a joblib or
    pickle file, a skops file with other types); `ArtifactError` names the file and what is
    wrong otherwise."""
    source = Path(artifact).expanduser()
    _check_readable(source)
    given = load_spec(variables) if variables is not None else None
    inferred = kind_of(source).inspect(source, trust=trust, variables=given)
    if given is not None:
        inferred, spec = reconcile(inferred, given, artifact=source.name)
    else:
        inferred = _unclashed(inferred)
        spec = Spec(
            inputs=cast(Any, inferred.input_variables), outputs=cast(Any, inferred.output_variables)
        )
    spec = _checked(spec, source, given is not None)
    samples = draw_samples(spec)
    expected = _run(inferred, spec, samples, source)
    return Conversion(
        source=source,
        inferred=inferred,
        spec=spec,
        samples=tuple(samples),
        expected=tuple(expected),
        review=tuple(_review(inferred, spec, given is not None)),
    )


def convert_artifact(
    artifact: str | os.PathLike[str] | Conversion,
    destination: str | os.PathLike[str],
    options: ProjectOptions,
    *,
    variables: str | os.PathLike[str] | None = None,
    trust: bool = False,
    git: bool = True,
    template: TemplateRelease | None = None,
) -> Converted:
    """Make a complete project at `destination` that runs `artifact` (a path, or what
    `read_artifact` read), all or nothing: the project `new` makes, with the artifact and its
    binding file in the package, a model class that loads it, and tests that compare the
    package's outputs with the artifact's own."""
    conversion = (
        artifact
        if isinstance(artifact, Conversion)
        else read_artifact(artifact, variables=variables, trust=trust)
    )
    inferred = conversion.inferred
    answers = {
        "artifact_kind": inferred.kind,
        "artifact_file": inferred.file_name,
        "artifact_data": sorted(inferred.files),
        "artifact_summary": inferred.summary,
        "artifact_source": conversion.source.name,
        "artifact_requirements": list(inferred.requirements),
        "artifact_review": list(conversion.review),
    }
    dest = Path(destination).expanduser().resolve()

    def add_files(work: Path) -> None:
        _write_artifact(conversion, work, options.package_name)

    try:
        made_repo, template = write_project(
            conversion.spec, dest, options, git=git, template=template,
            answers=json.loads(json.dumps(answers)), add_files=add_files,
        )  # fmt: skip
    except OSError as exc:
        raise ProjectError(
            f"{dest}: cannot make the project there ({exc.strerror or exc}); "
            "choose another -o directory"
        ) from None
    log.info("converted %s into %s", conversion.source, dest)
    return Converted(dest, options, conversion, made_repo, template)


def _named(text: str, slots: Sequence[Slot]) -> str:
    """A line of `NAMES <- WHERE` segments (one per slot, "; " between them) with each slot's
    variables as NAMES; the line as it is when it is not made so."""
    segments = text.split("; ")
    if len(segments) != len(slots) or not all(" <- " in segment for segment in segments):
        return text
    return "; ".join(
        f"{listed(list(slot.names))} <- {segment.partition(' <- ')[2]}"
        for slot, segment in zip(slots, segments, strict=True)
    )


def _unclashed(inferred: Inferred) -> Inferred:
    """The artifact with each output name guessed here that an input has already (a table's
    column named `y` or `label`) made the output's own: `y_predicted`."""
    inputs = {v.name for v in inferred.input_variables}
    taken = inputs | {v.name for v in inferred.output_variables}
    renames: dict[str, str] = {}
    for variable in inferred.output_variables:
        if variable.name in inputs and variable.name in inferred.guessed:
            new, count = f"{variable.name}_predicted", 2
            while new in taken:
                new, count = f"{variable.name}_predicted_{count}", count + 1
            renames[variable.name] = new
            taken.add(new)
    if not renames:
        return inferred
    outputs = tuple(
        v.model_copy(update={"name": renames[v.name]}) if v.name in renames else v
        for v in inferred.output_variables
    )
    renamed = replace(inferred.renamed({}, renames), output_variables=outputs)
    return replace(renamed, guessed=renamed.guessed | set(renames.values()))


def _check_readable(source: Path) -> None:
    if not source.exists():
        raise ArtifactError(f"{source}: no such file; give the path of the trained model")
    if not source.is_file():
        raise ArtifactError(f"{source}: not a file; give the path of the trained model file")
    try:
        with source.open("rb") as file:
            empty = not file.read(1)
    except OSError as exc:
        raise ArtifactError(f"{source}: cannot read it ({exc.strerror or exc})") from None
    if empty:
        raise ArtifactError(f"{source}: the file is empty; save or export the model again")


def _checked(spec: Spec, source: Path, given: bool) -> Spec:
    """The spec as its own loader reads it back (the rules of variables files applied)."""
    try:
        return parse_spec(dump_spec(spec), source=f"the variables of {source.name}")
    except SpecError as exc:
        if given:
            raise
        raise ArtifactError(
            f"{source}: its names cannot be variable names ({exc}); give the names in a "
            "variables file with --variables FILE"
        ) from None


def _run(
    inferred: Inferred, spec: Spec, samples: list[dict[str, Any]], source: Path
) -> list[dict[str, Any]]:
    """The artifact's own outputs for the sample input sets (called directly, not through the
    package), checked against the output variables."""
    wanted = [slot.name for slot in inferred.outputs]
    batched = all(s.batched for s in (*inferred.inputs, *inferred.outputs))
    groups = [samples] if batched else [[s] for s in samples]
    outputs: list[dict[str, Any]] = []
    try:
        for group in groups:
            arrays = inferred.run(pack_inputs(inferred.inputs, group), wanted)
            outputs += unpack_outputs(inferred.outputs, arrays, len(group))
    except OutputError as exc:
        raise ArtifactError(f"{source}: {exc}; check the variables against the model") from None
    except Exception as exc:  # the artifact's own error on the sample inputs
        raise ArtifactError(
            f"{source}: running it on sample inputs failed ({reason(exc)}); check that its "
            "variables (and their ranges) are what it takes"
        ) from None
    for values in outputs:
        for variable in spec.outputs:
            try:
                values[variable.name] = variable.check(values[variable.name])
            except ValueError as exc:
                raise ArtifactError(
                    f"{source}: its output {variable.name!r} on sample inputs {exc}; declare "
                    "the output as the model gives it"
                ) from None
    return outputs


def _review(inferred: Inferred, spec: Spec, given: bool) -> list[str]:
    """What the user should review: names guessed, ranges open, defaults guessed, no units."""
    lines = []
    guessed = [v.name for v in (*spec.inputs, *spec.outputs) if v.name in inferred.guessed]
    if guessed:
        lines.append(
            f"names guessed (the artifact gives none): {listed(guessed)}; to rename them, "
            "convert again with --variables FILE (artifact.json binds the names)"
        )
    unbounded = open_ranges(spec.inputs)
    if unbounded:
        lines.append(
            f"no range for {listed(unbounded)}: an artifact cannot say, so they are open, and "
            "the tests drew their values within one unit (or the default's size) of the "
            "default; add value_range in variables.yml (the tests then replay the samples "
            "inside it)"
        )
    if not given and not inferred.declared:
        lines.append(
            "defaults guessed: 0 (false, empty text) for every scalar input; set default_value "
            "in variables.yml"
        )
    no_unit = [v.name for v in (*spec.inputs, *spec.outputs) if not v.unit]
    if no_unit:
        lines.append(f"units unknown for {listed(no_unit)}: add unit in variables.yml")
    return [*lines, *inferred.notes]


def _write_artifact(conversion: Conversion, work: Path, package_name: str) -> None:
    """Copy the artifact into the rendered package, write its binding file and the samples
    the tests replay, and read both back."""
    inferred = conversion.inferred
    package = variables_path(work, package_name).parent
    copied = package / inferred.file_name
    if inferred.contents is None:
        shutil.copyfile(conversion.source, copied)
    else:
        copied.write_bytes(inferred.contents)
    for name, source in inferred.files.items():
        shutil.copyfile(source, package / name)
    binding = Binding(
        kind=inferred.kind,
        file=inferred.file_name,
        sha256=file_sha256(copied),
        inputs=inferred.inputs,
        outputs=inferred.outputs,
        options=dict(inferred.options),
        files={name: file_sha256(package / name) for name in sorted(inferred.files)},
    )
    binding_path = package / BINDING_FILE
    write_text_atomic(binding_path, json.dumps(binding.to_dict(), indent=2) + "\n")
    samples = {
        "inputs": [{k: encode_value(v) for k, v in s.items()} for s in conversion.samples],
        "outputs": [{k: encode_value(v) for k, v in o.items()} for o in conversion.expected],
        "tolerance": inferred.tolerance(),
    }
    samples_path = work / SAMPLES_FILE
    write_text_atomic(samples_path, json.dumps(samples, indent=1, allow_nan=False) + "\n")
    try:
        same = read_binding(binding_path).to_dict() == binding.to_dict()
        json.loads(samples_path.read_text(encoding="utf-8"))
    except (ProjectError, ValueError) as exc:
        same = False
        log.debug("binding file does not read back: %s", exc)
    if not same:
        raise ProjectError(
            f"{BINDING_FILE}: the written binding file does not read back; nothing was "
            "written: please report this with the model file"
        )
