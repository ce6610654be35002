//! The CAT: a port of Axon's `test_CoordinatingAssistantTracker.py` (one test per
//! Python test, named in a comment), then what is new here: typed retrieval,
//! per-system isolation, waiting for a service, and contention.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use axon::cat::{Cat, CatError};
use axon::{Component, ComponentRef, Direction, Inbox, Outbox, System};

/// A component that exists and never runs (the system is never started): the
/// equivalent of the Python tests' `dummyComponent()`.
fn dummy(sys: &System) -> ComponentRef {
    sys.spawn(Component::new("dummy"), |_cx| async {})
}

fn idle_system() -> System {
    System::builder().threads(1).build()
}

// test_SmokeTest_NoArguments: a new tracker tracks no services and no values.
#[test]
fn new_cat_is_empty() {
    let cat = Cat::new();
    assert!(cat.services().is_empty());
    assert!(cat.tracked_values().is_empty());
    let sys = idle_system();
    assert!(sys.cat().services().is_empty());
    assert!(sys.cat().tracked_values().is_empty());
}

// test_SmokeTest_SingleParent and test_SmokeTest_InvalidSingleParent are not
// ported: Axon's parent tracker was accepted and never used, so there is none
// here (and the type system rules out a non-tracker parent).

// test_registerService_Add: registering adds the name to the services.
#[test]
fn register_service_adds_it() {
    let sys = idle_system();
    let c = dummy(&sys);
    sys.cat().register_service("someservice", &c, "control").unwrap();
    assert_eq!(sys.cat().services(), ["someservice"]);
}

// test_registerService_AddExisting: a duplicate name fails, even with the same
// arguments.
#[test]
fn register_service_twice_fails() {
    let sys = idle_system();
    let c = dummy(&sys);
    let cat = sys.cat();
    cat.register_service("someservice", &c, "control").unwrap();
    let err = cat.register_service("someservice", &c, "control").unwrap_err();
    assert_eq!(
        err,
        CatError::ServiceAlreadyExists {
            name: "someservice".into()
        }
    );
    assert!(err.to_string().contains("already registered"), "{err}");
    assert_eq!(cat.services(), ["someservice"]);
}

// test_registerService_BadComponent: something that is not a component's inbox
// is refused. Python passed a string; the Rust type system rules that out, so
// the cases are an outbox and a component that has finished.
#[test]
fn register_service_bad_component() {
    let sys = idle_system();
    let c = dummy(&sys);
    let cat = sys.cat();
    let outbox = c.any_outbox("signal").unwrap();
    let err = cat.register("someservice", outbox).unwrap_err();
    assert!(matches!(err, CatError::BadComponent { .. }), "{err:?}");
    assert!(err.to_string().contains("is an outbox"), "{err}");

    let detached = Outbox::<u8>::detached("out");
    assert!(matches!(
        cat.register("someservice", detached.endpoint().erase()),
        Err(CatError::BadComponent { .. })
    ));

    let done = idle_system();
    let finished = done.spawn(Component::new("finished"), |_cx| async {});
    done.run();
    let err = done
        .cat()
        .register_service("someservice", &finished, "control")
        .unwrap_err();
    assert!(matches!(err, CatError::BadComponent { .. }), "{err:?}");
    assert!(cat.services().is_empty());
}

// test_registerService_BadInbox: a component without that inbox is refused.
#[test]
fn register_service_bad_inbox() {
    let sys = idle_system();
    let c = dummy(&sys);
    let err = sys
        .cat()
        .register_service("someservice", &c, "badinbox")
        .unwrap_err();
    match &err {
        CatError::BadInbox { name, source } => {
            assert_eq!(name, "someservice");
            assert!(matches!(
                source,
                axon::BoxError::NotFound {
                    dir: Direction::In,
                    ..
                }
            ));
        }
        other => panic!("expected BadInbox, got {other:?}"),
    }
    assert!(
        err.to_string().contains("control"),
        "lists the inboxes it has: {err}"
    );
    assert!(sys.cat().services().is_empty());
}

// test_retrieveService_basic: retrieving gives back the component/inbox pair.
#[test]
fn retrieve_service_gives_the_registered_inbox() {
    let sys = idle_system();
    let c = dummy(&sys);
    let cat = sys.cat();
    cat.register_service("someservice", &c, "control").unwrap();
    let service = cat.retrieve_service("someservice").unwrap();
    assert_eq!(service.owner(), Some(c.id()));
    assert_eq!(service.name(), "control");
    assert_eq!(service.direction(), Direction::In);
    assert!(service.same_box(&c.any_inbox("control").unwrap()));
    // Typed retrieval, and the wrong type.
    let typed = cat.retrieve::<axon::Signal>("someservice").unwrap();
    assert_eq!(typed.name(), "control");
    assert!(matches!(
        cat.retrieve::<u32>("someservice"),
        Err(CatError::ServiceTypeMismatch { .. })
    ));
}

