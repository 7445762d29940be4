//! rtpjbuf.h: the jitter buffer behind a `void *` handle, handing out
//! individually malloc'd `struct rtp_frame`s exactly as the original does.

#![allow(non_camel_case_types)]

use std::ffi::{c_int, c_uint, c_void};
use std::ptr::{self, NonNull};

use super::error::{RJB_EINVAL, RJB_ENOMEM};
use super::frame_cache;
use super::handle::{boxed_handle, ffi_dtor, to_boxed_mut_ptr, try_mut};
use super::rtp::{rtp_info, store_parsed};
use crate::jbuf::{Erasure, Frame, InputError, JitterBuffer, Sink};
use crate::rtp::Parsed;

pub const RFT_RTP: c_int = 0;
pub const RFT_ERS: c_int = 1;

/// `struct rtp_packet` (64 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtp_packet {
    pub info: rtp_info,
    pub lseq: u64,
    pub jbcnt: u64,
    pub data: *const u8,
}

/// `struct ers_frame` (24 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ers_frame {
    pub lseq_start: u64,
    pub lseq_end: u64,
    pub ts_diff: u32,
}

/// The anonymous union of `struct rtp_frame`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union rtp_frame_body {
    pub rtp: rtp_packet,
    pub ers: ers_frame,
}

/// `struct rtp_frame` (80 bytes).
#[repr(C)]
pub struct rtp_frame {
    pub type_: c_int,
    pub body: rtp_frame_body,
    pub next: *mut rtp_frame,
}

/// `struct rjb_udp_in_r`.
#[repr(C)]
pub struct rjb_udp_in_r {
    pub error: c_int,
    pub ready: *mut rtp_frame,
    pub drop: *mut rtp_frame,
}

/// An RTP frame on the C heap, owned by Rust until handed to the caller.
struct HeapFrame(NonNull<rtp_frame>);

impl HeapFrame {
    fn get(&mut self) -> &mut rtp_frame {
        // SAFETY: we own an initialized frame block.
        unsafe { self.0.as_mut() }
    }

    /// Hand the block to the caller, stamped with the buffer's bookkeeping.
    fn release(f: Frame<HeapFrame>) -> *mut rtp_frame {
        let mut hf = f.item;
        let fr = hf.get();
        // Frames carried by the buffer are RTP frames (union member `rtp`).
        fr.body.rtp.lseq = f.lseq;
        fr.body.rtp.jbcnt = f.jbcnt as u64;
        fr.next = ptr::null_mut();
        let p = hf.0.as_ptr();
        std::mem::forget(hf);
        p
    }
}

impl Drop for HeapFrame {
    fn drop(&mut self) {
        frame_cache::give(self.0);
    }
}

struct Instance {
    core: JitterBuffer<HeapFrame>,
    /// The erasure frame handed out in `ready`; owned by the buffer.
    ers: rtp_frame,
    stash: frame_cache::Stash,
}

/// Builds the `ready` and `drop` lists as the core releases frames.
struct ListSink<'a> {
    ers: &'a mut rtp_frame,
    ready: *mut rtp_frame,
    ready_tail: *mut rtp_frame,
    drop: *mut rtp_frame,
    run: *mut rtp_frame,
    run_tail: *mut rtp_frame,
}

impl<'a> ListSink<'a> {
    fn new(ers: &'a mut rtp_frame) -> Self {
        let n = ptr::null_mut();
        ListSink {
            ers,
            ready: n,
            ready_tail: n,
            drop: n,
            run: n,
            run_tail: n,
        }
    }

    fn close_run(&mut self) {
        if !self.run.is_null() {
            // SAFETY: run_tail is a frame we released in this call.
            unsafe { (*self.run_tail).next = self.drop };
            self.drop = self.run;
            self.run = ptr::null_mut();
            self.run_tail = ptr::null_mut();
        }
    }

    fn finish(mut self, error: c_int) -> rjb_udp_in_r {
        self.close_run();
        rjb_udp_in_r {
            error,
            ready: self.ready,
            drop: self.drop,
        }
    }
}

impl Sink<HeapFrame> for ListSink<'_> {
    fn erasure(&mut self, e: Erasure) {
        self.ers.type_ = RFT_ERS;
        self.ers.body.ers = ers_frame {
            lseq_start: e.lseq_start,
            lseq_end: e.lseq_end,
            ts_diff: e.ts_diff,
        };
        self.ers.next = ptr::null_mut();
        let p: *mut rtp_frame = self.ers;
        self.ready = p;
        self.ready_tail = p;
    }

    fn ready(&mut self, f: Frame<HeapFrame>) {
        append(&mut self.ready, &mut self.ready_tail, HeapFrame::release(f));
    }

    fn drop_run(&mut self) {
        self.close_run();
    }

    fn dropped(&mut self, f: Frame<HeapFrame>) {
        append(&mut self.run, &mut self.run_tail, HeapFrame::release(f));
    }
}

/// Append `p` to the list `head`..`tail`.
#[inline(always)]
fn append(head: &mut *mut rtp_frame, tail: &mut *mut rtp_frame, p: *mut rtp_frame) {
    if head.is_null() {
        *head = p;
    } else {
        // SAFETY: with a non-empty list, tail is the erasure frame or a
        // frame released in this call; both are valid.
        unsafe { (**tail).next = p };
    }
    *tail = p;
}

const fn failed(error: c_int) -> rjb_udp_in_r {
    rjb_udp_in_r {
        error,
        ready: ptr::null_mut(),
        drop: ptr::null_mut(),
    }
}

