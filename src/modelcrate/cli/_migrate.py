"""`modelcrate migrate OLD_PROJECT`: a setup.py / setup.cfg package into a pyproject.toml one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._output import exit_failed, one_line, shown_path
from ._progress import spinner

if TYPE_CHECKING:
    from ..packaging import MigrationPlan, Parity

_MARKS = {"add": "A", "modify": "M", "remove": "D", "move": "R"}


@click.command()
@click.argument("project", type=click.Path(path_type=Path), default=".")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Migrate a copy of the project (with its git history; without environments, caches and "
    "build output) into this new directory [default: in place, on a new git branch].",
)
@click.option(
    "--dry-run", is_flag=True, help="Print what would change, file by file; write nothing."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan, notes and wheel comparison as JSON."
)
@click.option(
    "--diff", is_flag=True, help="With --dry-run: print the changes as a unified diff too."
)
@click.option(
    "--accept-differences",
    is_flag=True,
    help="Migrate even when the migrated wheel differs from the old one (the differences are "
    "still printed).",
)
@click.option(
    "--no-wheel-check",
    is_flag=True,
    help="Do not build and compare the old and the migrated wheels (they need the network for "
    "their build requirements).",
)
def migrate(
    project: Path,
    output: Path | None,
    dry_run: bool,
    as_json: bool,
    diff: bool,
    accept_differences: bool,
    no_wheel_check: bool,
) -> None:
    """Move a setuptools package's setup.py, setup.cfg and requirements files to pyproject.toml.

    setup.py is read, never run; what cannot be known without running it is listed with its
    file and line, and what was done instead. Versioneer becomes setuptools-scm (the same git
    tags give the same versions). Both wheels are built and compared before anything is
    written: when they differ, nothing is written and the exit code is 1 (unless
    --accept-differences). In place, the change is one commit on a new branch,
    modelcrate-migrate; the work tree must have no uncommitted changes.

    A LUME-services template project also becomes a modelcrate project: its package moves
    under src/ (as renames git follows) with its variables file, upgraded, as
    src/PACKAGE/variables.yml; its lume-model model runs behind modelcrate.Model; a Prefect 3
    flow (with the old flow's plain tasks) and the modelcrate.models and modelcrate.flows entry
    points replace the old flow's `orchestration` ones; README tables, the template's CI
    workflows, Dockerfile and prefect.yaml are added, and environment.yml follows
    pyproject.toml. Which `modelcrate check` checks are left to the user, and why, is listed.
    """
    from ..packaging import migrate_project

    with spinner(f"migrating {shown_path(project.absolute())}"):
        migrated = migrate_project(
            project,
            output=output,
            dry_run=dry_run,
            check_wheels=not no_wheel_check,
            accept_differences=accept_differences,
        )
    plan = migrated.plan
    if as_json:
        click.echo(json.dumps(migrated.to_dict(), indent=2))
        if not (migrated.applied or dry_run or plan.already_migrated):
            exit_failed()
        return
    shown = shown_path(plan.project)
    if plan.already_migrated:
        click.echo(f"{shown} is already migrated (pyproject.toml declares it): nothing to do.")
        return
    click.echo(f"{'Would migrate' if dry_run else 'Migrating'} {shown} to pyproject.toml:")
    for change in plan.changes:
        path = f"{change.source} -> {change.path}" if change.source else change.path
        click.echo(one_line(f"  {_MARKS[change.action]} {path}: {change.what}"))
    _echo_notes(plan)
    if dry_run:
        if diff:
            click.echo(plan.diff(), nl=False)
        click.echo("Dry run: nothing was written (the wheels are compared when migrating).")
        return
    if migrated.parity is not None:
        _echo_parity(migrated.parity, accepted=accept_differences)
    if not migrated.applied:
        if migrated.parity is not None and not migrated.parity.built:
            click.echo(
                "Nothing was written: the wheels could not be compared (builds need the network "
                "for their build requirements; --no-wheel-check skips the comparison)."
            )
        else:
            click.echo("Nothing was written.")
        exit_failed()
    assert migrated.destination is not None
    where = shown_path(migrated.destination)
    if migrated.commit:
        click.echo(
            f"Committed on branch {migrated.branch} in {where} ({migrated.commit}); review with "
            "`git show`, then merge it."
        )
    else:
        click.echo(f"Written in {where} (not a git repository: nothing was committed).")


def _echo_notes(plan: MigrationPlan) -> None:
    if not plan.notes:
        return
    click.echo(f"Not carried over as it was ({len(plan.notes)}):")
    for note in plan.notes:
        click.echo(one_line(f"  - {note}"))


def _echo_parity(parity: Parity, *, accepted: bool) -> None:
    if parity.old is not None and parity.new is not None:
        new = parity.new
        counts = ", ".join(
            _count(len(items), noun)
            for items, noun in (
                (new.modules, "module"),
                (new.data, "data file"),
                (new.entry_points, "entry point"),
                (new.requirements, "requirement"),
            )
        )
        if parity.same:
            click.echo(
                f"Wheel parity: the migrated wheel installs what the old one did ({counts})."
            )
        else:
            click.echo(f"Wheel parity: the wheels differ ({counts} in the migrated one):")
    for difference in parity.differences:
        click.echo(one_line(f"  ! {difference}"))
    for difference in parity.expected:
        click.echo(one_line(f"  ~ {difference} (meant: see above)"))
    if parity.differences and parity.built and not accepted:
        click.echo("Check the differences; migrate again with --accept-differences to keep them.")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
