//! Behaviour of `axon::stm` through its public API.
//!
//! Python Axon's `test_STM.py` is not available to us, so the behaviours
//! ported here are the ones Axon's `STM.py` documents and exercises itself:
//! the usage sections of its module docstring and the scenarios in its
//! `__main__` block. Each ported test names the section it comes from.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::thread;

use axon::stm::{retry, StmError, Store, Version};
use proptest::prelude::*;

/// Every committed key with its version and value, read through checkouts.
fn snapshot<K, V>(store: &Store<K, V>) -> BTreeMap<K, (Version, Option<V>)>
where
    K: Ord + std::hash::Hash + Clone,
    V: Clone,
{
    store
        .keys()
        .into_iter()
        .map(|key| {
            let var = store.checkout(&key);
            let entry = (var.version(), var.get().cloned());
            (key, entry)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Ported from Axon STM.py
// ---------------------------------------------------------------------------

// STM.py docstring, "Accessing/Updating a single shared value in the store":
// a fresh key reads as None, can be set and committed.
#[test]
fn single_value_checkout_set_commit() {
    let store: Store<&str, String> = Store::new();
    let mut greeting = store.checkout(&"hello");
    assert_eq!(greeting.get(), None);
    assert_eq!(greeting.version(), 0);

    greeting.set("Hello World".into());
    greeting.commit().unwrap();

    assert_eq!(greeting.version(), 1);
    let fresh = store.checkout(&"hello");
    assert_eq!(fresh.get().map(String::as_str), Some("Hello World"));
    assert_eq!(fresh.version(), 1);
}

// STM.py docstring, "Accessing/Updating a collection of shared values in the
// store": two successive collection transactions on the same accounts.
#[test]
fn collection_moves_money_between_accounts() {
    let store: Store<&str, i64> = Store::new();
    let keys = ["account_one", "account_two", "myaccount"];

    let mut d = store.checkout_many(keys);
    d.set("account_one", 50);
    d.set("account_two", 100);
    d.commit().unwrap();

    let mut d = store.checkout_many(keys);
    let total = d.get("account_one").unwrap() + d.get("account_two").unwrap();
    d.set("myaccount", total);
    d.set("account_one", 0);
    d.set("account_two", 0);
    d.commit().unwrap();

    let state = snapshot(&store);
    assert_eq!(state["account_one"], (2, Some(0)));
    assert_eq!(state["account_two"], (2, Some(0)));
    assert_eq!(state["myaccount"], (2, Some(150)));
}

// STM.py docstring, "What can (possibly) go wrong?" (also the first
// `__main__` scenario): D and E check out overlapping accounts, E commits
// first, so D's commit must fail and change nothing.
#[test]
fn overlapping_collections_second_commit_fails_and_changes_nothing() {
    let store: Store<&str, i64> = Store::new();
    let mut setup = store.checkout_many(["account_one", "account_two", "myaccount"]);
    setup.set("myaccount", 0);
    setup.set("account_one", 50);
    setup.set("account_two", 100);
    setup.commit().unwrap(); // 1

    let mut d = store.checkout_many(["account_one", "account_two", "myaccount"]);
    let total = d.get("account_one").unwrap() + d.get("account_two").unwrap();
    d.set("myaccount", total);

    let mut e = store.checkout_many(["account_one", "myaccount"]);
    let mine = *e.get("myaccount").unwrap();
    e.set("myaccount", mine - 100);
    e.set("account_one", 100);
    e.commit().unwrap(); // 2
    let after_e = snapshot(&store);

    d.set("account_one", 0);
    d.set("account_two", 0);
    let err = d.commit().unwrap_err(); // 3 - must fail
    match err {
        StmError::ConcurrentUpdate {
            key,
            checked_out,
            current,
        } => {
            assert!(key == "account_one" || key == "myaccount", "{key}");
            assert_eq!((checked_out, current), (1, 2));
        }
        other => panic!("expected ConcurrentUpdate, got {other:?}"),
    }

    // Nothing of D landed, not even account_two which only D touched.
    assert_eq!(snapshot(&store), after_e);
    assert_eq!(after_e["account_one"], (2, Some(100)));
    assert_eq!(after_e["account_two"], (1, Some(100)));
    assert_eq!(after_e["myaccount"], (2, Some(-100)));
    // D's copies keep the versions they were read at.
    assert_eq!(d.version("account_two"), Some(1));
}

// STM.py `__main__`, third scenario: one variable holding a whole dict of
// accounts; two holders edit their copies, the later commit fails.
#[test]
fn dict_valued_var_stale_holder_fails() {
    let store: Store<&str, HashMap<&str, i64>> = Store::new();
    let mut d = store.checkout(&"accounts");
    d.set(HashMap::from([
        ("account_one", 50),
        ("account_two", 100),
        ("myaccount", 0),
    ]));
    d.commit().unwrap(); // first

    let x = d.get_mut().unwrap();
    x.insert("myaccount", x["account_one"] + x["account_two"]);
    x.insert("account_one", 0);

    let mut e = store.checkout(&"accounts");
    let y = e.get_mut().unwrap();
    y.insert("myaccount", y["myaccount"] - 100);
    y.insert("account_one", 100);
    e.commit().unwrap(); // second

    d.get_mut().unwrap().insert("account_two", 0);
    assert!(matches!(
        d.commit(), // third - must fail
        Err(StmError::ConcurrentUpdate { .. })
    ));

    let stored = store.checkout(&"accounts");
    assert_eq!(stored.version(), 2);
    let accounts = stored.get().unwrap();
    assert_eq!(accounts["account_one"], 100);
    assert_eq!(accounts["account_two"], 100);
    assert_eq!(accounts["myaccount"], -100);
    // The local edits made to checked-out copies never leaked into the store.
    assert_eq!(d.get().unwrap()["myaccount"], 150);
}

// STM.py `__main__`, fourth scenario (the canonical greeting/par example):
// the second holder commits, the stale first holder's commit fails.
#[test]
fn greeting_par_stale_holder_fails() {
    let store: Store<&str, &str> = Store::new();
    let mut greeting = store.checkout(&"hello");
    assert_eq!(greeting.get(), None);
    greeting.set("Hello World");
    greeting.commit().unwrap();

    let mut par = store.checkout(&"hello");
    assert_eq!(par.version(), 1);
    par.set("Woo");
    par.commit().unwrap();
    assert_eq!(par.version(), 2);

    greeting.set("Woo");
    assert_eq!(
        greeting.commit(),
        Err(StmError::ConcurrentUpdate {
            key: "hello",
            checked_out: 1,
            current: 2,
        })
    );
    assert_eq!(greeting.version(), 1);
    let stored = store.checkout(&"hello");
    assert_eq!((stored.version(), stored.get()), (2, Some(&"Woo")));
}

// STM.py `Store.__do_update`: a successful commit moves the holder's copy to
// the new version, so the same holder may commit again.
#[test]
fn same_holder_commits_repeatedly() {
    let store: Store<&str, u32> = Store::new();
    let mut var = store.checkout(&"n");
    for n in 1..=5 {
        var.set(n);
        var.commit().unwrap();
        assert_eq!(var.version(), u64::from(n));
    }
    assert_eq!(store.checkout(&"n").version(), 5);
}

// STM.py `Store.usevar`: a missing key is a None value at version 0; a
// collection may mix missing and present keys.
#[test]
fn missing_keys_read_as_none_at_version_zero() {
    let store: Store<String, i32> = Store::new();
    let mut present = store.checkout("present");
    present.set(7);
    present.commit().unwrap();

    let many = store.checkout_many(["present", "absent"]);
    assert_eq!(many.get("present"), Some(&7));
    assert_eq!(many.version("present"), Some(1));
    assert_eq!(many.get("absent"), None);
    assert_eq!(many.version("absent"), Some(0));
    assert!(many.contains_key("absent"));
    assert!(!many.contains_key("elsewhere"));
    assert_eq!(many.version("elsewhere"), None);
}

// ---------------------------------------------------------------------------
// Store handle, keys and dump
// ---------------------------------------------------------------------------

#[test]
fn clones_of_a_store_share_state() {
    let store: Store<&str, i32> = Store::new();
    let other = store.clone();
    let mut var = other.checkout(&"k");
    var.set(1);
    var.commit().unwrap();
    assert_eq!(store.checkout(&"k").get(), Some(&1));
}

#[test]
fn keys_lists_committed_keys_only() {
    let store: Store<&str, i32> = Store::new();
    let _unused = store.checkout(&"only_read");
    let mut written = store.checkout_many(["a", "b"]);
    written.set("a", 1);
    written.commit().unwrap();

    let mut keys = store.keys();
    keys.sort();
    // A collection commit publishes every key it holds, set or not.
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(store.checkout(&"b").get(), None);
    assert_eq!(store.checkout(&"b").version(), 1);
}

#[test]
fn debug_dump_shows_keys_versions_and_values() {
    let store: Store<&str, &str> = Store::new();
    let mut var = store.checkout(&"hello");
    var.set("Woo");
    var.commit().unwrap();
    let dump = format!("{store:?}");
    assert!(dump.contains("\"hello\""), "{dump}");
    assert!(dump.contains("version: 1"), "{dump}");
    assert!(dump.contains("Some(\"Woo\")"), "{dump}");
    let var_dump = format!("{var:?}");
    assert!(var_dump.contains("version: 1"), "{var_dump}");
}

#[test]
fn error_messages_say_what_to_do() {
    let conflict: StmError<&str> = StmError::ConcurrentUpdate {
        key: "hello",
        checked_out: 1,
        current: 2,
    };
    let text = conflict.to_string();
    assert!(text.contains("\"hello\"") && text.contains("check"), "{text}");
    assert!(StmError::<&str>::BusyRetry.to_string().contains("retry"));
    let text = StmError::<&str>::TooManyRetries { tries: 3 }.to_string();
    assert!(text.contains('3') && text.contains("retry bound"), "{text}");

    assert!(conflict.is_retryable());
    assert!(StmError::<&str>::BusyRetry.is_retryable());
    assert!(!StmError::<&str>::TooManyRetries { tries: 3 }.is_retryable());
}

#[test]
#[should_panic(expected = "not checked out")]
fn setting_a_key_outside_the_collection_panics() {
    let store: Store<&str, i32> = Store::new();
    let mut many = store.checkout_many(["a"]);
    many.set("b", 1);
}

// ---------------------------------------------------------------------------
// Retrying helpers
// ---------------------------------------------------------------------------

#[test]
fn retry_gives_up_after_the_bound() {
    let mut calls = 0;
    let result: Result<(), StmError<&str>> = retry(4, || {
        calls += 1;
        Err(StmError::BusyRetry)
    });
    assert_eq!(result, Err(StmError::TooManyRetries { tries: 4 }));
    assert_eq!(calls, 4);

    let result: Result<(), StmError<&str>> = retry(0, || unreachable!());
    assert_eq!(result, Err(StmError::TooManyRetries { tries: 0 }));
}

#[test]
fn retry_passes_non_retryable_errors_straight_through() {
    let mut calls = 0;
    let result: Result<(), StmError<&str>> = retry(10, || {
        calls += 1;
        Err(StmError::TooManyRetries { tries: 1 })
    });
    assert_eq!(result, Err(StmError::TooManyRetries { tries: 1 }));
    assert_eq!(calls, 1);
}

#[test]
fn retry_redoes_a_conflicting_checkout() {
    let store: Store<&str, i32> = Store::new();
    let mut calls = 0;
    retry(3, || {
        calls += 1;
        let mut var = store.checkout(&"n");
        if calls == 1 {
            // Somebody else gets in between our checkout and our commit.
            let mut rival = store.checkout(&"n");
            rival.set(10);
            rival.commit()?;
        }
        var.set(var.get().copied().unwrap_or(0) + 1);
        var.commit()
    })
    .unwrap();
    assert_eq!(calls, 2);
    let n = store.checkout(&"n");
    assert_eq!((n.version(), n.get()), (2, Some(&11)));
}

#[test]
fn transact_reruns_work_after_a_conflict() {
    let store: Store<&str, i32> = Store::new();
    let mut runs = 0;
    let seen = store
        .transact(3, |txn| {
            runs += 1;
            let n = txn.get(&"n").copied().unwrap_or(0);
            if runs == 1 {
                let mut rival = store.checkout(&"n");
                rival.set(10);
                rival.commit()?;
            }
            txn.set(&"n", n + 1);
            Ok(n)
        })
        .unwrap();
    assert_eq!((runs, seen), (2, 10));
    assert_eq!(store.checkout(&"n").get(), Some(&11));
}

#[test]
fn transact_validates_keys_it_only_read() {
    let store: Store<&str, i32> = Store::new();
    let mut runs = 0;
    let result = store.transact(1, |txn| {
        runs += 1;
        let limit = txn.get(&"limit").copied().unwrap_or(0);
        let mut rival = store.checkout(&"limit");
        rival.set(5);
        rival.commit()?;
        txn.set(&"used", limit);
        Ok(())
    });
    assert_eq!(result, Err(StmError::TooManyRetries { tries: 1 }));
    assert_eq!(runs, 1);
    assert_eq!(store.checkout(&"used").version(), 0, "nothing committed");
}

#[test]
fn transact_lets_work_abort_with_its_own_error() {
    let store: Store<&str, i32> = Store::new();
    let outcome = store
        .transact(5, |txn| {
            let balance = txn.get(&"balance").copied().unwrap_or(0);
            if balance < 10 {
                return Ok(Err("insufficient funds"));
            }
            txn.set(&"balance", balance - 10);
            Ok(Ok(()))
        })
        .unwrap();
    assert_eq!(outcome, Err("insufficient funds"));
    assert!(store.keys().is_empty());
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

const THREADS: usize = 4;
const INCREMENTS: usize = 10_000;
/// Far more than any run needs; hitting it fails the test loudly.
const MAX_TRIES: usize = 1_000_000;

#[test]
fn stress_transact_loses_no_update() {
    let store: Store<&str, usize> = Store::new();
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let store = store.clone();
            thread::spawn(move || {
                for _ in 0..INCREMENTS {
                    store
                        .transact(MAX_TRIES, |txn| {
                            let n = txn.get(&"count").copied().unwrap_or(0);
                            txn.set(&"count", n + 1);
                            Ok(())
                        })
                        .expect("increment");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let count = store.checkout(&"count");
    assert_eq!(count.get(), Some(&(THREADS * INCREMENTS)));
    assert_eq!(count.version(), (THREADS * INCREMENTS) as Version);
}

#[test]
fn stress_retry_with_collections_conserves_the_total() {
    // Each thread moves one unit around a ring of accounts per transaction
    // and also counts its moves; the ring's total must never change and the
    // move counter must be exact.
    let store: Store<usize, i64> = Store::new();
    let accounts = THREADS;
    let mut setup = store.checkout_many(0..=accounts);
    for account in 0..accounts {
        setup.set(&account, 100);
    }
    setup.set(&accounts, 0); // the move counter
    setup.commit().unwrap();

    let store = Arc::new(store);
    let workers: Vec<_> = (0..THREADS)
        .map(|me| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                let (from, to) = (me, (me + 1) % accounts);
                for _ in 0..INCREMENTS {
                    retry(MAX_TRIES, || {
                        let mut c = store.checkout_many([from, to, accounts]);
                        let (a, b) = (c.get(&from).unwrap() - 1, c.get(&to).unwrap() + 1);
                        let moves = c.get(&accounts).unwrap() + 1;
                        c.set(&from, a);
                        c.set(&to, b);
                        c.set(&accounts, moves);
                        c.commit()
                    })
                    .expect("move");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let state = snapshot(&*store);
    let total: i64 = (0..accounts).map(|a| state[&a].1.unwrap()).sum();
    assert_eq!(total, 100 * accounts as i64);
    assert_eq!(state[&accounts].1, Some((THREADS * INCREMENTS) as i64));
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #[test]
    fn failed_collection_commit_changes_nothing(
        initial in prop::collection::btree_map(0u8..12, any::<i32>(), 0..12),
        d_keys in prop::collection::btree_set(0u8..12, 1..8),
        d_values in prop::collection::vec(any::<i32>(), 8),
        e_extra in prop::collection::btree_set(0u8..12, 0..4),
        clash in any::<prop::sample::Index>(),
        e_value in any::<i32>(),
    ) {
        let store: Store<u8, i32> = Store::new();
        for (key, value) in &initial {
            let mut var = store.checkout(key);
            var.set(*value);
            var.commit().unwrap();
        }

        let mut d = store.checkout_many(d_keys.iter().copied());
        let d_versions: Vec<_> = d_keys.iter().map(|k| d.version(k)).collect();

        // E shares at least one key with D and commits first.
        let d_key_list: Vec<u8> = d_keys.iter().copied().collect();
        let shared = *clash.get(&d_key_list);
        let e_keys: Vec<u8> = e_extra.iter().copied().chain([shared]).collect();
        let mut e = store.checkout_many(e_keys.iter().copied());
        for key in &e_keys {
            e.set(key, e_value);
        }
        e.commit().unwrap();
        let before = snapshot(&store);

        for (key, value) in d_keys.iter().zip(&d_values) {
            d.set(key, *value);
        }
        let err = d.commit().unwrap_err();
        let is_conflict_on_e_key = matches!(
            err,
            StmError::ConcurrentUpdate { key, .. } if e_keys.contains(&key)
        );
        prop_assert!(is_conflict_on_e_key);

        prop_assert_eq!(snapshot(&store), before);
        let d_versions_after: Vec<_> = d_keys.iter().map(|k| d.version(k)).collect();
        prop_assert_eq!(d_versions_after, d_versions);
    }
}
