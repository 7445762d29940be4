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
LD_LIBRARY_PATH="$libdir" "$tmp/consumer/consumer_prefixed"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# Both include styles through pkg-config: <rtp.h> and <rtpsynth/rtp.h>.
for c in consumer consumer_prefixed; do
  cc -o "$tmp/${c}_pc" "$src/c-tests/install_consumer/$c.c" $(pkg-config --cflags --libs rtpsynth)
  LD_LIBRARY_PATH="$libdir" "$tmp/${c}_pc"
done
# <rtpsynth/rtp.h> with nothing but -I<prefix>/include.
cc -o "$tmp/consumer_plain" "$src/c-tests/install_consumer/consumer_prefixed.c" \
  -I"$tmp/prefix/include" -L"$libdir" -lrtpsynth
LD_LIBRARY_PATH="$libdir" "$tmp/consumer_plain"
# The installed .so is stripped; its debug info is in a separate file that
# it names (.gnu_debuglink).
so="$libdir/librtpsynth.so.1.3.2"
if readelf -S "$so" | grep -q '\.debug_info'; then echo "installed .so is not stripped"; exit 1; fi
readelf -p .gnu_debuglink "$so" | grep -q 'librtpsynth.so.1.3.2.debug' || { echo "no .gnu_debuglink"; exit 1; }
test -f "$libdir/.debug/librtpsynth.so.1.3.2.debug" ||
  { echo "no separate debug file installed"; exit 1; }
echo "install: find_package (shared, static, <rtpsynth/...>), pkg-config (both include styles), -I<prefix>/include consumers ok; .so stripped with debuglink; tool installed"
