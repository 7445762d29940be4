# Optional sanitizer instrumentation of the Rust library itself, included by
# CMakeLists.txt after CARGO/CARGO_OUT are set.
#
# ThreadSanitizer only sees synchronization in code it instruments: with an
# uninstrumented librtpsynth every lock handed between the library's worker
# threads and the C callbacks would be invisible and reported as a race. So
# RTPSYNTH_SANITIZE=thread (or RTPSYNTH_SANITIZE_RUST=ON with any value)
# also builds the crate with -Zsanitizer=<first value>. RUSTC_BOOTSTRAP=1 is
# set only for this build and only because -Zsanitizer has no stable
# equivalent (rustc 1.9x); every other build uses plain stable rustc. std
# itself stays uninstrumented (hence
# -Cunsafe-allow-abi-mismatch=sanitizer: no rust-src here for -Zbuild-std),
# its thread spawn/join
# go through pthread and are seen by the runtime). The crate is then built
# with an explicit --target (CARGO_BUILD_TARGET), which keeps the flag away
# from build.rs, so its output moves to <target-dir>/<triple>/<profile>.
# Use a separate RTPSYNTH_CARGO_TARGET_DIR for such a build tree.
option(RTPSYNTH_SANITIZE_RUST "Also instrument the Rust library with RTPSYNTH_SANITIZE (implied for thread)" OFF)
if(RTPSYNTH_SANITIZE AND (RTPSYNTH_SANITIZE MATCHES "thread" OR RTPSYNTH_SANITIZE_RUST))
  if(RTPSYNTH_SANITIZE MATCHES "thread")
    set(_rs_san thread)
  else()
    string(REGEX REPLACE ",.*" "" _rs_san "${RTPSYNTH_SANITIZE}")
  endif()
  execute_process(COMMAND rustc -vV OUTPUT_VARIABLE _rs_vv)
  string(REGEX MATCH "host: [^\n]+" _rs_host "${_rs_vv}")
  string(REPLACE "host: " "" _rs_host "${_rs_host}")
  set(CARGO ${CMAKE_COMMAND} -E env RUSTC_BOOTSTRAP=1 "RUSTFLAGS=-Zsanitizer=${_rs_san} -Cunsafe-allow-abi-mismatch=sanitizer -Cllvm-args=-tsan-instrument-memintrinsics=false -Cforce-frame-pointers=yes"
      CARGO_BUILD_TARGET=${_rs_host} ${CARGO})
  get_filename_component(_rs_profile ${CARGO_OUT} NAME)
  set(CARGO_OUT ${CARGO_TARGET_DIR}/${_rs_host}/${_rs_profile})
  message(STATUS "rtpsynth: Rust library instrumented with -Zsanitizer=${_rs_san} (target ${_rs_host})")
endif()
