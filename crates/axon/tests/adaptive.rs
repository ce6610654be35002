//! Adding and removing boxes while a component runs (Axon's
//! `AdaptiveCommsComponent`).
//!
//! Ports `test_AdaptiveCommsComponent.py::AdaptiveCommsComponent_Test`
//! (reference catalog §6; B-34). Every component can add boxes through its
//! `Context` here; there is no separate adaptive class. Deliberate differences
//! from Axon: removing a box also removes the linkages into and out of it and
//! closes it (Axon left linkages dangling). Resource tracking
//! (`trackResource` / `retrieveTrackedResource` / `ceaseTrackingResource`,
//! B-35) is `Context::track_resource` / `resource` / `take_resource`, typed;
//! `trackResourceInformation` has no counterpart (keep it in the value).

mod common;

use std::sync::Arc;

use axon::{
    link, BoxError, Component, Direction, Inbox, Outbox, RecvError, ResourceError, System, TryRecvError,
};
use common::assert_finished;

/// Run `body` as the only component and check it finished normally.
fn run_in_component<F, Fut>(spec: Component, body: F)
where
    F: FnOnce(axon::Context) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), axon::Error>> + Send + 'static,
{
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(spec, body);
    sys.run();
    assert_finished(&c);
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Ports `test_AdaptiveCommsComponent.py::test_SmokeTest_NoArguments`: the default boxes, all empty.
#[test]
fn an_adaptive_component_starts_with_the_default_boxes() {
    run_in_component(
        Component::new("a").inbox_and_outbox::<u8, u8>(),
        |cx| async move {
            assert_eq!(sorted(cx.me().box_names(Direction::In)), ["control", "inbox"]);
            assert_eq!(sorted(cx.me().box_names(Direction::Out)), ["outbox", "signal"]);
            let snap = cx.system().snapshot();
            assert!(snap.component(cx.id()).unwrap().boxes.iter().all(|b| b.len == 0));
            Ok(())
        },
    );
}

/// Ports `test_AdaptiveCommsComponent.py::test_addInbox_newName`, `test_AdaptiveCommsComponent.py::test_addInbox_existingName`,
/// `test_AdaptiveCommsComponent.py::test_addOutbox_newName` and `test_AdaptiveCommsComponent.py::test_addOutbox_existingName`: an unused name
/// is used as given; a taken one gets a different name with the requested
/// prefix; the new box exists and is empty.
#[test]
fn added_boxes_get_the_name_asked_for_or_a_unique_variant() {
    run_in_component(
        Component::new("a").inbox_and_outbox::<u8, u8>(),
        |mut cx| async move {
            let (name, inbox) = cx.add_inbox::<u8>("fresh");
            assert_eq!(name, "fresh");
            assert!(inbox.is_empty());
            assert!(cx.me().box_names(Direction::In).contains(&name));
            let (taken, _inbox2) = cx.add_inbox::<u8>("inbox");
            assert_ne!(taken, "inbox");
            assert!(taken.starts_with("inbox"));

            let (oname, out) = cx.add_outbox::<u8>("fresh");
            assert_eq!(oname, "fresh", "inbox and outbox names are separate");
            assert_eq!(out.held(), 0);
            let (otaken, _out2) = cx.add_outbox::<u8>("outbox");
            assert_ne!(otaken, "outbox");
            assert!(otaken.starts_with("outbox"));
            assert!(cx.me().box_names(Direction::Out).contains(&otaken));
            Ok(())
        },
    );
}

/// Ports `test_AdaptiveCommsComponent.py::test_InboxModification` and `test_AdaptiveCommsComponent.py::test_OutboxModification`: four boxes
/// all asked for as "name" get four new, distinct names; removing them leaves
/// only the defaults.
#[test]
fn adding_then_removing_boxes_leaves_only_the_defaults() {
    run_in_component(
        Component::new("a").inbox_and_outbox::<u8, u8>(),
        |mut cx| async move {
            for dir in [Direction::In, Direction::Out] {
                let before = sorted(cx.me().box_names(dir));
                let mut added = Vec::new();
                for _ in 0..4 {
                    let name = match dir {
                        Direction::In => cx.add_inbox::<u8>("name").0,
                        Direction::Out => cx.add_outbox::<u8>("name").0,
                    };
                    assert!(name.starts_with("name"));
                    assert!(!added.contains(&name), "{name} handed out twice");
                    assert!(!before.contains(&name));
                    assert!(cx.me().box_names(dir).contains(&name));
                    added.push(name);
                }
                for name in &added {
                    cx.remove_box(dir, name)?;
                    assert!(!cx.me().box_names(dir).contains(name));
                }
                assert_eq!(sorted(cx.me().box_names(dir)), before);
            }
            Ok(())
        },
    );
}

/// Ports `test_AdaptiveCommsComponent.py::test_deleteInbox_invalidInbox`, `test_AdaptiveCommsComponent.py::test_deleteInbox_validInbox`,
/// `test_AdaptiveCommsComponent.py::test_deleteOutbox_invalidOutbox` and `test_AdaptiveCommsComponent.py::test_deleteOutbox_validOutbox`:
/// removing a box that does not exist is an error; default boxes can be
/// removed.
#[test]
fn removing_a_missing_box_fails_and_default_boxes_can_be_removed() {
    run_in_component(
        Component::new("a").inbox_and_outbox::<u8, u8>(),
        |mut cx| async move {
            assert!(matches!(
                cx.remove_box(Direction::In, "nope"),
                Err(BoxError::NotFound { .. })
            ));
            assert!(matches!(
                cx.remove_box(Direction::Out, "nope"),
                Err(BoxError::NotFound { .. })
            ));
            cx.remove_box(Direction::In, "control")?;
            cx.remove_box(Direction::Out, "signal")?;
            assert_eq!(cx.me().box_names(Direction::In), ["inbox"]);
            assert_eq!(cx.me().box_names(Direction::Out), ["outbox"]);
            // Gone for good: neither a handle nor a second removal.
            assert!(cx.inbox::<axon::Signal>("control").is_err());
            assert!(matches!(
                cx.remove_box(Direction::In, "control"),
                Err(BoxError::NotFound { .. })
            ));
            Ok(())
        },
    );
}

/// No reference test (catalog §6 "worth adding"): removing an inbox unlinks
/// every source and closes it (its handle drains, then reports `Closed`; a
/// former feeder's later sends wait in its own outbox); removing an outbox
/// removes its linkage and its receiver learns it is gone.
#[test]
fn removing_a_box_unlinks_and_closes_it() {
    let sys = System::builder().threads(1).build();
    let mut feeder = Outbox::<u32>::detached("feeder");
    let mut receiver = Inbox::<u32>::detached("receiver");
    let (feeder_ref, receiver_ref) = (feeder.endpoint(), receiver.endpoint());
    let mut names = Inbox::<String>::detached("names");
    let names_ref = names.endpoint();
    let c = sys.spawn(
        Component::new("a").outbox::<String>("names").inbox::<()>("go"),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&me.outbox("names")?, &names_ref)?;
            let mut report = cx.outbox::<String>("names")?;
            let mut go = cx.inbox::<()>("go")?;
            let (iname, mut added_in) = cx.add_inbox::<u32>("dyn");
            let (oname, mut added_out) = cx.add_outbox::<u32>("dyn");
            cx.link(&me.outbox::<u32>(&oname)?, &receiver_ref)?;
            assert_eq!(cx.linkages().len(), 2);
            report.try_send(iname.clone())?;
            // The test links its feeder in and sends one message, then says go.
            go.recv().await?;
            assert_eq!(added_in.len(), 1);
            added_out.try_send(7)?;
            cx.remove_box(Direction::In, &iname)?;
            cx.remove_box(Direction::Out, &oname)?;
            assert_eq!(
                cx.linkages().len(),
                1,
                "the linkage from the removed outbox went with it"
            );
            // The removed inbox keeps what it had, then reports Closed.
            assert_eq!(added_in.try_recv(), Ok(1));
            assert_eq!(added_in.try_recv(), Err(TryRecvError::Closed));
            report.try_send("removed".into())?;
            go.recv().await?;
            Ok::<_, axon::Error>(())
        },
    );
    let mut go = Outbox::<()>::detached("go");
    link(&go.endpoint(), &c.inbox("go").unwrap()).unwrap();
    let running = sys.start();
    let iname = names.recv_blocking().unwrap();
    link(&feeder_ref, &c.inbox(&iname).unwrap()).unwrap();
    feeder.try_send(1).unwrap();
    go.try_send(()).unwrap();
    assert_eq!(names.recv_blocking().as_deref(), Ok("removed"));
    // The feeder was unlinked: its next send is held, not delivered anywhere.
    feeder.try_send(2).unwrap();
    assert_eq!(feeder.held(), 1);
    // The removed outbox delivered before removal; now no sender is left.
    assert_eq!(receiver.recv_blocking(), Ok(7));
    assert_eq!(receiver.recv_blocking(), Err(RecvError::Closed));
    go.try_send(()).unwrap();
    assert_finished(&c);
    running.wait();
}

