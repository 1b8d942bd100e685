//! The bounded cache of verified (decrypted and authenticated) objects
//! that serves authenticated ranged reads.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use object_store::path::Path;
use object_store::{Attributes, ObjectMeta};

/// One verified object: its plaintext, and the inner store's description
/// of the ciphertext it came from (the entity tag, size and version the
/// cache is checked against).
#[derive(Debug)]
pub(crate) struct VerifiedObject {
    /// The inner store's metadata of the ciphertext.
    pub(crate) cipher_meta: ObjectMeta,
    /// The caller-visible attributes (the envelope removed).
    pub(crate) attributes: Attributes,
    /// The authenticated plaintext.
    pub(crate) plaintext: Bytes,
}

impl VerifiedObject {
    /// The caller-visible metadata: the plaintext size.
    pub(crate) fn meta(&self) -> ObjectMeta {
        ObjectMeta {
            size: self.plaintext.len() as u64,
            ..self.cipher_meta.clone()
        }
    }

    /// Whether `head` (a fresh HEAD of the inner store) describes the same
    /// ciphertext. Without an entity tag nothing is known to be the same.
    pub(crate) fn is_current(&self, head: &ObjectMeta) -> bool {
        head.e_tag.is_some()
            && head.e_tag == self.cipher_meta.e_tag
            && head.size == self.cipher_meta.size
            && head.version == self.cipher_meta.version
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Path, (Arc<VerifiedObject>, u64)>,
    bytes: u64,
    tick: u64,
}

/// Number of per-path load locks (striped, so the lock table is bounded).
const STRIPES: usize = 64;

/// A least-recently-used cache bounded in plaintext bytes, and striped load
/// locks so that concurrent range reads of one object fetch and verify it
/// once.
#[derive(Debug)]
pub(crate) struct Cache {
    capacity: u64,
    inner: Mutex<Inner>,
    loads: Vec<tokio::sync::Mutex<()>>,
}

impl Cache {
    pub(crate) fn new(capacity: u64) -> Cache {
        Cache {
            capacity,
            inner: Mutex::new(Inner::default()),
            loads: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// The load lock of `path`.
    pub(crate) fn load_lock(&self, path: &Path) -> &tokio::sync::Mutex<()> {
        let mut h = DefaultHasher::new();
        path.hash(&mut h);
        &self.loads[(h.finish() as usize) % STRIPES]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent
        // in a way that matters (worst case: a stale byte count).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached object at `path`, marked as just used.
    pub(crate) fn get(&self, path: &Path) -> Option<Arc<VerifiedObject>> {
        let mut g = self.lock();
        g.tick += 1;
        let tick = g.tick;
        let (obj, used) = g.entries.get_mut(path)?;
        *used = tick;
        Some(obj.clone())
    }

    /// Keep `obj` if it fits, evicting the least recently used entries.
    pub(crate) fn insert(&self, path: &Path, obj: Arc<VerifiedObject>) {
        let size = obj.plaintext.len() as u64;
        let mut g = self.lock();
        if let Some((old, _)) = g.entries.remove(path) {
            g.bytes -= old.plaintext.len() as u64;
        }
        if size > self.capacity {
            return;
        }
        while g.bytes + size > self.capacity {
            let Some(victim) = g
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(p, _)| p.clone())
            else {
                break;
            };
            if let Some((old, _)) = g.entries.remove(&victim) {
                g.bytes -= old.plaintext.len() as u64;
            }
        }
        g.tick += 1;
        let tick = g.tick;
        g.bytes += size;
        g.entries.insert(path.clone(), (obj, tick));
    }

    /// Forget `path` (it was written, deleted or renamed through the
    /// adapter).
    pub(crate) fn invalidate(&self, path: &Path) {
        let mut g = self.lock();
        if let Some((old, _)) = g.entries.remove(path) {
            g.bytes -= old.plaintext.len() as u64;
        }
    }

    /// Plaintext bytes held.
    pub(crate) fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Objects held.
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn obj(n: usize, etag: &str) -> Arc<VerifiedObject> {
        Arc::new(VerifiedObject {
            cipher_meta: ObjectMeta {
                location: Path::from("x"),
                last_modified: Default::default(),
                size: n as u64 + 16,
                e_tag: Some(etag.into()),
                version: None,
            },
            attributes: Attributes::new(),
            plaintext: Bytes::from(vec![0u8; n]),
        })
    }

    #[test]
    fn bounded_and_least_recently_used() {
        let c = Cache::new(100);
        c.insert(&Path::from("a"), obj(40, "1"));
        c.insert(&Path::from("b"), obj(40, "1"));
        assert!(c.get(&Path::from("a")).is_some()); // a is now newer than b
        c.insert(&Path::from("c"), obj(40, "1"));
        assert!(c.get(&Path::from("b")).is_none());
        assert!(c.get(&Path::from("a")).is_some());
        assert_eq!(c.bytes(), 80);
        // Too large for the cache: not kept, nothing evicted.
        c.insert(&Path::from("d"), obj(101, "1"));
        assert_eq!((c.len(), c.bytes()), (2, 80));
        // Replacing an entry frees its bytes.
        c.insert(&Path::from("a"), obj(10, "2"));
        assert_eq!(c.bytes(), 50);
        c.invalidate(&Path::from("a"));
        assert_eq!((c.len(), c.bytes()), (1, 40));
    }

    #[test]
    fn currency_needs_an_etag() {
        let o = obj(4, "e1");
        let mut head = o.cipher_meta.clone();
        assert!(o.is_current(&head));
        head.e_tag = Some("e2".into());
        assert!(!o.is_current(&head));
        head.e_tag = None;
        assert!(!o.is_current(&head));
        let mut o2 = obj(4, "x");
        Arc::get_mut(&mut o2).unwrap().cipher_meta.e_tag = None;
        assert!(!o2.is_current(&o2.cipher_meta.clone()));
    }
}
