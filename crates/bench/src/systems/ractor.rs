//! Peer `ractor`: ractor 0.16 actors (default features) on a tokio
//! multi-thread runtime (workers = cores), as in ractor's own examples.
//! Messages are sent with `ActorRef::send_message` (ractor's mailboxes are
//! unbounded). Workload actors are spawned with `Actor::spawn`; components
//! created in bulk (spawn, idle, scale) with `spawn_instant`, which does not
//! wait for each actor's `pre_start` before creating the next.
//!
//! `bounded` is n/a: ractor has no bounded mailboxes.

use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot};

use super::{failed, RunError, RunResult, Sample, Started, System};
use crate::harness::process_cpu_time;

pub struct Ractor;

fn build() -> Result<Runtime, RunError> {
    Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| failed("building the tokio runtime", e))
}

fn ended(what: &str) -> RunError {
    RunError::Failed(format!("{what} ended before reporting"))
}

fn send<M: ractor::Message>(to: &ActorRef<M>, msg: M) -> Result<(), RunError> {
    to.send_message(msg)
        .map_err(|_| RunError::Failed("ractor send_message failed".into()))
}

async fn wait_started(started: &Started, n: usize) {
    while started.count() < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn spawn_actor<A: Actor>(a: A, args: A::Arguments) -> Result<ActorRef<A::Msg>, RunError> {
    Actor::spawn(None, a, args)
        .await
        .map(|(r, _join)| r)
        .map_err(|e| failed("spawning a ractor actor", e))
}

fn spawn_instant<A: Actor>(a: A, args: A::Arguments) -> Result<ActorRef<A::Msg>, RunError> {
    ractor::ActorRuntime::spawn_instant(None, a, args)
        .map(|(r, _join)| r)
        .map_err(|e| failed("spawning a ractor actor", e))
}

// --- idle components -------------------------------------------------------

struct Sleeper;

struct SleeperArgs {
    me: u64,
    started: Started,
    reply: mpsc::UnboundedSender<u64>,
}

impl Actor for Sleeper {
    type Msg = ();
    type State = SleeperArgs;
    type Arguments = SleeperArgs;

    async fn pre_start(&self, _: ActorRef<()>, args: SleeperArgs) -> Result<SleeperArgs, ActorProcessingErr> {
        args.started.bump();
        Ok(args)
    }

    async fn handle(&self, _: ActorRef<()>, _: (), s: &mut SleeperArgs) -> Result<(), ActorProcessingErr> {
        let _ = s.reply.send(s.me);
        Ok(())
    }
}

fn spawn_idle(
    n: usize,
    started: &Started,
    reply: &mpsc::UnboundedSender<u64>,
) -> Result<Vec<ActorRef<()>>, RunError> {
    (0..n)
        .map(|i| {
            spawn_instant(
                Sleeper,
                SleeperArgs {
                    me: i as u64,
                    started: started.clone(),
                    reply: reply.clone(),
                },
            )
        })
        .collect()
}

// --- ping-pong -------------------------------------------------------------

enum PingMsg {
    Go,
    Ball(u64),
}

struct Pinger;
struct PingerState {
    round_trips: u64,
    ponger: ActorRef<u64>,
    done: Option<oneshot::Sender<u64>>,
}

struct Ponger;

impl Actor for Ponger {
    type Msg = u64;
    type State = ActorRef<PingMsg>;
    type Arguments = ActorRef<PingMsg>;

    async fn pre_start(
        &self,
        _: ActorRef<u64>,
        pinger: ActorRef<PingMsg>,
    ) -> Result<ActorRef<PingMsg>, ActorProcessingErr> {
        Ok(pinger)
    }

    async fn handle(
        &self,
        _: ActorRef<u64>,
        k: u64,
        pinger: &mut ActorRef<PingMsg>,
    ) -> Result<(), ActorProcessingErr> {
        pinger.send_message(PingMsg::Ball(k + 1))?;
        Ok(())
    }
}

impl Actor for Pinger {
    type Msg = PingMsg;
    type State = PingerState;
    type Arguments = (u64, oneshot::Sender<u64>);

    async fn pre_start(
        &self,
        me: ActorRef<PingMsg>,
        (round_trips, done): (u64, oneshot::Sender<u64>),
    ) -> Result<PingerState, ActorProcessingErr> {
        let (ponger, _) = Actor::spawn(None, Ponger, me).await?;
        Ok(PingerState {
            round_trips,
            ponger,
            done: Some(done),
        })
    }

    async fn handle(
        &self,
        _: ActorRef<PingMsg>,
        msg: PingMsg,
        s: &mut PingerState,
    ) -> Result<(), ActorProcessingErr> {
        let k = match msg {
            PingMsg::Go => 0,
            PingMsg::Ball(k) => k,
        };
        if k >= s.round_trips {
            if let Some(done) = s.done.take() {
                let _ = done.send(k);
            }
            s.ponger.stop(None);
        } else {
            s.ponger.send_message(k)?;
        }
        Ok(())
    }
}

// --- ring ------------------------------------------------------------------

enum RingMsg {
    SetNext(ActorRef<RingMsg>),
    Token { remaining: u64, acc: u64 },
}

struct RingMember;
struct RingState {
    me: u64,
    next: Option<ActorRef<RingMsg>>,
    done: mpsc::UnboundedSender<u64>,
}

impl Actor for RingMember {
    type Msg = RingMsg;
    type State = RingState;
    type Arguments = RingState;

    async fn pre_start(&self, _: ActorRef<RingMsg>, s: RingState) -> Result<RingState, ActorProcessingErr> {
        Ok(s)
    }

    async fn handle(
        &self,
        _: ActorRef<RingMsg>,
        msg: RingMsg,
        s: &mut RingState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RingMsg::SetNext(next) => s.next = Some(next),
            RingMsg::Token { remaining: 0, acc } => {
                let _ = s.done.send(acc);
            }
            RingMsg::Token { remaining, acc } => {
                if let Some(next) = &s.next {
                    next.send_message(RingMsg::Token {
                        remaining: remaining - 1,
                        acc: acc + s.me,
                    })?;
                }
            }
        }
        Ok(())
    }
}

