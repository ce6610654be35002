//! Software transactional memory: version control for variables.
//!
//! Components in Kamaelia share almost nothing: they talk through boxes.
//! The few things that really are shared (the CAT's registry of services
//! and tracked values is the main one) live in a [`Store`]. The store hands
//! out *copies* of values together with the version each copy was read at.
//! You change your copy as you like and then [commit](Var::commit) it. The
//! commit succeeds only if nobody else committed that key since you checked
//! it out; otherwise it fails with [`StmError::ConcurrentUpdate`] and you
//! redo the work from a fresh checkout. This is optimistic concurrency: like
//! a version control system, a commit that would silently overwrite somebody
//! else's work is refused instead of merged.
//!
//! No lock is ever held by user code. The store's lock is taken only inside
//! [`Store::checkout`] / [`Store::checkout_many`] (briefly, to copy values
//! out) and inside a commit. A commit never waits for that lock: if another
//! commit holds it, the commit answers [`StmError::BusyRetry`] at once, so a
//! component running on a cooperative scheduler is never blocked. Your
//! checked-out work is still valid after `BusyRetry`; just commit again.
//!
//! Three ways to work with the store:
//!
//! * [`Store::checkout`] gives a [`Var`]: one key, one value.
//! * [`Store::checkout_many`] gives a [`Collection`]: several keys read at
//!   one instant and committed all-or-nothing.
//! * [`Store::transact`] (or the free function [`retry`]) runs a closure,
//!   commits what it did and re-runs it on conflict, up to a bound.
//!
//! # Example
//!
//! ```
//! use axon::stm::{StmError, Store};
//!
//! let store: Store<&str, String> = Store::new();
//!
//! // A key that was never committed reads as "no value" at version 0.
//! let mut greeting = store.checkout(&"hello");
//! assert_eq!(greeting.get(), None);
//! assert_eq!(greeting.version(), 0);
//! greeting.set("Hello World".to_string());
//! greeting.commit()?;
//! assert_eq!(greeting.version(), 1);
//!
//! // A second holder checks out the new version and commits over it ...
//! let mut par = store.checkout(&"hello");
//! par.set("Woo".to_string());
//! par.commit()?;
//!
//! // ... so the first holder's copy is now stale and its commit is refused.
//! greeting.set("Hi".to_string());
//! assert!(matches!(greeting.commit(), Err(StmError::ConcurrentUpdate { .. })));
//! assert_eq!(store.checkout(&"hello").get().map(String::as_str), Some("Woo"));
//!
//! // The retrying helper does the checkout / redo / commit dance for you.
//! let counters: Store<&str, u64> = Store::new();
//! counters.transact(100, |txn| {
//!     let n = txn.get(&"hits").copied().unwrap_or(0);
//!     txn.set(&"hits", n + 1);
//!     Ok(())
//! })?;
//! assert_eq!(counters.checkout(&"hits").get(), Some(&1));
//! # Ok::<(), StmError<&str>>(())
//! ```

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::RwLock;

/// The version number of a stored value.
///
/// A key that has never been committed is at version 0. Every successful
/// commit of a key stores it at one more than the version it was checked
/// out at.
pub type Version = u64;

/// What can go wrong when committing to a [`Store`].
///
/// `K` is the store's key type, so a conflict names the key involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StmError<K> {
    /// Somebody else committed `key` after you checked it out. Nothing was
    /// committed; check out again, redo the work and commit again.
    #[error(
        "concurrent update of key {key:?}: checked out at version {checked_out}, \
         but the store is now at version {current}; nothing was committed, so check \
         the value(s) out again, redo the change and commit again"
    )]
    ConcurrentUpdate {
        /// The first stale key found.
        key: K,
        /// The version the stale copy was checked out at.
        checked_out: Version,
        /// The version the store holds now.
        current: Version,
    },

    /// Another thread was committing at that instant. Nothing was committed,
    /// but your checked-out copies are still valid: simply commit again.
    #[error(
        "the STM store is busy with another commit; nothing was committed and your \
         checked-out copies are still valid, so retry the commit"
    )]
    BusyRetry,

    /// A retrying helper ([`Store::transact`], [`retry`]) used up its bound
    /// without getting a commit through.
    #[error(
        "gave up after {tries} tries, each refused by a concurrent update or a busy \
         store; raise the retry bound or reduce contention on the keys involved"
    )]
    TooManyRetries {
        /// How many tries were made (the bound that was given).
        tries: usize,
    },
}

