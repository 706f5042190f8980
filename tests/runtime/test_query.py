"""Reading results back: queries, the latest result of a model, export, times, data files."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import yaml

from modelcrate import TargetError
from modelcrate.runtime import (
    FilesystemTarget,
    Mount,
    Result,
    encode_value,
    export_results,
    latest_result,
    load_file,
    load_result,
    open_target,
    parse_time,
    query_results,
)

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


def make(i=0, model="injector-surrogate", created=None, inputs=None, outputs=None):
    return Result(
        model=model,
        version="1.0.0",
        inputs={"laser_radius": 0.5, "i": i} if inputs is None else inputs,
        outputs={"sigma_x": 0.1 * i} if outputs is None else outputs,
        units={"laser_radius": "mm", "sigma_x": "mm"},
        created=created or T0 + timedelta(minutes=i),
    )


def assert_same(got: Result, want: Result) -> None:
    assert got == want  # compares the documents: arrays by dtype, shape and values
    for side in ("inputs", "outputs"):
        for key, value in getattr(want, side).items():
            if isinstance(value, np.ndarray):
                stored = getattr(got, side)[key]
                assert isinstance(stored, np.ndarray)
                assert (stored.dtype, stored.shape) == (value.dtype, value.shape)
                np.testing.assert_array_equal(stored, value)


@pytest.fixture(params=["file", "sqlite", "mongodb"])
def target_uri(request, tmp_path):
    """An empty target of each kind that needs no server (MongoDB through mongomock)."""
    if request.param == "file":
        return str(tmp_path / "results")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    request.getfixturevalue("mongo_client")
    return f"mongodb://localhost/test_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def stored(target_uri):
    """Five results of one model a minute apart from T0, and one of another model at T0+10m."""
    results = [make(i) for i in range(5)] + [make(10, model="other")]
    with open_target(target_uri) as target:
        target.save_many(results)
    return target_uri, results


# -- query_results and load_result ----------------------------------------------------------------


def test_query_results_oldest_first(stored):
    uri, results = stored
    assert [r.hash for r in query_results(uri)] == [r.hash for r in results]
    assert [r.hash for r in query_results(uri, model="injector-surrogate")] == [
        r.hash for r in results[:5]
    ]
    assert query_results(uri, model="nobody") == []


def test_query_results_with_text_times(stored):
    uri, _ = stored
    found = query_results(uri, since="2024-05-01T08:01:00+00:00", until="2024-05-01T08:03:00Z")
    assert [r.inputs["i"] for r in found] == [1, 2]
    assert [r.inputs["i"] for r in query_results(uri, since="2024-05-01T10:02+02:00")] == [
        2,
        3,
        4,
        10,
    ]
    assert query_results(uri, since="1h") == []  # all of them are older than an hour
    assert len(query_results(uri, until="1h")) == 6
    assert query_results(uri, until="2000-01-01") == []


def test_query_results_with_datetimes_and_limit(stored):
    uri, _ = stored
    found = query_results(uri, model="injector-surrogate", since=T0 + timedelta(minutes=1), limit=2)
    assert [r.inputs["i"] for r in found] == [3, 4]  # the most recent two, oldest first


def test_query_results_with_a_bad_time_says_what_to_write(stored):
    uri, _ = stored
    with pytest.raises(TargetError, match="time 'last week'"):
        query_results(uri, since="last week")


def test_load_result_by_id_and_prefix(stored):
    uri, results = stored
    want = results[3]
    assert_same(load_result(uri, want.hash), want)
    assert_same(load_result(uri, want.hash[:12]), want)
    with pytest.raises(TargetError, match="no result with id 'ffffzz'"):
        load_result(uri, "ffffzz")


def test_query_functions_take_an_open_target(tmp_path):
    target = FilesystemTarget(tmp_path)
    target.save(make(1))
    assert [r.inputs["i"] for r in query_results(target)] == [1]
    assert latest_result(target, "injector-surrogate").inputs["i"] == 1


# -- parse_time -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T08:00+02:00", datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)),
        ("2026-11-01T08:00:30+00:00", datetime(2026, 11, 1, 8, 0, 30, tzinfo=timezone.utc)),
        ("2026-11-01T08:00Z", datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)),
        (" 2026-11-01 08:00:00-05:00 ", datetime(2026, 11, 1, 13, 0, tzinfo=timezone.utc)),
        ("30m", NOW - timedelta(minutes=30)),
        ("30 min", NOW - timedelta(minutes=30)),
        ("12h", NOW - timedelta(hours=12)),
        ("1.5H", NOW - timedelta(hours=1.5)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("45s", NOW - timedelta(seconds=45)),
    ],
)
def test_parse_time(text, expected):
    got = parse_time(text, now=NOW)
    assert got.tzinfo is not None
    assert got == expected


@pytest.fixture
def tokyo(monkeypatch):
    """Local time is UTC+9 (no daylight saving) for the test."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield timezone(timedelta(hours=9))
    monkeypatch.undo()
    time.tzset()