// --- pipeline and fan-in ---------------------------------------------------

struct Stage;

impl Actor for Stage {
    type Msg = u64;
    type State = ActorRef<u64>;
    type Arguments = ActorRef<u64>;

    async fn pre_start(
        &self,
        _: ActorRef<u64>,
        next: ActorRef<u64>,
    ) -> Result<ActorRef<u64>, ActorProcessingErr> {
        Ok(next)
    }

    async fn handle(
        &self,
        _: ActorRef<u64>,
        v: u64,
        next: &mut ActorRef<u64>,
    ) -> Result<(), ActorProcessingErr> {
        next.send_message(v + 1)?;
        Ok(())
    }
}

struct Sink;
struct SinkState {
    expected: u64,
    count: u64,
    sum: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Actor for Sink {
    type Msg = u64;
    type State = SinkState;
    type Arguments = SinkState;

    async fn pre_start(&self, _: ActorRef<u64>, s: SinkState) -> Result<SinkState, ActorProcessingErr> {
        Ok(s)
    }

    async fn handle(&self, _: ActorRef<u64>, v: u64, s: &mut SinkState) -> Result<(), ActorProcessingErr> {
        s.sum = s.sum.wrapping_add(v);
        s.count += 1;
        if s.count == s.expected {
            if let Some(done) = s.done.take() {
                let _ = done.send(s.sum);
            }
        }
        Ok(())
    }
}

/// On `()`, sends `from..to` to its target.
struct Source;
struct SourceState {
    from: u64,
    to: u64,
    target: ActorRef<u64>,
}

impl Actor for Source {
    type Msg = ();
    type State = SourceState;
    type Arguments = SourceState;

    async fn pre_start(&self, _: ActorRef<()>, s: SourceState) -> Result<SourceState, ActorProcessingErr> {
        Ok(s)
    }

    async fn handle(&self, _: ActorRef<()>, _: (), s: &mut SourceState) -> Result<(), ActorProcessingErr> {
        for v in s.from..s.to {
            s.target.send_message(v)?;
        }
        Ok(())
    }
}

// --- spawn -----------------------------------------------------------------

struct Child;

impl Actor for Child {
    type Msg = ();
    type State = ();
    type Arguments = (u64, mpsc::UnboundedSender<u64>);

    async fn pre_start(
        &self,
        _: ActorRef<()>,
        (me, parent): (u64, mpsc::UnboundedSender<u64>),
    ) -> Result<(), ActorProcessingErr> {
        let _ = parent.send(me);
        Ok(())
    }
}

impl System for Ractor {
    fn name(&self) -> &'static str {
        "ractor"
    }

