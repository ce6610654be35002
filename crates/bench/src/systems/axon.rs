//! Our kernel, `axon`, as the rows `axon-1` (one scheduler thread) and `axon-n`
//! (one per core).
//!
//! A component is an axon component with its own typed inbox; components are
//! wired with linkages (fan-in links several outboxes into one inbox). The driver
//! (this thread) talks to the system through detached boxes: a `go` outbox that
//! starts the timed section and a `done` inbox for the result. The system runs
//! in the background (`System::start`) and is shut down after each repetition.

use std::time::{Duration, Instant};

use axon::{link, Component, ComponentRef, Inbox, Outbox, RunningSystem, System as AxonSystem};

use super::{failed, RunError, RunResult, Sample, Started, System};
use crate::harness::process_cpu_time;

/// Our kernel, with one scheduler thread or one per core.
pub struct Axon {
    multi: bool,
}

impl Axon {
    /// `axon-1`: a single scheduler thread.
    pub fn single() -> Axon {
        Axon { multi: false }
    }

    /// `axon-n`: one scheduler thread per core.
    pub fn multi() -> Axon {
        Axon { multi: true }
    }

    fn start(&self) -> (AxonSystem, RunningSystem) {
        let mut b = AxonSystem::builder().name("bench");
        if !self.multi {
            b = b.threads(1);
        }
        let sys = b.build();
        let running = sys.start();
        (sys, running)
    }
}

fn linked<T: Send + 'static>(
    from: &ComponentRef,
    out: &str,
    to: &ComponentRef,
    inbox: &str,
) -> Result<(), RunError> {
    let src = from.outbox::<T>(out).map_err(|e| failed("outbox", e))?;
    let dst = to.inbox::<T>(inbox).map_err(|e| failed("inbox", e))?;
    link(&src, &dst).map(drop).map_err(|e| failed("link", e))
}

fn feed<T: Send + 'static>(to: &ComponentRef, inbox: &str) -> Result<Outbox<T>, RunError> {
    let out = Outbox::<T>::detached("driver");
    let dst = to.inbox::<T>(inbox).map_err(|e| failed("inbox", e))?;
    link(&out.endpoint(), &dst).map_err(|e| failed("link", e))?;
    Ok(out)
}

fn collect<T: Send + 'static>(from: &ComponentRef, out: &str, into: &Inbox<T>) -> Result<(), RunError> {
    let src = from.outbox::<T>(out).map_err(|e| failed("outbox", e))?;
    link(&src, &into.endpoint())
        .map(drop)
        .map_err(|e| failed("link", e))
}

