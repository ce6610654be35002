//! Introspection: `System::snapshot` lists live components, their boxes (queue
//! length, limit) and linkages; `Snapshot::to_dot` renders it.
//!
//! No Axon unit test covers this (Kamaelia's Introspector / AxonVisualiser were
//! components, untested in `Tests/Python/Axon`); the nearest reference is the
//! post office registry checks of `test_Postoffice.py::test_linkregistered`
//! (catalog §8.1), whose intent — every linkage made is visible with its ends —
//! is checked here as well.

mod common;

use axon::introspect::{BoxInfo, ComponentInfo};
use axon::{link, Component, ComponentRef, Direction, Inbox, Kind, Outbox, Signal, Snapshot, System};
use common::{assert_finished, wait_gone, wait_until};

fn comp<'a>(snap: &'a Snapshot, c: &ComponentRef) -> &'a ComponentInfo {
    snap.component(c.id())
        .unwrap_or_else(|| panic!("{c:?} not in the snapshot"))
}

fn boxinfo<'a>(info: &'a ComponentInfo, dir: Direction, name: &str) -> &'a BoxInfo {
    info.boxes
        .iter()
        .find(|b| b.direction == dir && b.name == name)
        .unwrap_or_else(|| panic!("{} has no {dir} {name}", info.name))
}

/// A component that sleeps until shut down.
fn sleeper(sys: &System, spec: Component) -> ComponentRef {
    sys.spawn(spec, |cx| async move {
        let _keep = cx;
        std::future::pending::<()>().await
    })
}

