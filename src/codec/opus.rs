//! Opus encoder and decoder (system libopus through the `audiopus` crate),
//! plus packet-loss concealment sized from a jitter-buffer erasure.

use audiopus::coder::{Decoder as OpusDecoder, Encoder as OpusEncoder};
use audiopus::{ffi, Application, Channels, ErrorCode, SampleRate};

/// What went wrong, in libopus's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpusError {
    /// An argument is out of range (rate, channels, frame size, setting).
    BadArg,
    /// The output buffer is too small.
    BufferTooSmall,
    /// The packet is corrupted.
    InvalidPacket,
    /// libopus failed internally.
    Internal,
    /// Not implemented by this libopus.
    Unimplemented,
    /// The codec state is invalid.
    InvalidState,
    /// Out of memory.
    AllocFail,
}

impl From<audiopus::Error> for OpusError {
    fn from(e: audiopus::Error) -> Self {
        match e {
            audiopus::Error::Opus(c) => match c {
                ErrorCode::BadArgument => OpusError::BadArg,
                ErrorCode::BufferTooSmall => OpusError::BufferTooSmall,
                ErrorCode::InternalError | ErrorCode::Unknown => OpusError::Internal,
                ErrorCode::InvalidPacket => OpusError::InvalidPacket,
                ErrorCode::Unimplemented => OpusError::Unimplemented,
                ErrorCode::InvalidState => OpusError::InvalidState,
                ErrorCode::AllocFail => OpusError::AllocFail,
            },
            _ => OpusError::BadArg,
        }
    }
}

/// Encoder settings (`rtpopus_enc_set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// bits/s (500..=512000), or -1000 (auto) / -1 (maximum).
    Bitrate,
    /// 0..=10.
    Complexity,
    /// 0 off, 1 on (newer libopus also take 2).
    InbandFec,
    /// expected loss in percent, 0..=100.
    PacketLossPerc,
    /// discontinuous transmission, 0 or 1.
    Dtx,
}

impl Setting {
    fn request(self) -> i32 {
        match self {
            Setting::Bitrate => ffi::OPUS_SET_BITRATE_REQUEST,
            Setting::Complexity => ffi::OPUS_SET_COMPLEXITY_REQUEST,
            Setting::InbandFec => ffi::OPUS_SET_INBAND_FEC_REQUEST,
            Setting::PacketLossPerc => ffi::OPUS_SET_PACKET_LOSS_PERC_REQUEST,
            Setting::Dtx => ffi::OPUS_SET_DTX_REQUEST,
        }
    }
}

fn sample_rate(srate: i32) -> Result<SampleRate, OpusError> {
    Ok(match srate {
        8000 => SampleRate::Hz8000,
        12000 => SampleRate::Hz12000,
        16000 => SampleRate::Hz16000,
        24000 => SampleRate::Hz24000,
        48000 => SampleRate::Hz48000,
        _ => return Err(OpusError::BadArg),
    })
}

/// What the encoder is tuned for (libopus's "application").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// Speech: best intelligibility at low rates.
    Voip,
    /// Music and mixed content.
    Audio,
    /// Lowest delay: CELT only.
    LowDelay,
}

impl From<App> for Application {
    fn from(a: App) -> Self {
        match a {
            App::Voip => Application::Voip,
            App::Audio => Application::Audio,
            App::LowDelay => Application::LowDelay,
        }
    }
}

fn channels(ch: i32) -> Result<Channels, OpusError> {
    match ch {
        1 => Ok(Channels::Mono),
        2 => Ok(Channels::Stereo),
        _ => Err(OpusError::BadArg),
    }
}

/// The longest Opus frame, 120 ms, in samples per channel.
pub const fn max_frame(srate: i32) -> usize {
    srate as usize * 120 / 1000
}

/// Samples per channel at 48 kHz in one Opus packet (its RTP duration), or
/// None for a packet libopus cannot parse or longer than 120 ms.
pub fn packet_samples_48k(packet: &[u8]) -> Option<usize> {
    let n = audiopus::packet::nb_samples(packet, SampleRate::Hz48000).ok()?;
    // libopus reports errors as negative counts, which arrive here wrapped
    (n > 0 && n <= max_frame(48000)).then_some(n)
}

/// An Opus encoder.
pub struct Encoder {
    enc: OpusEncoder,
    srate: i32,
    channels: usize,
}

