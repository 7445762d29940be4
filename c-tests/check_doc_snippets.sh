#!/bin/sh
# Usage: check_doc_snippets.sh CC SOURCE_DIR WORK_DIR
# Every fenced ```c block of docs/*.md and README.md is a complete C
# translation unit: compile each (C11, -Wall -Wextra -Werror) against the
# public headers, once with -I include (the pkg-config style, <NAME.h>) and
# once with only a staging -I where include/ is reachable as rtpsynth/
# (the installed <rtpsynth/NAME.h> style; <NAME.h> includes are rewritten).
# Example code that is not a whole translation unit uses another fence.
set -eu
cc=$1; src=$2; work=$3
rm -rf "$work"; mkdir -p "$work/stage"
ln -s "$src/include" "$work/stage/rtpsynth"
n=0; rc=0
for md in "$src"/docs/*.md "$src"/README.md; do
  base=$(basename "$md" .md)
  awk -v out="$work/$base" '
    /^```c[ \t]*$/ { k++; f = sprintf("%s_%d.c", out, k); inb = 1; next }
    /^```/ { inb = 0; next }
    inb { print > f }
  ' "$md"
done
for f in "$work"/*.c; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  flags="-std=c11 -Wall -Wextra -Werror -Wno-unused-variable -Wno-unused-but-set-variable -c -o /dev/null"
  # shellcheck disable=SC2086
  if ! "$cc" $flags -I"$src/include" "$f"; then
    echo "FAILED (<NAME.h> style): $f"; rc=1
  fi
  p="${f%.c}_prefixed.c"
  sed 's|#include <\(rt[a-z_]*\.h\)>|#include <rtpsynth/\1>|; s|#include "\(rt[a-z_]*\.h\)"|#include <rtpsynth/\1>|' "$f" > "$p"
  # shellcheck disable=SC2086
  if ! "$cc" $flags -I"$work/stage" "$p"; then
    echo "FAILED (<rtpsynth/NAME.h> style): $f"; rc=1
  fi
done
[ "$n" -gt 0 ] || { echo "no C snippets found in docs/"; exit 1; }
[ $rc = 0 ] && echo "docs_c_snippets: $n snippets compile in both include styles"
exit $rc
