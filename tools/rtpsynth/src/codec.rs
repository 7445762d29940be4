//! The audio codecs the tool speaks, over the library's codec room:
//! payload type defaults and clock rates of DESIGN.md 5.2, one-frame
//! encoders for `send`/`load`, and decoders for `recv`.

use rtpsynth::codec::{g711, opus};

use crate::cli::CodecName;
use crate::fail::Fail;

/// The Opus packet sizes libopus encodes, in ms (2.5 and 5 are not
/// whole milliseconds and 80..120 need libopus >= 1.2; keep to the usual).
const OPUS_PTIMES: [u32; 4] = [10, 20, 40, 60];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audio {
    Pcmu,
    Pcma,
    L16,
    Opus,
}

impl Audio {
    /// The audio codec named on the command line (video goes to video.rs).
    pub fn from_cli(c: CodecName) -> Result<Audio, Fail> {
        match c {
            CodecName::Pcmu => Ok(Audio::Pcmu),
            CodecName::Pcma => Ok(Audio::Pcma),
            CodecName::L16 => Ok(Audio::L16),
            CodecName::Opus => Ok(Audio::Opus),
            CodecName::H264 | CodecName::Vp8 | CodecName::Vp9 => Err(Fail::usage(format!(
                "--codec {} is a video codec",
                format!("{c:?}").to_lowercase()
            ))),
        }
    }

    pub fn default_pt(self) -> u8 {
        match self {
            Audio::Pcmu => 0,
            Audio::Pcma => 8,
            Audio::L16 => 96,
            Audio::Opus => 111,
        }
    }

    /// RTP clock rate, which is also the sample rate of the audio.
    pub fn rate(self) -> u32 {
        match self {
            Audio::Opus => 48000,
            _ => 8000,
        }
    }

    /// The encoding name and clock of an SDP rtpmap line.
    pub fn rtpmap(self) -> &'static str {
        match self {
            Audio::Pcmu => "PCMU/8000",
            Audio::Pcma => "PCMA/8000",
            Audio::L16 => "L16/8000/1",
            // RFC 7587: always announced as 2 channels.
            Audio::Opus => "opus/48000/2",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Audio::Pcmu => "pcmu",
            Audio::Pcma => "pcma",
            Audio::L16 => "l16",
            Audio::Opus => "opus",
        }
    }

    /// Checks the packet time for this codec.
    pub fn check_ptime(self, ptime: u32) -> Result<(), Fail> {
        match self {
            Audio::Opus if !OPUS_PTIMES.contains(&ptime) => Err(Fail::usage(format!(
                "--ptime {ptime}: Opus takes 10, 20, 40 or 60 ms"
            ))),
            _ if ptime > 200 => Err(Fail::usage(format!("--ptime {ptime}: at most 200 ms"))),
            _ => Ok(()),
        }
    }
}

/// Turns one packet time of samples into a payload.
pub enum Encoder {
    G711 { alaw: bool },
    L16,
    Opus(Box<opus::Encoder>),
}

impl Encoder {
    pub fn new(codec: Audio, bitrate: u32) -> Result<Encoder, Fail> {
        Ok(match codec {
            Audio::Pcmu => Encoder::G711 { alaw: false },
            Audio::Pcma => Encoder::G711 { alaw: true },
            Audio::L16 => Encoder::L16,
            Audio::Opus => {
                let mut e = opus::Encoder::new(48000, 1, opus::App::Voip)
                    .map_err(|e| Fail::runtime(format!("Opus encoder: {e:?}")))?;
                e.set(opus::Setting::Bitrate, bitrate as i32).map_err(|e| {
                    Fail::usage(format!("--bitrate {bitrate}: refused by libopus ({e:?})"))
                })?;
                Encoder::Opus(Box::new(e))
            }
        })
    }

    /// Encode `pcm` (one packet's samples) into `out`, replacing its content.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), Fail> {
        out.clear();
        match self {
            Encoder::G711 { alaw } => {
                out.resize(pcm.len(), 0);
                if *alaw {
                    g711::linear2alaw_buf(pcm, out);
                } else {
                    g711::linear2ulaw_buf(pcm, out);
                }
            }
            Encoder::L16 => out.extend(pcm.iter().flat_map(|s| s.to_be_bytes())),
            Encoder::Opus(e) => {
                out.resize(1500, 0);
                let n = e
                    .encode(pcm, out)
                    .map_err(|e| Fail::runtime(format!("Opus encoding failed: {e:?}")))?;
                out.truncate(n);
            }
        }
        Ok(())
    }
}

