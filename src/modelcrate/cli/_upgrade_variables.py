"""`modelcrate upgrade-variables FILE`: rewrite a variables file in the current LUME form."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("upgrade-variables")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write [default: rewrite FILE in place].",
)
def upgrade_variables(file: Path, output: Path | None) -> None:
    """Rewrite a variables FILE of any LUME generation in the current one
    (variable_class, default_value, value_range, unit, read_only)."""
    from ..spec import upgraded_text, write_text_atomic

    text = upgraded_text(file)
    target = output or file
    if _holds_text(target, text):
        click.echo(f"{target} is already in the current form; nothing to do.")
        return
    write_text_atomic(target, text)
    click.echo(f"Wrote {target} in the current form.")


def _holds_text(path: Path, text: str) -> bool:
    """Whether `path` is a regular file (links followed) holding exactly `text`."""
    from ..spec import MAX_FILE_BYTES

    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return False
        return path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False
