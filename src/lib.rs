//! rtpsynth: a Rust implementation of librtpsynth shipped as a C library.
//!
//! The core modules (`rtp`, `synth`, `jbuf`, `proc`, `server`, `codec`,
//! `rtcp`, `event`, `playout`, `clock`, `osrand`) hold all the RTP logic, with typed Rust errors and settings
//! structs; they use no C strings, C handles or C callbacks and read no
//! environment variables. They do call the OS directly where std has no
//! wrapper (clock_gettime, futexes, epoll and socket calls, getrandom;
//! all `unsafe` confined to `clock.rs`, `osrand.rs`, `proc/sys.rs` and
//! `server/sys.rs`), and the server still exchanges `libc` socket
//! addresses. `ffi` is the thin C ABI
//! (one file per public header): it checks pointers, converts types, reads
//! the documented environment knobs, calls the core and maps its errors to
//! the C conventions.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod clock;
pub mod codec;
pub mod event;
pub mod jbuf;
pub mod osrand;
pub mod playout;
pub mod proc;
pub mod rtcp;
pub mod rtp;
pub mod server;
pub mod synth;
pub mod video;

pub mod ffi;
