//! The command line of DESIGN.md section 5.2, exactly: option names, value
//! syntax and defaults are binding (scripts drive the tool with them).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "rtpsynth",
    version,
    subcommand_required = true,
    arg_required_else_help = false,
    about = "Send, receive and analyse RTP streams, and generate RTP load",
    after_help = "Examples:\n  \
        rtpsynth send --to 127.0.0.1:5004 --tone 1000 --duration 5\n  \
        rtpsynth recv --listen 0.0.0.0:5004 --out call.wav --stats call.json\n  \
        rtpsynth recv --pcap call.pcapng --codec pcma --out call.wav\n  \
        rtpsynth load --to 127.0.0.1:20000 --channels 100 --duration 10\n\n\
        Exit status: 0 success, 1 runtime failure, 2 bad options or unreadable input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Send one RTP stream: a tone or a WAV file, paced in real time
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  \
        rtpsynth send --to 127.0.0.1:5004 --tone 1000 --duration 5\n  \
        rtpsynth send --to [::1]:5004 --codec opus --input speech.wav --sdp stream.sdp\n  \
        rtpsynth send --to 192.0.2.7:4000 --bind 0.0.0.0:4000 --codec pcma --ptime 30 --stats tx.json\n  \
        rtpsynth send --to 127.0.0.1:5006 --codec vp8 --input clip.ivf --fps 25 --sdp video.sdp\n  \
        rtpsynth send --to 127.0.0.1:5006 --codec vp8 --input clip.ivf --rtcp-mux --nack\n\n\
        With --sdp, receive the stream with:\n  \
        ffmpeg -protocol_whitelist file,udp,rtp -i stream.sdp out.wav"
    )]
    Send(SendArgs),
    /// Receive one RTP stream live or from a capture; decode it to a WAV file
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  \
        rtpsynth recv --listen 0.0.0.0:5004 --duration 30 --out call.wav --stats call.json\n  \
        rtpsynth recv --listen [::]:5004 --codec opus --out call.wav\n  \
        rtpsynth recv --pcap capture.pcapng --port 5004 --codec pcmu --out call.wav --stats call.json\n  \
        rtpsynth recv --listen 127.0.0.1:5006 --codec vp8 --rtcp-mux --nack --out clip.ivf\n\n\
        Ends after --duration, at the end of the capture, or on Ctrl-C / SIGTERM;\n\
        --out and --stats are written in every case."
    )]
    Recv(RecvArgs),
    /// Generate load: N streams, stream i to PORT + 2i, each from its own socket
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  \
        rtpsynth load --to 127.0.0.1:20000 --channels 100 --duration 10\n  \
        rtpsynth load --to 192.0.2.7:30000 --channels 1000 --pps 50 --stats load.json"
    )]
    Load(LoadArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodecName {
    Pcmu,
    Pcma,
    L16,
    Opus,
    H264,
    Vp8,
    Vp9,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// Destination, HOST:PORT or [IPV6]:PORT (numeric)
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    pub to: SocketAddr,
    /// Local address to send from (default: an ephemeral port)
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    pub bind: Option<SocketAddr>,
    /// Codec
    #[arg(long, value_enum, default_value = "pcmu")]
    pub codec: CodecName,
    /// RTP payload type (default: the codec's: 0 pcmu, 8 pcma, 96 l16, 111 opus, 96 h264, 97 vp8, 98 vp9)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=127))]
    pub pt: Option<u8>,
    /// Packet time in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub ptime: u32,
    /// Send a sine of HZ at -6 dBFS (the default, at 1000 Hz, without --input)
    #[arg(long, value_name = "HZ", conflicts_with = "input")]
    pub tone: Option<f64>,
    /// Send this WAV file (resampled to the codec's rate, mixed to mono), or for video an H.264 Annex B / VP8 or VP9 IVF file
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Stop after SEC seconds (default: the input's length; a tone runs until Ctrl-C)
    #[arg(long, value_name = "SEC")]
    pub duration: Option<f64>,
    /// Opus bit rate
    #[arg(long, value_name = "BPS", default_value_t = 32000, value_parser = clap::value_parser!(u32).range(500..=512000))]
    pub bitrate: u32,
    /// Send DTMF digits as RFC 4733 events starting SEC seconds in (repeatable)
    #[arg(long, value_name = "DIGITS@SEC")]
    pub dtmf: Vec<String>,
    /// Payload type of telephone events
    #[arg(long, value_name = "N")]
    pub dtmf_pt: Option<u8>,
    /// Duration of one digit in milliseconds
    #[arg(long, value_name = "MS")]
    pub dtmf_ms: Option<u32>,
    /// Audio between two digits in milliseconds
    #[arg(long, value_name = "MS")]
    pub dtmf_gap: Option<u32>,
    /// Send and receive RTCP on the RTP port + 1
    #[arg(long)]
    pub rtcp: bool,
    /// Multiplex RTCP on the RTP port (RFC 5761)
    #[arg(long)]
    pub rtcp_mux: bool,
    /// SSRC (default: random; sequence number and timestamp start random either way)
    #[arg(long, value_name = "N")]
    pub ssrc: Option<u32>,
    /// Connect over TCP with RFC 4571 framing
    #[arg(long)]
    pub tcp: bool,
    /// Write an SDP describing the stream to FILE before the first packet
    #[arg(long, value_name = "FILE")]
    pub sdp: Option<PathBuf>,
    /// Write statistics as JSON to FILE at exit
    #[arg(long, value_name = "FILE.json")]
    pub stats: Option<PathBuf>,
    /// Video frame rate
    #[arg(long, value_name = "N")]
    pub fps: Option<u32>,
    /// Largest RTP packet for video (header + payload)
    #[arg(long, value_name = "N")]
    pub mtu: Option<u32>,
    /// Video: answer NACKs with retransmissions (needs --rtcp or --rtcp-mux)
    #[arg(long)]
    pub nack: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["listen", "pcap"])))]
