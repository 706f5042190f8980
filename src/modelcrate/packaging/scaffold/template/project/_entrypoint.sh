#!/bin/sh
# Container entry point: run the given command (by default, one run of the model).
set -eu
exec "$@"
