//! `Thin`: an owned byte string behind one pointer (length stored in the allocation).
//!
//! Keys and string values are the bulk of a keyspace. `Bytes` costs 32 bytes inline and a
//! `Box<[u8]>` 16; a table slot holding key + value pays that for every bucket, used or not.
//! `Thin` is 8 bytes (and lets `Value` be 16), so a slot is 24 bytes. Cloning copies the
//! bytes: clones happen only when a segment is copied after a snapshot.

use std::alloc::{alloc, dealloc, handle_alloc_error, realloc, Layout};
use std::ptr::NonNull;

/// Header of the exact form: the length as a `u32` (high bit clear).
const HDR: usize = 4;
/// Set in the first `u32` of the growable form.
const GROWN: u32 = 1 << 31;
/// Set in the first `u32` of the exact form of a string modified in place (OBJECT ENCODING
/// `raw`, as Redis's unshared strings); exact lengths stay below it. The growable form is
/// always raw.
const RAW: u32 = 1 << 30;
/// Strings this long or longer take the growable form (the exact form's length stays clear
/// of `GROWN`), and keys this long carry no access word.
const EXACT_MAX: u32 = 1 << 30;
/// The form of a key (clocked) is kept in the low bits of the pointer (allocations are
/// 4-aligned), so the access word can come first and short keys pay 5 bytes of header:
/// a 10-byte key takes a 16-byte allocation, as Redis's sds key does.
const TAG_MASK: usize = 3;
/// Tag 0: exact or growable form (the first word says which).
const TAG_PLAIN: usize = 0;
/// Tag 1, short key: `[clock: u32][len: u8][bytes]`.
const TAG_KEY_SHORT: usize = 1;
/// Tag 2, long key: `[clock: u32][len: u32][bytes]`.
const TAG_KEY_LONG: usize = 2;
/// Header of the short key form.
const SHORT_HDR: usize = 5;
/// Header of the long key form.
const LONG_HDR: usize = 8;
/// Header of the growable form: the tag word, padding, the length and the capacity (`u64`s).
const GROWN_HDR: usize = 24;
/// Growth as Redis's sds: double up to 1 MiB, then 1 MiB more at a time.
const MAX_PREALLOC: usize = 1024 * 1024;

/// An owned byte string behind one pointer.
///
/// Three forms: *exact* (`[len: u32][bytes]`, what most values use), *clocked* (keys: the
/// exact form plus the access word maxmemory's LRU/LFU reads, written atomically through a
/// shared reference so a lookup touches it without copying a segment a snapshot shares) and
/// *growable* (`[GROWN][pad][len: u64][cap: u64][bytes .. cap]`), which a string takes once it
/// is grown in place (APPEND, SETRANGE, SETBIT), so that repeated growth is amortised as
/// Redis's sds greedy preallocation, and strings of 2 GiB and more.
pub struct Thin(NonNull<u8>);

/// `p` with `tag` in its low bits.
#[inline]
fn tagged(p: NonNull<u8>, tag: usize) -> NonNull<u8> {
    // SAFETY: `p` is non-null and 4-aligned, so setting its two low bits keeps it non-null.
    unsafe { NonNull::new_unchecked(p.as_ptr().map_addr(|a| a | tag)) }
}

// The allocation is owned exclusively; the bytes are plain data.
unsafe impl Send for Thin {}
unsafe impl Sync for Thin {}

impl Thin {
    fn exact_layout(len: usize) -> Layout {
        Layout::from_size_align(HDR + len, 4).unwrap_or_else(|_| handle_alloc_error(Layout::new::<u64>()))
    }

    fn grown_layout(cap: usize) -> Layout {
        match GROWN_HDR.checked_add(cap).map(|n| Layout::from_size_align(n, 8)) {
            Some(Ok(l)) => l,
            _ => handle_alloc_error(Layout::new::<u64>()),
        }
    }

    /// The allocation's start (the pointer without its tag).
    #[inline]
    fn base(&self) -> *mut u8 {
        self.0.as_ptr().map_addr(|a| a & !TAG_MASK)
    }

    #[inline]
    fn tag(&self) -> usize {
        self.0.as_ptr().addr() & TAG_MASK
    }