pub struct RecvArgs {
    /// Receive live on HOST:PORT (port 0: an ephemeral port, printed on stderr)
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    pub listen: Option<SocketAddr>,
    /// Read a capture file (pcap or pcapng) as fast as possible
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// With --pcap: the UDP destination port of the stream (default: the first RTP flow)
    #[arg(long, value_name = "N", conflicts_with = "listen")]
    pub port: Option<u16>,
    /// Codec to decode
    #[arg(long, value_enum, default_value = "pcmu")]
    pub codec: CodecName,
    /// Payload type to decode (default: the codec's)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=127))]
    pub pt: Option<u8>,
    /// Payload type of telephone events
    #[arg(long, value_name = "N")]
    pub dtmf_pt: Option<u8>,
    /// Write the decoded audio as a 16-bit mono WAV file (video: Annex B for h264, IVF for vp8/vp9)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Stop after SEC seconds (live)
    #[arg(long, value_name = "SEC")]
    pub duration: Option<f64>,
    /// Playout: adaptive, adaptive:MIN:MAX, fixed:MS or off
    #[arg(long, value_name = "MODE", default_value = "off")]
    pub playout: String,
    /// Send and receive RTCP on the RTP port + 1
    #[arg(long)]
    pub rtcp: bool,
    /// Multiplex RTCP on the RTP port (RFC 5761)
    #[arg(long)]
    pub rtcp_mux: bool,
    /// Send RTP and RTCP replies to where the peer's packets come from (RFC 4961)
    #[arg(long)]
    pub latch: bool,
    /// Listen on TCP with RFC 4571 framing
    #[arg(long)]
    pub tcp: bool,
    /// Answer STUN Binding Requests on the listening port
    #[arg(long)]
    pub stun: bool,
    /// Video: request lost packets with NACKs, key frames with PLI (needs --rtcp or --rtcp-mux)
    #[arg(long)]
    pub nack: bool,
    /// Write statistics as JSON to FILE at exit
    #[arg(long, value_name = "FILE.json")]
    pub stats: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Destination of stream 0; stream i goes to PORT + 2i
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    pub to: SocketAddr,
    /// Number of streams
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=30000))]
    pub channels: u32,
    /// Packets per second of each stream
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub pps: u32,
    /// Seconds to run
    #[arg(long, value_name = "SEC", default_value_t = 10.0)]
    pub duration: f64,
    /// Codec
    #[arg(long, value_enum, default_value = "pcmu")]
    pub codec: CodecName,
    /// Write {"channels","packets","queue_full","pps"} as JSON to FILE at exit
    #[arg(long, value_name = "FILE.json")]
    pub stats: Option<PathBuf>,
}

/// `HOST:PORT` with a numeric host; IPv6 as `[::1]:PORT`.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .map_err(|_| format!("'{s}' is not HOST:PORT with a numeric host (IPv6 as [::1]:PORT)"))
}

/// Playout modes of `recv --playout`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Playout {
    Off,
    Adaptive { min_ms: u32, max_ms: u32 },
    Fixed { ms: u32 },
}

pub fn parse_playout(s: &str) -> Result<Playout, String> {
    let bad = || format!("--playout '{s}': expected adaptive, adaptive:MIN:MAX, fixed:MS or off");
    let num = |v: &str| v.parse::<u32>().map_err(|_| bad());
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        ["off"] => Ok(Playout::Off),
        ["adaptive"] => Ok(Playout::Adaptive {
            min_ms: 0,
            max_ms: 500,
        }),
        ["adaptive", a, b] => {
            let (min_ms, max_ms) = (num(a)?, num(b)?);
            if min_ms > max_ms {
                return Err(bad());
            }
            Ok(Playout::Adaptive { min_ms, max_ms })
        }
        ["fixed", ms] => Ok(Playout::Fixed { ms: num(ms)? }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_addr("127.0.0.1:5004").unwrap(),
            "127.0.0.1:5004".parse().unwrap()
        );
        assert!(parse_addr("[::1]:5004").unwrap().is_ipv6());
        assert!(parse_addr("localhost:5004").is_err());
        assert!(parse_addr("127.0.0.1").is_err());
        assert!(parse_addr("127.0.0.1:70000").is_err());
    }

    #[test]
    fn playout_modes() {
        assert_eq!(parse_playout("off"), Ok(Playout::Off));
        assert_eq!(
            parse_playout("adaptive"),
            Ok(Playout::Adaptive {
                min_ms: 0,
                max_ms: 500
            })
        );
        assert_eq!(
            parse_playout("adaptive:20:200"),
            Ok(Playout::Adaptive {
                min_ms: 20,
                max_ms: 200
            })
        );
        assert_eq!(parse_playout("fixed:60"), Ok(Playout::Fixed { ms: 60 }));
        for bad in ["", "on", "adaptive:1", "adaptive:9:2", "fixed", "fixed:x"] {
            assert!(parse_playout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parser_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
