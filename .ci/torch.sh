# The environment of the TorchScript and lume-torch tests: `source .ci/torch.sh; torch_env`
# builds (once per set of requirements, kept under ~/.cache/modelcrate-ci/torch-HASH) a virtual
# environment with torch, lume-torch and modelcrate's dependencies (not modelcrate itself: the
# tests run this checkout's source with it), and exports MODELCRATE_TORCH_PYTHON, its Python.
# HASH covers .ci/torch-requirements.txt and the requirements pyproject.toml declares (the rest of
# it, such as pytest's options, does not change the environment): a change to either builds a
# new one.

_torch_hash() {
  {
    cat .ci/torch-requirements.txt
    python3 -c 'import json, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print(json.dumps([p.get("requires-python"), p.get("dependencies"), p.get("optional-dependencies")], sort_keys=True))' 2>/dev/null \
      || cat pyproject.toml  # a Python without tomllib: the whole file
  } | sha256sum | cut -c1-16
}

torch_env() {
  local cache env started
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/modelcrate-ci"
  env="$cache/torch-$(_torch_hash)"
  mkdir -p "$cache" || return 1
  started=$(date +%s)
  (
    # One build at a time on this machine; a run that finds it built uses it as it is.
    flock 9 || exit 1
    # Environments of other requirements unused for 14 days are removed (one in use by another
    # run, of another branch, is marked used when that run starts).
    find "$cache" -maxdepth 2 -path "$cache/torch-*/.complete" -mtime +14 -printf '%h\0' 2>/dev/null \
      | xargs -0 -r rm -rf
    if [ -f "$env/.complete" ]; then touch "$env/.complete"; exit 0; fi
    rm -rf "$env"
    echo "Building the torch test environment in $env (once per set of requirements)..." >&2
    python3 -m venv "$env" \
      && "$env/bin/pip" install -q -r .ci/torch-requirements.txt \
      && "$env/bin/pip" install -q ".[tools,prefect]" \
      && "$env/bin/pip" uninstall -q -y modelcrate \
      && touch "$env/.complete" \
      || { rm -rf "$env"; exit 1; }
    exit 0
  ) 9>"$cache/torch.lock" || return 1
  echo "torch test environment ready in $(( $(date +%s) - started )) s: $env" >&2
  export MODELCRATE_TORCH_PYTHON="$env/bin/python"
}
