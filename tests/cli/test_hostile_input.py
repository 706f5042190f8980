"""Hostile input through the command line: every refusal is one `error:` line with exit code 2
and nothing written; a fuzz over variables files and run inputs holds that for any input."""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[1] / "spec" / "fixtures"
EXCEPTION_NAME = re.compile(r"\b[A-Z][a-zA-Z]+(Error|Exception|Warning)\b:")
GOOD = (
    "input_variables:\n  x: {type: scalar, default: 1.0}\noutput_variables:\n  y: {type: scalar}\n"
)


def one_error_line(code: int, err: str) -> str:
    """The single `error:` line of a refused command (exit code 2)."""
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and not EXCEPTION_NAME.search(err), err
    return lines[0]


# -- variables files ------------------------------------------------------------------------------

HOSTILE_FILES = {
    "long integer": (
        ("input_variables:\n  x: {type: scalar, default: " + "9" * 5000 + "}\n").encode(),
        "line 2, column 30: invalid YAML: an integer of 5000 digits is too long",
    ),
    "list key": (
        b"input_variables:\n  ? [a, b]\n  : {type: scalar}\noutput_variables:\n  y: {type: scalar}\n",
        "line 2, column 5: invalid YAML: a key must be a name (text or a number)",
    ),
    "deep": (b"input_variables: " + b"[" * 100_000, "is nested more than 64 levels deep"),
    "binary": (bytes(range(256)) * 4, "cannot be read as UTF-8 text (byte 0x80 at offset 128)"),
    "latin-1": (
        GOOD.replace("1.0}", "1.0, unit: \xb5m}").encode("latin-1"),
        "cannot be read as UTF-8 text (byte 0xb5 at offset 57); save it as UTF-8",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
@pytest.mark.parametrize("verb", ["upgrade-variables", "new"])
def test_hostile_variables_file_is_one_error_line(run_cli, tmp_path, case, verb):
    data, expected = HOSTILE_FILES[case]
    bad = tmp_path / "vars.yml"
    bad.write_bytes(data)
    out = tmp_path / "out"
    extra = ("--yes", "--no-git") if verb == "new" else ()
    line = one_error_line(*run_cli(verb, bad, "-o", out, *extra)[::2])
    assert line.startswith(f"error: {bad}: ") and expected in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vars.yml"]
    assert bad.read_bytes() == data


def test_merge_keys_upgrade_to_plain_mappings(run_cli, tmp_path):
    path = tmp_path / "vars.yml"
    path.write_text(
        "common: &common {variable_type: scalar, value_range: [0, 10], is_constant: false}\n"
        "input_variables:\n"
        "  a: {<<: *common, default: 1}\n"
        "  b: {<<: *common, default: 2, value_range: [0, 5]}\n"
        "output_variables:\n  y: {variable_type: scalar}\n"
    )
    code, _out, err = run_cli("upgrade-variables", path)
    assert code == 0, err
    text = path.read_text()
    assert "<<" not in text and "&" not in text
    assert "value_range: [0.0, 5.0]" in text and "value_range: [0.0, 10.0]" in text


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_as_variables_file_is_refused(run_cli):
    line = one_error_line(*run_cli("upgrade-variables", "/dev/zero")[::2])
    assert line == (
        "error: /dev/zero: is larger than 16 MiB; give a smaller file (is it the right one?)"
    )


def test_upgrade_onto_something_not_a_file_is_refused_and_it_is_kept(run_cli, tmp_path):
    source = tmp_path / "vars.yml"
    source.write_text(GOOD)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)  # not a regular file, like a device; harmless to a test that fails
    line = one_error_line(*run_cli("upgrade-variables", source, "-o", pipe)[::2])
    assert line == f"error: {pipe}: is not a regular file; give the path of a regular file to write"
    link = tmp_path / "link.yml"
    link.symlink_to(pipe)
    line = one_error_line(*run_cli("upgrade-variables", source, "-o", link)[::2])
    assert line == (
        f"error: {link} (a link to {pipe}): is not a regular file; "
        "give the path of a regular file to write"
    )
    assert pipe.is_fifo() and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yml", "pipe", "vars.yml"]


def test_upgrade_onto_a_link_writes_through_it(run_cli, tmp_path):
    source = tmp_path / "vars.yml"
    source.write_text(GOOD)
    real = tmp_path / "kept" / "current.yml"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "current.yml"
    link.symlink_to(real)
    code, _out, err = run_cli("upgrade-variables", source, "-o", link)
    assert code == 0, err
    assert link.is_symlink() and "variable_class: ScalarVariable" in real.read_text()
    assert sorted(p.name for p in real.parent.iterdir()) == ["current.yml"]


def test_in_place_upgrade_of_a_link_keeps_the_link(run_cli, tmp_path):
    real = tmp_path / "real.yml"
    real.write_text(GOOD)
    link = tmp_path / "vars.yml"
    link.symlink_to(real)
    code, _, err = run_cli("upgrade-variables", link)
    assert code == 0, err
    assert link.is_symlink() and "variable_class" in real.read_text()


# -- run inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[" * 100_000, "is nested more than 64 levels deep"),
        (b'{"laser_radius": ' + b"9" * 5000 + b"}", "an integer of 5000 digits is too long"),
        (bytes(range(256)), "cannot be read as UTF-8 text (byte 0x80 at offset 128)"),
        (b'{"laser_radius": 0.2, "laser_radius": 0.3}', "key 'laser_radius' appears twice"),
        (b"{oops", "not valid JSON (line 1, column 2: Expecting property name"),
    ],
)
def test_hostile_inputs_file_is_one_error_line(run_cli, project, tmp_path, data, expected):
    inputs = tmp_path / "in.json"
    inputs.write_bytes(data)
    results = tmp_path / "results"
    line = one_error_line(*run_cli("run", project, "-i", inputs, "-t", results)[::2])
    assert line.startswith(f"error: {inputs}: ") and expected in line
    assert not results.exists()


