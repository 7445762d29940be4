//! RTCP (RFC 3550 section 6, RFC 4585 feedback): receiver statistics per
//! remote source (appendix A), report blocks, packet building and parsing,
//! and a session object for one local SSRC. Safe Rust; the C API is
//! `src/ffi/rtcp.rs` over `include/rtcp.h`.

pub mod packet;
pub mod report_block;
pub mod session;
pub mod stats;
pub mod timing;
pub mod writer;

pub use packet::{
    check_compound, is_rtcp, Compound, Packet, ParseError, ParseErrorKind, SenderInfo,
};
pub use report_block::ReportBlock;
pub use session::{Event, Remote, SenderStats, Session, SessionConfig, SessionError};
pub use stats::{RecvStats, SeqStatus};
pub use writer::{BuildError, SdesChunk, Writer};