    pub fn new(data: &[u8]) -> Thin {
        if data.len() as u64 >= EXACT_MAX as u64 {
            let mut t = Self::with_capacity(data.len());
            // SAFETY: the capacity holds `data.len()` bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(data.as_ptr(), t.data_ptr(), data.len());
                t.set_len(data.len());
            }
            return t;
        }
        let layout = Self::exact_layout(data.len());
        // SAFETY: the layout has a non-zero size (the header); the header and data are
        // written inside the allocation before use.
        unsafe {
            let p = alloc(layout);
            let Some(p) = NonNull::new(p) else { handle_alloc_error(layout) };
            (p.as_ptr() as *mut u32).write(data.len() as u32);
            std::ptr::copy_nonoverlapping(data.as_ptr(), p.as_ptr().add(HDR), data.len());
            Thin(p)
        }
    }

    /// `len` zero bytes, exact.
    pub fn zeroed(len: usize) -> Thin {
        if len as u64 >= EXACT_MAX as u64 {
            let mut t = Self::with_capacity(len);
            t.grow_zeroed(len);
            return t;
        }
        let layout = Self::exact_layout(len);
        // SAFETY: the layout has a non-zero size; header and data are written before use.
        unsafe {
            let p = std::alloc::alloc_zeroed(layout);
            let Some(p) = NonNull::new(p) else { handle_alloc_error(layout) };
            (p.as_ptr() as *mut u32).write(len as u32);
            Thin(p)
        }
    }

    /// A key: a clocked form holding `clock` (the exact form for keys of 1 GiB and more,
    /// whose clock then reads 0).
    pub fn new_clocked(data: &[u8], clock: u32) -> Thin {
        if data.len() as u64 >= EXACT_MAX as u64 {
            return Thin::new(data);
        }
        let short = data.len() <= u8::MAX as usize;
        let layout = Self::clocked_layout(short, data.len());
        // SAFETY: the layout has a non-zero size; clock, length and data are written inside
        // the allocation before use.
        unsafe {
            let p = alloc(layout);
            let Some(p) = NonNull::new(p) else { handle_alloc_error(layout) };
            (p.as_ptr() as *mut u32).write(clock);
            if short {
                p.as_ptr().add(4).write(data.len() as u8);
                std::ptr::copy_nonoverlapping(data.as_ptr(), p.as_ptr().add(SHORT_HDR), data.len());
                Thin(tagged(p, TAG_KEY_SHORT))
            } else {
                (p.as_ptr().add(4) as *mut u32).write(data.len() as u32);
                std::ptr::copy_nonoverlapping(data.as_ptr(), p.as_ptr().add(LONG_HDR), data.len());
                Thin(tagged(p, TAG_KEY_LONG))
            }
        }
    }

    fn clocked_layout(short: bool, len: usize) -> Layout {
        let hdr = if short { SHORT_HDR } else { LONG_HDR };
        Layout::from_size_align(hdr + len, 4).unwrap_or_else(|_| handle_alloc_error(Layout::new::<u64>()))
    }

    #[inline]
    fn is_clocked(&self) -> bool {
        self.tag() != TAG_PLAIN
    }

    #[inline]
    fn clock_cell(&self) -> Option<&std::sync::atomic::AtomicU32> {
        // SAFETY: the clocked forms keep a 4-aligned u32 at offset 0 that is only ever
        // accessed atomically (no `&`/`&mut` to plain bytes covers it).
        self.is_clocked().then(|| unsafe { &*(self.base() as *const std::sync::atomic::AtomicU32) })
    }

    /// The access word of a key (0 for other forms).
    #[inline]
    pub fn clock(&self) -> u32 {
        self.clock_cell().map_or(0, |c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Stores a key's access word (ignored by other forms). Through `&self`: the word is not
    /// part of the key's value, and a snapshot sharing the key never reads it.
    #[inline]
    pub fn set_clock(&self, w: u32) {
        if let Some(c) = self.clock_cell() {
            c.store(w, std::sync::atomic::Ordering::Relaxed)
        }
    }

    /// An empty string of the growable form with room for `cap` bytes.
    fn with_capacity(cap: usize) -> Thin {
        let layout = Self::grown_layout(cap);
        // SAFETY: the layout has a non-zero size; the header is written before use.
        unsafe {
            let p = alloc(layout);
            let Some(p) = NonNull::new(p) else { handle_alloc_error(layout) };
            (p.as_ptr() as *mut u32).write(GROWN);
            (p.as_ptr().add(8) as *mut u64).write(0);
            (p.as_ptr().add(16) as *mut u64).write(cap as u64);
            Thin(p)
        }
    }

    #[inline]
    fn is_grown(&self) -> bool {
        // SAFETY: the plain forms' first word is always initialised and 4-aligned.
        self.tag() == TAG_PLAIN && unsafe { (self.0.as_ptr() as *const u32).read() & GROWN != 0 }
    }

    #[inline]
    pub fn len(&self) -> usize {
        let p = self.base();
        // SAFETY: the header of each form is initialised; the growable form is 8-aligned;
        // the clocked forms' length follows their access word.
        unsafe {
            match self.tag() {
                TAG_KEY_SHORT => p.add(4).read() as usize,
                TAG_KEY_LONG => (p.add(4) as *const u32).read() as usize,
                _ => {
                    let w = (p as *const u32).read();
                    if w & GROWN == 0 {
                        (w & !RAW) as usize
                    } else {
                        (p.add(8) as *const u64).read() as usize
                    }
                }
            }
        }
    }

    /// Bytes the allocation can hold without growing.
    /// A string modified in place (or grown): OBJECT ENCODING says `raw` whatever it holds.
    #[inline]
    pub fn is_raw(&self) -> bool {
        // SAFETY: the plain forms' first word is always initialised and 4-aligned.
        self.tag() == TAG_PLAIN && unsafe { (self.0.as_ptr() as *const u32).read() & (RAW | GROWN) != 0 }
    }

    /// Marks a string modified in place (see [`is_raw`](Self::is_raw)); keys are never marked.
    pub fn set_raw(&mut self) {
        if self.tag() == TAG_PLAIN && !self.is_grown() {
            // SAFETY: the exact form's first word is its length, below `RAW`.
            unsafe {
                let w = self.0.as_ptr() as *mut u32;
                w.write(w.read() | RAW);
            }
        }
    }

    pub fn capacity(&self) -> usize {
        if self.is_grown() {
            // SAFETY: the growable form's header holds the capacity at offset 16.
            unsafe { (self.0.as_ptr().add(16) as *const u64).read() as usize }
        } else {
            self.len()
        }
    }

    /// SAFETY: only for the growable form, with `len <= capacity` bytes initialised.
    unsafe fn set_len(&mut self, len: usize) {
        (self.0.as_ptr().add(8) as *mut u64).write(len as u64);
    }

    /// Hints the CPU to bring the string's header into cache (loops over many keys, such as
    /// an RDB writer, prefetch a few entries ahead of the one they work on).
    #[inline]
    pub fn prefetch(&self) {
        crate::util::prefetch(self.base() as *const u8);
    }

    #[inline]
    fn data_ptr(&self) -> *mut u8 {
        let p = self.base();
        let off = match self.tag() {
            TAG_KEY_SHORT => SHORT_HDR,
            TAG_KEY_LONG => LONG_HDR,
            // SAFETY: the plain forms' first word is always initialised and 4-aligned.
            _ if unsafe { (p as *const u32).read() } & GROWN != 0 => GROWN_HDR,
            _ => HDR,
        };
        // SAFETY: the data starts right after the header of its form.
        unsafe { p.add(off) }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes follow the header, initialised.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), self.len()) }
    }

    /// The bytes, writable in place (the length stays).
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes follow the header, initialised; `&mut self` makes this the only
        // reference to them.
        unsafe { std::slice::from_raw_parts_mut(self.data_ptr(), self.len()) }
    }

    /// Makes room for a length of `need` bytes: the string takes the growable form, with
    /// greedy preallocation (double below 1 MiB, else 1 MiB more), so a run of appends copies
    /// the bytes O(log n) times, not once per call.
    fn reserve_total(&mut self, need: usize) {
        if need <= self.capacity() && self.is_grown() {
            return;
        }
        let cap = if need < MAX_PREALLOC { need.saturating_mul(2) } else { need.saturating_add(MAX_PREALLOC) };
        let len = self.len();
        if self.is_grown() {
            let old = Self::grown_layout(self.capacity());
            let new = Self::grown_layout(cap);
            // SAFETY: allocated with `old`; same alignment; the header is kept by realloc.
            unsafe {
                let p = realloc(self.0.as_ptr(), old, new.size());
                let Some(p) = NonNull::new(p) else { handle_alloc_error(new) };
                self.0 = p;
                (p.as_ptr().add(16) as *mut u64).write(cap as u64);
            }
        } else {
            let mut t = Self::with_capacity(cap);
            // SAFETY: the new capacity holds at least `len` bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(self.data_ptr(), t.data_ptr(), len);
                t.set_len(len);
            }
            *self = t;
        }
    }

    /// Appends `data` in place (amortised growth).
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        let len = self.len();
        let need = len.saturating_add(data.len());
        if need == len {
            return;
        }
        self.reserve_total(need);
        // SAFETY: the capacity holds `need` bytes; the growable form after `reserve_total`.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.data_ptr().add(len), data.len());
            self.set_len(need);
        }
    }

    /// Grows to `new_len` bytes, the new ones zero (as Redis's sdsgrowzero); never shrinks.
    pub fn grow_zeroed(&mut self, new_len: usize) {
        let len = self.len();
        if new_len <= len {
            return;
        }
        self.reserve_total(new_len);
        // SAFETY: the capacity holds `new_len` bytes; the growable form after `reserve_total`.
        unsafe {
            std::ptr::write_bytes(self.data_ptr().add(len), 0, new_len - len);
            self.set_len(new_len);
        }
    }

    /// A `Bytes` copy (for replies and propagation).
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(self.as_slice())
    }
}

