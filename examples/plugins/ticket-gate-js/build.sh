#!/usr/bin/env bash
# Builds ticket_gate.wasm (a ferry plugin component) next to this script from gate.js:
#   1. installs the tools package-lock.json pins into node_modules/ (only when the lock changed);
#   2. generates TypeScript declarations of the WIT package ../../../wit into types/;
#   3. type-checks gate.js against them, so a misspelt field or a wrong variant fails here,
#      not as a trap inside ferry;
#   4. componentizes gate.js with componentize-js (the SpiderMonkey engine and the JS in one
#      component), unless the component is newer than everything it is built from.
# Quiet when there is nothing to do; needs Node.js 20 or later with npm.
set -euo pipefail
cd "$(dirname "$0")"

wit=../../../wit
world=migration-plugin
out=ticket_gate.wasm

if ! command -v npm >/dev/null 2>&1; then
  echo "build.sh: needs Node.js 20 or later with npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

# Runs a command and shows its output only if it fails: a build that works says nothing.
quietly() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "build.sh: failed: $*" >&2
    exit 1
  fi
  rm -f "$log"
}

# npm ci wipes node_modules/ and reinstalls: only worth it when the pins changed.
stamp=node_modules/.installed-lock
if ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
  quietly npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi

inputs=(gate.js package-lock.json tsconfig.json build.sh "$wit"/*.wit)
if [ -f "$out" ] && [ -d types ] && [ -z "$(find "${inputs[@]}" -newer "$out" 2>/dev/null)" ]; then
  exit 0
fi

bin=node_modules/.bin
rm -rf types
quietly "$bin/jco" guest-types "$wit" --world-name "$world" --quiet --out-dir types
"$bin/tsc" -p tsconfig.json
# The host links WASI 0.2 (clocks, random, stdio) but not wasi:http, so the engine's `fetch`
# (`http`) and incoming-request handler (`fetch-event`) are left out: with them the component
# imports wasi:http and ferry refuses to link it.
quietly "$bin/jco" componentize gate.js --wit "$wit" --world-name "$world" \
  --disable http --disable fetch-event --out "$out.tmp"
mv "$out.tmp" "$out"