impl<K> StmError<K> {
    /// Whether trying again can succeed: true for
    /// [`ConcurrentUpdate`](StmError::ConcurrentUpdate) and
    /// [`BusyRetry`](StmError::BusyRetry).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StmError::ConcurrentUpdate { .. } | StmError::BusyRetry)
    }
}

/// A committed value as the store keeps it.
struct Slot<V> {
    version: Version,
    value: Option<V>,
}

impl<V: fmt::Debug> fmt::Debug for Slot<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("version", &self.version)
            .field("value", &self.value)
            .finish()
    }
}

/// A checked-out copy: the value plus the version it was read at.
struct LocalCopy<V> {
    version: Version,
    value: Option<V>,
    /// Set by the holder since the last successful commit.
    dirty: bool,
}

impl<V> LocalCopy<V> {
    fn read(slot: Option<&Slot<V>>) -> Self
    where
        V: Clone,
    {
        match slot {
            Some(slot) => LocalCopy {
                version: slot.version,
                value: slot.value.clone(),
                dirty: false,
            },
            None => LocalCopy {
                version: 0,
                value: None,
                dirty: false,
            },
        }
    }
}

/// A thread-safe, versioned key/value store.
///
/// `Store` is a cheap handle: cloning it gives another handle to the same
/// shared map, so hand a clone to every thread or component that needs it.
/// `Store<K, V>` is `Send + Sync` whenever `K` and `V` are.
///
/// Values are copied out on checkout and copied back in on commit, so wrap
/// large values in an [`Arc`] if cloning them is expensive.
pub struct Store<K, V> {
    slots: Arc<RwLock<HashMap<K, Slot<V>>>>,
}

impl<K, V> Clone for Store<K, V> {
    fn clone(&self) -> Self {
        Store {
            slots: Arc::clone(&self.slots),
        }
    }
}

impl<K, V> Default for Store<K, V> {
    fn default() -> Self {
        Store {
            slots: Arc::new(RwLock::new(HashMap::new())),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Store<K, V> {
    /// Dumps every committed key with its version and value (order
    /// unspecified). Takes the store's lock briefly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots = self.slots.read();
        f.debug_struct("Store").field("slots", &*slots).finish()
    }
}

impl<K, V> Store<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks out one key: a local copy of its value and the version it was
    /// read at.
    ///
    /// A key that was never committed reads as no value at version 0 (the
    /// store itself is not changed by a checkout).
    pub fn checkout<Q>(&self, key: &Q) -> Var<K, V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let copy = LocalCopy::read(self.slots.read().get(key));
        Var {
            store: self.clone(),
            key: key.to_owned(),
            copy,
        }
    }

    /// Checks out several keys at once, all read at the same instant.
    ///
    /// Duplicate keys are checked out once.
    ///
    /// ```
    /// use axon::stm::Store;
    ///
    /// let store: Store<String, i64> = Store::new();
    /// let mut accounts = store.checkout_many(["alice", "bob"]);
    /// accounts.set("alice", 50);
    /// accounts.set("bob", 100);
    /// accounts.commit()?;
    /// assert_eq!(store.checkout("bob").get(), Some(&100));
    /// # Ok::<(), axon::stm::StmError<String>>(())
    /// ```
    pub fn checkout_many<I>(&self, keys: I) -> Collection<K, V>
    where
        I: IntoIterator,
        I::Item: Into<K>,
    {
        let keys: Vec<K> = keys.into_iter().map(Into::into).collect();
        let mut copies = HashMap::with_capacity(keys.len());
        {
            let slots = self.slots.read();
            for key in keys {
                let copy = LocalCopy::read(slots.get(&key));
                copies.insert(key, copy);
            }
        }
        Collection {
            store: self.clone(),
            copies,
        }
    }

