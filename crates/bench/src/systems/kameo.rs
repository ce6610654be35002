//! Peer `kameo`: kameo 0.22 actors (default features) on a tokio
//! multi-thread runtime (workers = cores). Actors are spawned with
//! `spawn_with_mailbox(.., mailbox::unbounded())`, or `mailbox::bounded(n)`
//! for the `bounded` workload (where `tell(..).await` waits for room), and
//! messages are sent with `tell(..).await`.

use std::time::{Duration, Instant};

use kameo::actor::{ActorRef, Spawn};
use kameo::error::Infallible;
use kameo::mailbox;
use kameo::message::{Context, Message};
use kameo::Actor;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot};

use super::{failed, RunError, RunResult, Sample, Started, System};
use crate::harness::process_cpu_time;

pub struct Kameo;

fn build() -> Result<Runtime, RunError> {
    Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| failed("building the tokio runtime", e))
}

fn ended(what: &str) -> RunError {
    RunError::Failed(format!("{what} ended before reporting"))
}

fn lost() -> RunError {
    RunError::Failed("kameo tell failed".into())
}

async fn wait_started(started: &Started, n: usize) {
    while started.count() < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Spawn with an unbounded mailbox, or one bounded to `capacity`.
fn start<A: Actor<Args = A>>(a: A, capacity: Option<usize>) -> ActorRef<A> {
    match capacity {
        Some(n) => A::spawn_with_mailbox(a, mailbox::bounded(n)),
        None => A::spawn_with_mailbox(a, mailbox::unbounded()),
    }
}

// --- idle components -------------------------------------------------------

struct Wake;

struct Sleeper {
    me: u64,
    started: Started,
    reply: mpsc::UnboundedSender<u64>,
}

impl Actor for Sleeper {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(s: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        s.started.bump();
        Ok(s)
    }
}

impl Message<Wake> for Sleeper {
    type Reply = ();
    async fn handle(&mut self, _: Wake, _: &mut Context<Self, ()>) {
        let _ = self.reply.send(self.me);
    }
}

fn spawn_idle(n: usize, started: &Started, reply: &mpsc::UnboundedSender<u64>) -> Vec<ActorRef<Sleeper>> {
    (0..n)
        .map(|i| {
            let s = Sleeper {
                me: i as u64,
                started: started.clone(),
                reply: reply.clone(),
            };
            start(s, None)
        })
        .collect()
}

// --- ping-pong -------------------------------------------------------------

struct Go;
struct Ball(u64);

struct Pinger {
    round_trips: u64,
    ponger: Option<ActorRef<Ponger>>,
    done: Option<oneshot::Sender<u64>>,
}

struct Ponger {
    pinger: ActorRef<Pinger>,
}

impl Actor for Pinger {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(mut s: Self, me: ActorRef<Self>) -> Result<Self, Infallible> {
        s.ponger = Some(start(Ponger { pinger: me }, None));
        Ok(s)
    }
}

impl Actor for Ponger {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(s: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(s)
    }
}

impl Pinger {
    async fn next(&mut self, k: u64) {
        if k >= self.round_trips {
            if let Some(done) = self.done.take() {
                let _ = done.send(k);
            }
        } else if let Some(ponger) = &self.ponger {
            let _ = ponger.tell(Ball(k)).await;
        }
    }
}

impl Message<Go> for Pinger {
    type Reply = ();
    async fn handle(&mut self, _: Go, _: &mut Context<Self, ()>) {
        self.next(0).await;
    }
}

impl Message<Ball> for Pinger {
    type Reply = ();
    async fn handle(&mut self, Ball(k): Ball, _: &mut Context<Self, ()>) {
        self.next(k).await;
    }
}

impl Message<Ball> for Ponger {
    type Reply = ();
    async fn handle(&mut self, Ball(k): Ball, _: &mut Context<Self, ()>) {
        let _ = self.pinger.tell(Ball(k + 1)).await;
    }
}

// --- ring ------------------------------------------------------------------

struct Token {
    remaining: u64,
    acc: u64,
}

struct SetNext(ActorRef<RingMember>);

struct RingMember {
    me: u64,
    next: Option<ActorRef<RingMember>>,
    done: mpsc::UnboundedSender<u64>,
}

impl Actor for RingMember {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(s: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(s)
    }
}

impl Message<SetNext> for RingMember {
    type Reply = ();
    async fn handle(&mut self, SetNext(next): SetNext, _: &mut Context<Self, ()>) {
        self.next = Some(next);
    }
}

impl Message<Token> for RingMember {
    type Reply = ();
    async fn handle(&mut self, t: Token, _: &mut Context<Self, ()>) {
        if t.remaining == 0 {
            let _ = self.done.send(t.acc);
        } else if let Some(next) = &self.next {
            let forward = Token {
                remaining: t.remaining - 1,
                acc: t.acc + self.me,
            };
            let _ = next.tell(forward).await;
        }
    }
}

// --- pipeline and fan-in ---------------------------------------------------

struct Item(u64);

enum Next {
    Stage(ActorRef<Stage>),
    Sink(ActorRef<Sink>),
}

struct Stage {
    next: Next,
}

impl Actor for Stage {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(s: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(s)
    }
}

impl Message<Item> for Stage {
    type Reply = ();
    async fn handle(&mut self, Item(v): Item, _: &mut Context<Self, ()>) {
        let _ = match &self.next {
            Next::Stage(a) => a.tell(Item(v + 1)).await.is_ok(),
            Next::Sink(a) => a.tell(Item(v + 1)).await.is_ok(),
        };
    }
}

struct Sink {
    expected: u64,
    count: u64,
    sum: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Actor for Sink {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(s: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(s)
    }
}

impl Message<Item> for Sink {
    type Reply = ();
    async fn handle(&mut self, Item(v): Item, _: &mut Context<Self, ()>) {
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
    target: ActorRef<T>,
}

impl<T: Actor + Message<Item>> Actor for Source<T> {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(s: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        Ok(s)
    }
}

impl<T: Actor + Message<Item>> Message<Go> for Source<T> {
    type Reply = ();
    async fn handle(&mut self, _: Go, _: &mut Context<Self, ()>) {
        for v in self.from..self.to {
            if self.target.tell(Item(v)).await.is_err() {
                return;
            }
        }
    }
}

// --- spawn -----------------------------------------------------------------

struct Child {
    me: u64,
    parent: Option<mpsc::UnboundedSender<u64>>,
}

impl Actor for Child {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(mut s: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        if let Some(parent) = s.parent.take() {
            let _ = parent.send(s.me);
        }
        Ok(s)
    }
}

impl System for Kameo {
    fn name(&self) -> &'static str {
        "kameo"
    }

    fn runtime(&self) -> &'static str {
        "kameo 0.22 actors on a tokio multi-thread runtime (workers = cores), tell().await"
    }

    fn pingpong(&self, round_trips: u64, idle: usize) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let started = Started::new();
            let (reply, _replies) = mpsc::unbounded_channel();
            let _idle = spawn_idle(idle, &started, &reply);
            wait_started(&started, idle).await;

            let (done_tx, done_rx) = oneshot::channel();
            let pinger = start(
                Pinger {
                    round_trips,
                    ponger: None,
                    done: Some(done_tx),
                },
                None,
            );
            pinger.wait_for_startup().await;
            let start_at = Instant::now();
            pinger.tell(Go).await.map_err(|_| lost())?;
            let k = done_rx.await.map_err(|_| ended("pinger"))?;
            let measured = start_at.elapsed();
            Ok(Sample {
                measured,
                check: k + started.count() as u64,
            })
        })
    }

    fn ring(&self, actors: usize, hops: u64) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let (done_tx, mut done_rx) = mpsc::unbounded_channel();
            let members: Vec<ActorRef<RingMember>> = (0..actors)
                .map(|i| {
                    let m = RingMember {
                        me: i as u64,
                        next: None,
                        done: done_tx.clone(),
                    };
                    start(m, None)
                })
                .collect();
            for (i, m) in members.iter().enumerate() {
                let next = members[(i + 1) % actors].clone();
                m.tell(SetNext(next)).await.map_err(|_| lost())?;
            }
            let start_at = Instant::now();
            let token = Token {
                remaining: hops,
                acc: 0,
            };
            members[0].tell(token).await.map_err(|_| lost())?;
            let acc = done_rx.recv().await.ok_or_else(|| ended("ring"))?;
            Ok(Sample {
                measured: start_at.elapsed(),
                check: acc,
            })
        })
    }

    fn pipeline(&self, stages: usize, messages: u64, capacity: Option<usize>) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let (done_tx, done_rx) = oneshot::channel();
            let sink = Sink {
                expected: messages,
                count: 0,
                sum: 0,
                done: Some(done_tx),
            };
            let mut next = Next::Sink(start(sink, capacity));
            for _ in 0..stages {
                next = Next::Stage(start(Stage { next }, capacity));
            }
            let Next::Stage(first) = next else {
                return Err(RunError::Failed("pipeline needs at least one stage".into()));
            };
            let source = Source {
                from: 0,
                to: messages,
                target: first,
            };
            let source = start(source, capacity);
            source.wait_for_startup().await;
            let start_at = Instant::now();
            source.tell(Go).await.map_err(|_| lost())?;
            let sum = done_rx.await.map_err(|_| ended("sink"))?;
            Ok(Sample {
                measured: start_at.elapsed(),
                check: sum,
            })
        })
    }

    fn fanin(&self, producers: usize, per_producer: u64) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let (done_tx, done_rx) = oneshot::channel();
            let sink = Sink {
                expected: producers as u64 * per_producer,
                count: 0,
                sum: 0,
                done: Some(done_tx),
            };
            let sink = start(sink, None);
            let mut sources = Vec::with_capacity(producers);
            for p in 0..producers as u64 {
                let s = Source {
                    from: p * per_producer,
                    to: (p + 1) * per_producer,
                    target: sink.clone(),
                };
                let s = start(s, None);
                s.wait_for_startup().await;
                sources.push(s);
            }
            let start_at = Instant::now();
            for s in &sources {
                s.tell(Go).await.map_err(|_| lost())?;
            }
            let sum = done_rx.await.map_err(|_| ended("consumer"))?;
            Ok(Sample {
                measured: start_at.elapsed(),
                check: sum,
            })
        })
    }

    fn spawn(&self, n: usize) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let (parent_tx, mut parent) = mpsc::unbounded_channel();
            let start_at = Instant::now();
            let children: Vec<ActorRef<Child>> = (0..n)
                .map(|i| {
                    let c = Child {
                        me: i as u64,
                        parent: Some(parent_tx.clone()),
                    };
                    start(c, None)
                })
                .collect();
            drop(parent_tx);
            let mut sum = 0u64;
            for _ in 0..n {
                sum += parent.recv().await.ok_or_else(|| ended("child"))?;
            }
            let measured = start_at.elapsed();
            drop(children);
            Ok(Sample { measured, check: sum })
        })
    }

    fn idle(&self, n: usize, window: Duration) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let started = Started::new();
            let (reply, mut replies) = mpsc::unbounded_channel();
            let sleepers = spawn_idle(n, &started, &reply);
            drop(reply);
            wait_started(&started, n).await;
            let cpu0 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            tokio::time::sleep(window).await;
            let cpu1 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            for s in &sleepers {
                s.tell(Wake).await.map_err(|_| lost())?;
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