def test_missing_inputs_file_is_one_error_line(run_cli, project, tmp_path):
    missing = tmp_path / "missing.json"
    line = one_error_line(*run_cli("run", project, "--inputs", missing)[::2])
    assert line == f"error: {missing}: no such file; give the path of your JSON file of inputs"


def test_inputs_from_stdin_are_bounded(run_cli, project, tmp_path, monkeypatch):
    huge = b'{"laser_radius": 0.2, "pad": "' + b"x" * (16 * 1024 * 1024) + b'"}'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(huge)))
    line = one_error_line(*run_cli("run", project, "-i", "-", "-t", tmp_path / "r")[::2])
    assert line == (
        "error: standard input: is larger than 16 MiB; give a smaller file (is it the right one?)"
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"laser_radius": 0.2}')))
    code, _out, err = run_cli("run", project, "-i", "-", "-t", tmp_path / "r")
    assert code == 0, err


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (
            '{"laser_radius": NaN}',
            "input 'laser_radius' is NaN (not a number), outside the range [0.1, 1]",
        ),
        ('{"laser_radius": 1e400}', "input 'laser_radius' is inf outside the range [0.1, 1]"),
    ],
)
def test_nan_and_infinity_inputs_are_out_of_range(run_cli, project, tmp_path, inputs, expected):
    path = tmp_path / "in.json"
    path.write_text(inputs)
    code, _, err = run_cli("run", project, "-i", path, "-t", tmp_path / "r")
    assert code == 0  # the example's policy is "warn": the run goes on and says why
    assert f"warning: {expected}" in err
    assert "RuntimeWarning" not in err and "All-NaN" not in err