// test_retrieveService_nonexistantservice: an unknown name is an error (Python's
// KeyError).
#[test]
fn retrieve_unknown_service_fails() {
    let cat = Cat::new();
    let err = cat.retrieve_service("someservice").unwrap_err();
    assert!(matches!(err, CatError::NoSuchService { ref name, .. } if name == "someservice"));
    assert!(matches!(
        cat.retrieve::<u8>("someservice"),
        Err(CatError::NoSuchService { .. })
    ));
}

// test_deRegisterService: a deregistered service is gone.
#[test]
fn deregister_service_removes_it() {
    let sys = idle_system();
    let c = dummy(&sys);
    let cat = sys.cat();
    cat.register_service("someservice", &c, "control").unwrap();
    cat.deregister_service("someservice").unwrap();
    assert!(cat.services().is_empty());
    assert!(matches!(
        cat.retrieve_service("someservice"),
        Err(CatError::NoSuchService { .. })
    ));
    // The name can be used again.
    cat.register_service("someservice", &c, "control").unwrap();
    assert_eq!(cat.services(), ["someservice"]);
}

// test_deRegisterService_nonExistantService: deleting a missing service raises
// MultipleServiceDeletion (also when deleting twice).
#[test]
fn deregister_missing_service_fails() {
    let sys = idle_system();
    let cat = sys.cat();
    assert_eq!(
        cat.deregister_service("someservice"),
        Err(CatError::MultipleServiceDeletion {
            name: "someservice".into()
        })
    );
    let c = dummy(&sys);
    cat.register_service("someservice", &c, "control").unwrap();
    cat.deregister_service("someservice").unwrap();
    assert!(matches!(
        cat.deregister_service("someservice"),
        Err(CatError::MultipleServiceDeletion { .. })
    ));
}

// test_trackValue_basic: a tracked value is listed.
#[test]
fn track_value_lists_it() {
    let cat = Cat::new();
    cat.track_value("stats.pages.hitcount", 5).unwrap();
    assert_eq!(cat.tracked_values(), ["stats.pages.hitcount"]);
    assert!(
        cat.services().is_empty(),
        "values and services are separate namespaces"
    );
}

// test_trackValue_addTwice: tracking a name twice raises NamespaceClash.
#[test]
fn track_value_twice_clashes() {
    let cat = Cat::new();
    cat.track_value("stats.pages.hitcount", 5).unwrap();
    assert_eq!(
        cat.track_value("stats.pages.hitcount", 6),
        Err(CatError::NamespaceClash {
            name: "stats.pages.hitcount".into()
        })
    );
    assert_eq!(cat.retrieve_value::<i32>("stats.pages.hitcount"), Ok(5));
}

// test_retrieveValue_basic: retrieving gives the tracked value.
#[test]
fn retrieve_value_gives_it() {
    let cat = Cat::new();
    cat.track_value("stats.pages.hitcount", 5).unwrap();
    assert_eq!(cat.retrieve_value::<i32>("stats.pages.hitcount"), Ok(5));
    assert_eq!(*cat.retrieve_value_arc::<i32>("stats.pages.hitcount").unwrap(), 5);
}

// test_retrieveValue_notStored: reading an untracked name is an error.
#[test]
fn retrieve_untracked_value_fails() {
    let cat = Cat::new();
    assert_eq!(
        cat.retrieve_value::<i32>("stats.pages.hitcount"),
        Err(CatError::UntrackedValue {
            name: "stats.pages.hitcount".into()
        })
    );
}

// test_updateValue_basic: an update replaces the value.
#[test]
fn update_value_replaces_it() {
    let cat = Cat::new();
    cat.track_value("stats.pages.hitcount", 5).unwrap();
    cat.update_value("stats.pages.hitcount", 10).unwrap();
    assert_eq!(cat.retrieve_value::<i32>("stats.pages.hitcount"), Ok(10));
}

// test_updateValue_undeclaredTrackedVariable: updating an untracked name is an
// error.
#[test]
fn update_untracked_value_fails() {
    let cat = Cat::new();
    assert_eq!(
        cat.update_value("stats.pages.hitcount", 10),
        Err(CatError::UntrackedValue {
            name: "stats.pages.hitcount".into()
        })
    );
    assert!(cat.tracked_values().is_empty());
}

// test_informationItemsLogged: every tracked name is listed.
#[test]
fn tracked_values_lists_them_all() {
    let cat = Cat::new();
    cat.track_value("stats.pages.hitcount", 5).unwrap();
    cat.track_value("stats.pages.pagecount", 6).unwrap();
    cat.track_value("stats.foobar.count", 7).unwrap();
    assert_eq!(
        cat.tracked_values(),
        [
            "stats.foobar.count",
            "stats.pages.hitcount",
            "stats.pages.pagecount"
        ]
    );
}

// ---- beyond the Python tests ----

