"""Chunks of a run or sweep: stored as they finish, stored sets skipped, failed sets recorded."""

from __future__ import annotations

import pytest

from modelcrate import InputError, Model, SaveError
from modelcrate.runtime import (
    MAX_CHUNKS_PER_TASK,
    MAX_FAILURES_KEPT,
    MAX_WARNINGS_KEPT,
    ChunkReport,
    Failure,
    FilesystemTarget,
    SweepReport,
    build_sweep,
    chunk_bounds,
    open_target,
    run,
    run_chunk,
    run_sweep,
    run_sweep_part,
    task_size,
)
from modelcrate.spec import parse_spec


class Lens(Model):
    """Deterministic; refuses a focal length in (0.45, 0.55) by raising, as a model's own bug."""

    spec = parse_spec(
        """
model: {name: lens}
input_variables:
  focal: {type: scalar, default: 0.5, range: [0.0, 1.0], policy: error}
  gain: {type: int, default: 2, range: [1, 10]}
output_variables:
  spot: {type: scalar}
""",
        source="lens.yml",
    )
    version = "2.0"

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.evaluated = 0

    def evaluate(self, inputs):
        self.evaluated += 1
        if 0.45 < inputs["focal"] < 0.55:
            raise ZeroDivisionError("focal length at the singular point")
        return {"spot": inputs["focal"] * inputs["gain"]}

    def evaluate_batch(self, input_sets):
        self.batches.append(len(input_sets))
        return [self.evaluate(inputs) for inputs in input_sets]


def sets(*focals: float) -> list[dict[str, float]]:
    return [{"focal": f} for f in focals]


def stored_spots(root) -> dict[float, float]:
    return {r.inputs["focal"]: r.outputs["spot"] for r in FilesystemTarget(root).list()}


def test_a_chunk_is_evaluated_in_one_batch_and_stored(tmp_path):
    model = Lens()
    report = run_chunk(model, sets(0.1, 0.2, 0.3), [str(tmp_path)], start=40, keep=True)
    assert (report.start, report.size, report.done, report.skipped) == (40, 3, 3, 0)
    assert model.batches == [3]
    assert [s.result.outputs["spot"] for s in report.stored] == [0.2, 0.4, 0.6]
    assert stored_spots(tmp_path) == {0.1: 0.2, 0.2: 0.4, 0.3: 0.6}


def test_without_keep_the_report_carries_no_results(tmp_path):
    report = run_chunk(Lens(), sets(0.1, 0.2), [str(tmp_path)])
    assert report.done == 2 and report.stored == []


def test_stored_sets_are_skipped_before_they_are_evaluated(tmp_path):
    run_chunk(Lens(), sets(0.1, 0.2), [str(tmp_path)])
    model = Lens()
    report = run_chunk(model, sets(0.1, 0.2, 0.3), [str(tmp_path)], skip_stored=True)
    assert (report.done, report.skipped) == (1, 2)
    assert model.evaluated == 1  # only the new set
    assert stored_spots(tmp_path) == {0.1: 0.2, 0.2: 0.4, 0.3: 0.6}


