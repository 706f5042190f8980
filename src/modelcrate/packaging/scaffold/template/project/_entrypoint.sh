#!/bin/sh
# Entry point of the model's image: `docker run IMAGE [MODE] [OPTIONS]`; see `help` below.
set -eu

usage() {
    cat <<'USAGE'
usage: docker run IMAGE [MODE] [OPTIONS]

Modes:
  run [--inputs-json JSON] [OPTIONS]
        Evaluate the model once and store the result (the default mode). JSON is one input set
        (an object) or a list of them; inputs not given take their defaults. OPTIONS are those
        of `modelcrate run`: --set NAME=VALUE, --inputs FILE (a mounted file, or - for
        standard input), --target URI (default: $MODELCRATE_TARGET), --prefect, --json.
  worker [--pool NAME] [OPTIONS]
        Start a Prefect worker that serves the work pool NAME (default: $PREFECT_WORK_POOL);
        it needs PREFECT_API_URL. OPTIONS are those of `prefect worker start`.
  help
        Print this text.
  COMMAND [ARGS]
        Any other command installed in the image runs as is (e.g. python, prefect, sh).
USAGE
}

fail() {
    printf 'error: %s\n' "$1" >&2
    exit 2
}

run_once() {
    model=${MODELCRATE_MODEL:-}
    [ -n "$model" ] || fail "run: set MODELCRATE_MODEL to the installed model's name (the image sets it)"
    inputs_json=""
    has_json=""
    has_file=""
    remaining=$#
    while [ "$remaining" -gt 0 ]; do
        arg=$1
        shift
        remaining=$((remaining - 1))
        case $arg in
            --inputs-json)
                [ "$remaining" -gt 0 ] || fail "run: --inputs-json needs a value, e.g. --inputs-json '{\"x\": 1}'"
                inputs_json=$1
                has_json=1
                shift
                remaining=$((remaining - 1))
                ;;
            --inputs-json=*)
                inputs_json=${arg#--inputs-json=}
                has_json=1
                ;;
            --inputs | --inputs=* | -i | -i=*)
                has_file=1
                set -- "$@" "$arg"
                ;;
            *) set -- "$@" "$arg" ;;
        esac
    done
    if [ -n "$has_json" ] && [ -n "$has_file" ]; then
        fail "run: give the inputs once, either --inputs-json JSON or --inputs FILE"
    fi
    if [ -n "$has_json" ]; then
        # The JSON reaches modelcrate on standard input, as data: the shell never evaluates it.
        exec modelcrate run "$model" --inputs - "$@" <<JSON
$inputs_json
JSON
    fi
    exec modelcrate run "$model" "$@"
}

start_worker() {
    has_pool=""
    for arg in "$@"; do
        case $arg in
            --pool | -p | --pool=* | -p=*) has_pool=1 ;;
            *) ;;
        esac
    done
    [ -n "$has_pool" ] || [ -n "${PREFECT_WORK_POOL:-}" ] \
        || fail "worker: name the work pool: worker --pool NAME (or set PREFECT_WORK_POOL)"
    [ -n "${PREFECT_API_URL:-}" ] \
        || fail "worker: set PREFECT_API_URL to your Prefect server's API, e.g. -e PREFECT_API_URL=http://prefect:4200/api"
    if [ -n "$has_pool" ]; then
        exec prefect worker start "$@"
    fi
    exec prefect worker start --pool "$PREFECT_WORK_POOL" "$@"
}

mode=${1:-run}
[ "$#" -eq 0 ] || shift
case $mode in
    run) run_once "$@" ;;
    worker) start_worker "$@" ;;
    help | -h | --help) usage ;;
    -*)
        usage >&2
        fail "unknown option $mode: name a mode first (run, worker, help)"
        ;;
    *)
        command -v "$mode" >/dev/null 2>&1 || {
            usage >&2
            fail "unknown mode or command: $mode (modes: run, worker, help)"
        }
        exec "$mode" "$@"
        ;;
esac