    /// [`checkout`](Self::checkout), answering [`StmError::BusyRetry`] at once
    /// instead of waiting while a commit holds the store (the reference's
    /// non-blocking checkout, for a component that must not block: retry
    /// after a `pause()` or a yield).
    ///
    /// ```
    /// use axon::stm::Store;
    ///
    /// let store: Store<&str, i32> = Store::new();
    /// let mut var = store.try_checkout(&"x")?;
    /// var.set(1);
    /// var.commit()?;
    /// # Ok::<(), axon::stm::StmError<&str>>(())
    /// ```
    pub fn try_checkout<Q>(&self, key: &Q) -> Result<Var<K, V>, StmError<K>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let slots = self.slots.try_read().ok_or(StmError::BusyRetry)?;
        let copy = LocalCopy::read(slots.get(key));
        drop(slots);
        Ok(Var {
            store: self.clone(),
            key: key.to_owned(),
            copy,
        })
    }

    /// [`checkout_many`](Self::checkout_many), answering
    /// [`StmError::BusyRetry`] at once instead of waiting while a commit holds
    /// the store.
    pub fn try_checkout_many<I>(&self, keys: I) -> Result<Collection<K, V>, StmError<K>>
    where
        I: IntoIterator,
        I::Item: Into<K>,
    {
        let keys: Vec<K> = keys.into_iter().map(Into::into).collect();
        let mut copies = HashMap::with_capacity(keys.len());
        {
            let slots = self.slots.try_read().ok_or(StmError::BusyRetry)?;
            for key in keys {
                let copy = LocalCopy::read(slots.get(&key));
                copies.insert(key, copy);
            }
        }
        Ok(Collection {
            store: self.clone(),
            copies,
        })
    }

    /// The keys that have been committed at least once (order unspecified).
    pub fn keys(&self) -> Vec<K> {
        self.slots.read().keys().cloned().collect()
    }

    /// Runs `work` as a transaction and commits what it did, re-running it
    /// when the commit hits a concurrent update, at most `max_tries` times
    /// in all.
    ///
    /// `work` reads and writes through the [`Transaction`] it is given. When
    /// it returns `Ok`, every key it read or wrote is checked and the keys it
    /// wrote are committed, all-or-nothing. If a key it touched was committed
    /// by somebody else meanwhile, the transaction is discarded and `work`
    /// runs again from scratch, so `work` must not have side effects outside
    /// the transaction. If the store is merely busy, only the commit is
    /// repeated. Between tries the thread backs off (spins, then yields).
    ///
    /// An `Err` returned by `work` that is [retryable](StmError::is_retryable)
    /// also causes a re-run; any other error is returned at once. To give up
    /// with an error of your own, return `Ok(Err(your_error))`; that still
    /// commits whatever was written, so decide before calling
    /// [`set`](Transaction::set).
    ///
    /// Fails with [`StmError::TooManyRetries`] when the bound is used up
    /// (a bound of 0 makes no attempt at all).
    pub fn transact<T, F>(&self, max_tries: usize, mut work: F) -> Result<T, StmError<K>>
    where
        F: FnMut(&mut Transaction<'_, K, V>) -> Result<T, StmError<K>>,
    {
        let mut backoff = Backoff::new();
        // A finished transaction whose commit only found the store busy.
        let mut pending: Option<(Transaction<'_, K, V>, T)> = None;
        for _ in 0..max_tries {
            let (mut txn, output) = match pending.take() {
                Some(done) => done,
                None => {
                    let mut txn = Transaction::new(self);
                    match work(&mut txn) {
                        Ok(output) => (txn, output),
                        Err(err) if err.is_retryable() => {
                            backoff.snooze();
                            continue;
                        }
                        Err(err) => return Err(err),
                    }
                }
            };
            match txn.commit() {
                Ok(()) => return Ok(output),
                Err(StmError::BusyRetry) => pending = Some((txn, output)),
                Err(err) if err.is_retryable() => {}
                Err(err) => return Err(err),
            }
            backoff.snooze();
        }
        Err(StmError::TooManyRetries { tries: max_tries })
    }

    /// Checks every copy against the store and, only if none is stale,
    /// publishes the selected ones. Never waits for the lock.
    ///
    /// Values are cloned before the lock is taken, so no user `Clone` code
    /// runs while the store is half updated.
    fn commit_copies<'c, I>(&self, copies: I, publish_all: bool) -> Result<(), StmError<K>>
    where
        I: IntoIterator<Item = (&'c K, &'c mut LocalCopy<V>)>,
        K: 'c,
        V: 'c,
    {
        let copies: Vec<(&K, &mut LocalCopy<V>)> = copies.into_iter().collect();
        let staged: Vec<Option<(K, Option<V>)>> = copies
            .iter()
            .map(|(key, copy)| (publish_all || copy.dirty).then(|| ((*key).clone(), copy.value.clone())))
            .collect();

        let mut slots = self.slots.try_write().ok_or(StmError::BusyRetry)?;
        for (key, copy) in &copies {
            let current = slots.get(*key).map_or(0, |slot| slot.version);
            if current != copy.version {
                return Err(StmError::ConcurrentUpdate {
                    key: (*key).clone(),
                    checked_out: copy.version,
                    current,
                });
            }
        }
        for ((_, copy), staged) in copies.into_iter().zip(staged) {
            if let Some((key, value)) = staged {
                let version = copy.version + 1;
                slots.insert(key, Slot { version, value });
                copy.version = version;
                copy.dirty = false;
            }
        }
        Ok(())
    }
}

/// One checked-out key: a local copy of its value and the version it was
/// read at. Made by [`Store::checkout`].
///
/// Changing the copy does not touch the store until [`commit`](Var::commit).
pub struct Var<K, V> {
    store: Store<K, V>,
    key: K,
    copy: LocalCopy<V>,
}

impl<K, V> Var<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    /// The key this copy belongs to.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The local value, or `None` if the key had no value when checked out.
    pub fn get(&self) -> Option<&V> {
        self.copy.value.as_ref()
    }

    /// Mutable access to the local value, for changing it in place.
    pub fn get_mut(&mut self) -> Option<&mut V> {
        self.copy.value.as_mut()
    }

    /// Replaces the local value. The store is not touched until
    /// [`commit`](Var::commit).
    pub fn set(&mut self, value: V) {
        self.copy.value = Some(value);
        self.copy.dirty = true;
    }

    /// The version this copy was checked out at (or last committed as).
    pub fn version(&self) -> Version {
        self.copy.version
    }

    /// Publishes the local value as the key's next version.
    ///
    /// On success the store and this copy are both at the new version, so
    /// the same holder can change the value and commit again. Committing an
    /// unchanged copy still makes a new version.
    ///
    /// # Errors
    ///
    /// * [`StmError::ConcurrentUpdate`] if the key was committed by somebody
    ///   else since this copy was read; check out again and redo the change.
    /// * [`StmError::BusyRetry`] if another commit held the store at that
    ///   instant; call `commit` again.
    ///
    /// Either way nothing was committed.
    pub fn commit(&mut self) -> Result<(), StmError<K>> {
        self.store.commit_copies([(&self.key, &mut self.copy)], true)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Var<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Var")
            .field("key", &self.key)
            .field("version", &self.copy.version)
            .field("value", &self.copy.value)
            .finish()
    }
}

