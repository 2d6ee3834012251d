//! `Thin`: an owned byte string behind one pointer (length stored in the allocation).
//!
//! Keys and string values are the bulk of a keyspace. `Bytes` costs 32 bytes inline and a
//! `Box<[u8]>` 16; a table slot holding key + value pays that for every bucket, used or not.
//! `Thin` is 8 bytes (and lets `Value` be 16), so a slot is 24 bytes. Cloning copies the
//! bytes: clones happen only when a segment is copied after a snapshot.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

const HDR: usize = 4;

pub struct Thin(NonNull<u8>);

// The allocation is owned exclusively; the bytes are plain data.
unsafe impl Send for Thin {}
unsafe impl Sync for Thin {}

impl Thin {
    fn layout(len: usize) -> Layout {
        Layout::from_size_align(HDR + len, 4).expect("length fits a layout")
    }

    pub fn new(data: &[u8]) -> Thin {
        assert!(data.len() <= u32::MAX as usize, "value too large");
        let layout = Self::layout(data.len());
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

    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: the header is always initialised and 4-aligned.
        unsafe { (self.0.as_ptr() as *const u32).read() as usize }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes follow the header, initialised at creation.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(HDR), self.len()) }
    }

    /// The bytes, writable in place (the length stays).
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes follow the header, initialised at creation; `&mut self` makes
        // this the only reference to them.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_ptr().add(HDR), self.len()) }
    }

    /// A `Bytes` copy (for replies and propagation).
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(self.as_slice())
    }
}

impl Drop for Thin {
    fn drop(&mut self) {
        let layout = Self::layout(self.len());
        // SAFETY: allocated in `new` with this same layout.
        unsafe { dealloc(self.0.as_ptr(), layout) }
    }
}

impl Clone for Thin {
    fn clone(&self) -> Thin {
        Thin::new(self.as_slice())
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
        assert_eq!(std::mem::size_of::<Option<Thin>>(), 8);
    }
}
