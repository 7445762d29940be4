//! The objects `udp_in` and `flush` return (`FrameWrapper`, `RTPFrame`,
//! `RTPFrameUnion`, `RTPPacket`, `RTPInfo`, `ERSFrame`) as plain CPython
//! heap types made with `PyType_FromSpec` (stable ABI), as the original
//! makes them in C: no GC header, fields read as struct members.
//!
//! Why not `#[pyclass]`: every pyclass is a GC type created through the
//! base type's `tp_new` and read through a Rust getter trampoline; for
//! objects made by the million and read once that cost 2-3x the original
//! (docs/python.md). These types are leaves (they refer only to bytes,
//! ints, None, each other and the caller's `opaque`, as the original's),
//! so they need no GC support.
//!
//! Laziness: a `FrameWrapper` is made per released frame; its `content`
//! (the `RTPFrame` -> `RTPFrameUnion` -> `RTPPacket` chain, or the
//! `ERSFrame`), its `rtp_data` copy and a packet's `RTPInfo` are made on
//! first read and then kept (`w.content is w.content`). Every other
//! attribute is a struct member or a computed int.
//!
//! Threading: every function here is called by the interpreter with the
//! GIL held (abi3 has no free-threaded build), and nothing in them runs
//! Python code or releases the GIL between reading a lazy field and
//! storing it, so the fields need no further synchronisation.

use std::cell::UnsafeCell;
use std::ffi::{c_int, c_void, CStr};
use std::mem::{offset_of, size_of};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use rtpsynth::jbuf::Erasure;

use super::{created, freed, InfoVals, Kind, RtpMeta, RFT_ERS, RFT_RTP};

/// An object of one of these types: the header, then the fields.
#[repr(C)]
struct Obj<T> {
    ob: ffi::PyObject,
    v: T,
}

/// How many freed objects of one type are kept for reuse.
const FREE_MAX: usize = 128;

/// Memory of freed objects of one type, kept for the next object of that
/// type (as CPython's own free lists for tuples, floats, ...): a
/// `udp_in` releases and makes them by the million, and this skips the
/// allocator both ways. Each entry is a block of `size_of::<Obj<T>>()`
/// bytes from PyObject_Malloc holding no live object.
pub struct FreeList(UnsafeCell<FreeSlots>);

struct FreeSlots {
    n: usize,
    items: [*mut ffi::PyObject; FREE_MAX],
}

// SAFETY: a free list is only touched by alloc and dealloc, which run
// with the GIL held; the GIL serialises all access (abi3 has no
// free-threaded build).
unsafe impl Sync for FreeList {}

impl FreeList {
    const fn new() -> Self {
        FreeList(UnsafeCell::new(FreeSlots {
            n: 0,
            items: [ptr::null_mut(); FREE_MAX],
        }))
    }

    /// A kept block, if any.
    ///
    /// # Safety
    /// GIL held.
    unsafe fn pop(&self) -> *mut ffi::PyObject {
        // SAFETY: GIL held, so this is the only access (see Sync above).
        let s = unsafe { &mut *self.0.get() };
        if s.n == 0 {
            return ptr::null_mut();
        }
        s.n -= 1;
        s.items[s.n]
    }

    /// Keep `o`'s block; false when the list is full.
    ///
    /// # Safety
    /// GIL held; `o` a block as described on [`FreeList`].
    unsafe fn push(&self, o: *mut ffi::PyObject) -> bool {
        // SAFETY: GIL held, so this is the only access (see Sync above).
        let s = unsafe { &mut *self.0.get() };
        if s.n == FREE_MAX {
            return false;
        }
        s.items[s.n] = o;
        s.n += 1;
        true
    }
}

/// What each type keeps; raw pointers are owned (strong) references.
trait Fields: Sized {
    const KIND: Kind;
    /// The type object, set once by [`register`].
    fn type_slot() -> &'static AtomicPtr<ffi::PyTypeObject>;
    /// Freed blocks of this type.
    fn free_list() -> &'static FreeList;
    /// Drop the references held.
    ///
    /// # Safety
    /// GIL held; each non-null pointer is an owned reference, given up
    /// here (the fields must not be used again).
    unsafe fn release(&mut self);
}