def test_parse_time_without_offset_is_local_time(tokyo):
    assert parse_time("2026-11-01") == datetime(2026, 11, 1, tzinfo=tokyo)
    assert parse_time("2026-11-01T08:00") == datetime(2026, 11, 1, 8, 0, tzinfo=tokyo)
    assert parse_time("2026-11-01T08:00").utcoffset() == timedelta(hours=9)


def test_parse_time_age_defaults_to_now():
    before = datetime.now(timezone.utc)
    got = parse_time("1h")
    after = datetime.now(timezone.utc)
    assert before - timedelta(hours=1) <= got <= after - timedelta(hours=1)


@pytest.mark.parametrize("text", ["yesterday", "", "5y", "-3d", "2026-13-01", "12 hours"])
def test_parse_time_bad_text_is_one_line(text):
    with pytest.raises(TargetError) as caught:
        parse_time(text)
    message = str(caught.value)
    assert message.startswith(f"time {text!r}: ")
    assert "2026-11-01" in message and "12h" in message
    assert "\n" not in message


# -- latest_result --------------------------------------------------------------------------------


def test_latest_result_is_the_newest_of_the_model(stored):
    uri, results = stored
    assert latest_result(uri, "injector-surrogate").hash == results[4].hash
    assert latest_result(uri, "other").hash == results[5].hash


def test_latest_result_ignores_the_order_of_saving(tmp_path):
    late, early = make(1, created=T0 + timedelta(hours=1)), make(2, created=T0)
    FilesystemTarget(tmp_path).save_many([late, early])
    assert latest_result(tmp_path, "injector-surrogate").hash == late.hash


def test_latest_result_filters_by_inputs(target_uri):
    image = np.arange(6, dtype=np.float32).reshape(2, 3)
    results = [
        make(0, inputs={"laser_radius": 0.5, "image": image}),
        make(1, inputs={"laser_radius": 0.25, "image": image}),
        make(2, inputs={"laser_radius": 0.5, "image": image + 1}),
        make(3, inputs={"laser_radius": 0.75, "image": image}, model="other"),
    ]
    with open_target(target_uri) as target:
        target.save_many(results)
    assert latest_result(target_uri, "injector-surrogate", {"laser_radius": 0.5}).hash == (
        results[2].hash
    )
    assert latest_result(target_uri, "injector-surrogate", {"image": image}).hash == (
        results[1].hash
    )
    got = latest_result(target_uri, "injector-surrogate", {"laser_radius": 0.5, "image": image})
    assert got.hash == results[0].hash
    assert_same(got, results[0])
    # an array given as a list is an equal value
    assert latest_result(target_uri, "injector-surrogate", {"image": image.tolist()}).hash == (
        results[1].hash
    )
    assert latest_result(target_uri, "other", {"laser_radius": 0.75}).hash == results[3].hash