/// Reference `trackResource` / `retrieveTrackedResource`: a value tied to an
/// inbox is found again by the inbox's name, typed, and can be changed.
#[test]
fn a_tracked_resource_is_found_by_its_inbox() {
    run_in_component(
        Component::new("a").inbox_and_outbox::<u8, u8>(),
        |mut cx| async move {
            let (alice, _a) = cx.add_inbox::<String>("peer");
            let (bob, _b) = cx.add_inbox::<String>("peer");
            cx.track_resource(&alice, ("alice", 0u32))?;
            cx.track_resource(&bob, ("bob", 0u32))?;
            // A declared inbox can carry one too.
            cx.track_resource("inbox", 42u64)?;
            cx.resource_mut::<(&str, u32)>(&bob)?.1 += 5;
            assert_eq!(cx.resource::<(&str, u32)>(&alice)?, &("alice", 0));
            assert_eq!(cx.resource::<(&str, u32)>(&bob)?, &("bob", 5));
            assert_eq!(cx.resource::<u64>("inbox")?, &42);
            let mut tracked = vec!["inbox".to_string(), alice.clone(), bob.clone()];
            tracked.sort();
            assert_eq!(cx.tracked_inboxes(), tracked);
            Ok(())
        },
    );
}

/// Reference `trackResource` raises `KeyError` for an unknown inbox; here each
/// misuse is a typed error and leaves what was tracked alone.
#[test]
fn misusing_resource_tracking_gives_typed_errors() {
    run_in_component(
        Component::new("a").inbox_and_outbox::<u8, u8>(),
        |mut cx| async move {
            assert!(matches!(
                cx.track_resource("nope", 1u8),
                Err(ResourceError::NoSuchInbox { inbox, .. }) if inbox == "nope"
            ));
            // An outbox is not an inbox.
            assert!(matches!(
                cx.track_resource("outbox", 1u8),
                Err(ResourceError::NoSuchInbox { .. })
            ));
            assert!(matches!(
                cx.resource::<u8>("inbox"),
                Err(ResourceError::NotTracked { .. })
            ));
            cx.track_resource("inbox", 1u8)?;
            assert!(matches!(
                cx.track_resource("inbox", 2u8),
                Err(ResourceError::AlreadyTracked { .. })
            ));
            assert_eq!(cx.resource::<u8>("inbox")?, &1, "the first value stays");
            let err = cx.resource::<String>("inbox").unwrap_err();
            assert!(matches!(
                &err,
                ResourceError::WrongType { requested, actual, .. } if requested.contains("String") && *actual == "u8"
            ));
            assert!(err.to_string().contains("inbox"), "{err}");
            assert!(matches!(
                cx.resource_mut::<u16>("inbox"),
                Err(ResourceError::WrongType { .. })
            ));
            assert!(matches!(
                cx.take_resource::<u16>("inbox"),
                Err(ResourceError::WrongType { .. })
            ));
            assert_eq!(
                cx.resource::<u8>("inbox")?,
                &1,
                "a wrong-type take leaves it tracked"
            );
            Ok(())
        },
    );
}

