"""Reading the text files a user names (variables files, inputs), bounded in size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from .._errors import FileError, ModelcrateError

MAX_FILE_BYTES = 16 * 1024 * 1024
"""The largest variables or inputs file modelcrate reads (16 MiB)."""


def read_text_file(
    path: str | os.PathLike[str],
    *,
    what: str,
    error: type[ModelcrateError] = FileError,
) -> str:
    """The UTF-8 text of the file `what` at `path` (at most `MAX_FILE_BYTES`); raise `error`
    naming the file and what to do when it is missing, not a file, too large or not text."""
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            return read_text_stream(stream, name=str(path), error=error)
    except FileNotFoundError:
        raise error(f"{path}: no such file; give the path of your {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory; give the path of a {what}") from None
    except PermissionError:
        raise error(f"{path}: cannot be read (permission denied); check its permissions") from None
    except OSError as exc:
        raise error(
            f"{path}: cannot be read ({exc.strerror or exc}); give the path of a {what}"
        ) from None


def read_text_stream(
    stream: BinaryIO, *, name: str, error: type[ModelcrateError] = FileError
) -> str:
    """The UTF-8 text of a binary stream (a file, a pipe, standard input), reading at most
    `MAX_FILE_BYTES` + 1 bytes whatever the stream claims to be; raise `error` naming `name`."""
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise error(
            f"{name}: is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; "
            "give a smaller file (is it the right one?)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{name}: cannot be read as UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
