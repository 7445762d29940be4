//! What can go wrong in the server, as a Rust type. `src/ffi/rtpserver.rs`
//! is the only place that turns these into negative errno values.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A malformed argument: bad host text, queue size, port range...
    Invalid,
    /// An address of the other family (an IPv6 target for an IPv4 socket).
    FamilyMismatch,
    /// Sending before the channel has a target (set or latched).
    NoTarget,
    /// A datagram over 65507 bytes.
    TooBig,
    /// The channel's output queue is full; the packet was dropped.
    QueueFull,
    /// The server was shut down.
    Shutdown,
    /// The channel is being closed by another thread.
    Closing,
    /// A wait ran out of time.
    TimedOut,
    /// A blocking wait was asked for on the worker thread, which would wait
    /// for itself.
    WouldDeadlock,
    /// Out of memory (an allocation was refused, never an abort).
    NoMemory,
    /// Every port (pair) of a range is in use, or the port is taken.
    AddrInUse,
    /// A stream channel has no connection (not yet, or no longer).
    NotConnected,
    /// The operation does not apply to this kind of channel.
    NotSupported,
    /// Any other error the kernel reported, with its OS error code.
    Os(i32),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid => f.write_str("invalid argument"),
            Error::FamilyMismatch => f.write_str("address family mismatch"),
            Error::NoTarget => f.write_str("no target address"),
            Error::TooBig => f.write_str("datagram too large"),
            Error::QueueFull => f.write_str("output queue full"),
            Error::Shutdown => f.write_str("server shut down"),
            Error::Closing => f.write_str("channel is being closed"),
            Error::TimedOut => f.write_str("timed out"),
            Error::WouldDeadlock => f.write_str("would wait for the worker thread from itself"),
            Error::NoMemory => f.write_str("out of memory"),
            Error::AddrInUse => f.write_str("address in use"),
            Error::NotConnected => f.write_str("not connected"),
            Error::NotSupported => f.write_str("operation not supported"),
            Error::Os(e) => write!(f, "{}", std::io::Error::from_raw_os_error(*e)),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
