//! Peer `actix`: actix 0.13 actors (`Context<Self>`, messages sent with
//! `do_send`) on one actix-rt `System` (a single-threaded arbiter). The
//! driver awaits results through tokio channels inside `System::block_on`.
//!
//! `bounded` is n/a: actix's mailbox capacity (`set_mailbox_capacity`)
//! only applies to `Addr::send`, which also awaits the handler's reply
//! (request/response), while the one-way `do_send` ignores it; so a
//! one-way back-pressured pipeline cannot be expressed.

use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

use super::{failed, RunError, RunResult, Sample, Started, System as SystemTrait};
use crate::harness::process_cpu_time;

pub struct Actix;

fn ended(what: &str) -> RunError {
    RunError::Failed(format!("{what} ended before reporting"))
}

async fn wait_started(started: &Started, n: usize) {
    while started.count() < n {
        actix::clock::sleep(Duration::from_millis(1)).await;
    }
}

/// Run `fut` inside a fresh actix System, then drop the System.
fn drive<F: std::future::Future<Output = RunResult>>(fut: F) -> RunResult {
    let sys = actix::System::new();
    sys.block_on(fut)
}

// --- idle components -------------------------------------------------------

struct Wake;
impl Message for Wake {
    type Result = ();
}

struct Sleeper {
    me: u64,
    started: Started,
    reply: mpsc::UnboundedSender<u64>,
}

impl Actor for Sleeper {
    type Context = Context<Self>;
    fn started(&mut self, _ctx: &mut Context<Self>) {
        self.started.bump();
    }
}

impl Handler<Wake> for Sleeper {
    type Result = ();
    fn handle(&mut self, _: Wake, _: &mut Context<Self>) {
        let _ = self.reply.send(self.me);
    }
}

fn spawn_idle(n: usize, started: &Started, reply: &mpsc::UnboundedSender<u64>) -> Vec<Addr<Sleeper>> {
    (0..n)
        .map(|i| {
            Sleeper {
                me: i as u64,
                started: started.clone(),
                reply: reply.clone(),
            }
            .start()
        })
        .collect()
}

// --- ping-pong -------------------------------------------------------------

struct Ball(u64);
impl Message for Ball {
    type Result = ();
}

struct Go;
impl Message for Go {
    type Result = ();
}

struct Pinger {
    round_trips: u64,
    ponger: Addr<Ponger>,
    done: Option<oneshot::Sender<u64>>,
}

struct Ponger {
    pinger: Addr<Pinger>,
}

impl Actor for Pinger {
    type Context = Context<Self>;
}

impl Actor for Ponger {
    type Context = Context<Self>;
}

impl Handler<Go> for Pinger {
    type Result = ();
    fn handle(&mut self, _: Go, _: &mut Context<Self>) {
        if self.round_trips == 0 {
            if let Some(done) = self.done.take() {
                let _ = done.send(0);
            }
        } else {
            self.ponger.do_send(Ball(0));
        }
    }
}

impl Handler<Ball> for Pinger {
    type Result = ();
    fn handle(&mut self, Ball(k): Ball, _: &mut Context<Self>) {
        if k >= self.round_trips {
            if let Some(done) = self.done.take() {
                let _ = done.send(k);
            }
        } else {
            self.ponger.do_send(Ball(k));
        }
    }
}

impl Handler<Ball> for Ponger {
    type Result = ();
    fn handle(&mut self, Ball(k): Ball, _: &mut Context<Self>) {
        self.pinger.do_send(Ball(k + 1));
    }
}

// --- ring ------------------------------------------------------------------

struct Token {
    remaining: u64,
    acc: u64,
}
impl Message for Token {
    type Result = ();
}

struct SetNext(Addr<RingMember>);
impl Message for SetNext {
    type Result = ();
}

struct RingMember {
    me: u64,
    next: Option<Addr<RingMember>>,
    done: mpsc::UnboundedSender<u64>,
}

impl Actor for RingMember {
    type Context = Context<Self>;
}

impl Handler<SetNext> for RingMember {
    type Result = ();
    fn handle(&mut self, SetNext(next): SetNext, _: &mut Context<Self>) {
        self.next = Some(next);
    }
}

impl Handler<Token> for RingMember {
    type Result = ();
    fn handle(&mut self, t: Token, _: &mut Context<Self>) {
        if t.remaining == 0 {
            let _ = self.done.send(t.acc);
        } else if let Some(next) = &self.next {
            next.do_send(Token {
                remaining: t.remaining - 1,
                acc: t.acc + self.me,
            });
        }
    }
}

// --- pipeline and fan-in ---------------------------------------------------

struct Item(u64);
impl Message for Item {
    type Result = ();
}

enum Next {
    Stage(Addr<Stage>),
    Sink(Addr<Sink>),
}

struct Stage {
    next: Next,
}

impl Actor for Stage {
    type Context = Context<Self>;
}

impl Handler<Item> for Stage {
    type Result = ();
    fn handle(&mut self, Item(v): Item, _: &mut Context<Self>) {
        match &self.next {
            Next::Stage(a) => a.do_send(Item(v + 1)),
            Next::Sink(a) => a.do_send(Item(v + 1)),
        }
    }
}

