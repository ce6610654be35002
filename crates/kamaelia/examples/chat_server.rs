//! A chat server: each line a client sends reaches every other client.
//!
//! `cargo run --release -p kamaelia --example chat_server -- --listen 127.0.0.1:1602`
//! then, in two or more terminals, `nc 127.0.0.1 1602` and type
//! (`--listen 127.0.0.1:0` picks a free port; the address is printed as
//! `listening on ADDR`). Ctrl-C stops it cleanly.
//!
//! A [`ServerCore`] and a [`backplane`]: each connection's protocol component
//! cuts the client's bytes into lines and publishes them on the backplane
//! "chat" (through a `PublishTo` child), and passes on what its `SubscribeTo`
//! child hears — except its own lines — to its client. A slow reader holds up
//! the backplane once its (bounded) queue of lines is full: nothing is
//! dropped.

mod common;

use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use axon::{Component, Prefab, RecvError, Signal};
use bytes::{Bytes, BytesMut};
use clap::Parser;
use kamaelia::backplane::{backplane, publish_to, subscribe_to};
use kamaelia::internet::{ConnectionInfo, ServerCore};

/// The backplane's name.
const CHAT: &str = "chat";

/// The longest line kept whole; longer ones are passed on in pieces.
const MAX_LINE: usize = 64 * 1024;

/// Lines waiting for one slow client before the backplane waits for it.
const QUEUE: usize = 256;

/// A line on the backplane, with who sent it.
#[derive(Clone, Debug)]
struct ChatLine {
    from: u64,
    text: Bytes,
}

/// Relay a chat among clients.
#[derive(Parser)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:1602")]
    listen: String,
    /// Scheduler threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// The protocol component of one connection.
fn session(info: ConnectionInfo) -> Prefab {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let me = NEXT.fetch_add(1, Ordering::Relaxed);
    let spec = Component::new("ChatSession")
        .inbox_and_outbox::<Bytes, Bytes>()
        .outbox::<ChatLine>("_to_chat")
        .inbox_with_size::<ChatLine>("_from_chat", QUEUE)
        .outbox::<Signal>("_publisher_control")
        .outbox::<Signal>("_subscriber_control");
    Prefab::new(spec, move |mut cx| async move {
        let mut data = cx.inbox::<Bytes>("inbox")?;
        let mut control = cx.inbox::<Signal>("control")?;
        let mut out = cx.outbox::<Bytes>("outbox")?;
        let mut signal = cx.outbox::<Signal>("signal")?;
        let mut to_chat = cx.outbox::<ChatLine>("_to_chat")?;
        let mut from_chat = cx.inbox::<ChatLine>("_from_chat")?;
        let mut publisher_control = cx.outbox::<Signal>("_publisher_control")?;
        let mut subscriber_control = cx.outbox::<Signal>("_subscriber_control")?;

        let publisher = publish_to::<ChatLine>(CHAT).create_child(&cx);
        let subscriber = subscribe_to::<ChatLine>(CHAT).create_child(&cx);
        cx.link(&to_chat.endpoint(), &publisher.component().inbox("inbox")?)?;
        cx.link(
            &publisher_control.endpoint(),
            &publisher.component().inbox("control")?,
        )?;
        cx.link(&subscriber.component().outbox("outbox")?, &from_chat.endpoint())?;
        cx.link(
            &subscriber_control.endpoint(),
            &subscriber.component().inbox("control")?,
        )?;
        publisher.activate();
        subscriber.activate();
        tracing::debug!(peer = %info.peer, id = me, "joined the chat");

        enum Ev {
            Stop(Signal),
            Data(Result<Bytes, RecvError>),
            Heard(ChatLine),
        }
        let mut partial = BytesMut::new();
        let mut control_open = true;
        let end = loop {
            let ev = poll_fn(|tcx| {
                if control_open {
                    match control.poll_recv(tcx) {
                        Poll::Ready(Ok(s)) => return Poll::Ready(Ev::Stop(s)),
                        Poll::Ready(Err(_)) => control_open = false,
                        Poll::Pending => {}
                    }
                }
                if let Poll::Ready(Ok(line)) = from_chat.poll_recv(tcx) {
                    return Poll::Ready(Ev::Heard(line));
                }
                data.poll_recv(tcx).map(Ev::Data)
            })
            .await;
            let chunk = match ev {
                Ev::Stop(s) if s.is_shutdown() => break s,
                Ev::Stop(s) => {
                    // The client finished sending: what it sent is all here.
                    while let Ok(chunk) = data.try_recv() {
                        partial.extend_from_slice(&chunk);
                    }
                    while let Some(line) = next_line(&mut partial) {
                        to_chat.send(ChatLine { from: me, text: line }).await?;
                    }
                    break s;
                }
                Ev::Data(Err(RecvError::Closed)) => break Signal::ProducerFinished,
                Ev::Data(Ok(chunk)) => chunk,
                Ev::Heard(line) if line.from == me => continue,
                Ev::Heard(line) => {
                    out.send(line.text).await?;
                    continue;
                }
            };
            partial.extend_from_slice(&chunk);
            while let Some(line) = next_line(&mut partial) {
                to_chat.send(ChatLine { from: me, text: line }).await?;
            }
        };
        // A last line without its newline still goes out.
        if !partial.is_empty() && !end.is_shutdown() {
            partial.extend_from_slice(b"\n");
            let text = partial.split().freeze();
            to_chat.send(ChatLine { from: me, text }).await?;
        }
        let _ = publisher_control.try_send(Signal::ProducerFinished);
        let _ = subscriber_control.try_send(Signal::ProducerFinished);
        while cx.child_exit().await.is_some() {}
        tracing::debug!(peer = %info.peer, id = me, "left the chat");
        // Tell the adapter to flush and close the connection.
        let _ = signal.try_send(end);
        Ok(())
    })
}

/// The next whole line (with its newline) in `buf`, or a piece of `MAX_LINE`
/// bytes of an over-long one.
fn next_line(buf: &mut BytesMut) -> Option<Bytes> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) => Some(buf.split_to(i + 1).freeze()),
        None if buf.len() >= MAX_LINE => Some(buf.split_to(MAX_LINE).freeze()),
        None => None,
    }
}

fn main() -> Result<(), axon::Error> {
    let args = Args::parse();
    common::init_tracing();
    let sys = common::io_system(args.threads)?;
    let hub = backplane::<ChatLine>(CHAT).spawn(&sys);
    let server = ServerCore::bind(args.listen.as_str(), session)?;
    common::announce(server.local_addr());
    let core = server.prefab().spawn(&sys);
    common::stop_on_ctrl_c(&core)?;
    // When the server has stopped, stop the backplane too.
    let mut stop_hub = axon::Outbox::<Signal>::detached("stop-hub");
    axon::link(&stop_hub.endpoint(), &hub.inbox("control")?)?;
    let watcher = sys.spawn(
        Component::new("stop-hub-when-server-ends"),
        move |_cx| async move {
            let _ = core.finished().await;
            let _ = stop_hub.try_send(Signal::ShutdownMicroprocess);
        },
    );
    sys.run().into_result()?;
    tracing::info!(outcome = ?watcher.outcome(), "chat server stopped");
    Ok(())
}