impl Drop for Thin {
    fn drop(&mut self) {
        let layout = if self.is_grown() {
            Self::grown_layout(self.capacity())
        } else if self.is_clocked() {
            Self::clocked_layout(self.tag() == TAG_KEY_SHORT, self.len())
        } else {
            Self::exact_layout(self.len())
        };
        // SAFETY: allocated with this same layout (`new`, `new_clocked`, `with_capacity` or
        // `reserve_total`).
        unsafe { dealloc(self.base(), layout) }
    }
}

impl Clone for Thin {
    /// An exact copy (a snapshot's copy of a segment needs no spare room).
    fn clone(&self) -> Thin {
        if self.is_clocked() {
            return Thin::new_clocked(self.as_slice(), self.clock());
        }
        let mut t = Thin::new(self.as_slice());
        if self.is_raw() {
            t.set_raw();
        }
        t
    }
}

impl std::ops::Deref for Thin {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Thin {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Thin {
    fn eq(&self, o: &Thin) -> bool {
        self.as_slice() == o.as_slice()
    }
}
impl Eq for Thin {}

impl std::hash::Hash for Thin {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_slice().hash(h)
    }
}

impl std::fmt::Debug for Thin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<&[u8]> for Thin {
    fn from(b: &[u8]) -> Thin {
        Thin::new(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for n in [0usize, 1, 3, 4, 10, 100, 5000] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let t = Thin::new(&v);
            assert_eq!(t.len(), n);
            assert_eq!(&t[..], &v[..]);
            let mut c = t.clone();
            drop(t);
            assert_eq!(&c[..], &v[..]);
            c.as_mut_slice().iter_mut().for_each(|b| *b = b.wrapping_add(1));
            assert!(c.iter().zip(&v).all(|(a, b)| *a == b.wrapping_add(1)));
        }
        assert_eq!(std::mem::size_of::<Thin>(), 8);
    }