def test_a_set_stored_in_one_target_only_is_evaluated_again_for_the_other(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    run_chunk(Lens(), sets(0.1), [str(first)])
    model = Lens()
    report = run_chunk(model, sets(0.1), [str(first), str(second)], skip_stored=True)
    assert (report.done, report.skipped, model.evaluated) == (1, 0, 1)
    assert stored_spots(second) == {0.1: 0.2}


def test_other_code_is_not_skipped(tmp_path):
    run_chunk(Lens(), sets(0.1), [str(tmp_path)])

    class Lens3(Lens):
        version = "3.0"

    report = run_chunk(Lens3(), sets(0.1), [str(tmp_path)], skip_stored=True)
    assert (report.done, report.skipped) == (1, 0)


def test_isolated_failures_are_recorded_and_the_rest_stored(tmp_path):
    model = Lens()
    report = run_chunk(model, sets(0.1, 0.5, 0.3, 0.52), [str(tmp_path)], start=10, isolate=True)
    assert report.done == 2
    assert [(f.index, f.inputs["focal"]) for f in report.failures] == [(11, 0.5), (13, 0.52)]
    assert report.failures[0].error == "ZeroDivisionError: focal length at the singular point"
    assert report.failures[0].inputs == {"focal": 0.5, "gain": 2}
    assert stored_spots(tmp_path) == {0.1: 0.2, 0.3: 0.6}


def test_a_model_that_calls_exit_for_one_set_fails_that_set_not_the_sweep(tmp_path):
    class Exiting(Lens):
        def evaluate(self, inputs):
            if inputs["focal"] == 0.3:
                raise SystemExit(3)  # sys.exit() deep in a model's code
            return super().evaluate(inputs)

    report = run_chunk(Exiting(), sets(0.1, 0.3, 0.2), [str(tmp_path)], isolate=True)
    assert report.done == 2
    assert [(f.index, f.error) for f in report.failures] == [(1, "SystemExit: 3")]
    assert stored_spots(tmp_path) == {0.1: 0.2, 0.2: 0.4}
    with pytest.raises(SystemExit):  # a single run is not a sweep: as it was raised
        run_chunk(Exiting(), sets(0.3), [str(tmp_path)])


def test_refused_inputs_are_failures_that_name_the_variable(tmp_path):
    report = run_chunk(Lens(), sets(0.1, 7.0), [str(tmp_path)], isolate=True)
    assert report.done == 1
    (failure,) = report.failures
    assert failure.index == 1 and "'focal'" in failure.error and "7" in failure.error
    assert failure.inputs == {"focal": 7.0}


def test_without_isolation_the_first_error_is_raised_and_nothing_stored(tmp_path):
    with pytest.raises(ZeroDivisionError):
        run_chunk(Lens(), sets(0.1, 0.5), [str(tmp_path)])
    with pytest.raises(InputError, match="input set 4: input 'focal'"):
        run_chunk(Lens(), sets(0.1, 2.0), [str(tmp_path)], start=3)
    assert stored_spots(tmp_path) == {}


def test_a_target_that_cannot_store_makes_failures_or_raises(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    good = tmp_path / "good"
    targets = [str(good), str(blocked)]
    report = run_chunk(Lens(), sets(0.1, 0.2), targets, isolate=True)
    assert report.done == 0 and [f.index for f in report.failures] == [0, 1]
    assert all(f.error.startswith("not stored: ") for f in report.failures)
    assert stored_spots(good) == {0.1: 0.2, 0.2: 0.4}  # the other target still has them
    with pytest.raises(SaveError):
        run_chunk(Lens(), sets(0.3), targets)


def test_long_or_multiline_errors_become_one_short_line(tmp_path):
    class Noisy(Lens):
        def evaluate(self, inputs):
            raise RuntimeError("first line\nsecond line " + "x" * 1000)

    (failure,) = run_chunk(Noisy(), sets(0.1), [str(tmp_path)], isolate=True).failures
    assert "\n" not in failure.error and len(failure.error) <= 300
    assert failure.error.startswith("RuntimeError: first line\\nsecond line")


def test_chunk_bounds_cover_every_set_once():
    assert chunk_bounds(0, 3) == []
    assert chunk_bounds(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert chunk_bounds(6, 3) == [(0, 3), (3, 6)]
    with pytest.raises(ValueError, match="at least 1"):
        chunk_bounds(5, 0)


def test_a_task_is_whole_chunks_enough_for_each_worker_and_not_too_many():
    assert task_size(100_000, 1000, workers=2) == MAX_CHUNKS_PER_TASK * 1000  # capped
    assert task_size(20_000, 1000, workers=2) == 2000  # 10 tasks: 5 per worker
    assert task_size(20_000, 1000, workers=64) == 1000  # more workers than chunks: one each
    assert task_size(10, 1000, workers=None) == 1000  # one chunk, on one worker
    assert task_size(100_000, 1000, workers=0) == 1000  # an adaptive cluster with none yet
    assert task_size(0, 1000) == 1000
    assert task_size(12_000, 1000) == 3000  # one worker: four tasks
    for size, chunk, workers in [(1, 1, 1), (99_999, 7, 3), (10**7, 1000, 500)]:
        tasks = task_size(size, chunk, workers)
        assert tasks % chunk == 0 and chunk <= tasks <= MAX_CHUNKS_PER_TASK * chunk
    with pytest.raises(ValueError, match="at least 1"):
        task_size(5, 0)


def test_a_part_of_a_sweep_is_stored_a_chunk_at_a_time_and_reported_whole(tmp_path):
    target = open_target(f"sqlite:///{tmp_path / 'scan.db'}")
    plan = build_sweep(Lens.spec, grids=["focal=0:1:11"])
    model = Lens()
    part = run_sweep_part(model, plan, 2, 9, [target], chunk_size=3)
    # [2, 5), [5, 8) which fails (focal 0.5, index 5) and is tried set by set, [8, 9)
    assert model.batches == [3, 3, 1, 1, 1, 1]
    assert (part.start, part.size, part.done, part.skipped) == (2, 7, 6, 0)
    assert [f.index for f in part.failures] == [5]
    assert {round(r.inputs["focal"], 9) for r in target.query()} == {0.2, 0.3, 0.4, 0.6, 0.7, 0.8}
    again = run_sweep_part(Lens(), plan, 0, 11, [target], chunk_size=3)
    assert (again.size, again.done, again.skipped, len(again.failures)) == (11, 4, 6, 1)


def test_merged_chunk_reports_keep_the_first_warnings_and_count_all():
    report = ChunkReport(0, 0)
    for start in (0, 10, 20):
        chunk = ChunkReport(start, 10, done=9, failures=[Failure(start + 1, {}, "x")])
        chunk.warnings, chunk.warned = [f"w{start}-{i}" for i in range(15)], 40
        report.merge(chunk)
    assert (report.size, report.done, report.warned) == (30, 27, 120)
    assert [f.index for f in report.failures] == [1, 11, 21]
    assert len(report.warnings) == MAX_WARNINGS_KEPT and report.warnings[15] == "w10-0"


def test_a_sweep_report_counts_chunks_and_keeps_failures_in_order():
    report = SweepReport(size=10)
    report.add(ChunkReport(5, 5, done=3, skipped=1, failures=[Failure(9, {}, "boom")]))
    report.add(ChunkReport(0, 5, done=5))
    report.lost(10, 12, RuntimeError("worker died"))
    assert (report.stored, report.skipped, report.failed, report.finished) == (8, 1, 3, 12)
    assert [f.index for f in report.failures] == [9, 10]
    assert report.failures[1].error == "input sets 10-11 were lost: RuntimeError: worker died"


def test_a_sweep_report_keeps_only_the_first_failures_in_full():
    report = SweepReport(size=5000)
    many = [Failure(i, {}, "x") for i in range(MAX_FAILURES_KEPT + 50)]
    report.add(ChunkReport(0, len(many), failures=many))
    assert report.failed == MAX_FAILURES_KEPT + 50
    assert len(report.failures) == MAX_FAILURES_KEPT


def test_a_sweep_in_one_process_equals_a_run_of_the_same_sets(tmp_path):
    model = Lens()
    plan = build_sweep(model.spec, grids=["focal=0:0.4:5", "gain=1,3"])
    report = run_sweep(model, plan, [str(tmp_path / "sweep")], chunk_size=3)
    assert (report.size, report.stored, report.skipped, report.failed) == (10, 10, 0, 0)
    assert model.batches == [3, 3, 3, 1]
    direct = run(Lens(), plan.input_sets(0, plan.size), [str(tmp_path / "run")])
    swept = {r.id for r in FilesystemTarget(tmp_path / "sweep").list()}
    assert swept == {s.result.id for s in direct}


def test_a_rerun_of_a_sweep_skips_what_is_stored_and_completes_the_rest(tmp_path):
    target = open_target(f"sqlite:///{tmp_path / 'scan.db'}")
    plan = build_sweep(Lens.spec, grids=["focal=0:1:11"])
    first = run_sweep(Lens(), plan, [target], chunk_size=4)
    assert (first.stored, first.failed) == (10, 1)  # focal 0.5 fails
    assert first.failures[0].index == 5
    model = Lens()
    again = run_sweep(model, plan, [target], chunk_size=4)
    assert (again.stored, again.skipped, again.failed) == (0, 10, 1)
    assert model.batches == [1] and model.evaluated == 1  # only the failed set, once
    assert len(list(target.query())) == 10