/// What the drop-in's `void *` jitter-buffer handle points to.
enum rtpjbuf_inst {}

boxed_handle!(rtpjbuf_inst => Instance);

/// Create a jitter buffer holding up to `capacity` packets. Capacity 0
/// returns NULL (the original accepts it and then grows without bound).
#[no_mangle]
pub extern "C" fn rtpjbuf_ctor(capacity: c_uint) -> *mut c_void {
    super::ffi_boundary!(ptr::null_mut(), {
        if capacity == 0 {
            return ptr::null_mut();
        }
        let ers = rtp_frame {
            type_: RFT_ERS,
            body: rtp_frame_body {
                ers: ers_frame {
                    lseq_start: 0,
                    lseq_end: 0,
                    ts_diff: 0,
                },
            },
            next: ptr::null_mut(),
        };
        to_boxed_mut_ptr::<rtpjbuf_inst>(Instance {
            core: JitterBuffer::new(capacity),
            ers,
            stash: frame_cache::Stash::new(),
        })
        .cast()
    })
}

/// Destroy a jitter buffer and the frames it still holds (NULL is fine).
///
/// # Safety
/// `rjbp` must be NULL or a live handle from `rtpjbuf_ctor`.
#[no_mangle]
pub unsafe extern "C" fn rtpjbuf_dtor(rjbp: *mut c_void) {
    ffi_dtor!(rjbp.cast::<rtpjbuf_inst>())
}

/// Free an RTP frame from `ready` or `drop` (free(); NULL is fine). Erasure
/// frames belong to the buffer and are ignored here.
///
/// # Safety
/// `rfp` must be NULL, the erasure frame, or a frame handed out by
/// `rtpjbuf_udp_in`/`rtpjbuf_flush` and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn rtpjbuf_frame_dtor(rfp: *mut c_void) {
    super::ffi_boundary!((), {
        let f = rfp.cast::<rtp_frame>();
        // SAFETY: per the contract, a non-NULL `f` points to a readable frame.
        if f.is_null() || unsafe { (*f).type_ } == RFT_ERS {
            return;
        }
        if let Some(p) = NonNull::new(f) {
            frame_cache::give(p);
        }
    })
}

/// Take in one datagram; see rtpjbuf.h for the lists returned.
///
/// # Safety
/// `data` must point to `size` readable bytes that stay valid until every
/// frame pointing into them is freed.
#[no_mangle]
pub unsafe extern "C" fn rtpjbuf_udp_in(
    rjbp: *mut c_void,
    data: *const u8,
    size: usize,
) -> rjb_udp_in_r {
    super::ffi_boundary!(failed(RJB_EINVAL), {
        let inst = try_mut!(rjbp.cast::<rtpjbuf_inst>(), failed(RJB_EINVAL));
        // SAFETY: a non-NULL `data` has `size` readable bytes per the contract.
        let Some(bytes) = (unsafe { super::bytes(data, size) }) else {
            return failed(RJB_EINVAL);
        };
        let Instance { core, ers, stash } = inst;
        let mut sink = ListSink::new(ers);
        let new_frame = || {
            let block = stash.take()?;
            let p = block.as_ptr();
            // Fields are stored in place: building the frame elsewhere and
            // copying it in costs store-forwarding stalls on every packet.
            // SAFETY: `p` is a writable, frame-sized block we own; zero is a
            // valid value for every field, and the union member set is `rtp`.
            unsafe {
                ptr::write_bytes(p, 0, 1);
                (*p).type_ = RFT_RTP;
                (*p).body.rtp.data = data;
            }
            Some(HeapFrame(block))
        };
        let fill = |hf: &mut HeapFrame, parsed: &Parsed| {
            // SAFETY: `new_frame` made the union's `rtp` member the live one.
            store_parsed(unsafe { &mut hf.get().body.rtp.info }, parsed);
        };
        let error = match core.udp_in(bytes, new_frame, fill, &mut sink) {
            Ok(()) => 0,
            Err(InputError::NoMemory) => RJB_ENOMEM,
            Err(InputError::Parse(e)) => e.kind.code(),
        };
        sink.finish(error)
    })
}

/// Release everything held; see rtpjbuf.h.
///
/// # Safety
/// `rjbp` must be NULL or a live handle from `rtpjbuf_ctor`.
#[no_mangle]
pub unsafe extern "C" fn rtpjbuf_flush(rjbp: *mut c_void) -> rjb_udp_in_r {
    super::ffi_boundary!(failed(RJB_EINVAL), {
        let inst = try_mut!(rjbp.cast::<rtpjbuf_inst>(), failed(RJB_EINVAL));
        let Instance { core, ers, .. } = inst;
        let mut sink = ListSink::new(ers);
        core.flush(&mut sink);
        sink.finish(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_original() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<rtp_info>(), 40);
        assert_eq!(size_of::<rtp_packet>(), 64);
        assert_eq!(size_of::<ers_frame>(), 24);
        assert_eq!(size_of::<rtp_frame>(), 80);
        assert_eq!(size_of::<rjb_udp_in_r>(), 24);
        assert_eq!(offset_of!(rtp_frame, body), 8);
        assert_eq!(offset_of!(rtp_frame, next), 72);
        assert_eq!(offset_of!(rtp_info, ssrc), 24);
        assert_eq!(offset_of!(rtp_packet, data), 56);
    }
}
