#!/usr/bin/env bash
# Builds this plugin into the WebAssembly component ticket_gate.wasm, next to this script.
#
# The first run installs the pinned componentize-py (requirements.txt) into .venv/ here; later
# runs reuse it. Bindings come from ferry's WIT package at the repository's root (never a
# copy): bindings/ gets the typed stubs editors and type checkers read, and the component is
# built against the same WIT. A component newer than every input is left as it is, because
# each build gives different bytes (and so a new sha256 to pin). Prints one line when it
# builds, nothing when there is nothing to do.
#
#   PYTHON=python3.12 ./build.sh     # the Python that runs the tool and the tests (3.11 or later)
set -euo pipefail
cd "$(dirname "$0")"

out=ticket_gate.wasm
app=app # the module with the plugin's `Plugin` class
wit=../../../wit
world=migration-plugin
python=${PYTHON:-python3}

die() {
    echo "build.sh: $*" >&2
    exit 1
}

# The tool. The stamp is the requirements.txt it was installed from: a changed pin reinstalls.
if ! cmp -s requirements.txt .venv/requirements.txt 2>/dev/null; then
    command -v "$python" >/dev/null ||
        die "needs Python 3.11 or later to run componentize-py, and \`$python\` is not found: install it (Debian: apt-get install python3 python3-venv) or set PYTHON"
    # 3.11, not the tool's 3.10: the stubs in bindings/, which test_app.py imports, use typing.Self.
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "needs Python 3.11 or later to run componentize-py and the tests; \`$python\` is $("$python" --version 2>&1)"
    rm -rf .venv
    "$python" -m venv .venv >/dev/null ||
        die "cannot make a virtual environment with \`$python -m venv\` (Debian: apt-get install python3-venv)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
        --only-binary=:all: -r requirements.txt ||
        die "cannot install componentize-py as pinned in requirements.txt: pip needs PyPI, and a wheel for this platform whose hash is listed there"
    cp requirements.txt .venv/requirements.txt
fi
# VIRTUAL_ENV is how componentize-py finds site-packages: this one's, so that packages pinned
# in requirements.txt are bundled, and not those of whatever environment the caller activated.
tool=(env VIRTUAL_ENV="$PWD/.venv" .venv/bin/componentize-py --quiet -d "$wit" -w "$world")

# Regenerated every time (a fraction of a second): they follow the WIT as it is now.
rm -rf bindings
"${tool[@]}" bindings bindings

if [ -f "$out" ] && [ -z "$(
    find . \( -path ./.venv -o -path ./bindings \) -prune -o -name '*.py' ! -name 'test_*' -newer "$out" -print
    find "$wit" -name '*.wit' -newer "$out"
    find requirements.txt build.sh -newer "$out"
)" ]; then
    exit 0
fi
# Built under another name and moved: a failed build leaves no half-written component that
# the check above would take as up to date.
"${tool[@]}" componentize "$app" -p . -o "$out.tmp"
mv "$out.tmp" "$out"
echo "built $(pwd)/$out ($(wc -c <"$out") bytes)"
