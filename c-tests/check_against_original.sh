#!/bin/sh
# Run the drop-in C tests (the list below) against the original
# librtpsynth 1.3.2 and against ours: each test is compiled once against our
# headers, linked against the original, and run with LD_LIBRARY_PATH
# pointing at either library.
#
# The list: every c-tests/test_*.c that uses only what the original
# exports, except test_jbuf_regressions (its scenarios make 1.3.2 abort or
# trap by design). The other tests use the new APIs (rtpsrv_, rtpproc_,
# rtpu_, rtpopus_, rtpsynth_strerror, ...) or are fuzz replays; the script
# refuses a listed test that names a new API, so the list cannot rot
# silently.
#
# With the original's source dir as third argument, the tests that compile
# against the original's own headers are also built that way and run
# against our library (binary drop-in: a program built for 1.3.2).
#
#   sh c-tests/check_against_original.sh ORIG_LIBDIR OUR_LIBDIR [ORIG_SRCDIR]
#   e.g. sh c-tests/check_against_original.sh /tmp/orig/lib build/lib /tmp/orig/rtpsynth-1.3.2/src
set -u
orig=${1:?original lib dir (holding librtpsynth.so.1)}
ours=${2:?our lib dir (build/lib)}
orig_inc=${3:-}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
DROPIN_TESTS="test_dropin_jbuf_alone test_dropin_source test_jbuf_flush test_jbuf_hostile
  test_jbuf_order test_jbuf_purge test_jbuf_random test_jbuf_static test_jbuf_wrap
  test_parse test_parse_random test_synth_golden test_synth_random"
new_api='rtpsrv_|rtpproc_|rtpu_|rtpopus_|rtpsynth_strerror|rtcp_|rtpev_|rtpplay_|rtpvid_|RTPSYNTH_EPANIC|rsynth_ctor_random|rsynth_get_|rsynth_next_pkt_at'
for name in $DROPIN_TESTS; do
    t="$src/c-tests/$name.c"
    if grep -Eq "$new_api" "$t"; then
        echo "$name: uses an API the original lacks; fix DROPIN_TESTS"; fail=1; continue
    fi
    if ! ${CC:-cc} -std=gnu11 -O2 -I"$src/include" -I"$src/c-tests" "$t" -L"$orig" -lrtpsynth -o "$tmp/$name"; then
        echo "$name: does not build against the original"; fail=1; continue
    fi
    for lib in "$orig" "$ours"; do
        if out=$(LD_LIBRARY_PATH=$lib "$tmp/$name" 2>&1); then
            echo "$name [$lib]: $(echo "$out" | tail -n 1)"
        else
            echo "$name [$lib]: FAILED"; echo "$out" | tail -n 5; fail=1
        fi
    done
    [ -n "$orig_inc" ] || continue
    if ${CC:-cc} -std=gnu11 -O2 -Werror=implicit-function-declaration -I"$orig_inc" -I"$src/c-tests" "$t" \
        -L"$orig" -lrtpsynth -o "$tmp/$name.orighdr" 2>/dev/null; then
        if out=$(LD_LIBRARY_PATH=$ours "$tmp/$name.orighdr" 2>&1); then
            echo "$name [built with 1.3.2 headers, run on $ours]: $(echo "$out" | tail -n 1)"
        else
            echo "$name [built with 1.3.2 headers, run on $ours]: FAILED"; echo "$out" | tail -n 5; fail=1
        fi
    fi
done
exit $fail
