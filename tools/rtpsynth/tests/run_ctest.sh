#!/bin/sh
# Usage: run_ctest.sh "PROGRAMS NEEDED" COMMAND...
# Exits 77 (ctest SKIP) with a clear message when a needed program is
# missing, else runs COMMAND.
needs=$1; shift
for p in $needs; do
  if ! command -v "$p" >/dev/null 2>&1; then
    echo "SKIP: $p is not installed"
    exit 77
  fi
done
if echo " $needs " | grep -q ' dumpcap '; then
  if ! dumpcap -D 2>/dev/null | grep -qw lo; then
    echo "SKIP: dumpcap cannot capture on the loopback interface here"
    exit 77
  fi
fi
exec "$@"
