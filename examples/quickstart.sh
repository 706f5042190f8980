#!/usr/bin/env bash
# The main job on embedded defaults: make a project from the example variables file, put the
# reference model into it, install it, and run its Prefect flow once. Nothing to start by hand.
#
#   examples/quickstart.sh [DIRECTORY]     (default: ./demo-model; must not exist yet)
#
# Run it with the python/pip/modelcrate of the environment modelcrate is installed in on PATH.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-demo-model}"

echo "==> modelcrate new: making $out from examples/injector/variables.yml"
modelcrate new "$here/injector/variables.yml" -o "$out" --yes
echo "==> writing the reference evaluate() into $out/src/injector_surrogate/model.py"
cp "$here/injector/model.py" "$out/src/injector_surrogate/model.py"
echo "==> installing $out"
python -m pip install --quiet -e "$out"
echo "==> modelcrate run --prefect: one flow run, results stored under $out/results"
modelcrate run "$out" --prefect --set laser_radius=0.5 --set bunch_charge=120