/// Several keys checked out together, committed all-or-nothing. Made by
/// [`Store::checkout_many`].
pub struct Collection<K, V> {
    store: Store<K, V>,
    copies: HashMap<K, LocalCopy<V>>,
}

impl<K, V> Collection<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    /// The keys in this collection (order unspecified).
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.copies.keys()
    }

    /// Whether `key` was checked out in this collection.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.copies.contains_key(key)
    }

    /// The local value of `key`; `None` if it has no value or is not in the
    /// collection (use [`contains_key`](Collection::contains_key) to tell
    /// the two apart).
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.copies.get(key).and_then(|copy| copy.value.as_ref())
    }

    /// Mutable access to the local value of `key`, for changing it in place.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.copies.get_mut(key).and_then(|copy| copy.value.as_mut())
    }

    /// Replaces the local value of `key`. The store is not touched until
    /// [`commit`](Collection::commit).
    ///
    /// # Panics
    ///
    /// If `key` is not in the collection: without the version it was read at
    /// it could never be committed safely. Check it out with the others.
    pub fn set<Q>(&mut self, key: &Q, value: V)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let copy = self.copies.get_mut(key).expect(
            "Collection::set: key was not checked out in this collection; \
             include it in Store::checkout_many",
        );
        copy.value = Some(value);
        copy.dirty = true;
    }

    /// The version `key` was checked out at (or last committed as), or
    /// `None` if it is not in the collection.
    pub fn version<Q>(&self, key: &Q) -> Option<Version>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.copies.get(key).map(|copy| copy.version)
    }

    /// Publishes every key of the collection as its next version, or none.
    ///
    /// Every key is checked first; if any one is stale nothing at all is
    /// changed. On success every key, changed or not, is at a new version in
    /// the store and in this collection, so it can be committed again.
    ///
    /// # Errors
    ///
    /// * [`StmError::ConcurrentUpdate`] naming a key that somebody else
    ///   committed since the checkout; check out again and redo the change.
    /// * [`StmError::BusyRetry`] if another commit held the store at that
    ///   instant; call `commit` again.
    pub fn commit(&mut self) -> Result<(), StmError<K>> {
        self.store.commit_copies(self.copies.iter_mut(), true)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Collection<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, copy) in &self.copies {
            map.entry(key, &(copy.version, &copy.value));
        }
        map.finish()
    }
}

