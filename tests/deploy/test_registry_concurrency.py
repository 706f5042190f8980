"""Several processes changing one registry at once: the first use of a new database, different
models registered side by side, the same version raced for, and promotes raced."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from modelcrate.deploy import open_registry

# Runs one job on the registry at argv[1] once every worker has printed "ready" and been sent a
# line (so that they start at once); prints its outcome as JSON.
WORKER = """
import hashlib, json, sys
from modelcrate import ModelcrateError
from modelcrate.deploy import open_registry

url, job, *args = sys.argv[1:]
sha = lambda text: hashlib.sha256(text.encode()).hexdigest()
print("ready", flush=True)
sys.stdin.readline()
done = []
try:
    with open_registry(url) as registry:
        if job == "model":  # register a model of its own and two versions of it
            name = args[0]
            registry.register_model(name, author=name)
            for version in ("1.0", "2.0"):
                done.append(registry.register_version(
                    name, version, wheel_sha256=sha(name + version), package="p", variables={}
                ).message)
        elif job == "version":  # register one version with the wheel given
            done.append(registry.register_version(
                "shared", "1.0", wheel_sha256=sha(args[0]), package="p", variables={}
            ).message)
        elif job == "promote":  # promote the versions given, one after another
            for version in args:
                done.append(registry.promote("shared", version).message)
    print(json.dumps({"ok": done}))
except ModelcrateError as exc:
    print(json.dumps({"ok": done, "error": str(exc)}))
"""


def run_at_once(url: str, jobs: list[list[str]]) -> list[dict]:
    """Start a worker per job, let them all go at once, and return what each printed."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, *job],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    outcomes = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err[-2000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    return outcomes


def test_different_models_registered_at_once_all_succeed_on_a_new_database(registry_db):
    names = ["alpha", "beta", "gamma"]
    outcomes = run_at_once(registry_db, [["model", name] for name in names])
    assert [o.get("error") for o in outcomes] == [None] * len(names)
    with open_registry(registry_db) as registry:
        found = {m.name: [v.version for v in m.versions] for m in registry.models()}
    assert found == {name: ["1.0", "2.0"] for name in names}


@pytest.mark.parametrize("same_wheel", [True, False], ids=["same wheel", "other wheels"])
def test_one_registration_of_a_version_wins_the_others_are_told(registry_db, same_wheel):
    with open_registry(registry_db) as registry:
        registry.register_model("shared")
    wheels = ["w"] * 3 if same_wheel else ["w1", "w2", "w3"]
    outcomes = run_at_once(registry_db, [["version", wheel] for wheel in wheels])
    won = [o for o in outcomes if o["ok"] == ["registered shared@1.0"]]
    others = [o for o in outcomes if o not in won]
    assert len(won) == 1 and len(others) == 2
    if same_wheel:
        assert all(
            o["ok"] == ["shared@1.0 is already registered with this wheel; nothing changed"]
            for o in others
        )
    else:
        assert all("already registered with another wheel" in o["error"] for o in others)
    with open_registry(registry_db) as registry:
        assert [v.version for v in registry.model("shared").versions] == ["1.0"]


def test_promotes_at_once_leave_exactly_one_version_live(registry_db):
    versions = [f"{i}.0" for i in range(1, 5)]
    with open_registry(registry_db) as registry:
        registry.register_model("shared")
        for version in versions:
            registry.register_version("shared", version, wheel_sha256="0" * 63 + version[0],
                                      package="p", variables={})  # fmt: skip
    jobs = [["promote", *versions[i:], *versions[:i]] for i in range(3)]  # each its own order
    outcomes = run_at_once(registry_db, jobs)
    assert [o.get("error") for o in outcomes] == [None] * 3
    assert all(len(o["ok"]) == len(versions) for o in outcomes)
    with open_registry(registry_db) as registry:
        model = registry.model("shared")
    live = [v.version for v in model.versions if v.is_live]
    assert len(live) == 1 and model.live.version == live[0]
    last = {o["ok"][-1].split("@")[1].split()[0] for o in outcomes}
    assert live[0] in last  # the live one is one that some worker promoted last
