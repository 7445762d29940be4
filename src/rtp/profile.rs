//! The 128-entry static payload profile table (RFC 3551 section 6), with the
//! values librtpsynth ships: only payload types 0..=18 are filled in, 1 and 2
//! are marked reserved, everything else is all-zero.

/// Kind of a payload type; `Audio` and the original's `RTP_PTK_UNK` share 0.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtKind {
    Audio = 0,
    Video = 1,
    Sign = 2,
    Res = 3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    pub ts_rate: i32,
    pub sample_rate: i32,
    pub nchannels: i32,
    pub pt_kind: PtKind,
}

const fn audio(rate: i32, nchannels: i32) -> Profile {
    Profile {
        ts_rate: rate,
        sample_rate: rate,
        nchannels,
        pt_kind: PtKind::Audio,
    }
}

const RESERVED: Profile = Profile {
    ts_rate: 0,
    sample_rate: 0,
    nchannels: 0,
    pt_kind: PtKind::Res,
};
const EMPTY: Profile = Profile {
    ts_rate: 0,
    sample_rate: 0,
    nchannels: 0,
    pt_kind: PtKind::Audio,
};

const fn build() -> [Profile; 128] {
    let mut t = [EMPTY; 128];
    t[0] = audio(8000, 1); // PCMU
    t[1] = RESERVED;
    t[2] = RESERVED;
    t[3] = audio(8000, 1); // GSM
    t[4] = audio(8000, 1); // G723
    t[5] = audio(8000, 1); // DVI4 8000
    t[6] = audio(16000, 1); // DVI4 16000
    t[7] = audio(8000, 1); // LPC
    t[8] = audio(8000, 1); // PCMA
    t[9] = audio(8000, 1); // G722: RTP clock 8000 (RFC 3551 4.5.2)
    t[10] = audio(44100, 1); // L16 mono
    t[11] = audio(44100, 2); // L16 stereo
    t[12] = audio(8000, 1); // QCELP
    t[13] = audio(8000, 1); // CN
    t[14] = audio(90000, 2); // MPA, as the original has it
    t[15] = audio(8000, 1); // G728
    t[16] = audio(11025, 1); // DVI4 11025
    t[17] = audio(22050, 1); // DVI4 22050
    t[18] = audio(8000, 1); // G729
    t
}

pub const PROFILES: [Profile; 128] = build();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_rfc3551_subset() {
        assert_eq!(PROFILES[0], audio(8000, 1));
        assert_eq!(PROFILES[1].pt_kind, PtKind::Res);
        assert_eq!(PROFILES[11].nchannels, 2);
        assert_eq!(PROFILES[14].ts_rate, 90000);
        assert_eq!(PROFILES[19], EMPTY);
        assert_eq!(PROFILES[127], EMPTY);
    }
}