@pytest.mark.parametrize(
    ("model", "inputs", "expected"),
    [
        ("nobody", None, "no result of model 'nobody'; run nobody first"),
        ("injector-surrogate", {"laser_radius": 0.9}, "with inputs laser_radius=0.9"),
        ("injector-surrogate", {"missing": 1}, "with inputs missing=1"),
        ("injector-surrogate", {"image": np.zeros((3, 3))}, "with inputs image=array(3, 3)"),
    ],
)
def test_latest_result_without_a_match_names_the_model(stored, model, inputs, expected):
    uri, _ = stored
    with pytest.raises(TargetError) as caught:
        latest_result(uri, model, inputs)
    message = str(caught.value)
    assert expected in message and repr(model) in message
    assert "\n" not in message


# -- export_results -------------------------------------------------------------------------------


@pytest.fixture
def varied():
    """Results of two models with different keys, arrays of several dtypes, NaN, a flow run."""
    return [
        Result(
            model="injector-surrogate",
            version="1.0.0",
            inputs={"laser_radius": 0.5, "mask": np.array([True, False])},
            outputs={
                "sigma_x": 0.12,
                "beam_image": np.linspace(0, 1, 2048).reshape(32, 64),  # stored as base64
                "hist": np.array([[1, 2], [3, 4]], dtype=np.int16),
                "bad": np.array([1.0, np.nan]),
            },
            units={"sigma_x": "mm"},
            flow_run_id="0d9a-run",
            created=T0,
        ),
        Result(
            model="other",
            version="2.0",
            inputs={"charge": 100},
            outputs={"sigma_x": 0.3, "label": 'a,b "quoted"'},
            created=T0 + timedelta(seconds=1),
        ),
    ]


def test_export_json_round_trip(varied):
    text = export_results(varied, "json")
    assert text.endswith("\n")
    documents = json.loads(text)  # strict JSON: NaN is encoded, not written bare
    assert "NaN" not in text
    assert [d["id"] for d in documents] == [r.hash for r in varied]
    back = [Result.from_document(d) for d in documents]
    for got, want in zip(back, varied, strict=True):
        assert_same(got, want)
    assert back[0].outputs["hist"].dtype == np.int16
    assert back[0].outputs["beam_image"].shape == (32, 64)
    assert np.isnan(back[0].outputs["bad"][1])


def test_export_json_is_the_default_and_empty_is_a_list():
    assert export_results([]) == "[]\n"


def test_export_csv(varied):
    rows = list(csv.reader(io.StringIO(export_results(varied, "csv"))))
    header = rows[0]
    assert header == [
        "id",
        "model",
        "version",
        "created",
        "flow_run_id",
        "fingerprint",
        "dirty",
        "key",
        "input:laser_radius",
        "input:mask",
        "input:charge",
        "output:sigma_x",
        "output:beam_image",
        "output:hist",
        "output:bad",
        "output:label",
    ]
    assert len(rows) == 3
    first, second = (dict(zip(header, row, strict=True)) for row in rows[1:])
    assert first["id"] == varied[0].hash and first["model"] == "injector-surrogate"
    assert first["created"] == "2024-05-01T08:00:00+00:00"
    assert first["flow_run_id"] == "0d9a-run" and second["flow_run_id"] == ""
    assert (first["fingerprint"], first["dirty"]) == ("", "")  # stored without: unknown
    assert (first["key"], second["key"]) == (varied[0].key, varied[1].key)
    assert first["input:laser_radius"] == "0.5" and first["input:charge"] == ""
    assert json.loads(first["input:mask"]) == [True, False]
    assert json.loads(first["output:hist"]) == [[1, 2], [3, 4]]
    image = np.array(json.loads(first["output:beam_image"]))
    assert image.shape == (32, 64)
    np.testing.assert_array_equal(image, varied[0].outputs["beam_image"])
    assert second["input:charge"] == "100" and second["input:laser_radius"] == ""
    assert second["output:label"] == 'a,b "quoted"' and second["output:beam_image"] == ""


def test_export_csv_of_nothing_is_the_fixed_header():
    assert (
        export_results([], "csv") == "id,model,version,created,flow_run_id,fingerprint,dirty,key\n"
    )


@pytest.mark.parametrize("format", ["xml", "JSON", ""])
def test_export_bad_format(varied, format):
    with pytest.raises(TargetError) as caught:
        export_results(varied, format)
    assert str(caught.value) == f"export format {format!r}: use one of json, csv"


