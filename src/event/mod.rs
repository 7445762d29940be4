//! Telephone events: RFC 4733 payload, sender and receiver, and in-band
//! DTMF (ITU-T Q.23 tone generation, Q.24-style detection).
//!
//! The sender and receiver are clocked by the caller: the sender by one call
//! per packet time, the receiver by explicit arrival times, so the same code
//! runs live and from a capture.

pub mod detect;
pub mod payload;
pub mod receiver;
pub mod sender;
pub mod tone;

pub use detect::{DetectError, DetectorEvent, DtmfDetector};
pub use payload::{dtmf_char, dtmf_event, EventPayload, PayloadError, PAYLOAD_LEN};
pub use receiver::{EndReason, EventReceiver, PacketVerdict, ReceivedEvent, ReceiverStats};
pub use sender::{EventPacket, EventSender, SendError};
pub use tone::{DtmfTone, ToneError};

#[cfg(test)]
mod tests;
