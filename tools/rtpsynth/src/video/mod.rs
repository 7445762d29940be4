//! `--codec h264|vp8|vp9`: video through the library's video core
//! (`rtpsynth::video`). `send` (send.rs) reads an H.264 Annex B file
//! (split into access units) or a VP8/VP9 IVF file, packetizes each frame
//! with `video::Sender` (at most `--mtu` bytes a packet, one 90 kHz
//! timestamp per frame, marker on the last) and sends the frames `--fps`
//! apart. `recv` (recv.rs) rebuilds frames with `video::Receiver` and
//! writes Annex B (4-byte start codes, every NAL unit as received,
//! parameter sets included) or IVF (complete frames only, 90 kHz
//! timestamps).
//!
//! RTCP and the transports are the audio path's (`crate::rtcp::Link`,
//! `recv::receive`); `--nack` adds the library's retransmission: the
//! sender's history answers RFC 4585 generic NACKs, the receiver asks for
//! missing packets (paced by RTT, up to a deadline) and sends PLI when a
//! frame is lost.

mod recv;
mod send;

pub use recv::recv;
pub use send::send;

use std::net::SocketAddr;
use std::path::Path;

use rtpsynth::video::{annexb, ivf, Codec};

use crate::cli::CodecName;
use crate::fail::Fail;

/// The video codec named on the command line (None: audio).
pub fn codec_of(c: CodecName) -> Option<Codec> {
    match c {
        CodecName::H264 => Some(Codec::H264),
        CodecName::Vp8 => Some(Codec::Vp8),
        CodecName::Vp9 => Some(Codec::Vp9),
        _ => None,
    }
}

pub fn default_pt(c: Codec) -> u8 {
    match c {
        Codec::H264 => 96,
        Codec::Vp8 => 97,
        Codec::Vp9 => 98,
    }
}

pub fn fourcc(c: Codec) -> [u8; 4] {
    match c {
        Codec::H264 => *b"H264",
        Codec::Vp8 => *b"VP80",
        Codec::Vp9 => *b"VP90",
    }
}

pub fn name(c: Codec) -> &'static str {
    match c {
        Codec::H264 => "h264",
        Codec::Vp8 => "vp8",
        Codec::Vp9 => "vp9",
    }
}

/// The SDP of a video stream (RFC 6184 packetization-mode 1: STAP-A and
/// FU-A; RFC 7741; RFC 9628), as ffmpeg and GStreamer read it.
pub fn sdp_text(c: Codec, pt: u8, fps: u32, to: SocketAddr, sess_id: u32) -> String {
    let ip = match to {
        SocketAddr::V4(a) => format!("IP4 {}", a.ip()),
        SocketAddr::V6(a) => format!("IP6 {}", a.ip()),
    };
    let (map, fmtp) = match c {
        Codec::H264 => (
            "H264/90000",
            format!("a=fmtp:{pt} packetization-mode=1\r\n"),
        ),
        Codec::Vp8 => ("VP8/90000", String::new()),
        Codec::Vp9 => ("VP9/90000", String::new()),
    };
    format!(
        "v=0\r\no=- {sess_id} 1 IN {ip}\r\ns=rtpsynth\r\nc=IN {ip}\r\nt=0 0\r\n\
         m=video {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {map}\r\n{fmtp}a=framerate:{fps}\r\n",
        port = to.port()
    )
}

/// The frames of an input file: Annex B access units, or IVF frames.
pub fn read_frames(c: Codec, path: &Path) -> Result<Vec<Vec<u8>>, Fail> {
    let bad = |why: String| Fail::usage(format!("--input {}: {why}", path.display()));
    let data = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let frames: Vec<Vec<u8>> = match c {
        Codec::H264 => annexb::access_units(&data)
            .into_iter()
            .map(|au| {
                let mut f = Vec::new();
                for nal in au {
                    annexb::write_nal(&mut f, nal);
                }
                f
            })
            .collect(),
        Codec::Vp8 | Codec::Vp9 => {
            let mut r = ivf::IvfReader::new(&data).map_err(|e| bad(format!("not IVF ({e:?})")))?;
            if r.header().fourcc != fourcc(c) {
                return Err(bad(format!(
                    "an IVF file of {}, not {}",
                    String::from_utf8_lossy(&r.header().fourcc),
                    name(c)
                )));
            }
            let mut v = Vec::new();
            loop {
                match r.next_frame() {
                    Ok(Some(f)) => v.push(f.data.to_vec()),
                    Ok(None) => break,
                    Err(e) => return Err(bad(format!("damaged IVF frame ({e:?})"))),
                }
            }
            v
        }
    };
    if frames.is_empty() {
        return Err(bad(format!("no {} frames", name(c))));
    }
    Ok(frames)
}

/// Options of audio streams only.
fn refuse_audio_options(used: &[(&str, bool)]) -> Result<(), Fail> {
    match used.iter().find(|(_, on)| *on) {
        Some((name, _)) => Err(Fail::usage(format!(
            "{name} is for audio codecs: telephone events (RFC 4733) go with an audio stream, not video"
        ))),
        None => Ok(()),
    }
}

/// NACKs and retransmissions travel with RTCP: `--nack` needs it.
fn check_nack(nack: bool, rtcp: bool, rtcp_mux: bool) -> Result<(), Fail> {
    if nack && !rtcp && !rtcp_mux {
        return Err(Fail::usage(
            "--nack needs --rtcp or --rtcp-mux: NACKs and keyframe requests travel in RTCP",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_describes_video() {
        let to: SocketAddr = "127.0.0.1:5004".parse().unwrap();
        let s = sdp_text(Codec::H264, 96, 25, to, 7);
        assert!(s.contains("m=video 5004 RTP/AVP 96\r\n"), "{s}");
        assert!(s.contains("a=rtpmap:96 H264/90000\r\n"), "{s}");
        assert!(s.contains("a=fmtp:96 packetization-mode=1\r\n"), "{s}");
        let s = sdp_text(Codec::Vp9, 98, 30, to, 7);
        assert!(s.contains("a=rtpmap:98 VP9/90000\r\n"), "{s}");
        assert!(!s.contains("fmtp"), "{s}");
        assert_eq!(default_pt(Codec::Vp8), 97);
    }
}
