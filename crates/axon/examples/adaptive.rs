//! Adding and removing boxes while running (Kamaelia's AdaptiveCommsComponent).
//!
//! A tiny hub hands each new client its own outbox, created on demand with a
//! unique name, and removes it when the client leaves; removing a box also
//! removes its linkages.
//!
//! ```text
//! cargo run --release -p axon --example adaptive
//! ```

use axon::{Component, Direction, Inbox, System};

enum Cmd {
    Join(axon::BoxRef<String>),
    Say(String),
    Leave(String),
}

fn main() {
    let sys = System::builder().threads(1).build();
    let hub = sys.spawn(Component::new("hub").inbox::<Cmd>("inbox"), |mut cx| async move {
        let mut inbox = cx.inbox::<Cmd>("inbox")?;
        let mut clients = Vec::new();
        while let Ok(cmd) = inbox.recv().await {
            match cmd {
                Cmd::Join(client) => {
                    let (name, out) = cx.add_outbox::<String>("client");
                    cx.link(&out.endpoint(), &client)?;
                    println!("hub: new outbox {name:?}");
                    clients.push((name, out));
                }
                Cmd::Say(text) => {
                    for (_, out) in &mut clients {
                        out.send(text.clone()).await?;
                    }
                }
                Cmd::Leave(name) => {
                    clients.retain(|(n, _)| *n != name);
                    cx.remove_box(Direction::Out, &name)?;
                    println!(
                        "hub: removed {name:?}; outboxes now {:?}",
                        cx.me().box_names(Direction::Out)
                    );
                }
            }
        }
        Ok(())
    });
    let mut ctl = axon::Outbox::<Cmd>::detached("ctl");
    axon::link(&ctl.endpoint(), &hub.inbox("inbox").unwrap()).unwrap();
    let mut alice = Inbox::<String>::detached("alice");
    let mut bob = Inbox::<String>::detached("bob");
    ctl.send_blocking(Cmd::Join(alice.endpoint())).ok();
    ctl.send_blocking(Cmd::Join(bob.endpoint())).ok();
    ctl.send_blocking(Cmd::Say("hello both".into())).ok();
    ctl.send_blocking(Cmd::Leave("client".into())).ok();
    ctl.send_blocking(Cmd::Say("only bob now".into())).ok();
    drop(ctl);
    sys.run();
    println!(
        "alice got {:?}",
        std::iter::from_fn(|| alice.try_recv().ok()).collect::<Vec<_>>()
    );
    println!(
        "bob got   {:?}",
        std::iter::from_fn(|| bob.try_recv().ok()).collect::<Vec<_>>()
    );
}