fn wait_started(started: &Started, n: usize) {
    while started.count() < n {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `n` components waiting on their own (never linked, so never closed) inbox.
fn spawn_idle(sys: &AxonSystem, n: usize, started: &Started) {
    for _ in 0..n {
        let started = started.clone();
        sys.spawn(
            Component::bare("idle").inbox::<()>("inbox"),
            move |mut cx| async move {
                let mut inbox = cx.inbox::<()>("inbox")?;
                started.bump();
                let _ = inbox.recv().await;
                Ok::<_, axon::Error>(())
            },
        );
    }
}

fn done_err() -> RunError {
    RunError::Failed("the result inbox closed before a result arrived".into())
}

impl System for Axon {
    fn name(&self) -> &'static str {
        if self.multi {
            "axon-n"
        } else {
            "axon-1"
        }
    }

    fn runtime(&self) -> &'static str {
        if self.multi {
            "axon kernel, one scheduler thread per core, unbounded or size-limited inboxes"
        } else {
            "axon kernel, one scheduler thread, unbounded or size-limited inboxes"
        }
    }

    fn pingpong(&self, round_trips: u64, idle: usize) -> RunResult {
        let (sys, running) = self.start();
        let started = Started::new();
        spawn_idle(&sys, idle, &started);
        wait_started(&started, idle);
        let a = sys.spawn(
            Component::bare("ping")
                .inbox_and_outbox::<u64, u64>()
                .inbox::<()>("go")
                .outbox::<u64>("result"),
            move |mut cx| async move {
                let mut go = cx.inbox::<()>("go")?;
                let mut inbox = cx.inbox::<u64>("inbox")?;
                let mut out = cx.outbox::<u64>("outbox")?;
                let mut result = cx.outbox::<u64>("result")?;
                go.recv().await?;
                out.send(0).await?;
                loop {
                    let n = inbox.recv().await?;
                    if n >= round_trips {
                        result.send(n).await?;
                        return Ok::<_, axon::Error>(());
                    }
                    out.send(n).await?;
                }
            },
        );
        let b = sys.spawn(
            Component::bare("pong").inbox_and_outbox::<u64, u64>(),
            |mut cx| async move {
                let mut inbox = cx.inbox::<u64>("inbox")?;
                let mut out = cx.outbox::<u64>("outbox")?;
                while let Ok(n) = inbox.recv().await {
                    if out.send(n + 1).await.is_err() {
                        break;
                    }
                }
                Ok::<_, axon::Error>(())
            },
        );
        linked::<u64>(&a, "outbox", &b, "inbox")?;
        linked::<u64>(&b, "outbox", &a, "inbox")?;
        let mut done = Inbox::<u64>::detached("done");
        collect(&a, "result", &done)?;
        let mut go = feed::<()>(&a, "go")?;
        let t = Instant::now();
        go.try_send(()).map_err(|e| failed("go", e))?;
        let k = done.recv_blocking().map_err(|_| done_err())?;
        let measured = t.elapsed();
        running.shutdown();
        Ok(Sample {
            measured,
            check: k + started.count() as u64,
        })
    }

    fn ring(&self, actors: usize, hops: u64) -> RunResult {
        let (sys, running) = self.start();
        let mut done = Inbox::<u64>::detached("done");
        let nodes: Vec<ComponentRef> = (0..actors)
            .map(|i| {
                sys.spawn(
                    Component::bare("ring")
                        .inbox_and_outbox::<(u64, u64), (u64, u64)>()
                        .outbox::<u64>("result"),
                    move |mut cx| async move {
                        let mut inbox = cx.inbox::<(u64, u64)>("inbox")?;
                        let mut out = cx.outbox::<(u64, u64)>("outbox")?;
                        let mut result = cx.outbox::<u64>("result")?;
                        while let Ok((remaining, acc)) = inbox.recv().await {
                            if remaining == 0 {
                                result.send(acc).await?;
                            } else if out.send((remaining - 1, acc + i as u64)).await.is_err() {
                                break;
                            }
                        }
                        Ok::<_, axon::Error>(())
                    },
                )
            })
            .collect();
        for i in 0..actors {
            linked::<(u64, u64)>(&nodes[i], "outbox", &nodes[(i + 1) % actors], "inbox")?;
            collect(&nodes[i], "result", &done)?;
        }
        let mut token = feed::<(u64, u64)>(&nodes[0], "inbox")?;
        let t = Instant::now();
        token.try_send((hops, 0)).map_err(|e| failed("token", e))?;
        let acc = done.recv_blocking().map_err(|_| done_err())?;
        let measured = t.elapsed();
        running.shutdown();
        Ok(Sample { measured, check: acc })
    }

    fn pipeline(&self, stages: usize, messages: u64, capacity: Option<usize>) -> RunResult {
        let (sys, running) = self.start();
        let with_size = |c: Component| match capacity {
            Some(n) => c.inbox_with_size::<u64>("inbox", n),
            None => c.inbox::<u64>("inbox"),
        };
        let source = sys.spawn(
            Component::bare("source")
                .inbox::<()>("go")
                .outbox::<u64>("outbox"),
            move |mut cx| async move {
                let mut go = cx.inbox::<()>("go")?;
                let mut out = cx.outbox::<u64>("outbox")?;
                go.recv().await?;
                for v in 0..messages {
                    out.send(v).await?;
                }
                Ok::<_, axon::Error>(())
            },
        );
        let mut prev = source;
        for _ in 0..stages {
            let stage = sys.spawn(
                with_size(Component::bare("stage").outbox::<u64>("outbox")),
                |mut cx| async move {
                    let mut inbox = cx.inbox::<u64>("inbox")?;
                    let mut out = cx.outbox::<u64>("outbox")?;
                    while let Ok(v) = inbox.recv().await {
                        out.send(v + 1).await?;
                    }
                    Ok::<_, axon::Error>(())
                },
            );
            linked::<u64>(&prev, "outbox", &stage, "inbox")?;
            prev = stage;
        }
        let sink = sys.spawn(
            with_size(Component::bare("sink").outbox::<u64>("result")),
            move |mut cx| async move {
                let mut inbox = cx.inbox::<u64>("inbox")?;
                let mut result = cx.outbox::<u64>("result")?;
                let mut sum = 0u64;
                for _ in 0..messages {
                    sum = sum.wrapping_add(inbox.recv().await?);
                }
                result.send(sum).await?;
                Ok::<_, axon::Error>(())
            },
        );
        linked::<u64>(&prev, "outbox", &sink, "inbox")?;
        let mut done = Inbox::<u64>::detached("done");
        collect(&sink, "result", &done)?;
        let mut go = feed::<()>(&sys.components()[0], "go")?;
        let t = Instant::now();
        go.try_send(()).map_err(|e| failed("go", e))?;
        let sum = done.recv_blocking().map_err(|_| done_err())?;
        let measured = t.elapsed();
        running.shutdown();
        Ok(Sample { measured, check: sum })
    }

    fn fanin(&self, producers: usize, per_producer: u64) -> RunResult {
        let (sys, running) = self.start();
        let total = producers as u64 * per_producer;
        let consumer = sys.spawn(
            Component::bare("consumer")
                .inbox::<u64>("inbox")
                .outbox::<u64>("result"),
            move |mut cx| async move {
                let mut inbox = cx.inbox::<u64>("inbox")?;
                let mut result = cx.outbox::<u64>("result")?;
                let mut sum = 0u64;
                for _ in 0..total {
                    sum = sum.wrapping_add(inbox.recv().await?);
                }
                result.send(sum).await?;
                Ok::<_, axon::Error>(())
            },
        );
        let mut gos = Vec::with_capacity(producers);
        for p in 0..producers as u64 {
            let prod = sys.spawn(
                Component::bare("producer")
                    .inbox::<()>("go")
                    .outbox::<u64>("outbox"),
                move |mut cx| async move {
                    let mut go = cx.inbox::<()>("go")?;
                    let mut out = cx.outbox::<u64>("outbox")?;
                    go.recv().await?;
                    for v in p * per_producer..(p + 1) * per_producer {
                        out.send(v).await?;
                    }
                    Ok::<_, axon::Error>(())
                },
            );
            linked::<u64>(&prod, "outbox", &consumer, "inbox")?;
            gos.push(feed::<()>(&prod, "go")?);
        }
        let mut done = Inbox::<u64>::detached("done");
        collect(&consumer, "result", &done)?;
        let t = Instant::now();
        for go in &mut gos {
            go.try_send(()).map_err(|e| failed("go", e))?;
        }
        let sum = done.recv_blocking().map_err(|_| done_err())?;
        let measured = t.elapsed();
        running.shutdown();
        Ok(Sample { measured, check: sum })
    }

    fn spawn(&self, n: usize) -> RunResult {
        let (sys, running) = self.start();
        let mut done = Inbox::<u64>::detached("done");
        let parent = sys.spawn(
            Component::bare("parent")
                .inbox::<u64>("inbox")
                .inbox::<()>("go")
                .outbox::<u64>("result"),
            move |mut cx| async move {
                let mut go = cx.inbox::<()>("go")?;
                let mut inbox = cx.inbox::<u64>("inbox")?;
                let mut result = cx.outbox::<u64>("result")?;
                go.recv().await?;
                let me = cx.me().inbox::<u64>("inbox")?;
                for i in 0..n as u64 {
                    let child = cx.system().spawn(
                        Component::bare("child")
                            .inbox::<()>("inbox")
                            .outbox::<u64>("outbox"),
                        move |mut cx| async move {
                            let mut inbox = cx.inbox::<()>("inbox")?;
                            let mut out = cx.outbox::<u64>("outbox")?;
                            out.send(i).await?;
                            let _ = inbox.recv().await; // stay alive until shutdown
                            Ok::<_, axon::Error>(())
                        },
                    );
                    link(&child.outbox::<u64>("outbox")?, &me)?;
                }
                let mut sum = 0u64;
                for _ in 0..n {
                    sum = sum.wrapping_add(inbox.recv().await?);
                }
                result.send(sum).await?;
                Ok::<_, axon::Error>(())
            },
        );
        collect(&parent, "result", &done)?;
        let mut go = feed::<()>(&parent, "go")?;
        let t = Instant::now();
        go.try_send(()).map_err(|e| failed("go", e))?;
        let sum = done.recv_blocking().map_err(|_| done_err())?;
        let measured = t.elapsed();
        running.shutdown();
        Ok(Sample { measured, check: sum })
    }

    fn idle(&self, n: usize, window: Duration) -> RunResult {
        let (sys, running) = self.start();
        let started = Started::new();
        let mut replies = Inbox::<u64>::detached("replies");
        let mut pokes = Vec::with_capacity(n);
        for i in 0..n as u64 {
            let started = started.clone();
            let c = sys.spawn(
                Component::bare("idle")
                    .inbox::<()>("inbox")
                    .outbox::<u64>("outbox"),
                move |mut cx| async move {
                    let mut inbox = cx.inbox::<()>("inbox")?;
                    let mut out = cx.outbox::<u64>("outbox")?;
                    started.bump();
                    while inbox.recv().await.is_ok() {
                        out.send(i).await?;
                    }
                    Ok::<_, axon::Error>(())
                },
            );
            collect(&c, "outbox", &replies)?;
            pokes.push(feed::<()>(&c, "inbox")?);
        }
        wait_started(&started, n);
        let cpu0 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
        std::thread::sleep(window);
        let measured = process_cpu_time()
            .map_err(|e| failed("cpu time", e))?
            .saturating_sub(cpu0);
        for p in &mut pokes {
            p.try_send(()).map_err(|e| failed("poke", e))?;
        }
        let mut sum = 0u64;
        for _ in 0..n {
            sum += replies.recv_blocking().map_err(|_| done_err())?;
        }
        drop(pokes);
        running.shutdown();
        Ok(Sample { measured, check: sum })
    }
}