# -- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("run", "--no-such-option"),
            "error: No such option '--no-such-option'; see 'modelcrate run --help'",
        ),
        (
            ("upgrade-variables",),
            "error: Missing argument 'FILE'; see 'modelcrate upgrade-variables --help'",
        ),
        (("no-such-verb",), "error: No such command 'no-such-verb'; see 'modelcrate --help'"),
        (
            ("results", "list", "-n", "0"),
            "error: Invalid value for '-n' / '--limit': 0 is not in the range 1<=x<=2147483647; "
            "see 'modelcrate results list --help'",
        ),
        (
            ("results", "list", "-n", "9" * 40),
            "error: Invalid value for '-n' / '--limit': "
            + "9" * 40
            + " is not in the range 1<=x<=2147483647; see 'modelcrate results list --help'",
        ),
        (
            ("results", "list", "--since", "99999999999d"),
            "error: time '99999999999d': an age that long reaches before the year 1; "
            "give a shorter age or a date like 2026-11-01",
        ),
        (
            ("results", "export", "--until", "0001-01-01T00:00+05:00"),
            "error: time '0001-01-01T00:00+05:00': out of the range of dates; "
            "give a date between 0002 and 9998",
        ),
    ],
)
def test_bad_options_are_one_error_line(run_cli, tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    assert one_error_line(*run_cli(*args)[::2]) == expected
    assert list(tmp_path.iterdir()) == []


def test_an_error_line_stays_one_line_and_plain(run_cli, tmp_path):
    name = tmp_path / "a\nb\x1b[31m.yml"
    line = one_error_line(*run_cli("upgrade-variables", name)[::2])
    assert "a\\nb\\x1b[31m.yml: no such file" in line


def test_a_bug_is_reported_as_an_internal_error(run_cli, monkeypatch):
    from modelcrate.spec import _load

    monkeypatch.setattr(_load, "read_text_file", lambda *a, **k: 1 / 0)
    code, _, err = run_cli("upgrade-variables", "x.yml")
    assert code == 1
    assert err == (
        "error: internal error: ZeroDivisionError: division by zero (a bug in modelcrate or in "
        "the model's code; `modelcrate --verbose ...` shows the traceback)\n"
    )


# -- fuzz -----------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FIELDS = [
    "type", "variable_type", "variable_class", "default", "default_value", "value", "range",
    "value_range", "lower", "upper", "min", "max", "units", "unit", "is_constant", "read_only",
    "description", "name", "shape", "dtype", "value_type", "choices", "x_min", "y_max",
    "x_min_variable", "axis_units", "default_validation_config", "distribution_type",
]  # fmt: skip
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "scalar",
            "ScalarVariable",
            "TorchScalarVariable",
            "array",
            "image",
            "enum",
            "int",
            "distribution",
            "inf",
            "-.inf",
            ".nan",
            "string",
            "float32",
            "object",
            "x",
            "error",
        ]
    ),
)
ODD_TREES = st.recursive(
    ODD_VALUES,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _yaml_text(document) -> str:
    import yaml

    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@st.composite
def variables_files(draw) -> bytes:
    """Bytes of a variables file: a LUME generation mutated, a structure with odd fields, YAML
    trickery, or raw bytes."""
    kind = draw(st.sampled_from(["mutated", "odd fields", "trick", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "trick":
        return draw(
            st.sampled_from(
                [
                    b"input_variables: " + b"[" * 5000,
                    b"input_variables: {x: {type: scalar, default: " + b"1" * 4400 + b"}}",
                    b"input_variables:\n  ? [a]\n  : 1\n",
                    b"input_variables: {x: &x {type: scalar, default: *x}}",
                    b"input_variables: !!python/object/apply:os.system [echo hi]",
                    b"a: &a [1,2,3]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b]",
                    b"input_variables: {<<: 5}",
                    b"input_variables:\n  x: {type: array, default: !!binary aGVsbG8=}\n"
                    b"output_variables: {y: {type: scalar}}",
                    b"input_variables: {x: {type: scalar, default: 2020-01-01}}\n"
                    b"output_variables: {y: {type: scalar}}",
                    b"\xef\xbb\xbf\x00\x00",
                    b"input_variables: {x: {type: scalar}}\noutput_variables: {y: {type: scalar}}\n"
                    + b"#" * 100,
                ]
            )
        )
    if kind == "odd fields":
        fields = draw(st.dictionaries(st.sampled_from(FIELDS), ODD_TREES, max_size=6))
        document = {"input_variables": {"x": fields}, "output_variables": {"y": {"type": "scalar"}}}
        return _yaml_text(document).encode()
    text = (
        FIXTURES / draw(st.sampled_from(sorted(p.name for p in FIXTURES.glob("*.yml"))))
    ).read_text()
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "replace value", "insert", "indent"]))
        if action == "delete":
            del lines[index]
        elif action == "replace value" and ":" in lines[index]:
            head = lines[index].split(":", 1)[0]
            value = draw(ODD_TREES)
            lines[index] = f"{head}: {json.dumps(value, allow_nan=True)}"
        elif action == "insert":
            field = draw(st.sampled_from(FIELDS))
            indent = len(lines[index]) - len(lines[index].lstrip())
            value = json.dumps(draw(ODD_TREES), allow_nan=True)
            lines.insert(index, " " * indent + f"{field}: {value}")
        else:
            lines[index] = " " + lines[index]
        if not lines:
            break
    return "\n".join(lines).encode()


def assert_clean(code: int, err: str) -> None:
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert not EXCEPTION_NAME.search(err), err
    if code == 2:
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err


@FUZZ
@given(data=variables_files())
def test_fuzz_variables_files_through_upgrade_variables(run_cli, data):
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "vars.yml"
        source.write_bytes(data)
        out = Path(folder) / "out.yml"
        code, _, err = run_cli("upgrade-variables", source, "-o", out)
        assert_clean(code, err)
        assert out.exists() == (code == 0)
        if code == 0:
            assert run_cli("upgrade-variables", out)[0] == 0  # what was written reads back
        assert source.read_bytes() == data


@pytest.mark.slow
@settings(FUZZ, max_examples=25)
@given(data=variables_files())
def test_fuzz_variables_files_through_new(run_cli, data):
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "vars.yml"
        source.write_bytes(data)
        out = Path(folder) / "project"
        code, _, err = run_cli("new", source, "-o", out, "--yes", "--no-git")
        assert_clean(code, err)
        assert out.exists() == (code == 0)


SET_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "nan",
            "-nan",
            "inf",
            "-inf",
            "1e400",
            "9" * 5000,
            "0x10",
            "1_000",
            " 0.5 ",
            "[0.5]",
            "true",
            "",
            "0.5\n",
            "\x00",
            "\ud800",
        ]
    ),
)
NAMES = st.sampled_from(["laser_radius", "bunch_charge", "SOL1:BCTRL", "screen_distance", "nope"])
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
JSON_TEXT = st.one_of(
    st.dictionaries(NAMES, JSON_VALUES, max_size=3).map(json.dumps),
    st.lists(st.dictionaries(NAMES, JSON_VALUES, max_size=2), max_size=3).map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.text(max_size=40),
)


@FUZZ
@given(settings_=st.lists(st.tuples(NAMES, SET_TEXT), max_size=3), inputs=st.none() | JSON_TEXT)
def test_fuzz_run_inputs(run_cli, project, settings_, inputs):
    with tempfile.TemporaryDirectory() as folder:
        args = ["run", project, "-t", Path(folder) / "results"]
        for name, text in settings_:
            args += ["--set", f"{name}={text}"]
        if inputs is not None:
            path = Path(folder) / "in.json"
            path.write_text(inputs, encoding="utf-8", errors="surrogatepass")
            args += ["--inputs", path]
        code, _, err = run_cli(*args)
        assert_clean(code, err)
        stored = Path(folder) / "results"
        assert stored.exists() == (code == 0)
