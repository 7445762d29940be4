#!/usr/bin/env bash
# Build the libFuzzer targets and run each for a bounded time.
#
#   fuzz/run.sh [seconds-per-target] [target...]     (default: 60 s, all targets)
#
# The Rust library is built as a staticlib with SanitizerCoverage (the
# stable -C passes=sancov-module flags) and, through RUSTC_BOOTSTRAP=1 (no
# stable way to get -Zsanitizer), AddressSanitizer, with overflow checks and debug assertions on and
# panic=abort, so that a Rust panic or overflow is a crash the fuzzer
# reports instead of an error value the FFI boundary would swallow.
# The C harnesses in fuzz/targets/ are built with clang
# -fsanitize=fuzzer,address,undefined and linked against it.
#
# Each target starts from its seed corpus fuzz/corpus/<target>/ (read only;
# new inputs go to $FUZZ_WORK/corpus/<target>/) and any crash, leak,
# sanitizer report, timeout or invariant failure makes the script exit 1,
# leaving the reproducer in $FUZZ_WORK/artifacts/. Reproduce one with
#   $FUZZ_WORK/bin/fuzz_<target> <artifact-file>
#
# Environment: FUZZ_WORK (default build-fuzz), FUZZ_RUST_ASAN=0 to build the
# Rust side without ASan, FUZZ_JOBS (default 1) parallel jobs per target,
# FUZZ_KEEP_CORPUS=1 to keep $FUZZ_WORK/corpus between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-60}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=()
  for f in fuzz/targets/fuzz_*.c; do
    t=$(basename "$f" .c)
    TARGETS+=("${t#fuzz_}")
  done
fi
WORK=${FUZZ_WORK:-$ROOT/build-fuzz}
mkdir -p "$WORK/bin" "$WORK/artifacts" "$WORK/logs"

CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null || { echo "fuzz/run.sh: $CLANG not found (apt-get install clang)" >&2; exit 2; }
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' |
    "$CLANG" -x c -fsanitize=fuzzer - -o "$WORK/bin/.probe" 2>/dev/null; then
  echo "fuzz/run.sh: $CLANG cannot link -fsanitize=fuzzer (apt-get install libclang-rt-dev or the versioned libclang-rt-NN-dev)" >&2
  exit 2
fi

echo "== building the instrumented static library"
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
RUST_SAN=""
if [ "${FUZZ_RUST_ASAN:-1}" = 1 ]; then
  RUST_SAN="-Zsanitizer=address"
  # -Zsanitizer has no stable equivalent (rustc 1.9x): it is the only
  # reason for RUSTC_BOOTSTRAP here. The coverage instrumentation
  # (-Cpasses=sancov-module, -Cllvm-args) and the profile overrides are
  # stable, so FUZZ_RUST_ASAN=0 builds with plain stable rustc.
  export RUSTC_BOOTSTRAP=1
fi
(
  export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  export CARGO_PROFILE_RELEASE_PANIC=abort
  export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
  # --target keeps these flags away from build.rs
  export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cforce-frame-pointers=yes $RUST_SAN"
  cargo build -q --release --lib --target "$TRIPLE" --target-dir "$WORK/cargo"
)
LIB=$WORK/cargo/$TRIPLE/release/librtpsynth.a
EXTRA_LIBS=(-lpthread -ldl -lm)
if pkg-config --exists opus 2>/dev/null; then
  read -r -a OPUS_LIBS <<<"$(pkg-config --libs opus)"
  EXTRA_LIBS+=("${OPUS_LIBS[@]}")
fi

for t in "${TARGETS[@]}"; do
  echo "== building fuzz_$t"
  "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer -Wall -Wextra -I include -I fuzz/targets \
    "fuzz/targets/fuzz_$t.c" "$LIB" "${EXTRA_LIBS[@]}" -o "$WORK/bin/fuzz_$t"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
JOBS_ARGS=()
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
  # libFuzzer's jobs mode writes fuzz-N.log into the current directory
  JOBS_ARGS=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
  cd "$WORK/logs"
fi
fail=0
summary=()
for t in "${TARGETS[@]}"; do
  corpus=$WORK/corpus/$t
  [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$corpus"
  mkdir -p "$corpus" "fuzz/corpus/$t"
  log=$WORK/logs/$t.log
  echo "== fuzz_$t for ${SECS}s (seeds: $(ls "fuzz/corpus/$t" | wc -l))"
  set +e
  "$WORK/bin/fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 "${JOBS_ARGS[@]}" \
    -artifact_prefix="$WORK/artifacts/$t-" "$corpus" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  ncorp=$(ls "$corpus" | wc -l)
  if [ $rc -ne 0 ]; then
    fail=1
    echo "!! fuzz_$t FAILED (exit $rc); log: $log; artifacts:"
    ls "$WORK/artifacts" | grep "^$t-" || true
    grep -E 'ERROR|invariant failed|panicked|SUMMARY|runtime error' "$log" | head -20 || true
  fi
  summary+=("$(printf '%-8s %-6s execs=%-10s cov=%-6s ft=%-6s new_inputs=%s' "$t" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$ncorp")")
done
echo "== fuzz summary (${SECS}s per target)"
printf '%s\n' "${summary[@]}"
nfail=$(printf '%s\n' "${summary[@]}" | grep -c ' FAIL ' || true)
echo "fuzz: $(( ${#TARGETS[@]} - nfail )) passed, $nfail failed"
exit $fail