/// The working set of one [`Store::transact`] attempt.
///
/// Each key is checked out the first time the transaction reads or writes
/// it. When the attempt ends, every key touched is checked for concurrent
/// updates and the written ones are committed together.
///
/// Keys are read as they are first touched, not all at one instant, so a
/// transaction may see a mix of old and new values; such a transaction
/// never commits, because the stale read fails the final check. Read the
/// keys that must agree with each other before acting on any of them.
pub struct Transaction<'s, K, V> {
    store: &'s Store<K, V>,
    copies: HashMap<K, LocalCopy<V>>,
}

impl<'s, K, V> Transaction<'s, K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    fn new(store: &'s Store<K, V>) -> Self {
        Transaction {
            store,
            copies: HashMap::new(),
        }
    }

    fn copy_of<Q>(&mut self, key: &Q) -> &mut LocalCopy<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        // Looked up by borrow first so the key is only cloned when new.
        if !self.copies.contains_key(key) {
            let copy = LocalCopy::read(self.store.slots.read().get(key));
            self.copies.insert(key.to_owned(), copy);
        }
        match self.copies.get_mut(key) {
            Some(copy) => copy,
            None => unreachable!("inserted just above"),
        }
    }

    /// The value of `key` as this transaction sees it (`None` if it has no
    /// value). The first access checks the key out.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.copy_of(key).value.as_ref()
    }

    /// Sets `key` to `value` within this transaction; it is committed when
    /// the transaction is.
    pub fn set<Q>(&mut self, key: &Q, value: V)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let copy = self.copy_of(key);
        copy.value = Some(value);
        copy.dirty = true;
    }

    /// Checks every key touched; if none is stale, commits the written ones.
    /// Keys only read keep their version.
    fn commit(&mut self) -> Result<(), StmError<K>> {
        self.store.commit_copies(self.copies.iter_mut(), false)
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Transaction<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, copy) in &self.copies {
            map.entry(key, &(copy.version, &copy.value, copy.dirty));
        }
        map.finish()
    }
}