/// Sums `expected` items, then reports the sum.
struct Sink {
    expected: u64,
    count: u64,
    sum: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Item> for Sink {
    type Result = ();
    fn handle(&mut self, Item(v): Item, _: &mut Context<Self>) {
        self.sum = self.sum.wrapping_add(v);
        self.count += 1;
        if self.count == self.expected {
            if let Some(done) = self.done.take() {
                let _ = done.send(self.sum);
            }
        }
    }
}

/// On `Go`, sends `from..to` to its target.
struct Source<T: Actor> {
    from: u64,
    to: u64,
    target: Addr<T>,
}

impl<T: Actor> Actor for Source<T> {
    type Context = Context<Self>;
}

impl<T> Handler<Go> for Source<T>
where
    T: Actor + Handler<Item>,
    T::Context: actix::dev::ToEnvelope<T, Item>,
{
    type Result = ();
    fn handle(&mut self, _: Go, _: &mut Context<Self>) {
        for v in self.from..self.to {
            self.target.do_send(Item(v));
        }
    }
}

// --- spawn -----------------------------------------------------------------

struct Child {
    me: u64,
    parent: Option<mpsc::UnboundedSender<u64>>,
}

impl Actor for Child {
    type Context = Context<Self>;
    fn started(&mut self, _ctx: &mut Context<Self>) {
        if let Some(parent) = self.parent.take() {
            let _ = parent.send(self.me);
        }
    }
}

impl SystemTrait for Actix {
    fn name(&self) -> &'static str {
        "actix"
    }

    fn runtime(&self) -> &'static str {
        "actix 0.13 actors on one actix-rt System (single thread), do_send, unbounded use"
    }

    fn pingpong(&self, round_trips: u64, idle: usize) -> RunResult {
        drive(async move {
            let started = Started::new();
            let (reply, _replies) = mpsc::unbounded_channel();
            let _idle = spawn_idle(idle, &started, &reply);
            wait_started(&started, idle).await;

            let (done_tx, done_rx) = oneshot::channel();
            let pinger = Pinger::create(move |ctx| Pinger {
                round_trips,
                ponger: Ponger {
                    pinger: ctx.address(),
                }
                .start(),
                done: Some(done_tx),
            });
            let start = Instant::now();
            pinger.do_send(Go);
            let k = done_rx.await.map_err(|_| ended("pinger"))?;
            let measured = start.elapsed();
            Ok(Sample {
                measured,
                check: k + started.count() as u64,
            })
        })
    }

    fn ring(&self, actors: usize, hops: u64) -> RunResult {
        drive(async move {
            let (done_tx, mut done_rx) = mpsc::unbounded_channel();
            let members: Vec<Addr<RingMember>> = (0..actors)
                .map(|i| {
                    RingMember {
                        me: i as u64,
                        next: None,
                        done: done_tx.clone(),
                    }
                    .start()
                })
                .collect();
            for (i, m) in members.iter().enumerate() {
                m.do_send(SetNext(members[(i + 1) % actors].clone()));
            }
            let start = Instant::now();
            members[0].do_send(Token {
                remaining: hops,
                acc: 0,
            });
            let acc = done_rx.recv().await.ok_or_else(|| ended("ring"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: acc,
            })
        })
    }

    fn pipeline(&self, stages: usize, messages: u64, capacity: Option<usize>) -> RunResult {
        if capacity.is_some() {
            return Err(RunError::NotApplicable(
                "mailbox capacity only applies to request/response send(); do_send ignores it",
            ));
        }
        drive(async move {
            let (done_tx, done_rx) = oneshot::channel();
            let sink = Sink {
                expected: messages,
                count: 0,
                sum: 0,
                done: Some(done_tx),
            }
            .start();
            let mut next = Next::Sink(sink);
            for _ in 0..stages {
                next = Next::Stage(Stage { next }.start());
            }
            let Next::Stage(first) = next else {
                return Err(RunError::Failed("pipeline needs at least one stage".into()));
            };
            let source = Source {
                from: 0,
                to: messages,
                target: first,
            }
            .start();
            let start = Instant::now();
            source.do_send(Go);
            let sum = done_rx.await.map_err(|_| ended("sink"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: sum,
            })
        })
    }

    fn fanin(&self, producers: usize, per_producer: u64) -> RunResult {
        drive(async move {
            let (done_tx, done_rx) = oneshot::channel();
            let sink = Sink {
                expected: producers as u64 * per_producer,
                count: 0,
                sum: 0,
                done: Some(done_tx),
            }
            .start();
            let sources: Vec<_> = (0..producers as u64)
                .map(|p| {
                    Source {
                        from: p * per_producer,
                        to: (p + 1) * per_producer,
                        target: sink.clone(),
                    }
                    .start()
                })
                .collect();
            let start = Instant::now();
            for s in &sources {
                s.do_send(Go);
            }
            let sum = done_rx.await.map_err(|_| ended("consumer"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: sum,
            })
        })
    }

    fn spawn(&self, n: usize) -> RunResult {
        drive(async move {
            let (parent_tx, mut parent) = mpsc::unbounded_channel();
            let start = Instant::now();
            let children: Vec<Addr<Child>> = (0..n)
                .map(|i| {
                    Child {
                        me: i as u64,
                        parent: Some(parent_tx.clone()),
                    }
                    .start()
                })
                .collect();
            drop(parent_tx);
            let mut sum = 0u64;
            for _ in 0..n {
                sum += parent.recv().await.ok_or_else(|| ended("child"))?;
            }
            let measured = start.elapsed();
            drop(children);
            Ok(Sample { measured, check: sum })
        })
    }

    fn idle(&self, n: usize, window: Duration) -> RunResult {
        drive(async move {
            let started = Started::new();
            let (reply, mut replies) = mpsc::unbounded_channel();
            let sleepers = spawn_idle(n, &started, &reply);
            drop(reply);
            wait_started(&started, n).await;
            let cpu0 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            actix::clock::sleep(window).await;
            let cpu1 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            for s in &sleepers {
                s.do_send(Wake);
            }
            let mut sum = 0u64;
            for _ in 0..n {
                sum += replies.recv().await.ok_or_else(|| ended("idle actor"))?;
            }
            Ok(Sample {
                measured: cpu1.saturating_sub(cpu0),
                check: sum,
            })
        })
    }
}