/// Give up an owned reference, if any.
///
/// # Safety
/// GIL held; `o` null or an owned reference.
unsafe fn xdecref(o: *mut ffi::PyObject) {
    // SAFETY: per this function's contract.
    unsafe { ffi::Py_XDECREF(o) }
}

/// A new owned reference to `o`.
///
/// # Safety
/// GIL held; `o` a live object.
unsafe fn new_ref(o: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: per this function's contract.
    unsafe { ffi::Py_INCREF(o) };
    o
}

/// A new owned reference to None.
fn none() -> *mut ffi::PyObject {
    // SAFETY: None is a static object, always live; taking a reference
    // to it needs only the GIL, which every caller holds.
    unsafe { new_ref(ffi::Py_None()) }
}

/// A new object of `T`'s type holding `v`, or null with a Python error set
/// (`v`'s references are then released).
///
/// # Safety
/// GIL held; the pointers in `v` are owned references.
unsafe fn alloc<T: Fields>(mut v: T) -> *mut ffi::PyObject {
    let tp = T::type_slot().load(Ordering::Acquire);
    if tp.is_null() {
        // SAFETY: GIL held; the exception type and message are valid.
        unsafe {
            v.release();
            ffi::PyErr_SetString(
                ffi::PyExc_RuntimeError,
                c"rtpsynth.RtpJBuf is not initialised".as_ptr(),
            );
        }
        return ptr::null_mut();
    }
    // SAFETY: GIL held. A block from the free list or PyObject_Malloc
    // has room for an Obj<T> and is aligned for any field type here
    // (pointers and integers); null means no memory. The fields are
    // written before PyObject_Init makes it a live object (refcount 1,
    // type set and, for a heap type, referenced); the types have no
    // Py_TPFLAGS_BASETYPE, so `tp` is exactly the type whose basicsize is
    // size_of::<Obj<T>>() and whose dealloc reads these fields.
    unsafe {
        let mut o = T::free_list().pop().cast::<Obj<T>>();
        if o.is_null() {
            o = ffi::PyObject_Malloc(size_of::<Obj<T>>()).cast::<Obj<T>>();
        }
        if o.is_null() {
            v.release();
            ffi::PyErr_NoMemory();
            return ptr::null_mut();
        }
        ptr::addr_of_mut!((*o).v).write(v);
        let o = ffi::PyObject_Init(o.cast(), tp);
        created(T::KIND);
        o
    }
}

/// `tp_dealloc` of every type here.
///
/// # Safety
/// Called by the interpreter, GIL held, on an object made by [`alloc`]
/// whose refcount reached zero.
unsafe extern "C" fn dealloc<T: Fields>(o: *mut ffi::PyObject) {
    // SAFETY: `o` is an Obj<T> (see alloc); its fields are released once
    // here, then its block kept for reuse or freed (it came from
    // PyObject_Malloc), then the reference to its heap type that
    // PyObject_Init took is dropped.
    unsafe {
        let tp = ffi::Py_TYPE(o);
        (*o.cast::<Obj<T>>()).v.release();
        freed(T::KIND);
        if !T::free_list().push(o) {
            ffi::PyObject_Free(o.cast());
        }
        ffi::Py_DECREF(tp.cast());
    }
}

/// The fields of `o`.
///
/// # Safety
/// `o` is a live object of `T`'s type (the interpreter only calls a
/// type's getters and slots with its own instances), GIL held.
unsafe fn fields<'a, T>(o: *mut ffi::PyObject) -> &'a mut T {
    // SAFETY: per this function's contract; the reference does not outlive
    // the calling slot function, and no other reference to the fields is
    // live meanwhile (the GIL serialises all access).
    unsafe { &mut (*o.cast::<Obj<T>>()).v }
}

/// `tp_new` refusing positional arguments, as the original's `tp_init`.
///
/// # Safety
/// Called by the interpreter with a valid args tuple, GIL held.
unsafe fn no_args(args: *mut ffi::PyObject, msg: &CStr) -> bool {
    // SAFETY: per this function's contract.
    unsafe {
        if !args.is_null() && ffi::PyTuple_Size(args) != 0 {
            ffi::PyErr_SetString(ffi::PyExc_TypeError, msg.as_ptr());
            return false;
        }
    }
    true
}