/// Turns payloads back into samples, and conceals gaps.
pub enum Decoder {
    G711 { alaw: bool },
    L16,
    Opus(Box<opus::Decoder>),
}

impl Decoder {
    pub fn new(codec: Audio) -> Result<Decoder, Fail> {
        Ok(match codec {
            Audio::Pcmu => Decoder::G711 { alaw: false },
            Audio::Pcma => Decoder::G711 { alaw: true },
            Audio::L16 => Decoder::L16,
            Audio::Opus => Decoder::Opus(Box::new(
                opus::Decoder::new(48000, 1)
                    .map_err(|e| Fail::runtime(format!("Opus decoder: {e:?}")))?,
            )),
        })
    }

    /// Decode one payload, appending the samples to `out`; returns how many.
    /// A payload the decoder rejects yields no samples (its span is
    /// concealed like a lost packet's).
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> usize {
        let start = out.len();
        match self {
            Decoder::G711 { alaw } => {
                out.resize(start + payload.len(), 0);
                if *alaw {
                    g711::alaw2linear_buf(payload, &mut out[start..]);
                } else {
                    g711::ulaw2linear_buf(payload, &mut out[start..]);
                }
            }
            Decoder::L16 => out.extend(
                payload
                    .chunks_exact(2)
                    .map(|b| i16::from_be_bytes([b[0], b[1]])),
            ),
            Decoder::Opus(_) if payload.is_empty() => {}
            Decoder::Opus(d) => {
                out.resize(start + opus::max_frame(48000), 0);
                let n = d
                    .decode(Some(payload), &mut out[start..], false)
                    .unwrap_or(0);
                out.truncate(start + n);
            }
        }
        out.len() - start
    }

    /// Append `n` samples covering lost media: Opus packet-loss
    /// concealment, silence for G.711 and L16 (until the playout module
    /// brings concealment for them).
    pub fn conceal(&mut self, n: usize, out: &mut Vec<i16>) {
        let start = out.len();
        out.resize(start + n, 0);
        if let Decoder::Opus(d) = self {
            // Any failure leaves silence, which is what a gap sounds like.
            let _ = d.conceal(n as u32, &mut out[start..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design() {
        assert_eq!(Audio::Pcmu.default_pt(), 0);
        assert_eq!(Audio::Pcma.default_pt(), 8);
        assert_eq!(Audio::L16.default_pt(), 96);
        assert_eq!(Audio::Opus.default_pt(), 111);
        assert_eq!(Audio::L16.rate(), 8000);
        assert_eq!(Audio::Opus.rate(), 48000);
        assert!(Audio::from_cli(CodecName::H264).is_err());
    }

    #[test]
    fn g711_and_l16_round_trip() {
        let pcm: Vec<i16> = (0..160).map(|i| (i * 200 - 16000) as i16).collect();
        for codec in [Audio::Pcmu, Audio::Pcma, Audio::L16] {
            let mut enc = Encoder::new(codec, 32000).unwrap();
            let mut dec = Decoder::new(codec).unwrap();
            let mut payload = Vec::new();
            enc.encode(&pcm, &mut payload).unwrap();
            let mut out = Vec::new();
            assert_eq!(dec.decode(&payload, &mut out), 160);
            if codec == Audio::L16 {
                assert_eq!(out, pcm);
            } else {
                for (a, b) in out.iter().zip(&pcm) {
                    assert!((*a as i32 - *b as i32).abs() <= 512, "{codec:?}");
                }
            }
        }
    }

    #[test]
    fn opus_round_trip_and_concealment() {
        let mut enc = Encoder::new(Audio::Opus, 32000).unwrap();
        let mut dec = Decoder::new(Audio::Opus).unwrap();
        let pcm = vec![0i16; 960];
        let mut payload = Vec::new();
        enc.encode(&pcm, &mut payload).unwrap();
        assert!(!payload.is_empty());
        let mut out = Vec::new();
        assert_eq!(dec.decode(&payload, &mut out), 960);
        dec.conceal(1920, &mut out);
        assert_eq!(out.len(), 960 + 1920);
        assert_eq!(dec.decode(&[], &mut out), 0);
    }

    #[test]
    fn ptime_checks() {
        assert!(Audio::Opus.check_ptime(20).is_ok());
        assert!(Audio::Opus.check_ptime(30).is_err());
        assert!(Audio::Pcmu.check_ptime(30).is_ok());
        assert!(Audio::Pcmu.check_ptime(500).is_err());
    }
}