    fn runtime(&self) -> &'static str {
        "ractor 0.16 actors on a tokio multi-thread runtime (workers = cores), unbounded mailboxes"
    }

    fn pingpong(&self, round_trips: u64, idle: usize) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let started = Started::new();
            let (reply, _replies) = mpsc::unbounded_channel();
            let idlers = spawn_idle(idle, &started, &reply)?;
            wait_started(&started, idle).await;

            let (done_tx, done_rx) = oneshot::channel();
            let pinger = spawn_actor(Pinger, (round_trips, done_tx)).await?;
            let start = Instant::now();
            send(&pinger, PingMsg::Go)?;
            let k = done_rx.await.map_err(|_| ended("pinger"))?;
            let measured = start.elapsed();
            pinger.stop(None);
            for a in &idlers {
                a.stop(None);
            }
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
            let mut members = Vec::with_capacity(actors);
            for i in 0..actors {
                let state = RingState {
                    me: i as u64,
                    next: None,
                    done: done_tx.clone(),
                };
                members.push(spawn_actor(RingMember, state).await?);
            }
            for (i, m) in members.iter().enumerate() {
                send(m, RingMsg::SetNext(members[(i + 1) % actors].clone()))?;
            }
            let start = Instant::now();
            send(
                &members[0],
                RingMsg::Token {
                    remaining: hops,
                    acc: 0,
                },
            )?;
            let acc = done_rx.recv().await.ok_or_else(|| ended("ring"))?;
            let measured = start.elapsed();
            for m in &members {
                m.stop(None);
            }
            Ok(Sample { measured, check: acc })
        })
    }

    fn pipeline(&self, stages: usize, messages: u64, capacity: Option<usize>) -> RunResult {
        if capacity.is_some() {
            return Err(RunError::NotApplicable("ractor mailboxes are unbounded only"));
        }
        let rt = build()?;
        rt.block_on(async move {
            let (done_tx, done_rx) = oneshot::channel();
            let sink = SinkState {
                expected: messages,
                count: 0,
                sum: 0,
                done: Some(done_tx),
            };
            let mut next = spawn_actor(Sink, sink).await?;
            let mut all = vec![next.clone()];
            for _ in 0..stages {
                next = spawn_actor(Stage, next).await?;
                all.push(next.clone());
            }
            let source = SourceState {
                from: 0,
                to: messages,
                target: next,
            };
            let source = spawn_actor(Source, source).await?;
            let start = Instant::now();
            send(&source, ())?;
            let sum = done_rx.await.map_err(|_| ended("sink"))?;
            let measured = start.elapsed();
            source.stop(None);
            for a in &all {
                a.stop(None);
            }
            Ok(Sample { measured, check: sum })
        })
    }

    fn fanin(&self, producers: usize, per_producer: u64) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let (done_tx, done_rx) = oneshot::channel();
            let sink = SinkState {
                expected: producers as u64 * per_producer,
                count: 0,
                sum: 0,
                done: Some(done_tx),
            };
            let sink = spawn_actor(Sink, sink).await?;
            let mut sources = Vec::with_capacity(producers);
            for p in 0..producers as u64 {
                let s = SourceState {
                    from: p * per_producer,
                    to: (p + 1) * per_producer,
                    target: sink.clone(),
                };
                sources.push(spawn_actor(Source, s).await?);
            }
            let start = Instant::now();
            for s in &sources {
                send(s, ())?;
            }
            let sum = done_rx.await.map_err(|_| ended("consumer"))?;
            let measured = start.elapsed();
            sink.stop(None);
            for s in &sources {
                s.stop(None);
            }
            Ok(Sample { measured, check: sum })
        })
    }

    fn spawn(&self, n: usize) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let (parent_tx, mut parent) = mpsc::unbounded_channel();
            let start = Instant::now();
            let mut children = Vec::with_capacity(n);
            for i in 0..n {
                children.push(spawn_instant(Child, (i as u64, parent_tx.clone()))?);
            }
            drop(parent_tx);
            let mut sum = 0u64;
            for _ in 0..n {
                sum += parent.recv().await.ok_or_else(|| ended("child"))?;
            }
            let measured = start.elapsed();
            for c in &children {
                c.stop(None);
            }
            Ok(Sample { measured, check: sum })
        })
    }

    fn idle(&self, n: usize, window: Duration) -> RunResult {
        let rt = build()?;
        rt.block_on(async move {
            let started = Started::new();
            let (reply, mut replies) = mpsc::unbounded_channel();
            let sleepers = spawn_idle(n, &started, &reply)?;
            drop(reply);
            wait_started(&started, n).await;
            let cpu0 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            tokio::time::sleep(window).await;
            let cpu1 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            for s in &sleepers {
                send(s, ())?;
            }
            let mut sum = 0u64;
            for _ in 0..n {
                sum += replies.recv().await.ok_or_else(|| ended("idle actor"))?;
            }
            for s in &sleepers {
                s.stop(None);
            }
            Ok(Sample {
                measured: cpu1.saturating_sub(cpu0),
                check: sum,
            })
        })
    }
}
