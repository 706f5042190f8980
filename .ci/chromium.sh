# Headless Chromium for the browser test of `serve`'s docs page: `source .ci/chromium.sh;
# install_chromium` installs Debian's chromium package (apt-get update first) when
# /usr/bin/chromium is missing. On failure it prints one `error:` line, with apt-get's reason,
# and returns 1.

CHROMIUM=/usr/bin/chromium

install_chromium() {
  local log reason
  [ -x "$CHROMIUM" ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: no Chromium at $CHROMIUM, and no way to install it here (apt-get as root): install Debian's chromium package" >&2
    return 1
  fi
  echo "Installing Chromium (Debian package) for the docs page's browser test..." >&2
  log=$(mktemp /tmp/modelcrate-chromium.XXXXXX)
  if { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >"$log" 2>&1 \
    && [ -x "$CHROMIUM" ]; then
    rm -f "$log"
    return 0
  fi
  reason=$(grep -E '^E:' "$log" | tail -n 1)
  echo "error: could not install Chromium for the docs page's browser test (${reason:-no $CHROMIUM after apt-get install chromium}; apt-get's output is in $log)" >&2
  return 1
}