fn u64_obj(v: u64) -> *mut ffi::PyObject {
    // SAFETY: GIL held by every caller (slot functions).
    unsafe { ffi::PyLong_FromUnsignedLongLong(v) }
}

fn i64_obj(v: i64) -> *mut ffi::PyObject {
    // SAFETY: GIL held by every caller (slot functions).
    unsafe { ffi::PyLong_FromLongLong(v) }
}

// --- RTPInfo ---

struct InfoF {
    v: InfoVals,
}

static INFO_T: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());

impl Fields for InfoF {
    const KIND: Kind = Kind::Info;
    fn type_slot() -> &'static AtomicPtr<ffi::PyTypeObject> {
        &INFO_T
    }
    fn free_list() -> &'static FreeList {
        static FREE: FreeList = FreeList::new();
        &FREE
    }
    unsafe fn release(&mut self) {}
}

unsafe extern "C" fn info_new(
    _tp: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    _kw: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: interpreter call, GIL held; InfoF holds no references.
    unsafe {
        if !no_args(args, c"RTPInfo() takes no arguments") {
            return ptr::null_mut();
        }
        alloc(InfoF {
            v: InfoVals::default(),
        })
    }
}

unsafe extern "C" fn info_get(o: *mut ffi::PyObject, which: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: a getter of RTPInfo, called with an RTPInfo, GIL held.
    let v = unsafe { fields::<InfoF>(o) }.v;
    match which as usize {
        0 => u64_obj(v.data_size as u64),
        1 => i64_obj(v.data_offset.into()),
        2 => i64_obj(v.nsamples.into()),
        3 => u64_obj(v.ts.into()),
        4 => u64_obj(v.seq.into()),
        5 => u64_obj(v.ssrc.into()),
        // SAFETY: GIL held.
        6 => unsafe { ffi::PyBool_FromLong(v.appendable.into()) },
        _ => u64_obj(v.profile_addr as u64),
    }
}

// --- RTPPacket ---

struct PacketF {
    m: RtpMeta,
    /// The RTPInfo, null until first read.
    info: *mut ffi::PyObject,
}

static PACKET_T: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());

impl Fields for PacketF {
    const KIND: Kind = Kind::Packet;
    fn type_slot() -> &'static AtomicPtr<ffi::PyTypeObject> {
        &PACKET_T
    }
    fn free_list() -> &'static FreeList {
        static FREE: FreeList = FreeList::new();
        &FREE
    }
    unsafe fn release(&mut self) {
        // SAFETY: per the trait's contract.
        unsafe { xdecref(self.info) }
    }
}

unsafe extern "C" fn packet_new(
    _tp: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    _kw: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: interpreter call, GIL held; the info pointer starts null.
    unsafe {
        if !no_args(args, c"RTPPacket() takes no arguments") {
            return ptr::null_mut();
        }
        alloc(PacketF {
            m: RtpMeta::default(),
            info: ptr::null_mut(),
        })
    }
}

unsafe extern "C" fn packet_get(o: *mut ffi::PyObject, which: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: a getter of RTPPacket, called with an RTPPacket, GIL held.
    let f = unsafe { fields::<PacketF>(o) };
    match which as usize {
        0 => {
            if f.info.is_null() {
                // SAFETY: GIL held; InfoF holds no references. Nothing
                // between the check and the store runs Python code.
                let info = unsafe { alloc(InfoF { v: f.m.info }) };
                if info.is_null() {
                    return info;
                }
                f.info = info;
            }
            // SAFETY: `info` is a live object owned by this packet.
            unsafe { new_ref(f.info) }
        }
        1 => u64_obj(f.m.lseq),
        _ => u64_obj(f.m.data_addr as u64),
    }
}

// --- ERSFrame ---

struct ErsF {
    e: Erasure,
}

static ERS_T: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());

impl Fields for ErsF {
    const KIND: Kind = Kind::Ers;
    fn type_slot() -> &'static AtomicPtr<ffi::PyTypeObject> {
        &ERS_T
    }
    fn free_list() -> &'static FreeList {
        static FREE: FreeList = FreeList::new();
        &FREE
    }
    unsafe fn release(&mut self) {}
}