/// Reference `ceaseTrackingResource`: taking a resource back ends its
/// tracking; the inbox can then carry another.
#[test]
fn taking_a_resource_back_stops_tracking_it() {
    run_in_component(
        Component::new("a").inbox_and_outbox::<u8, u8>(),
        |mut cx| async move {
            let (name, _inbox) = cx.add_inbox::<u8>("dyn");
            cx.track_resource(&name, String::from("state"))?;
            assert_eq!(cx.take_resource::<String>(&name)?, "state");
            assert!(matches!(
                cx.take_resource::<String>(&name),
                Err(ResourceError::NotTracked { .. })
            ));
            assert!(cx.tracked_inboxes().is_empty());
            cx.track_resource(&name, String::from("again"))?;
            assert_eq!(cx.resource::<String>(&name)?, "again");
            Ok(())
        },
    );
}

/// The resource goes with its box: removing the inbox drops it (an inbox
/// added again under the same name starts with none), and so does the
/// component's end.
#[test]
fn a_resource_is_released_with_its_inbox_and_its_component() {
    let with_box = Arc::new(());
    let with_component = Arc::new(());
    let (w1, w2) = (with_box.clone(), with_component.clone());
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(
        Component::new("a").inbox_and_outbox::<u8, u8>(),
        move |mut cx| async move {
            let (name, _inbox) = cx.add_inbox::<u8>("dyn");
            cx.track_resource(&name, w1)?;
            cx.track_resource("inbox", w2)?;
            // Removing an outbox of the same name releases nothing.
            let (oname, _out) = cx.add_outbox::<u8>(&name);
            assert_eq!(oname, name);
            cx.remove_box(Direction::Out, &oname)?;
            assert!(cx.resource::<Arc<()>>(&name).is_ok());
            cx.remove_box(Direction::In, &name)?;
            assert!(matches!(
                cx.resource::<Arc<()>>(&name),
                Err(ResourceError::NotTracked { .. })
            ));
            let (again, _inbox2) = cx.add_inbox::<u8>("dyn");
            assert_eq!(again, name, "the freed name is used again");
            assert!(matches!(
                cx.resource::<Arc<()>>(&again),
                Err(ResourceError::NotTracked { .. })
            ));
            assert!(cx.resource::<Arc<()>>("inbox").is_ok());
            Ok::<_, axon::Error>(())
        },
    );
    sys.run();
    assert_finished(&c);
    assert_eq!(Arc::strong_count(&with_box), 1, "released with its inbox");
    assert_eq!(
        Arc::strong_count(&with_component),
        1,
        "released with the component"
    );
}
