//! Adding and removing boxes while a component runs (Axon's
//! `AdaptiveCommsComponent`).
//!
//! Ports `test_AdaptiveCommsComponent.py::AdaptiveCommsComponent_Test`
//! (reference catalog §6; B-34). Every component can add boxes through its
//! `Context` here; there is no separate adaptive class. Deliberate differences
//! from Axon: removing a box also removes the linkages into and out of it and
//! closes it (Axon left linkages dangling). Not ported: resource tracking
//! (`trackResource*`, B-35), which has no counterpart in the kernel API.

mod common;

use axon::{link, BoxError, Component, Direction, Inbox, Outbox, RecvError, System, TryRecvError};
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