unsafe extern "C" fn ers_new(
    _tp: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    _kw: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: interpreter call, GIL held; ErsF holds no references.
    unsafe {
        if !no_args(args, c"ERSFrame() takes no arguments") {
            return ptr::null_mut();
        }
        alloc(ErsF {
            e: Erasure {
                lseq_start: 0,
                lseq_end: 0,
                ts_diff: 0,
            },
        })
    }
}

unsafe extern "C" fn ers_get(o: *mut ffi::PyObject, which: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: a getter of ERSFrame, called with an ERSFrame, GIL held.
    let e = unsafe { fields::<ErsF>(o) }.e;
    match which as usize {
        0 => u64_obj(e.lseq_start),
        1 => u64_obj(e.lseq_end),
        2 => u64_obj(e.ts_diff.into()),
        _ => i64_obj(RFT_ERS.into()),
    }
}

// --- RTPFrameUnion: members `rtp` (the RTPPacket or None), `ers` (None) ---

#[repr(C)]
struct UnionF {
    rtp: *mut ffi::PyObject,
    ers: *mut ffi::PyObject,
}

static UNION_T: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());

impl Fields for UnionF {
    const KIND: Kind = Kind::Union;
    fn type_slot() -> &'static AtomicPtr<ffi::PyTypeObject> {
        &UNION_T
    }
    fn free_list() -> &'static FreeList {
        static FREE: FreeList = FreeList::new();
        &FREE
    }
    unsafe fn release(&mut self) {
        // SAFETY: per the trait's contract.
        unsafe {
            xdecref(self.rtp);
            xdecref(self.ers);
        }
    }
}

unsafe extern "C" fn union_new(
    _tp: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    _kw: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: interpreter call, GIL held; both fields own a None.
    unsafe {
        if !no_args(args, c"RTPFrameUnion() takes no arguments") {
            return ptr::null_mut();
        }
        alloc(UnionF {
            rtp: none(),
            ers: none(),
        })
    }
}

// --- RTPFrame: members `type` (int) and `frame` (the union or None) ---

#[repr(C)]
struct FrameF {
    frame: *mut ffi::PyObject,
    type_: c_int,
}

static FRAME_T: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());

impl Fields for FrameF {
    const KIND: Kind = Kind::Frame;
    fn type_slot() -> &'static AtomicPtr<ffi::PyTypeObject> {
        &FRAME_T
    }
    fn free_list() -> &'static FreeList {
        static FREE: FreeList = FreeList::new();
        &FREE
    }
    unsafe fn release(&mut self) {
        // SAFETY: per the trait's contract.
        unsafe { xdecref(self.frame) }
    }
}

unsafe extern "C" fn frame_new(
    _tp: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    _kw: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: interpreter call, GIL held; `frame` owns a None.
    unsafe {
        if !no_args(args, c"RTPFrame() takes no arguments") {
            return ptr::null_mut();
        }
        alloc(FrameF {
            frame: none(),
            type_: RFT_RTP,
        })
    }
}

/// The RTPFrame -> RTPFrameUnion -> RTPPacket chain of one packet, or
/// null with an error set.
///
/// # Safety
/// GIL held.
unsafe fn rtp_chain(m: RtpMeta) -> *mut ffi::PyObject {
    // SAFETY: GIL held; each alloc takes ownership of the references in
    // its fields (and releases them when it fails).
    unsafe {
        let pkt = alloc(PacketF {
            m,
            info: ptr::null_mut(),
        });
        if pkt.is_null() {
            return pkt;
        }
        let un = alloc(UnionF {
            rtp: pkt,
            ers: none(),
        });
        if un.is_null() {
            return un;
        }
        alloc(FrameF {
            frame: un,
            type_: RFT_RTP,
        })
    }
}

// --- FrameWrapper ---

/// What a wrapper stands for.
#[derive(Clone, Copy)]
pub enum Content {
    Empty,
    Rtp(RtpMeta),
    Ers(Erasure),
}

/// Members `content`, `data` (the datagram or None), `rtp_data` (its
/// payload or None) and `opaque`; `what` for str().
#[repr(C)]
struct WrapperF {
    data: *mut ffi::PyObject,
    opaque: *mut ffi::PyObject,
    content: *mut ffi::PyObject,
    rtp_data: *mut ffi::PyObject,
    what: Content,
}

