"""`modelcrate convert` of TorchScript files and lume-torch configs: bad input is one `error:`
line naming the file and what to do (exit 2), with nothing written.

What is refused before torch is loaded runs here in the dev environment (which has no torch);
what needs torch runs `modelcrate convert` in the torch test environment (`torch_python`).
"""

from __future__ import annotations

import importlib.util
import json

import pytest
import yaml
from _torch_models import (
    NET_VARIABLES,
    evaluate,
    fake_torchscript,
    lume_model,
    run_torch,
    scripted_net,
)


def _convert(run_cli, artifact, out, *extra):
    return run_cli("convert", artifact, "-o", out, "--yes", "--no-git", *extra)


def _one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def _variables(tmp_path, data=NET_VARIABLES, name="variables.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _lume_config(tmp_path, **changes):
    """A config as lume-torch writes one, with its files (stand-ins: nothing here loads them)."""
    for name in ("m_model.pt", "m_input_transformers_0.pt", "m_output_transformers_0.pt"):
        (tmp_path / name).write_bytes(b"\x80\x02}q\x00.")
    config = {
        "model_class": "TorchModel",
        "input_variables": {
            "x1": {"variable_class": "TorchScalarVariable", "default_value": 0.5,
                   "value_range": [0.0, 1.0]},
        },
        "output_variables": {"y": {"variable_class": "TorchScalarVariable"}},
        "model": "m_model.pt",
        "input_transformers": ["m_input_transformers_0.pt"],
        "output_transformers": ["m_output_transformers_0.pt"],
        "precision": "double",
    }  # fmt: skip
    config.update(changes)
    path = tmp_path / "m.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_a_torchscript_file_needs_a_variables_file(run_cli, tmp_path):
    artifact = fake_torchscript(tmp_path / "net.pt")
    code, _, err = _convert(run_cli, artifact, tmp_path / "out")
    assert code == 2
    assert _one_error(err) == (
        f"error: {artifact}: a TorchScript module does not say what its inputs and outputs are "
        "called or what shapes they have; give them, in order, in a variables file with "
        "--variables FILE"
    )
    assert not (tmp_path / "out").exists()


def _truncated(tmp_path):
    whole = fake_torchscript(tmp_path / "whole.pt").read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(whole[: len(whole) // 2])
    return path


BAD_TORCHSCRIPT = {
    "truncated": (_truncated, "not a TorchScript archive (File is not a zip file): the file is "
                  "truncated or damaged"),
    "torch.save": (lambda tmp: fake_torchscript(tmp / "saved.pt", code=False),
                   "saved with torch.save, not torch.jit.save (it holds no TorchScript code); "
                   "script the module (torch.jit.script)"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_TORCHSCRIPT))
def test_a_damaged_torchscript_file_is_one_error_line(run_cli, tmp_path, case):
    make, message = BAD_TORCHSCRIPT[case]
    artifact = make(tmp_path)
    code, _, err = _convert(
        run_cli, artifact, tmp_path / "out", "--variables", _variables(tmp_path)
    )
    assert code == 2
    line = _one_error(err)
    assert line.startswith(f"error: {artifact}: ") and message in line
    assert not (tmp_path / "out").exists()


BAD_LUME = {
    "model missing": ({"model": "gone.pt"}, "model names gone.pt, which is not a file beside "
                      "the config"),
    "transformer missing": ({"input_transformers": ["m_input_transformers_0.pt", "t1.pt"]},
                            "input_transformers[1] names t1.pt, which is not a file beside"),
    "transformers not a list": ({"output_transformers": "t.pt"},
                                "output_transformers must be a list of file paths"),
    "no model": ({"model": None}, "not a lume-torch model config (no `model:` naming the model "
                 "file); convert takes a TorchModel config, and `modelcrate new FILE`"),
    "another class": ({"model_class": "GPModel"}, "model_class 'GPModel' is not a TorchModel"),
    "a distribution": ({"output_variables": {"y": {"variable_class": "DistributionVariable",
                                                   "distribution_type": "MultiVariateNormal"}}},
                       "output 'y' is a DistributionVariable, which a TorchModel does not give "
                       "(only lume-torch's probabilistic models do, and convert does not take "
                       "them); declare it as the tensor the model gives (TorchScalarVariable or "
                       "TorchNDVariable)"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_LUME))
def test_a_bad_lume_torch_config_is_one_error_line(run_cli, tmp_path, case):
    changes, message = BAD_LUME[case]
    config = _lume_config(tmp_path, **changes)
    code, _, err = _convert(run_cli, config, tmp_path / "out")
    assert code == 2
    line = _one_error(err)
    assert line.startswith(f"error: {config}: ") and message in line
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed")
def test_without_torch_convert_says_which_extra_to_install(run_cli, tmp_path):
    artifact = fake_torchscript(tmp_path / "net.pt")
    code, _, err = _convert(
        run_cli, artifact, tmp_path / "out", "--variables", _variables(tmp_path)
    )
    assert code == 2
    assert _one_error(err) == (
        f"error: {artifact}: converting a TorchScript model needs torch: "
        "pip install 'modelcrate[torch]'"
    )
    config = _lume_config(tmp_path)
    for extra in ((), ("--trust",)):
        code, _, err = _convert(run_cli, config, tmp_path / "out", *extra)
        assert code == 2
        assert _one_error(err) == (
            f"error: {config}: converting a lume-torch model needs lume-torch and torch: "
            "pip install 'modelcrate[lume-torch]'"
        )


# -- with torch: `modelcrate convert` in the torch test environment ----------------------------------


def _convert_with_torch(python, artifact, out, *extra):
    done = run_torch(python, "-m", "modelcrate", "convert", artifact, "-o", out, "--yes",
                     "--no-git", *extra)  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def _inputs(count):
    names = list(NET_VARIABLES["input_variables"])
    return {
        "input_variables": {n: NET_VARIABLES["input_variables"][n] for n in names[:count]},
        "output_variables": NET_VARIABLES["output_variables"],
    }


def _outputs(names, shape=None):
    spec = {n: {"variable_class": "ScalarVariable"} for n in names}
    if shape is not None:
        spec = {names[0]: {"variable_class": "NDVariable", "shape": shape}}
    return {"input_variables": NET_VARIABLES["input_variables"], "output_variables": spec}


MISMATCHES = {
    "too few inputs": (
        _inputs(2),
        "its inputs do not fit net.pt: forward on tensors of shape [2, 2] (N=2 input sets) "
        "failed (mat1 and mat2 shapes cannot be multiplied",
    ),
    "too many outputs": (
        _outputs(["a", "b", "c"]),
        "declares 3 scalar outputs (a, b, c), but net.pt returns a tensor of shape [2, 2] for 2 "
        "input sets; declare one output per column",
    ),
    "an array of the wrong shape": (
        _outputs(["image"], shape=[3]),
        "output 'image' has shape (3), but net.pt gives a tensor of shape [2, 2] for 2 input "
        "sets there; declare the shape of one row",
    ),
}


@pytest.fixture(scope="module")
def net(torch_python, tmp_path_factory):
    """A scripted network of 3 inputs and 2 outputs."""
    return scripted_net(torch_python, tmp_path_factory.mktemp("net") / "net.pt")


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_variables_that_do_not_fit_the_module_are_one_error_line(torch_python, net, tmp_path, case):
    data, message = MISMATCHES[case]
    variables = _variables(tmp_path, data)
    code, _, err = _convert_with_torch(
        torch_python, net, tmp_path / "out", "--variables", variables
    )
    assert code == 2
    line = _one_error(err)
    assert line.startswith(f"error: {variables}: ") and message in line, line
    assert not (tmp_path / "out").exists()


def test_a_truncated_scripted_module_is_one_error_line(torch_python, net, tmp_path):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(net.read_bytes()[:-200])
    code, _, err = _convert_with_torch(
        torch_python, cut, tmp_path / "out", "--variables", _variables(tmp_path)
    )
    assert code == 2 and "not a TorchScript archive" in _one_error(err)
    assert not (tmp_path / "out").exists()


def test_a_scripted_module_converts_with_its_variables(torch_python, net, tmp_path):
    code, out, err = _convert_with_torch(
        torch_python, net, tmp_path / "out", "--variables", _variables(tmp_path)
    )
    assert code == 0, err
    assert "Converted net.pt (a TorchScript module, run with torch) into /" in out
    assert "/out (3 inputs, 2 outputs)." in out.splitlines()[0]
    assert "  inputs      : radius, 'QUAD:IN20:121:BACT', phase <- tensor 'x' [N, 3] float32" in out
    assert "  outputs     : sigma_x, sigma_y <- tensor 'output' [N, 2] float32" in out
    assert "warning" not in err
    package = tmp_path / "out" / "src" / "out"
    binding = json.loads((package / "artifact.json").read_text())
    assert binding["kind"] == "torchscript" and binding["file"] == "model.pt"
    assert binding["options"] == {"arguments": ["x"], "returns": "tensor", "results": ["output"]}
    assert (package / "model.pt").read_bytes() == net.read_bytes()
    assert '"torch>=' in (tmp_path / "out" / "pyproject.toml").read_text()


def test_a_lume_torch_config_converts_with_its_files(torch_python, tmp_path):
    """The config lume-torch's `dump` writes (a network saved with torch.save, botorch's
    AffineInputTransform in and out) converts without --trust: its files load weights only."""
    config = lume_model(torch_python, tmp_path / "made" / "model_config.yml")
    code, out, err = _convert_with_torch(torch_python, config, tmp_path / "out")
    assert code == 0, err
    assert "Converted model_config.yml (a lume-torch TorchModel, run with lume-torch)" in out
    assert "loaded with torch.load(weights_only=True)" in out and "--trust" not in out
    assert "warning" not in err
    package = tmp_path / "out" / "src" / "out"
    binding = json.loads((package / "artifact.json").read_text())
    assert binding["options"]["weights_only"] is True
    assert sorted(binding["files"]) == [
        "lume_input_transformer_0.pt", "lume_model.pt", "lume_output_transformer_0.pt"
    ]  # fmt: skip
    packaged = yaml.safe_load((package / "lume_model.yml").read_text())
    assert packaged["model"] == "lume_model.pt"
    assert packaged["input_transformers"] == ["lume_input_transformer_0.pt"]
    assert packaged["output_transformers"] == ["lume_output_transformer_0.pt"]
    for name in ("lume_model.pt", "lume_input_transformer_0.pt", "lume_output_transformer_0.pt"):
        assert (package / name).is_file()
    pyproject = (tmp_path / "out" / "pyproject.toml").read_text()
    assert '"out/lume_output_transformer_0.pt"' in pyproject and '"lume-torch>=' in pyproject
    assert "defaults guessed" not in out


def test_a_config_naming_lume_model_classes_converts(torch_python, tmp_path):
    """A config of lume-model, lume-torch's former name (its class and variable classes)."""
    config = lume_model(torch_python, tmp_path / "made" / "model_config.yml")
    data = yaml.safe_load(config.read_text())
    data["model_class"] = "lume_model.models.TorchModel"
    for variables in (data["input_variables"], data["output_variables"]):
        for variable in variables.values():
            variable["variable_class"] = "ScalarVariable"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = _convert_with_torch(torch_python, config, tmp_path / "out")
    assert code == 0, err
    assert "  config      : lume_model.models.TorchModel, precision double" in out


def test_importing_modelcrate_loads_no_torch(torch_python):
    """Where torch is installed, importing modelcrate (its runtime and its converters too)
    does not load it: only running or converting a torch model does."""
    done = run_torch(torch_python, "-c", "import sys, modelcrate, modelcrate.runtime, "
                     "modelcrate.packaging; print('torch' in sys.modules)")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


TWO_TENSORS = """
import sys, torch
from typing import Tuple

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.tensor(2.0, dtype=torch.float64))

    def forward(self, charge, profile) -> Tuple[torch.Tensor, torch.Tensor]:
        return charge * profile.sum(1), profile * self.scale + charge[:, None]

torch.jit.save(torch.jit.script(Net()), sys.argv[1])
"""

TWO_TENSORS_VARIABLES = {
    "input_variables": {
        "charge": {"variable_class": "ScalarVariable", "default_value": 1.0,
                   "value_range": [0.0, 2.0]},
        "profile": {"variable_class": "NDVariable", "shape": [3], "dtype": "float64",
                    "default_value": [0.1, 0.2, 0.3]},
    },
    "output_variables": {
        "total": {"variable_class": "ScalarVariable"},
        "scaled": {"variable_class": "NDVariable", "shape": [3], "dtype": "float64"},
    },
}  # fmt: skip


def test_a_module_of_several_tensors_runs_in_its_package(torch_python, tmp_path):
    """One input per forward argument (a scalar as [N], an array as [N, 3]), in the element type
    of the module's buffer; one output per tensor of the tuple it returns; the package's batch
    gives the module's own outputs."""
    script = tmp_path / "make.py"
    script.write_text(TWO_TENSORS)
    net = tmp_path / "two.pt"
    done = run_torch(torch_python, script, net)
    assert done.returncode == 0, done.stderr
    variables = _variables(tmp_path, TWO_TENSORS_VARIABLES)
    code, out, err = _convert_with_torch(
        torch_python, net, tmp_path / "out", "--variables", variables
    )
    assert code == 0, err
    assert (
        "charge <- tensor 'charge' [N] float64; profile <- tensor 'profile' [N, 3] float64" in out
    )
    assert "total <- tensor 'output0' [N] float64; scaled <- tensor 'output1' [N, 3] float64" in out
    check = """
import sys, json
sys.path.insert(0, sys.argv[1])
from out.model import OutModel
got = OutModel().batch([{"charge": 0.5, "profile": [1.0, 2.0, 3.0]}, {"charge": 2.0}])
print(json.dumps([[g["total"], [float(v) for v in g["scaled"]]] for g in got]))
"""
    done = run_torch(torch_python, "-c", check, tmp_path / "out" / "src")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        [3.0, [2.5, 4.5, 6.5]],
        [1.2000000000000002, [2.2, 2.4, 2.6]],
    ]


LUME_ARRAYS = """
import sys, torch
from lume_torch.models import TorchModel
from lume_torch.variables import TorchNDVariable, TorchScalarVariable

torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 1)).double()
model = TorchModel(
    model=net,
    input_variables=[TorchNDVariable(name="image", shape=(4, 4), default_value=torch.zeros(4, 4))],
    output_variables=[TorchScalarVariable(name="y")],
)
model.dump(sys.argv[1])
"""


def test_a_lume_torch_model_of_arrays_passes_its_packages_tests(torch_python, tmp_path):
    """An array input (lume-torch's TorchNDVariable, float32 as lume-torch checks) in a model
    of double precision: the package's own tests replay lume-torch's outputs."""
    script = tmp_path / "make.py"
    script.write_text(LUME_ARRAYS)
    config = tmp_path / "arrays.yml"
    done = run_torch(torch_python, script, config)
    assert done.returncode == 0, done.stderr
    code, _, err = _convert_with_torch(torch_python, config, tmp_path / "out")
    assert code == 0, err
    binding = json.loads((tmp_path / "out" / "src" / "out" / "artifact.json").read_text())
    assert binding["inputs"][0]["dtype"] == "float32" and binding["inputs"][0]["shape"] == [
        None,
        4,
        4,
    ]
    tests = run_torch(torch_python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                      "tests/test_artifact.py", cwd=tmp_path / "out",
                      path=(tmp_path / "out" / "src",))  # fmt: skip
    assert "3 passed" in tests.stdout, tests.stdout[-2000:] + tests.stderr[-2000:]


# -- lume-torch files loaded weights only ------------------------------------------------------------

LUME_OF = """
import sys, torch
from botorch.models.transforms.input import AffineInputTransform, InputStandardize, Normalize
from lume_torch.models import TorchModel
from lume_torch.variables import TorchScalarVariable

sys.path.insert(0, sys.argv[2])
torch.manual_seed(0)
x = torch.rand(20, 2, dtype=torch.double)
normalize = Normalize(2)
normalize.train()
normalize(x)
standardize = InputStandardize(2)
standardize.train()
standardize(x * 3.0 + 1.0)
linear = torch.nn.Linear(1, 1).double()
net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ELU(), torch.nn.Linear(8, 1)).double()
if sys.argv[3] == "custom":
    from custom_layers import Scale
    net = torch.nn.Sequential(net, Scale())
model = TorchModel(
    model=net,
    input_variables=[
        TorchScalarVariable(name="a", default_value=0.5, value_range=[0.0, 1.0]),
        TorchScalarVariable(name="b", default_value=0.5, value_range=[0.0, 1.0]),
    ],
    output_variables=[TorchScalarVariable(name="y")],
    input_transformers=[normalize, standardize],
    output_transformers=[linear],
)
model.dump(sys.argv[1])
"""
"""`python -c LUME_OF CONFIG FOLDER KIND`: a TorchModel with botorch's Normalize and
InputStandardize in and a torch.nn.Linear out; KIND "custom" adds a layer of a class of the
user's own (`custom_layers.Scale`, importable from FOLDER)."""

CUSTOM_LAYERS = """
import torch

class Scale(torch.nn.Module):
    def forward(self, x):
        return 2.0 * x
"""


def _lume_of(torch_python, tmp_path, kind):
    made = tmp_path / "made"
    made.mkdir(parents=True)
    (made / "custom_layers.py").write_text(CUSTOM_LAYERS)
    config = made / "model_config.yml"
    done = run_torch(torch_python, "-c", LUME_OF, config, made, kind)
    assert done.returncode == 0, done.stderr[-3000:]
    return config, made


RECORDED = """
import json, sys, torch
sys.path.insert(0, sys.argv[1])
calls = []
real = torch.load
def load(*args, **kwargs):
    calls.append(kwargs.get("weights_only"))
    return real(*args, **kwargs)
torch.load = load
from out.model import OutModel
rows = json.loads(sys.argv[2])
got = OutModel().batch(rows)
print(json.dumps([calls, [g["y"] for g in got]]))
"""
"""`python -c RECORDED SRC ROWS`: the package's outputs for ROWS, and the `weights_only` of
each torch.load call made in loading it."""


def test_documented_transformers_load_weights_only_in_convert_and_in_the_package(
    torch_python, tmp_path
):
    """botorch's Normalize and InputStandardize and a torch.nn.Linear: no --trust, and the
    package loads its three files with weights_only=True and gives lume-torch's own outputs."""
    config, _ = _lume_of(torch_python, tmp_path, "plain")
    code, out, err = _convert_with_torch(torch_python, config, tmp_path / "out")
    assert code == 0, err
    assert "loaded with torch.load(weights_only=True)" in out
    rows = [{"a": 0.1, "b": 0.9}, {"a": 0.7, "b": 0.2}, {"a": 0.5, "b": 0.5}]
    done = run_torch(torch_python, "-c", RECORDED, tmp_path / "out" / "src", json.dumps(rows))
    assert done.returncode == 0, done.stderr[-3000:]
    calls, outputs = json.loads(done.stdout.strip().splitlines()[-1])
    assert calls == [True, True, True, True]  # the model, two input transformers, one output
    own = evaluate(torch_python, "lume", config, ["a", "b"], rows)["y"]
    assert outputs == pytest.approx([r[0] for r in own], rel=1e-12)


def test_a_class_of_the_users_own_needs_trust_and_is_named(torch_python, tmp_path):
    config, made = _lume_of(torch_python, tmp_path, "custom")
    code, _, err = _convert_with_torch(torch_python, config, tmp_path / "out")
    assert code == 2
    assert _one_error(err) == (
        f"error: {config}: model_config_model.pt (model) holds custom_layers.Scale; lume-torch "
        "loads such a file with torch.load, which runs any code it holds: pass --trust to "
        "convert it if you trust where it came from"
    )
    assert not (tmp_path / "out").exists()
    done = run_torch(torch_python, "-m", "modelcrate", "convert", config, "-o", tmp_path / "out",
                     "--yes", "--no-git", "--trust", path=(made,))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "loaded by lume-torch with torch.load, which runs their code (--trust)" in done.stdout
    assert "converted with --trust: lume-torch loads 'model_config_model.pt'" in done.stdout
    binding = json.loads((tmp_path / "out" / "src" / "out" / "artifact.json").read_text())
    assert binding["options"]["weights_only"] is False


def test_a_file_torch_load_cannot_check_needs_trust(torch_python, tmp_path):
    """The stand-in files of `_lume_config` are pickles outside torch.save's zip: what they hold
    cannot be read without loading them."""
    config = _lume_config(tmp_path)
    code, _, err = _convert_with_torch(torch_python, config, tmp_path / "out")
    assert code == 2
    line = _one_error(err)
    assert line.startswith(f"error: {config}: m_model.pt is not a zip file of torch.save ("), line
    assert line.endswith("pass --trust to convert it if you trust where it came from")
    assert not (tmp_path / "out").exists()


LUME_ARRAY_OUTPUT = """
import sys, torch
from lume_torch.models import TorchModel
from lume_torch.variables import TorchNDVariable

torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Flatten(), torch.nn.Linear(16, 3), torch.nn.Unflatten(1, (1, 3))
).double()
model = TorchModel(
    model=net,
    input_variables=[TorchNDVariable(name="image", shape=(4, 4), default_value=torch.zeros(4, 4))],
    output_variables=[TorchNDVariable(name="profile", shape=(3,), dtype=torch.float64)],
)
model.dump(sys.argv[1])
"""


def test_an_array_output_comes_out_as_lume_torch_gives_it(torch_python, tmp_path):
    """A TorchNDVariable output (lume-torch gives [N, 3]): one array of shape (3,) a set, the
    values lume-torch gives."""
    script = tmp_path / "make.py"
    script.write_text(LUME_ARRAY_OUTPUT)
    config = tmp_path / "profile.yml"
    done = run_torch(torch_python, script, config)
    assert done.returncode == 0, done.stderr
    code, _, err = _convert_with_torch(torch_python, config, tmp_path / "out")
    assert code == 0, err
    binding = json.loads((tmp_path / "out" / "src" / "out" / "artifact.json").read_text())
    assert binding["outputs"][0]["shape"] == [None, 3]
    assert binding["options"]["shapes"] == {"profile": [3]}
    check = """
import json, sys, torch
sys.path.insert(0, sys.argv[1])
from out.model import OutModel
from lume_torch.models import TorchModel
images = [[[0.1 * (i + j + k) for k in range(4)] for j in range(4)] for i in range(2)]
got = OutModel().batch([{"image": image} for image in images])
own = TorchModel(sys.argv[2]).evaluate({"image": torch.tensor(images, dtype=torch.float32)})
print(json.dumps([[g["profile"].tolist() for g in got], own["profile"].tolist()]))
"""
    done = run_torch(torch_python, "-c", check, tmp_path / "out" / "src", config)
    assert done.returncode == 0, done.stderr[-3000:]
    got, own = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == own and len(got) == 2 and len(got[0]) == 3


def test_a_package_loading_weights_only_names_a_class_it_will_not_load(torch_python, tmp_path):
    """A package converted without --trust whose model file is swapped for one holding a class
    of the user's own (its digests removed, as in a binding file from before they were
    recorded): loading it is one error naming the file and the class, and runs none of it."""
    plain, _ = _lume_of(torch_python, tmp_path / "plain", "plain")
    _, made = _lume_of(torch_python, tmp_path / "custom", "custom")
    code, _, err = _convert_with_torch(torch_python, plain, tmp_path / "out")
    assert code == 0, err
    package = tmp_path / "out" / "src" / "out"
    (package / "lume_model.pt").write_bytes((made / "model_config_model.pt").read_bytes())
    binding = json.loads((package / "artifact.json").read_text())
    binding["sha256"], binding["files"] = "", {}
    (package / "artifact.json").write_text(json.dumps(binding))
    check = """
import sys
sys.path.insert(0, sys.argv[1])
from modelcrate import ProjectError
from out.model import OutModel
try:
    OutModel()(a=0.5)
except ProjectError as exc:
    print(exc)
"""
    done = run_torch(torch_python, "-c", check, tmp_path / "out" / "src", path=(made,))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == (
        f"{package / 'lume_model.yml'}: lume-torch cannot load the model (lume_model.pt holds "
        "custom_layers.Scale, which loading would run code for (convert the model again, with "
        "--trust if you trust where the file came from))"
    )
