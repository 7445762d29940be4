//! Audio helpers: G.711 companding, linear resampling (both bit-exact with
//! the original RtpUtils for µ-law and resampling) and Opus.

pub mod g711;
pub mod opus;
pub mod resample;
