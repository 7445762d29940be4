#!/usr/bin/env bash
# Build the Python package into a venv and run its tests: the original
# rtpsynth 1.3.2 test files (tests/original/, unchanged) and ours (tests/).
#
#   python/run_tests.sh [VENV_DIR]       (default: build/python-venv)
#
# Exit 77 (ctest SKIP) only when python3 or its venv module is missing.
# Needs PyPI (maturin, pytest) the first time a venv is made.
# RTPSYNTH_ORIG_SDIST=path/to/rtpsynth-1.3.2.tar.gz also compares the
# vendored test files byte for byte with that sdist.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
venv="${1:-$repo/build/python-venv}"

py="$(command -v python3 || true)"
if [ -z "$py" ] || ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "SKIP: python3 with the venv module is not installed"
  exit 77
fi

echo "== vendored original tests are unchanged"
(cd "$here/tests/original" && sha256sum -c --quiet SHA256SUMS)
if [ -n "${RTPSYNTH_ORIG_SDIST:-}" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  tar -xzf "$RTPSYNTH_ORIG_SDIST" -C "$tmp"
  for f in "$here"/tests/original/test_*.py; do
    cmp "$f" "$tmp"/rtpsynth-1.3.2/tests/"$(basename "$f")"
  done
  echo "identical to $RTPSYNTH_ORIG_SDIST"
fi

echo "== venv $venv"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
if ! "$venv/bin/python" -c 'import maturin, pytest' 2>/dev/null; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check 'maturin>=1.5,<2' pytest
fi

echo "== build and install ./python"
export PATH="$venv/bin:$PATH"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation \
  --force-reinstall --no-deps "$here"

echo "== pytest"
# From a neutral directory, so that `import rtpsynth` is the installed one.
cd "$venv"
# Two sessions: the original's RtpProc tests shut the process-wide
# scheduler down at the end.
RTPSYNTH_RUN_BULK="${RTPSYNTH_RUN_BULK:-1}" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here/tests/original"
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$here/tests" --ignore="$here/tests/original"
