"""Torch models for the `convert` tests, made in the torch test environment (torch and lume-torch
are not in the dev environment: `.ci/torch.sh` builds one, named by MODELCRATE_TORCH_PYTHON):
a small network scripted with TorchScript, and a lume-torch TorchModel with transformers saved
by lume-torch. That environment runs this checkout's modelcrate (its source on PYTHONPATH).

Imported by the test modules that convert torch models; test modules never import each other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

from _projects import ROOT, sh

TORCH_PYTHON = "MODELCRATE_TORCH_PYTHON"

NET = """
import sys, torch
torch.manual_seed(0)

class Net(torch.nn.Module):
    def __init__(self, inputs: int, outputs: int):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(inputs, 16), torch.nn.Tanh(), torch.nn.Linear(16, outputs)
        )

    def forward(self, x):
        return self.layers(x)

inputs, outputs = int(sys.argv[2]), int(sys.argv[3])
torch.jit.save(torch.jit.script(Net(inputs, outputs)), sys.argv[1])
"""
"""`python NET.py PATH INPUTS OUTPUTS`: a scripted network of INPUTS -> OUTPUTS columns."""

NET_VARIABLES = {
    "input_variables": {
        "radius": {"variable_class": "ScalarVariable", "default_value": 0.5,
                   "value_range": [0.0, 1.0], "unit": "mm"},
        "QUAD:IN20:121:BACT": {"variable_class": "ScalarVariable", "default_value": -0.2,
                               "value_range": [-1.0, 1.0], "unit": "kG"},
        "phase": {"variable_class": "ScalarVariable", "default_value": 10.0,
                  "value_range": [-30.0, 30.0], "unit": "deg"},
    },
    "output_variables": {
        "sigma_x": {"variable_class": "ScalarVariable", "unit": "mm"},
        "sigma_y": {"variable_class": "ScalarVariable", "unit": "mm"},
    },
}  # fmt: skip
"""The scripted network's variables: three scalar inputs (one [N, 3] tensor), two outputs."""

LUME = """
import sys, torch
from botorch.models.transforms.input import AffineInputTransform
from lume_torch.models import TorchModel
from lume_torch.variables import TorchScalarVariable

torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
scale_in = AffineInputTransform(
    2, coefficient=torch.tensor([2.0, 4.0]), offset=torch.tensor([1.0, -1.0])
)
scale_out = AffineInputTransform(1, coefficient=torch.tensor([3.0]), offset=torch.tensor([0.5]))
model = TorchModel(
    model=net,
    input_variables=[
        TorchScalarVariable(name="x1", default_value=0.5, value_range=[0.0, 1.0], unit="mm"),
        TorchScalarVariable(
            name="QUAD:IN20:121:BACT", default_value=0.0, value_range=[-1.0, 1.0], unit="kG"
        ),
    ],
    output_variables=[TorchScalarVariable(name="y", unit="mm")],
    input_transformers=[scale_in],
    output_transformers=[scale_out],
)
model.dump(sys.argv[1])
"""
"""`python -c LUME CONFIG`: a lume-torch TorchModel dumped by lume-torch (the config, the model
and one input and one output transformer beside it)."""

EVALUATE = """
import json, sys, torch
kind, path, names = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
rows = json.load(sys.stdin)
if kind == "torchscript":
    module = torch.jit.load(path, map_location="cpu")
    x = torch.tensor([[r[n] for n in names] for r in rows], dtype=torch.float32)
    with torch.no_grad():
        print(json.dumps(module(x).tolist()))
else:
    from lume_torch.models import TorchModel
    model = TorchModel(path)
    got = model.evaluate({n: torch.tensor([r[n] for r in rows], dtype=torch.double) for n in names})
    print(json.dumps({k: v.reshape(len(rows), -1).tolist() for k, v in got.items()}))
"""
"""`python -c EVALUATE KIND PATH NAMES < ROWS`: the original model's own outputs for input rows."""


def torch_env(*path: Path) -> dict[str, str]:
    """The environment the torch Python runs modelcrate in: this checkout's source first (then
    the folders of `path`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PYTHONPATH"] = os.pathsep.join(map(str, [ROOT / "src", *path]))
    return env


def run_torch(
    python: Path,
    *args: str | Path,
    cwd: Path | None = None,
    stdin: str | None = None,
    path: tuple[Path, ...] = (),
):
    """Run the torch Python with this checkout's modelcrate (and the folders of `path` on its
    import path); the finished process (not checked)."""
    return subprocess.run(
        [str(python), *map(str, args)],
        cwd=cwd,
        env=torch_env(*path),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=900,
    )


def made(python: Path, *args: str | Path) -> None:
    """Run the torch Python; fail the test with its output if it fails."""
    done = run_torch(python, *args)
    assert done.returncode == 0, done.stderr[-4000:]


def scripted_net(python: Path, path: Path, inputs: int = 3, outputs: int = 2) -> Path:
    """A TorchScript network of `inputs` -> `outputs` columns saved at `path`."""
    script = path.parent / "make_net.py"  # TorchScript reads the source of what it scripts
    script.write_text(NET, encoding="utf-8")
    made(python, script, path, str(inputs), str(outputs))
    script.unlink()
    return path


def lume_model(python: Path, config: Path) -> Path:
    """A lume-torch TorchModel with transformers, dumped by lume-torch as `config` and its files."""
    config.parent.mkdir(parents=True, exist_ok=True)
    made(python, "-c", LUME, config)
    return config


def evaluate(python: Path, kind: str, path: Path, names: list[str], rows: list[dict]) -> Any:
    """The original model's outputs for `rows`, computed by torch (or lume-torch) directly."""
    done = run_torch(python, "-c", EVALUATE, kind, path, json.dumps(names), stdin=json.dumps(rows))
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def project_env(python: Path, project: Path) -> Path:
    """A new virtual environment with the project installed (`-e '.[dev]'`) that sees the torch
    environment's packages (a .pth file names its site-packages), so torch and lume-torch are
    not installed again; its Python."""
    venv = project / ".venv"
    made(python, "-m", "venv", venv)
    purelib = run_torch(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    own = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (own / "_modelcrate_torch_env.pth").write_text(purelib.stdout.strip() + "\n")
    venv_python = venv / "bin" / "python"
    # No cache: pip would take a wheel of this checkout built before its last change.
    sh(venv_python, "-m", "pip", "install", "-q", "--no-cache-dir", "-e", f"{project}[dev]",
       env=project_run_env())  # fmt: skip
    return venv_python


def project_run_env() -> dict[str, str]:
    """The environment a converted project's own commands run in: no PREFECT_ settings (its
    tests set their own), no PYTHONPATH."""
    skip = ("PREFECT_", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)}


def fake_torchscript(path: Path, *, code: bool = True) -> Path:
    """A zip laid out as `torch.jit.save` writes one (with `code`) or as `torch.save` does
    (without): enough for the checks made before torch is imported."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("net/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("net/version", b"3\n")
        if code:
            archive.writestr("net/code/__torch__.py", b"class Net: pass\n")
            archive.writestr("net/constants.pkl", b"\x80\x02).")
    return path
