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
  serve [OPTIONS]
        Serve the model over HTTP: POST /v1/evaluate, GET /v1/variables, /openapi.json,
        /metrics, /health/live and /health/ready. It listens on every interface of the container
        (--host 0.0.0.0) on port $PORT (default 8000): publish it with -p 8000:8000. OPTIONS are
        those of `modelcrate serve` (serve --help): --host, --port, --workers N, --target URI
        (default: $MODELCRATE_TARGET; set it empty to store nothing), --max-body, --max-batch,
        --batching/--no-batching, --access-log. Set MODELCRATE_SERVE_TOKEN (-e, never an
        option) to require the header `Authorization: Bearer TOKEN`.
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

serve_model() {
    model=${MODELCRATE_MODEL:-}
    [ -n "$model" ] || fail "serve: set MODELCRATE_MODEL to the installed model's name (the image sets it)"
    port=${PORT:-8000}
    case $port in
        *[!0-9]*) fail "serve: set PORT to a port number, e.g. -e PORT=8080" ;;
        *) ;;
    esac
    has_host=""
    has_port=""
    has_target=""
    for arg in "$@"; do
        case $arg in
            --host | --host=*) has_host=1 ;;
            --port | --port=*) has_port=1 ;;
            -t | -t?* | --target | --target=*) has_target=1 ;;
            *) ;;
        esac
    done
    given=$#
    # The defaults of what was not given, then the options given: of an option given twice,
    # `modelcrate serve` takes the last, so a form not recognised above still wins.
    [ -n "$has_host" ] || set -- "$@" --host 0.0.0.0
    [ -n "$has_port" ] || set -- "$@" --port "$port"
    if [ -z "$has_target" ]; then
        # Each default target goes by name: a URI (and its password) stays in the environment,
        # off the command line that `ps` shows.
        rest=${MODELCRATE_TARGET:-},
        number=0
        while [ -n "$rest" ]; do
            uri=${rest%%,*}
            rest=${rest#*,}
            uri=${uri#"${uri%%[![:space:]]*}"}
            uri=${uri%"${uri##*[![:space:]]}"}
            [ -n "$uri" ] || continue
            case $uri in
                @*) set -- "$@" --target "$uri" ;;
                *)
                    number=$((number + 1))
                    export "MODELCRATE_TARGETS__MODELCRATE_TARGET_$number=$uri"
                    set -- "$@" --target "@modelcrate_target_$number"
                    ;;
            esac
        done
    fi
    while [ "$given" -gt 0 ]; do
        set -- "$@" "$1"
        shift
        given=$((given - 1))
    done
    # exec: the server gets the container's stop signal and ends after the requests it answers.
    exec modelcrate serve "$model" "$@"
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
    serve) serve_model "$@" ;;
    worker) start_worker "$@" ;;
    help | -h | --help) usage ;;
    -*)
        usage >&2
        fail "unknown option $mode: name a mode first (run, serve, worker, help)"
        ;;
    *)
        command -v "$mode" >/dev/null 2>&1 || {
            usage >&2
            fail "unknown mode or command: $mode (modes: run, serve, worker, help)"
        }
        exec "$mode" "$@"
        ;;
esac