/// The snapshot lists every live component with its boxes (direction, message
/// type, queue length, limit) and every linkage with both ends.
#[test]
fn the_snapshot_lists_components_boxes_and_linkages() {
    let sys = System::builder().threads(1).build();
    let a = sleeper(&sys, Component::new("a").inbox_and_outbox::<u32, u32>());
    let b = sleeper(
        &sys,
        Component::new("b")
            .inbox_with_size::<u32>("inbox", 5)
            .outbox::<u32>("outbox"),
    );
    let sink = Inbox::<u32>::detached("sink");
    let mut feed = Outbox::<u32>::detached("feed");
    link(&feed.endpoint(), &a.inbox("inbox").unwrap()).unwrap();
    link(&a.outbox::<u32>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();
    link(&b.outbox::<u32>("outbox").unwrap(), &sink.endpoint()).unwrap();
    feed.try_send(1).unwrap();
    feed.try_send(2).unwrap();
    feed.try_send(3).unwrap();

    let snap = sys.snapshot();
    assert_eq!(snap.components.len(), 2);
    let ai = comp(&snap, &a);
    assert_eq!(ai.name, "a");
    assert_eq!(ai.kind, Kind::Async);
    assert_eq!(ai.parent, None);
    assert!(ai.children.is_empty());
    assert_eq!(ai.boxes.len(), 4);
    let a_in = boxinfo(ai, Direction::In, "inbox");
    assert_eq!((a_in.len, a_in.limit), (3, None));
    assert!(a_in.message_type.contains("u32"));
    let a_control = boxinfo(ai, Direction::In, "control");
    assert!(a_control.message_type.contains("Signal"));
    let bi = comp(&snap, &b);
    let b_in = boxinfo(bi, Direction::In, "inbox");
    assert_eq!((b_in.len, b_in.limit), (0, Some(5)));

    // Linkages out of the boxes of live components: a -> b and b -> sink (the
    // detached feed is not a component's box).
    assert_eq!(snap.linkages.len(), 2);
    let ab = snap
        .linkages
        .iter()
        .find(|l| l.source == (a.id(), "outbox".to_string()))
        .expect("a -> b listed");
    assert_eq!(ab.sink, (Some(b.id()), "inbox".to_string()));
    assert_eq!(ab.source_box, boxinfo(ai, Direction::Out, "outbox").id);
    assert_eq!(ab.sink_box, b_in.id);
    let bs = snap
        .linkages
        .iter()
        .find(|l| l.source == (b.id(), "outbox".to_string()))
        .expect("b -> sink listed");
    assert_eq!(
        bs.sink,
        (None, "sink".to_string()),
        "a detached sink has no component"
    );

    // Box ids are unique across the snapshot.
    let mut ids: Vec<_> = snap
        .components
        .iter()
        .flat_map(|c| c.boxes.iter().map(|b| b.id))
        .collect();
    let n = ids.len();
    ids.sort_by_key(|i| i.as_u64());
    ids.dedup();
    assert_eq!(ids.len(), n);
}

/// Parents and children show up; components that have ended do not, nor do
/// their linkages.
#[test]
fn the_snapshot_follows_parents_children_and_ends() {
    let sys = System::builder().threads(1).build();
    let mut reports = Inbox::<ComponentRef>::detached("reports");
    let rep = reports.endpoint();
    let parent = sys.spawn(
        Component::new("parent").outbox::<ComponentRef>("report"),
        move |mut cx| async move {
            let me = cx.me().clone();
            cx.link(&me.outbox("report")?, &rep)?;
            let mut report = cx.outbox::<ComponentRef>("report")?;
            let child = cx.spawn_child(Component::new("child"), |mut cx| async move {
                let mut control = cx.inbox::<Signal>("control")?;
                let _ = control.recv().await;
                Ok::<_, axon::Error>(())
            });
            report.try_send(child)?;
            while cx.child_exit().await.is_some() {}
            std::future::pending::<()>().await;
            Ok::<_, axon::Error>(())
        },
    );
    let running = sys.start();
    let child = reports.recv_blocking().unwrap();
    let mut stop = Outbox::<Signal>::detached("stop");
    link(&stop.endpoint(), &child.inbox("control").unwrap()).unwrap();

    let snap = sys.snapshot();
    assert_eq!(comp(&snap, &child).parent, Some(parent.id()));
    assert_eq!(comp(&snap, &parent).children, [child.id()]);
    assert_eq!(comp(&snap, &child).name, "child");
    assert_eq!(snap.linkages.len(), 1, "parent.report -> reports");

    stop.try_send(Signal::ShutdownMicroprocess).unwrap();
    assert_finished(&child);
    wait_gone(&sys, &child);
    let snap = sys.snapshot();
    assert!(snap.component(child.id()).is_none());
    wait_until("the parent has heard", || {
        sys.snapshot().component(parent.id()).unwrap().children.is_empty()
    });
    running.shutdown();
    assert!(sys.snapshot().components.is_empty());
}

/// `to_dot` renders components as clusters, boxes as nodes labelled with
/// their queue length and limit, and linkages as edges between box ids.
#[test]
fn to_dot_renders_clusters_boxes_and_edges() {
    let sys = System::builder().threads(1).build();
    let a = sleeper(&sys, Component::bare("say \"hi\"").outbox::<u8>("out"));
    let b = sleeper(&sys, Component::bare("b").inbox_with_size::<u8>("in", 4));
    link(&a.outbox::<u8>("out").unwrap(), &b.inbox("in").unwrap()).unwrap();
    let mut feed = Outbox::<u8>::detached("feed");
    link(&feed.endpoint(), &b.inbox("in").unwrap()).unwrap();
    feed.try_send(9).unwrap();

    let snap = sys.snapshot();
    let dot = snap.to_dot();
    assert!(dot.starts_with("digraph axon {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    for c in [&a, &b] {
        assert!(
            dot.contains(&format!("subgraph cluster_{}", c.id().as_u64())),
            "{dot}"
        );
    }
    assert!(dot.contains(r#"say \"hi\""#), "names are escaped: {dot}");
    let out_id = boxinfo(comp(&snap, &a), Direction::Out, "out").id;
    let in_id = boxinfo(comp(&snap, &b), Direction::In, "in").id;
    assert!(
        dot.contains(&format!("b{} -> b{};", out_id.as_u64(), in_id.as_u64())),
        "{dot}"
    );
    assert!(dot.contains("in 1/4"), "queue length and limit: {dot}");
    assert!(dot.contains("out 0/1000"), "an outbox's own limit: {dot}");
    assert!(!dot.contains("in 1/∞"), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), snap.linkages.len());
}
