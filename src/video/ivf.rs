//! IVF files (the libvpx container for VP8/VP9): a 32-byte file header and
//! frames each behind a 12-byte header (size, 64-bit timestamp).

use super::VideoError;

pub const FILE_HEADER_LEN: usize = 32;
pub const FRAME_HEADER_LEN: usize = 12;

/// What the file header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IvfHeader {
    /// FourCC, e.g. `*b"VP80"` or `*b"VP90"`.
    pub fourcc: [u8; 4],
    pub width: u16,
    pub height: u16,
    /// Time base: timestamps count `rate_den / rate_num`... as IVF stores
    /// them: frame rate numerator (`rate`) and denominator (`scale`).
    pub rate: u32,
    pub scale: u32,
    pub frames: u32,
}

/// One frame of an IVF file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IvfFrame<'a> {
    pub pts: u64,
    pub data: &'a [u8],
}

fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}
fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads an IVF file held in memory.
pub struct IvfReader<'a> {
    header: IvfHeader,
    rest: &'a [u8],
}

impl<'a> IvfReader<'a> {
    /// Checks the signature and header length; `Malformed` otherwise.
    pub fn new(file: &'a [u8]) -> Result<Self, VideoError> {
        if file.len() < FILE_HEADER_LEN || &file[..4] != b"DKIF" || le16(&file[4..]) != 0 {
            return Err(VideoError::Malformed);
        }
        let hlen = le16(&file[6..]) as usize;
        if hlen < FILE_HEADER_LEN || hlen > file.len() {
            return Err(VideoError::Malformed);
        }
        let header = IvfHeader {
            fourcc: [file[8], file[9], file[10], file[11]],
            width: le16(&file[12..]),
            height: le16(&file[14..]),
            rate: le32(&file[16..]),
            scale: le32(&file[20..]),
            frames: le32(&file[24..]),
        };
        Ok(IvfReader {
            header,
            rest: &file[hlen..],
        })
    }

    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// The next frame; `Ok(None)` at the end, `Malformed` for a frame cut
    /// short (the frames before it were fine).
    pub fn next_frame(&mut self) -> Result<Option<IvfFrame<'a>>, VideoError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        if self.rest.len() < FRAME_HEADER_LEN {
            return Err(VideoError::Malformed);
        }
        let size = le32(self.rest) as usize;
        let pts = u64::from(le32(&self.rest[4..])) | u64::from(le32(&self.rest[8..])) << 32;
        let body = &self.rest[FRAME_HEADER_LEN..];
        if size > body.len() {
            return Err(VideoError::Malformed);
        }
        self.rest = &body[size..];
        Ok(Some(IvfFrame {
            pts,
            data: &body[..size],
        }))
    }
}

/// Writes an IVF file into a byte vector. The frame count in the header is
/// kept up to date as frames are added.
pub struct IvfWriter {
    out: Vec<u8>,
    frames: u32,
}

impl IvfWriter {
    pub fn new(header: &IvfHeader) -> Self {
        let mut out = Vec::with_capacity(1 << 16);
        out.extend_from_slice(b"DKIF");
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
        out.extend_from_slice(&header.fourcc);
        out.extend_from_slice(&header.width.to_le_bytes());
        out.extend_from_slice(&header.height.to_le_bytes());
        out.extend_from_slice(&header.rate.to_le_bytes());
        out.extend_from_slice(&header.scale.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        IvfWriter { out, frames: 0 }
    }

    /// Appends a frame; `TooLarge` for a frame over 4 GiB.
    pub fn write_frame(&mut self, pts: u64, data: &[u8]) -> Result<(), VideoError> {
        let size = u32::try_from(data.len()).map_err(|_| VideoError::TooLarge)?;
        self.out.extend_from_slice(&size.to_le_bytes());
        self.out.extend_from_slice(&pts.to_le_bytes());
        self.out.extend_from_slice(data);
        self.frames = self.frames.wrapping_add(1);
        self.out[24..28].copy_from_slice(&self.frames.to_le_bytes());
        Ok(())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.out
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read() {
        let h = IvfHeader {
            fourcc: *b"VP80",
            width: 320,
            height: 240,
            rate: 30,
            scale: 1,
            frames: 0,
        };
        let mut w = IvfWriter::new(&h);
        w.write_frame(0, &[1, 2, 3]).unwrap();
        w.write_frame(1 << 40, &[]).unwrap();
        w.write_frame(2, &[9; 100]).unwrap();
        let bytes = w.into_bytes();
        let mut r = IvfReader::new(&bytes).unwrap();
        assert_eq!(r.header(), &IvfHeader { frames: 3, ..h });
        assert_eq!(r.next_frame().unwrap().unwrap().data, &[1, 2, 3]);
        assert_eq!(r.next_frame().unwrap().unwrap().pts, 1 << 40);
        assert_eq!(r.next_frame().unwrap().unwrap().data.len(), 100);
        assert_eq!(r.next_frame().unwrap(), None);
        // cut short: the complete frames still read, then an error
        let mut r = IvfReader::new(&bytes[..bytes.len() - 1]).unwrap();
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_some());
        assert_eq!(r.next_frame(), Err(VideoError::Malformed));
        assert!(IvfReader::new(&bytes[..31]).is_err());
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(IvfReader::new(&bad).is_err());
    }
}