/// Calls `attempt` until it succeeds, at most `max_tries` times, backing
/// off (spin, then yield) between tries.
///
/// For code that checks out and commits by hand: put the checkout *inside*
/// `attempt`, so each try works from fresh copies. Retryable errors
/// ([`ConcurrentUpdate`](StmError::ConcurrentUpdate),
/// [`BusyRetry`](StmError::BusyRetry)) cause another try; any other error
/// is returned at once. Fails with [`StmError::TooManyRetries`] when the
/// bound is used up (a bound of 0 makes no attempt at all).
///
/// ```
/// use axon::stm::{retry, Store};
///
/// let store: Store<&str, u32> = Store::new();
/// retry(100, || {
///     let mut count = store.checkout(&"count");
///     count.set(count.get().copied().unwrap_or(0) + 1);
///     count.commit()
/// })?;
/// assert_eq!(store.checkout(&"count").get(), Some(&1));
/// # Ok::<(), axon::stm::StmError<&str>>(())
/// ```
pub fn retry<T, K, F>(max_tries: usize, mut attempt: F) -> Result<T, StmError<K>>
where
    F: FnMut() -> Result<T, StmError<K>>,
{
    let mut backoff = Backoff::new();
    for _ in 0..max_tries {
        match attempt() {
            Ok(output) => return Ok(output),
            Err(err) if err.is_retryable() => backoff.snooze(),
            Err(err) => return Err(err),
        }
    }
    Err(StmError::TooManyRetries { tries: max_tries })
}

/// Polite waiting between tries: exponentially longer busy-spins first
/// (cheap when the other party is about to finish), then yielding the CPU.
struct Backoff {
    step: u32,
}

impl Backoff {
    /// After this many steps the backoff stops spinning and yields.
    const SPIN_LIMIT: u32 = 6;

    fn new() -> Self {
        Backoff { step: 0 }
    }

    fn is_yielding(&self) -> bool {
        self.step > Self::SPIN_LIMIT
    }