    #[test]
    fn clocked_keys() {
        for n in [0usize, 1, 5, 100, 255, 256, 5000] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let t = Thin::new_clocked(&v, 77);
            assert_eq!((t.len(), &t[..], t.clock()), (n, &v[..], 77));
            t.set_clock(u32::MAX);
            let c = t.clone();
            assert_eq!((&c[..], c.clock()), (&v[..], u32::MAX));
            assert_eq!(t, Thin::new(&v));
            let plain = Thin::new(&v);
            plain.set_clock(5);
            assert_eq!(plain.clock(), 0);
        }
    }

    #[test]
    fn grows_in_place_amortised() {
        let mut t = Thin::new(b"ab");
        let mut model = b"ab".to_vec();
        let mut reallocs = 0;
        for i in 0..5000u32 {
            let cap = t.capacity();
            let chunk = i.to_le_bytes();
            t.extend_from_slice(&chunk);
            model.extend_from_slice(&chunk);
            if t.capacity() != cap {
                reallocs += 1;
            }
        }
        assert_eq!(&t[..], &model[..]);
        assert!(reallocs < 20, "{} reallocations", reallocs);
        t.grow_zeroed(30_000);
        model.resize(30_000, 0);
        assert_eq!(&t[..], &model[..]);
        t.as_mut_slice()[29_999] = 7;
        let c = t.clone();
        assert_eq!(c.len(), 30_000);
        assert_eq!(c.capacity(), 30_000);
        assert_eq!(c[29_999], 7);
        // Growing an exact string from empty.
        let mut e = Thin::new(b"");
        e.grow_zeroed(3);
        assert_eq!(&e[..], &[0, 0, 0]);
        e.extend_from_slice(b"");
        assert_eq!(e.len(), 3);
        assert_eq!(std::mem::size_of::<Option<Thin>>(), 8);
    }
}
