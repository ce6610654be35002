//! Introspector and Topology (`Util/Introspector.py`): the first report
//! describes everything after a reset, later ones only what changed, in an
//! order a viewer can apply; the text form follows the reference's protocol.

use std::time::Duration;

use axon::{Component, Inbox, Outbox, Signal, System};
use kamaelia::util::{Introspector, Topology, TopologyChange};

#[test]
fn topology_reports_additions_then_removals_in_a_usable_order() {
    let sys = System::builder().threads(1).build();
    let a = sys.spawn(Component::new("a").outbox::<u8>("outbox"), |mut cx| async move {
        let _out = cx.outbox::<u8>("outbox")?;
        Ok::<_, axon::Error>(())
    });
    let b = sys.spawn(Component::new("b").inbox::<u8>("inbox"), |_cx| async {});
    axon::link(&a.outbox::<u8>("outbox").unwrap(), &b.inbox("inbox").unwrap()).unwrap();

    let mut topology = Topology::new();
    let first = topology.update(&sys.snapshot());
    assert_eq!(first[0], TopologyChange::Reset);
    let pos = |pred: &dyn Fn(&TopologyChange) -> bool| first.iter().position(pred).expect("present");
    let add_a = pos(&|c| matches!(c, TopologyChange::AddComponent { id, .. } if *id == a.id()));
    let add_b = pos(&|c| matches!(c, TopologyChange::AddComponent { id, .. } if *id == b.id()));
    let a_out = pos(
        &|c| matches!(c, TopologyChange::AddBox { component, name, .. } if *component == a.id() && name == "outbox"),
    );
    let b_in = pos(
        &|c| matches!(c, TopologyChange::AddBox { component, name, .. } if *component == b.id() && name == "inbox"),
    );
    let linked = pos(&|c| matches!(c, TopologyChange::AddLink { .. }));
    assert!(
        add_a < a_out && add_b < b_in && a_out < linked && b_in < linked,
        "{first:#?}"
    );
    assert!(topology.update(&sys.snapshot()).is_empty(), "nothing changed");

    sys.run(); // both end
    let last = topology.update(&sys.snapshot());
    let pos = |pred: &dyn Fn(&TopologyChange) -> bool| last.iter().position(pred).expect("present");
    let unlinked = pos(&|c| matches!(c, TopologyChange::RemoveLink { .. }));
    let box_gone = pos(&|c| matches!(c, TopologyChange::RemoveBox { .. }));
    let comp_gone = pos(&|c| matches!(c, TopologyChange::RemoveComponent { .. }));
    assert!(unlinked < box_gone && box_gone < comp_gone, "{last:#?}");
    assert!(!last.iter().any(|c| matches!(c, TopologyChange::Reset)));
    assert_eq!(
        last.iter()
            .filter(|c| matches!(c, TopologyChange::RemoveComponent { .. }))
            .count(),
        2
    );
}

#[test]
fn the_text_form_follows_the_reference_protocol() {
    let sys = System::builder().threads(1).build();
    let c = sys.spawn(Component::new("say \"hi\"").inbox::<u8>("inbox"), |_cx| async {});
    let mut topology = Topology::new();
    let text: Vec<String> = topology
        .update(&sys.snapshot())
        .iter()
        .map(ToString::to_string)
        .collect();
    let id = c.id().as_u64();
    assert_eq!(text[0], "DEL ALL");
    assert!(
        text.contains(&format!("ADD NODE c{id} \"say \\\"hi\\\"\" randompos component")),
        "{text:?}"
    );
    let inbox = text
        .iter()
        .find(|t| t.contains("randompos inbox") && t.contains("\"inbox\""))
        .expect("the inbox");
    assert!(
        inbox.ends_with(&format!("\nADD LINK c{id} {}", inbox.split(' ').nth(2).unwrap())),
        "{inbox}"
    );
    sys.run();
    let gone: Vec<String> = topology
        .update(&sys.snapshot())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(gone.contains(&format!("DEL NODE c{id}")), "{gone:?}");
}

#[test]
fn the_introspector_streams_components_coming_and_going() {
    let running = System::builder().threads(2).build().start();
    let sys = running.system();
    let watcher = Introspector::new()
        .every(Duration::from_millis(5))
        .build()
        .spawn(sys);
    let mut changes = Inbox::<TopologyChange>::detached("changes");
    axon::link(
        &watcher.outbox::<TopologyChange>("outbox").unwrap(),
        &changes.endpoint(),
    )
    .unwrap();
    let mut next = || {
        axon::block_on_timeout(changes.recv(), Some(Duration::from_secs(10)))
            .expect("a change within 10 s")
            .expect("introspector running")
    };
    assert_eq!(next(), TopologyChange::Reset);

    let worker = sys.spawn(
        Component::new("worker").inbox::<Signal>("control"),
        |mut cx| async move {
            let mut control = cx.inbox::<Signal>("control")?;
            let _ = control.recv().await;
            Ok::<_, axon::Error>(())
        },
    );
    let mut stop = Outbox::<Signal>::detached("stop");
    axon::link(&stop.endpoint(), &worker.inbox("control").unwrap()).unwrap();
    while !matches!(next(), TopologyChange::AddComponent { id, .. } if id == worker.id()) {}
    stop.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    while !matches!(next(), TopologyChange::RemoveComponent { id } if id == worker.id()) {}

    let mut stop_watcher = Outbox::<Signal>::detached("stop watcher");
    let mut sig = Inbox::<Signal>::detached("sig");
    axon::link(&watcher.outbox::<Signal>("signal").unwrap(), &sig.endpoint()).unwrap();
    axon::link(&stop_watcher.endpoint(), &watcher.inbox("control").unwrap()).unwrap();
    stop_watcher.send_blocking(Signal::ShutdownMicroprocess).unwrap();
    let got = axon::block_on_timeout(sig.recv(), Some(Duration::from_secs(10)));
    assert_eq!(got, Some(Ok(Signal::ShutdownMicroprocess)));
    running.wait();
}
