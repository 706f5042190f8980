#!/usr/bin/env bash
# The main job on embedded defaults: make a project from the example variables file, put the
# reference model into it, install it, and run its Prefect flow once. Nothing to start by hand.
#
#   examples/quickstart.sh [DIRECTORY]     (default: ./demo-model)
#
# Run again with the same DIRECTORY, it reuses the project it made there (and keeps your edits);
# to start afresh, remove the directory first. Any other existing DIRECTORY is refused.
# Run it with the python/pip/modelcrate of the environment modelcrate is installed in on PATH.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-demo-model}"
package="$out/src/injector_surrogate"

if [[ -f "$out/pyproject.toml" && -f "$package/model.py" ]] &&
    grep -qx 'name = "injector-surrogate"' "$out/pyproject.toml"; then
    echo "==> reusing the project in $out, made by an earlier run (rm -rf '$out' to start afresh)"
elif [[ -e "$out" ]]; then
    echo "error: $out exists and is not a project made by this script; give another directory:" \
        "examples/quickstart.sh DIRECTORY" >&2
    exit 2
else
    echo "==> modelcrate new: making $out from examples/injector/variables.yml"
    modelcrate new "$here/injector/variables.yml" -o "$out" --yes
    echo "==> writing the reference evaluate() into $package/model.py"
    cp "$here/injector/model.py" "$package/model.py"
fi
echo "==> installing $out"
python -m pip install --quiet -e "$out"
echo "==> modelcrate run --prefect: one flow run, results stored under $out/results"
modelcrate run "$out" --prefect --set laser_radius=0.5 --set bunch_charge=120
