#!/bin/sh
# The jitter-buffer part of issue 17's table, side by side with the original:
# interleaved runs of bench_core against our library and against the
# original's librtpsynth.so.1, hot (2048 datagram buffers) and cold (a
# 2M-packet stream, BENCH_RING=2097152, 364 MiB), printing each side's range
# in Mpps and the range of the per-run ratios.
#
#   sh benches/jbuf_vs_original.sh <dir of the original's librtpsynth.so.1> [runs=3] [build dir=build]
#
# Build the original from its sdist's src/ (pip download --no-deps
# --no-binary :all: rtpsynth==1.3.2), e.g.
#   gcc -O3 -std=c11 -fPIC -shared -flto -Wl,-soname,librtpsynth.so.1 \
#       rtp.c rtpjbuf.c rtpsynth.c -o <dir>/librtpsynth.so.1 -lm
# Run it on a quiet machine: the figures move with the machine's load.
set -eu
orig=${1:?usage: jbuf_vs_original.sh <dir of the original librtpsynth.so.1> [runs] [build dir]}
runs=${2:-3}
build=${3:-build}
bench="$build/benches/bench_core"
[ -x "$bench" ] || { echo "no $bench: build first (cmake --build $build)" >&2; exit 1; }
[ -e "$orig/librtpsynth.so.1" ] || { echo "no $orig/librtpsynth.so.1" >&2; exit 1; }

mpps() { # <ring> <inorder|reorder> [LD_LIBRARY_PATH]
    BENCH_RING=$1 LD_LIBRARY_PATH=${3:-${LD_LIBRARY_PATH:-}} "$bench" "$2" | tail -1 | awk '{print $NF}'
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
i=0
while [ "$i" -lt "$runs" ]; do
    for ring in 2048 2097152; do
        for m in inorder reorder; do
            echo "$ring $m $(mpps "$ring" "$m") $(mpps "$ring" "$m" "$orig")" >>"$out"
        done
    done
    i=$((i + 1))
done

echo "bench_core, $runs interleaved runs, Mpps (ours / the original = ratio)"
echo "| stream | datagrams | ours | original | ratio |"
echo "|---|---|---:|---:|---:|"
for ring in 2048 2097152; do
    for m in inorder reorder; do
        awk -v ring="$ring" -v m="$m" '
            $1 == ring && $2 == m {
                r = $3 / $4
                if (n == 0 || $3 < a0) a0 = $3; if (n == 0 || $3 > a1) a1 = $3
                if (n == 0 || $4 < b0) b0 = $4; if (n == 0 || $4 > b1) b1 = $4
                if (n == 0 || r < r0) r0 = r;   if (n == 0 || r > r1) r1 = r
                n++
            }
            END {
                s = (m == "inorder") ? "in order, capacity 32" : "16-windows shuffled, 1 % dup, 1 % loss"
                d = (ring == 2048) ? "hot (2048 buffers)" : "cold (2M-packet stream)"
                printf "| %s | %s | %.1f-%.1f | %.1f-%.1f | %.2f-%.2fx |\n", s, d, a0, a1, b0, b1, r0, r1
            }' "$out"
    done
done