static WRAPPER_T: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());

impl Fields for WrapperF {
    const KIND: Kind = Kind::Wrapper;
    fn type_slot() -> &'static AtomicPtr<ffi::PyTypeObject> {
        &WRAPPER_T
    }
    fn free_list() -> &'static FreeList {
        static FREE: FreeList = FreeList::new();
        &FREE
    }
    unsafe fn release(&mut self) {
        // SAFETY: per the trait's contract.
        unsafe {
            xdecref(self.data);
            xdecref(self.opaque);
            xdecref(self.content);
            xdecref(self.rtp_data);
        }
    }
}

/// A new `FrameWrapper` for `what`, holding the datagram `data` (None for
/// an erasure) and the caller's `opaque` (None when absent), with its
/// `content` and `rtp_data` made now, as the original does: they are
/// struct members, which the interpreter reads fastest.
///
/// # Safety
/// For `Content::Rtp(m)`, `m.data_addr` and `m.data_len` describe the
/// bytes of `data` (the payload is copied from there).
pub unsafe fn wrapper(
    py: Python<'_>,
    what: Content,
    data: Option<Py<PyBytes>>,
    opaque: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let data = data.map_or_else(none, Py::into_ptr);
    let opaque = opaque.map_or_else(none, Py::into_ptr);
    // SAFETY: the GIL is held (`py`); `data`, `opaque` and the objects
    // made here are owned references handed to the new object (alloc
    // releases them if it fails); a null `content` or `rtp_data` is
    // released as such (Py_XDECREF) before the error is returned. The
    // payload is read from `data`, alive here, as the caller promises.
    unsafe {
        let mut f = WrapperF {
            data,
            opaque,
            content: ptr::null_mut(),
            rtp_data: ptr::null_mut(),
            what,
        };
        f.content = match what {
            Content::Empty => none(),
            Content::Rtp(m) => rtp_chain(m),
            Content::Ers(e) => alloc(ErsF { e }),
        };
        if !f.content.is_null() {
            f.rtp_data = match what {
                Content::Rtp(m) => payload(&m),
                _ => none(),
            };
        }
        if f.content.is_null() || f.rtp_data.is_null() {
            f.release();
            return Err(PyErr::fetch(py));
        }
        Bound::from_owned_ptr_or_err(py, alloc(f)).map(Bound::unbind)
    }
}

unsafe extern "C" fn wrapper_new(
    _tp: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    _kw: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: interpreter call, GIL held; every field owns a None.
    unsafe {
        if !no_args(args, c"FrameWrapper() takes no arguments") {
            return ptr::null_mut();
        }
        alloc(WrapperF {
            data: none(),
            opaque: none(),
            content: none(),
            rtp_data: none(),
            what: Content::Empty,
        })
    }
}

/// A copy of the packet's payload (bytes), or null with an error set.
///
/// # Safety
/// GIL held; `m.data_addr` and `m.data_len` describe the bytes of a
/// datagram (bytes object) that is alive for the call.
unsafe fn payload(m: &RtpMeta) -> *mut ffi::PyObject {
    let off = m.info.data_offset as usize;
    let n = match off.checked_add(m.info.data_size) {
        Some(end) if end <= m.data_len => m.info.data_size,
        _ => 0,
    };
    let start = if n == 0 { 0 } else { off };
    // SAFETY: per this function's contract the datagram's `data_len`
    // bytes at `data_addr` are readable (a bytes object never moves or
    // changes), and `start..start + n` lies within them (checked above).
    unsafe {
        ffi::PyBytes_FromStringAndSize(
            (m.data_addr as *const std::ffi::c_char).add(start),
            n as ffi::Py_ssize_t,
        )
    }
}

unsafe extern "C" fn wrapper_str(o: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: the str/repr slot of FrameWrapper, called with one, GIL held.
    let what = unsafe { fields::<WrapperF>(o) }.what;
    let s = match what {
        Content::Rtp(m) => format!("RTP_Frame(seq={})", m.lseq),
        Content::Ers(e) => format!("RTP_Erasure(seq_range={} -- {})", e.lseq_start, e.lseq_end),
        Content::Empty => "FrameWrapper".to_string(),
    };
    // SAFETY: `s` is valid UTF-8 of the given length, GIL held.
    unsafe { ffi::PyUnicode_FromStringAndSize(s.as_ptr().cast(), s.len() as ffi::Py_ssize_t) }
}

