#!/bin/sh
# Usage: check_install.sh BUILD_DIR SOURCE_DIR
# Installs into a scratch prefix, then builds and runs a consumer through
# find_package(rtpsynth CONFIG) (shared and static) and through pkg-config.
set -eu
build=$1; src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/ | head -n 1)
test -L "$libdir/librtpsynth.so.1" || { echo "no librtpsynth.so.1 link"; exit 1; }
# The command-line tool, when built (RTPSYNTH_BUILD_TOOL).
if [ -x "$build/bin/rtpsynth" ]; then
  test -x "$tmp/prefix/bin/rtpsynth" || { echo "no bin/rtpsynth installed"; exit 1; }
  "$tmp/prefix/bin/rtpsynth" --version | grep -q '^rtpsynth ' || { echo "bin/rtpsynth --version failed"; exit 1; }
  "$tmp/prefix/bin/rtpsynth" send --help >/dev/null || { echo "bin/rtpsynth send --help failed"; exit 1; }
fi
cmake -S "$src/c-tests/install_consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/consumer/consumer_shared"
"$tmp/consumer/consumer_static"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -o "$tmp/consumer_pc" "$src/c-tests/install_consumer/consumer.c" $(pkg-config --cflags --libs rtpsynth)
LD_LIBRARY_PATH="$libdir" "$tmp/consumer_pc"
echo "install: find_package (shared, static) and pkg-config consumers ok; tool installed"