impl Encoder {
    /// An encoder at `srate` (8000, 12000, 16000, 24000 or 48000) for 1 or
    /// 2 channels.
    pub fn new(srate: i32, ch: i32, app: App) -> Result<Self, OpusError> {
        let rate = sample_rate(srate)?;
        let chans = channels(ch)?;
        let enc = OpusEncoder::new(rate, chans, app.into())?;
        Ok(Encoder {
            enc,
            srate,
            channels: ch as usize,
        })
    }

    pub fn sample_rate(&self) -> i32 {
        self.srate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Change one setting; libopus validates the value.
    pub fn set(&mut self, what: Setting, value: i32) -> Result<(), OpusError> {
        self.enc.set_encoder_ctl_request(what.request(), value)?;
        Ok(())
    }

    /// Encode one frame: `pcm` holds `frame_size * channels` interleaved
    /// samples, `frame_size` a valid Opus duration (2.5 .. 120 ms). Returns
    /// the packet length written to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, OpusError> {
        if pcm.is_empty()
            || pcm.len() % self.channels != 0
            || pcm.len() / self.channels > max_frame(self.srate)
        {
            return Err(OpusError::BadArg);
        }
        if out.is_empty() {
            return Err(OpusError::BufferTooSmall);
        }
        let n = out.len().min(i32::MAX as usize);
        Ok(self.enc.encode(pcm, &mut out[..n])?)
    }
}

/// An Opus decoder.
pub struct Decoder {
    dec: OpusDecoder,
    srate: i32,
    channels: usize,
}

impl Decoder {
    pub fn new(srate: i32, ch: i32) -> Result<Self, OpusError> {
        let dec = OpusDecoder::new(sample_rate(srate)?, channels(ch)?)?;
        Ok(Decoder {
            dec,
            srate,
            channels: ch as usize,
        })
    }

