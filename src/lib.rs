//! rtpsynth: a Rust implementation of librtpsynth shipped as a C library.
//!
//! The modules outside `ffi` are safe Rust and know nothing about C; `ffi`
//! is the thin C ABI (one file per public header).

#![deny(unsafe_op_in_unsafe_fn)]

pub mod clock;
pub mod codec;
pub mod jbuf;
pub mod proc;
pub mod rtp;
pub mod server;
pub mod synth;
pub mod video;

pub mod ffi;