# -- load_file ------------------------------------------------------------------------------------


def test_load_file_json(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"a": [1, 2], "b": {"c": "d"}}))
    assert load_file(path, mounts=[]) == {"a": [1, 2], "b": {"c": "d"}}


def test_load_file_json_with_encoded_arrays(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "arrays.json"
    path.write_text(json.dumps(encode_value({"image": array, "x": float("inf")})))
    loaded = load_file(path, mounts=[])
    assert loaded["image"].dtype == np.uint8 and loaded["image"].shape == (3, 4)
    np.testing.assert_array_equal(loaded["image"], array)
    assert loaded["x"] == float("inf")


def test_load_file_stored_result_document(tmp_path):
    result = make(2, outputs={"image": np.eye(40), "sigma_x": 0.2})
    location = FilesystemTarget(tmp_path / "results").save(result)
    loaded = load_file(location, mounts=[])
    assert isinstance(loaded, Result)
    assert_same(loaded, result)


def test_load_file_numpy(tmp_path):
    array = np.arange(6, dtype=np.int32).reshape(2, 3)
    np.save(tmp_path / "a.npy", array)
    np.savez(tmp_path / "b.npz", first=array, second=np.ones(3))
    loaded = load_file(tmp_path / "a.npy", mounts=[])
    assert loaded.dtype == np.int32 and loaded.shape == (2, 3)
    both = load_file(tmp_path / "b.npz", mounts=[])
    assert sorted(both) == ["first", "second"]
    np.testing.assert_array_equal(both["first"], array)


def test_load_file_yaml_text_and_bytes(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"x": 1, "y": [2, 3]}))
    (tmp_path / "c.yml").write_text("- a\n- b\n")
    (tmp_path / "notes.txt").write_text("hello\nworld\n")
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\xff")
    (tmp_path / "UPPER.JSON").write_text("[1]")
    assert load_file(tmp_path / "c.yaml", mounts=[]) == {"x": 1, "y": [2, 3]}
    assert load_file(tmp_path / "c.yml", mounts=[]) == ["a", "b"]
    assert load_file(tmp_path / "notes.txt", mounts=[]) == "hello\nworld\n"
    assert load_file(tmp_path / "table.csv", mounts=[]) == "a,b\n1,2\n"
    assert load_file(tmp_path / "blob.bin", mounts=[]) == b"\x00\x01\xff"
    assert load_file(tmp_path / "UPPER.JSON", mounts=[]) == [1]


def test_load_file_uri(tmp_path):
    (tmp_path / "d.json").write_text('{"k": 1}')
    assert load_file((tmp_path / "d.json").as_uri(), mounts=[]) == {"k": 1}
    assert load_file(f"file://localhost{tmp_path / 'd.json'}", mounts=[]) == {"k": 1}


def test_load_file_missing_names_the_path(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(TargetError) as caught:
        load_file(missing, mounts=[])
    assert str(caught.value) == f"{missing}: no such file; check the path or MODELCRATE_MOUNTS"


def test_load_file_unreadable_json(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TargetError, match=r"bad\.json: cannot be read"):
        load_file(tmp_path / "bad.json", mounts=[])


def test_load_file_through_a_mount(tmp_path):
    container = tmp_path / "mnt"
    container.mkdir()
    (container / "e.txt").write_text("inside")
    mounts = [Mount(host="/no/such/host/data", container=str(container))]
    assert load_file("/no/such/host/data/e.txt", mounts=mounts) == "inside"
    assert load_file("file:///no/such/host/data/e.txt", mounts=mounts) == "inside"
    with pytest.raises(TargetError) as caught:
        load_file("/no/such/host/data/f.txt", mounts=mounts)
    assert f"(in this container: {container / 'f.txt'})" in str(caught.value)


def test_load_file_reads_mounts_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / "g.txt").write_text("via env")
    monkeypatch.setenv("MODELCRATE_MOUNTS", f"/no/such/host:{tmp_path}")
    assert load_file("/no/such/host/g.txt") == "via env"