    pub fn sample_rate(&self) -> i32 {
        self.srate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Decode one packet into `pcm` (room for `pcm.len() / channels`
    /// samples per channel); returns samples per channel. `None` or an empty
    /// packet means the packet was lost: libopus then conceals exactly the
    /// room given, which must be a multiple of 2.5 ms. With `fec`, `data` is
    /// the packet *after* the lost one and the room given is the lost span.
    pub fn decode(
        &mut self,
        data: Option<&[u8]>,
        pcm: &mut [i16],
        fec: bool,
    ) -> Result<usize, OpusError> {
        let room = pcm.len() / self.channels;
        if room == 0 {
            return Err(OpusError::BufferTooSmall);
        }
        let pcm = &mut pcm[..room.min(i32::MAX as usize / self.channels) * self.channels];
        let data = data.filter(|d| !d.is_empty());
        if data.is_some_and(|d| d.len() > i32::MAX as usize) {
            return Err(OpusError::InvalidPacket);
        }
        Ok(self.dec.decode(data, pcm, fec)?)
    }

    /// The concealment length for an erasure spanning `ts_diff` ticks of the
    /// 48 kHz Opus RTP clock: `ts_diff * srate / 48000` samples per channel.
    pub fn conceal_len(&self, ts_diff: u32) -> usize {
        (ts_diff as u64 * self.srate as u64 / 48000) as usize
    }

    /// Fill `pcm` with exactly `conceal_len(ts_diff)` samples per channel of
    /// libopus packet-loss concealment; returns that count.
    pub fn conceal(&mut self, ts_diff: u32, pcm: &mut [i16]) -> Result<usize, OpusError> {
        let total = self.conceal_len(ts_diff);
        let ch = self.channels;
        if pcm.len() / ch < total {
            return Err(OpusError::BufferTooSmall);
        }
        // libopus conceals in multiples of 2.5 ms; go by 120 ms at most.
        let quantum = self.srate as usize / 400;
        let max_chunk = max_frame(self.srate);
        let mut done = 0;
        while total - done >= quantum {
            let chunk = (total - done).min(max_chunk) / quantum * quantum;
            let got = self.dec.decode(
                None::<&[u8]>,
                &mut pcm[done * ch..(done + chunk) * ch],
                false,
            )?;
            if got != chunk {
                return Err(OpusError::Internal);
            }
            done += chunk;
        }
        let rest = total - done;
        if rest > 0 {
            // A partial quantum: conceal a whole one and keep its start.
            let mut tmp = [0i16; 2 * 48000 / 400];
            let buf = &mut tmp[..quantum * ch];
            let got = self.dec.decode(None::<&[u8]>, &mut *buf, false)?;
            if got != quantum {
                return Err(OpusError::Internal);
            }
            pcm[done * ch..total * ch].copy_from_slice(&buf[..rest * ch]);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(srate: i32, ch: usize, n: usize, start: usize) -> Vec<i16> {
        (0..n)
            .flat_map(|i| {
                let t = (start + i) as f64 / srate as f64;
                let v = (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16;
                std::iter::repeat(v).take(ch)
            })
            .collect()
    }

    #[test]
    fn bad_arguments() {
        assert_eq!(
            Encoder::new(44100, 1, App::Voip).err(),
            Some(OpusError::BadArg)
        );
        assert_eq!(
            Encoder::new(48000, 3, App::Voip).err(),
            Some(OpusError::BadArg)
        );
        assert_eq!(
            Encoder::new(48000, 0, App::Voip).err(),
            Some(OpusError::BadArg)
        );
        assert_eq!(Decoder::new(22050, 1).err(), Some(OpusError::BadArg));
        assert_eq!(Decoder::new(8000, -1).err(), Some(OpusError::BadArg));
        let mut e = Encoder::new(48000, 1, App::Voip).unwrap();
        assert_eq!(e.set(Setting::Complexity, 11), Err(OpusError::BadArg));
        assert_eq!(e.set(Setting::PacketLossPerc, 101), Err(OpusError::BadArg));
        assert_eq!(e.set(Setting::Complexity, 5), Ok(()));
        assert_eq!(e.set(Setting::Bitrate, 24000), Ok(()));
        assert_eq!(e.set(Setting::Dtx, 1), Ok(()));
        let mut out = [0u8; 400];
        assert_eq!(e.encode(&vec![0i16; 961], &mut out), Err(OpusError::BadArg)); // not a frame size
        assert_eq!(e.encode(&[], &mut out), Err(OpusError::BadArg));
        assert_eq!(
            e.encode(&vec![0i16; 960], &mut []),
            Err(OpusError::BufferTooSmall)
        );
    }

    #[test]
    fn round_trip_and_conceal() {
        for &(rate, ch) in &[(48000, 1), (16000, 2), (8000, 1), (12000, 1), (24000, 2)] {
            let mut e = Encoder::new(rate, ch, App::Audio).unwrap();
            let mut d = Decoder::new(rate, ch).unwrap();
            let f = rate as usize / 50;
            let mut pkt = [0u8; 1500];
            let mut pcm = vec![0i16; f * ch as usize];
            for k in 0..5 {
                let n = e
                    .encode(&tone(rate, ch as usize, f, k * f), &mut pkt)
                    .unwrap();
                assert!(n > 0);
                assert_eq!(d.decode(Some(&pkt[..n]), &mut pcm, false), Ok(f));
            }
            // erasure of two 20 ms packets plus a partial quantum
            let ts = 2 * 960 + 37;
            let want = d.conceal_len(ts);
            assert_eq!(want, ts as usize * rate as usize / 48000);
            let mut plc = vec![0i16; want * ch as usize];
            assert_eq!(d.conceal(ts, &mut plc), Ok(want));
            let mut small = vec![0i16; (want - 1) * ch as usize];
            assert_eq!(d.conceal(ts, &mut small), Err(OpusError::BufferTooSmall));
            // a long erasure goes in several chunks
            let long = 48000 / 2 + 960;
            let mut plc = vec![0i16; d.conceal_len(long) * ch as usize];
            assert_eq!(d.conceal(long, &mut plc), Ok(d.conceal_len(long)));
            assert_eq!(d.conceal(0, &mut []), Ok(0));
        }
    }

    #[test]
    fn corrupted_packets_are_errors() {
        let mut d = Decoder::new(48000, 1).unwrap();
        let mut pcm = vec![0i16; 5760];
        // code 3 packet with a frame count of 0 is invalid
        assert_eq!(
            d.decode(Some(&[0x03, 0x00]), &mut pcm, false),
            Err(OpusError::InvalidPacket)
        );
        // code 2 with a first-frame length beyond the packet
        assert_eq!(
            d.decode(Some(&[0x02, 0xfb, 1, 2]), &mut pcm, false),
            Err(OpusError::InvalidPacket)
        );
        let mut r = 7u64;
        for _ in 0..2000 {
            let len = (r % 200 + 1) as usize;
            let p: Vec<u8> = (0..len)
                .map(|_| {
                    r ^= r << 13;
                    r ^= r >> 7;
                    r ^= r << 17;
                    r as u8
                })
                .collect();
            match d.decode(Some(&p), &mut pcm, false) {
                Ok(n) => assert!(n <= 5760),
                Err(e) => assert!(matches!(
                    e,
                    OpusError::InvalidPacket | OpusError::BufferTooSmall
                )),
            }
        }
    }
}