#[test]
fn values_are_typed() {
    let cat = Cat::new();
    cat.track_value("greeting", String::from("hello")).unwrap();
    let err = cat.retrieve_value::<u32>("greeting").unwrap_err();
    assert!(matches!(err, CatError::ValueTypeMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("alloc::string::String"), "{err}");
    assert!(matches!(
        cat.update_value("greeting", 3u32),
        Err(CatError::ValueTypeMismatch { .. })
    ));
    assert_eq!(cat.retrieve_value::<String>("greeting").unwrap(), "hello");
    let len = cat
        .modify_value("greeting", |s: &mut String| {
            s.push_str(", world");
            s.len()
        })
        .unwrap();
    assert_eq!(len, 12);
    assert_eq!(cat.retrieve_value::<String>("greeting").unwrap(), "hello, world");
}

#[test]
fn each_system_has_its_own_cat() {
    let a = idle_system();
    let b = idle_system();
    let c = dummy(&a);
    a.cat().register_service("svc", &c, "control").unwrap();
    a.cat().track_value("v", 1u8).unwrap();
    assert!(b.cat().services().is_empty());
    assert!(b.cat().tracked_values().is_empty());
    // Clones of a system share its CAT.
    assert_eq!(a.clone().cat().services(), ["svc"]);
}

#[test]
fn zap_forgets_everything() {
    let sys = idle_system();
    let c = dummy(&sys);
    let cat = sys.cat();
    cat.register_service("svc", &c, "control").unwrap();
    cat.track_value("v", 1u8).unwrap();
    cat.zap().unwrap();
    assert!(cat.services().is_empty());
    assert!(cat.tracked_values().is_empty());
    cat.track_value("v", 2u8).unwrap();
    assert_eq!(cat.retrieve_value::<u8>("v"), Ok(2));
}

#[test]
fn deregister_service_of_leaves_someone_elses_registration() {
    let a = Inbox::<u8>::detached("a");
    let b = Inbox::<u8>::detached("b");
    let cat = Cat::new();
    cat.register("svc", b.endpoint().erase()).unwrap();
    assert!(matches!(
        cat.deregister_service_of("svc", &a.endpoint().erase()),
        Err(CatError::MultipleServiceDeletion { .. })
    ));
    assert_eq!(cat.services(), ["svc"]);
    cat.deregister_service_of("svc", &b.endpoint().erase()).unwrap();
    assert!(cat.services().is_empty());
}

#[test]
fn a_detached_inbox_can_be_a_service() {
    let cat = Cat::new();
    let mut inbox = Inbox::<String>::detached("mailbox");
    cat.register("mail", inbox.endpoint().erase()).unwrap();
    let mut out = Outbox::<String>::detached("sender");
    axon::link(&out.endpoint(), &cat.retrieve::<String>("mail").unwrap()).unwrap();
    out.try_send("hi".into()).unwrap();
    assert_eq!(inbox.try_recv().unwrap(), "hi");
    assert_eq!(cat.retrieve_service("mail").unwrap().owner(), None);
}

#[test]
fn wait_for_service_wakes_on_registration() {
    let cat = Cat::new();
    let inbox = Inbox::<u8>::detached("late");
    let waiter = {
        let cat = cat.clone();
        thread::spawn(move || axon::block_on(cat.wait_for_service("late")))
    };
    // Not yet registered: the waiter must still be waiting.
    assert!(axon::block_on_timeout(cat.wait_for_service("late"), Some(Duration::from_millis(20))).is_none());
    cat.register("late", inbox.endpoint().erase()).unwrap();
    let got = waiter.join().unwrap();
    assert!(got.same_box(&inbox.endpoint().erase()));
    // Already registered: ready at once.
    assert!(axon::block_on(cat.wait_for_service("late")).same_box(&got));
}

/// Two threads hammer one CAT at once: each registers its own services, both
/// race for the same contested names, and both increment one tracked counter.
/// Every outcome must be exact: no lost increment, one winner per name.
#[test]
fn two_threads_contending_lose_nothing() {
    const N: usize = 2_000;
    let cat = Cat::new();
    cat.track_value("hits", 0u64).unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let inbox = Arc::new(Inbox::<u8>::detached("shared"));
    let workers: Vec<_> = (0..2)
        .map(|t| {
            let cat = cat.clone();
            let barrier = barrier.clone();
            let service = inbox.endpoint().erase();
            thread::spawn(move || {
                barrier.wait();
                let mut won = 0usize;
                for i in 0..N {
                    cat.modify_value("hits", |n: &mut u64| *n += 1).unwrap();
                    cat.register(&format!("own.{t}.{i}"), service.clone()).unwrap();
                    match cat.register(&format!("contested.{i}"), service.clone()) {
                        Ok(()) => won += 1,
                        Err(CatError::ServiceAlreadyExists { .. }) => {}
                        Err(e) => panic!("unexpected {e}"),
                    }
                    if i % 2 == 0 {
                        cat.deregister_service(&format!("own.{t}.{i}")).unwrap();
                    }
                }
                won
            })
        })
        .collect();
    let won: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(won, N, "each contested name has exactly one winner");
    assert_eq!(cat.retrieve_value::<u64>("hits"), Ok(2 * N as u64));
    let services = cat.services();
    let own = services.iter().filter(|s| s.starts_with("own.")).count();
    let contested = services.iter().filter(|s| s.starts_with("contested.")).count();
    assert_eq!(own, N, "half of each thread's own services were deregistered");
    assert_eq!(contested, N);
}