    fn snooze(&mut self) {
        if self.is_yielding() {
            std::thread::yield_now();
        } else {
            for _ in 0..(1u32 << self.step) {
                std::hint::spin_loop();
            }
            self.step += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(store: &Store<&'static str, i32>) -> Vec<(&'static str, Version, Option<i32>)> {
        let slots = store.slots.read();
        let mut all: Vec<_> = slots.iter().map(|(k, s)| (*k, s.version, s.value)).collect();
        all.sort();
        all
    }

    #[test]
    fn checkout_never_inserts_into_the_store() {
        let store: Store<&str, i32> = Store::new();
        let _ = store.checkout(&"a");
        let _ = store.checkout_many(["b", "c"]);
        store
            .transact(1, |txn| {
                txn.get(&"d");
                Ok(())
            })
            .unwrap();
        assert!(store.slots.read().is_empty());
    }

    #[test]
    fn successful_commit_leaves_copy_and_store_at_the_same_version() {
        let store: Store<&str, i32> = Store::new();
        let mut var = store.checkout(&"a");
        for expected in 1..=3 {
            var.set(expected as i32);
            var.commit().unwrap();
            assert_eq!(var.version(), expected);
            assert_eq!(store.slots.read()[&"a"].version, expected);
            assert!(!var.copy.dirty);
        }
    }

    /// Issue 16: `try_checkout` / `try_checkout_many` answer `BusyRetry`
    /// while a commit holds the store (here: its write lock), and check out
    /// normally once it is free.
    #[test]
    fn try_checkout_answers_busy_while_a_commit_holds_the_store() {
        let store: Store<&str, i32> = Store::new();
        let mut var = store.checkout(&"a");
        var.set(7);
        var.commit().unwrap();
        {
            let _commit = store.slots.write();
            assert!(matches!(store.try_checkout(&"a"), Err(StmError::BusyRetry)));
            assert!(matches!(
                store.try_checkout_many(["a", "b"]),
                Err(StmError::BusyRetry)
            ));
        }
        assert_eq!(store.try_checkout(&"a").unwrap().get(), Some(&7));
        let many = store.try_checkout_many(["a", "b"]).unwrap();
        assert_eq!((many.get("a"), many.get("b")), (Some(&7), None));
    }

    #[test]
    fn commit_answers_busy_while_the_lock_is_held_and_changes_nothing() {
        let store: Store<&str, i32> = Store::new();
        let mut var = store.checkout(&"a");
        var.set(1);
        let mut many = store.checkout_many(["a", "b"]);
        many.set("b", 2);

        let guard = store.slots.read();
        assert_eq!(var.commit(), Err(StmError::BusyRetry));
        assert_eq!(many.commit(), Err(StmError::BusyRetry));
        drop(guard);

        assert!(store.slots.read().is_empty());
        assert_eq!(var.version(), 0);
        assert!(var.copy.dirty, "a busy commit must keep the work");
        var.commit().unwrap();
        assert_eq!(stored(&store), vec![("a", 1, Some(1))]);
    }

    #[test]
    fn busy_transaction_repeats_only_the_commit() {
        let store: Store<&str, i32> = Store::new();
        let mut runs = 0;
        let guard = store.slots.read();
        let result = store.transact(5, |txn| {
            runs += 1;
            txn.set(&"a", 1);
            Ok(())
        });
        drop(guard);
        assert_eq!(result, Err(StmError::TooManyRetries { tries: 5 }));
        assert_eq!(runs, 1, "work is kept across BusyRetry");
        assert!(store.slots.read().is_empty());
    }

    #[test]
    fn failed_collection_commit_leaves_the_map_untouched() {
        let store: Store<&str, i32> = Store::new();
        let mut setup = store.checkout_many(["a", "b"]);
        setup.set("a", 1);
        setup.set("b", 2);
        setup.commit().unwrap();

        let mut stale = store.checkout_many(["a", "b", "c"]);
        let mut other = store.checkout(&"b");
        other.set(20);
        other.commit().unwrap();
        let before = stored(&store);

        stale.set("a", 100);
        stale.set("c", 300);
        let err = stale.commit().unwrap_err();
        assert_eq!(
            err,
            StmError::ConcurrentUpdate {
                key: "b",
                checked_out: 1,
                current: 2
            }
        );
        assert_eq!(stored(&store), before);
        assert_eq!(stale.version(&"a"), Some(1));
        assert_eq!(stale.version(&"c"), Some(0));
    }

    #[test]
    fn transaction_bumps_only_written_keys() {
        let store: Store<&str, i32> = Store::new();
        let mut setup = store.checkout_many(["read", "written"]);
        setup.set("read", 1);
        setup.set("written", 1);
        setup.commit().unwrap();

        store
            .transact(1, |txn| {
                let n = *txn.get(&"read").unwrap();
                txn.set(&"written", n + 1);
                Ok(())
            })
            .unwrap();
        assert_eq!(
            stored(&store),
            vec![("read", 1, Some(1)), ("written", 2, Some(2))]
        );
    }

    #[test]
    fn backoff_spins_with_growing_steps_then_yields() {
        let mut backoff = Backoff::new();
        for step in 0..=Backoff::SPIN_LIMIT {
            assert_eq!(backoff.step, step);
            assert!(!backoff.is_yielding());
            backoff.snooze();
        }
        assert!(backoff.is_yielding());
        backoff.snooze();
        backoff.snooze();
        assert_eq!(backoff.step, Backoff::SPIN_LIMIT + 1);
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Store<String, Vec<u8>>>();
        assert_send_sync::<Var<String, Vec<u8>>>();
        assert_send_sync::<Collection<String, Vec<u8>>>();
        assert_send_sync::<Transaction<'static, String, Vec<u8>>>();
        assert_send_sync::<StmError<String>>();
    }
}