// --- type creation ---

fn getset(
    name: &'static CStr,
    get: ffi::getter,
    which: usize,
    doc: &'static CStr,
) -> ffi::PyGetSetDef {
    ffi::PyGetSetDef {
        name: name.as_ptr(),
        get: Some(get),
        set: None,
        doc: doc.as_ptr(),
        closure: which as *mut c_void,
    }
}

fn member(
    name: &'static CStr,
    type_code: c_int,
    offset: usize,
    doc: &'static CStr,
) -> ffi::PyMemberDef {
    ffi::PyMemberDef {
        name: name.as_ptr(),
        type_code,
        offset: offset as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: doc.as_ptr(),
    }
}

/// Make one type and add it to `m`. The definition tables live for the
/// rest of the process (the type keeps pointers into them).
fn make_type<T: Fields>(
    m: &Bound<'_, PyModule>,
    name: &'static CStr,
    doc: &'static CStr,
    new: ffi::newfunc,
    mut getsets: Vec<ffi::PyGetSetDef>,
    mut members: Vec<ffi::PyMemberDef>,
    str_fn: Option<ffi::reprfunc>,
) -> PyResult<()> {
    let py = m.py();
    let mut slots = vec![
        ffi::PyType_Slot {
            slot: ffi::Py_tp_new,
            pfunc: new as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_dealloc,
            pfunc: dealloc::<T> as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_doc,
            pfunc: doc.as_ptr() as *mut c_void,
        },
    ];
    if !getsets.is_empty() {
        getsets.push(ffi::PyGetSetDef {
            name: ptr::null(),
            get: None,
            set: None,
            doc: ptr::null(),
            closure: ptr::null_mut(),
        });
        slots.push(ffi::PyType_Slot {
            slot: ffi::Py_tp_getset,
            pfunc: getsets.leak().as_mut_ptr().cast(),
        });
    }
    if !members.is_empty() {
        let base = offset_of!(Obj<T>, v);
        for d in members.iter_mut() {
            d.offset += base as ffi::Py_ssize_t;
        }
        members.push(ffi::PyMemberDef {
            name: ptr::null(),
            type_code: 0,
            offset: 0,
            flags: 0,
            doc: ptr::null(),
        });
        slots.push(ffi::PyType_Slot {
            slot: ffi::Py_tp_members,
            pfunc: members.leak().as_mut_ptr().cast(),
        });
    }
    if let Some(f) = str_fn {
        for slot in [ffi::Py_tp_str, ffi::Py_tp_repr] {
            slots.push(ffi::PyType_Slot {
                slot,
                pfunc: f as *mut c_void,
            });
        }
    }
    slots.push(ffi::PyType_Slot {
        slot: 0,
        pfunc: ptr::null_mut(),
    });
    let slots = slots.leak();
    let mut spec = ffi::PyType_Spec {
        name: name.as_ptr(),
        basicsize: size_of::<Obj<T>>() as c_int,
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as _,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: GIL held (`py`); the spec and everything it points to are
    // valid, the tables and slot array are null-terminated and leaked
    // (they must outlive the type), the name and doc are static.
    let tp = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyType_FromSpec(&mut spec))? };
    // The static keeps its own reference: the type lives as long as the
    // process, like the original's static types.
    T::type_slot().store(tp.clone().into_ptr().cast(), Ordering::Release);
    let short = name
        .to_str()
        .ok()
        .and_then(|n| n.rsplit('.').next())
        .unwrap_or_default();
    m.add(short, tp)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let info_fields: [(&'static CStr, &'static CStr); 8] = [
        (c"data_size", c"Payload length in bytes."),
        (
            c"data_offset",
            c"Offset of the payload from the start of the datagram.",
        ),
        (
            c"nsamples",
            c"Samples in the payload, or -1 when unknown for the payload type.",
        ),
        (c"ts", c"RTP timestamp."),
        (c"seq", c"RTP sequence number."),
        (c"ssrc", c"SSRC."),
        (
            c"appendable",
            c"Whether the payload type allows appending payloads.",
        ),
        (
            c"rtp_profile",
            c"Address of the payload type's profile entry (an opaque integer).",
        ),
    ];
    make_type::<InfoF>(
        m,
        c"rtpsynth.RtpJBuf.RTPInfo",
        c"Parsed RTP header fields of a received packet.",
        info_new,
        info_fields
            .iter()
            .enumerate()
            .map(|(i, (n, d))| getset(n, info_get, i, d))
            .collect(),
        Vec::new(),
        None,
    )?;
    make_type::<PacketF>(
        m,
        c"rtpsynth.RtpJBuf.RTPPacket",
        c"A received RTP packet: its header info, logical sequence number and datagram address.",
        packet_new,
        vec![
            getset(c"info", packet_get, 0, c"The parsed header (RTPInfo)."),
            getset(
                c"lseq",
                packet_get,
                1,
                c"Logical sequence number (keeps counting across 16-bit wraps).",
            ),
            getset(
                c"data",
                packet_get,
                2,
                c"Address of the datagram (an opaque integer).",
            ),
        ],
        Vec::new(),
        None,
    )?;
    make_type::<ErsF>(
        m,
        c"rtpsynth.RtpJBuf.ERSFrame",
        c"An erasure: packets lseq_start..=lseq_end were lost; ts_diff is their timestamp span.",
        ers_new,
        vec![
            getset(
                c"lseq_start",
                ers_get,
                0,
                c"First lost logical sequence number.",
            ),
            getset(
                c"lseq_end",
                ers_get,
                1,
                c"Last lost logical sequence number.",
            ),
            getset(
                c"ts_diff",
                ers_get,
                2,
                c"Timestamp span of the lost packets.",
            ),
            getset(c"type", ers_get, 3, c"Always RTPFrameType.ERS."),
        ],
        Vec::new(),
        None,
    )?;
    make_type::<UnionF>(
        m,
        c"rtpsynth.RtpJBuf.RTPFrameUnion",
        c"The original's C union view of a frame: rtp holds the RTPPacket, ers is None.",
        union_new,
        Vec::new(),
        vec![
            member(
                c"rtp",
                ffi::Py_T_OBJECT_EX,
                offset_of!(UnionF, rtp),
                c"The RTPPacket (None for an empty union).",
            ),
            member(
                c"ers",
                ffi::Py_T_OBJECT_EX,
                offset_of!(UnionF, ers),
                c"Always None (erasures come as ERSFrame directly).",
            ),
        ],
        None,
    )?;
    make_type::<FrameF>(
        m,
        c"rtpsynth.RtpJBuf.RTPFrame",
        c"A frame of type RTPFrameType.RTP whose frame is an RTPFrameUnion.",
        frame_new,
        Vec::new(),
        vec![
            member(
                c"type",
                ffi::Py_T_INT,
                offset_of!(FrameF, type_),
                c"Always RTPFrameType.RTP.",
            ),
            member(
                c"frame",
                ffi::Py_T_OBJECT_EX,
                offset_of!(FrameF, frame),
                c"The RTPFrameUnion (None for an empty frame).",
            ),
        ],
        None,
    )?;
    make_type::<WrapperF>(
        m,
        c"rtpsynth.RtpJBuf.FrameWrapper",
        c"One item of the lists udp_in and flush return. content is an RTPFrame (with data: the datagram, rtp_data: its payload, opaque: the value given to udp_in) or an ERSFrame (the other three None).",
        wrapper_new,
        Vec::new(),
        vec![
            member(c"content", ffi::Py_T_OBJECT_EX, offset_of!(WrapperF, content), c"The RTPFrame or ERSFrame."),
            member(c"rtp_data", ffi::Py_T_OBJECT_EX, offset_of!(WrapperF, rtp_data), c"The payload (bytes), None for an erasure."),
            member(c"data", ffi::Py_T_OBJECT_EX, offset_of!(WrapperF, data), c"The whole datagram (bytes), None for an erasure."),
            member(c"opaque", ffi::Py_T_OBJECT_EX, offset_of!(WrapperF, opaque), c"The opaque value given to udp_in with this packet."),
        ],
        Some(wrapper_str),
    )?;
    Ok(())
}
