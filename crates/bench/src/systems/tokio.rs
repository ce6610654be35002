//! Peers `tokio-ct` (tokio current-thread runtime) and `tokio-mt` (tokio
//! multi-thread runtime, default worker count = cores). A component is a
//! spawned task owning a `tokio::sync::mpsc` receiver: `unbounded_channel`
//! everywhere except the `bounded` workload, which uses `channel(n)`.

use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot};

use super::{failed, RunError, RunResult, Sample, Started, System};
use crate::harness::process_cpu_time;

pub struct Tokio {
    multi: bool,
}

impl Tokio {
    pub fn current_thread() -> Tokio {
        Tokio { multi: false }
    }

    pub fn multi_thread() -> Tokio {
        Tokio { multi: true }
    }

    fn build(&self) -> Result<Runtime, RunError> {
        let mut b = if self.multi {
            Builder::new_multi_thread()
        } else {
            Builder::new_current_thread()
        };
        b.enable_time()
            .build()
            .map_err(|e| failed("building the tokio runtime", e))
    }
}

fn ended(what: &str) -> RunError {
    RunError::Failed(format!("{what} ended before reporting"))
}

/// Poll until `n` components have started (1 ms timer steps, so that the
/// waiting does not steal a core from the workers).
async fn wait_started(started: &Started, n: usize) {
    while started.count() < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `n` tasks each waiting on its own unbounded inbox; on every `()` they
/// send their index to `reply`.
fn spawn_idle(
    n: usize,
    started: &Started,
    reply: &mpsc::UnboundedSender<u64>,
) -> Vec<mpsc::UnboundedSender<()>> {
    (0..n)
        .map(|i| {
            let (tx, mut rx) = mpsc::unbounded_channel::<()>();
            let started = started.clone();
            let reply = reply.clone();
            tokio::spawn(async move {
                started.bump();
                while rx.recv().await.is_some() {
                    let _ = reply.send(i as u64);
                }
            });
            tx
        })
        .collect()
}

/// A pipeline link: bounded or unbounded tokio mpsc.
enum Tx {
    Bounded(mpsc::Sender<u64>),
    Unbounded(mpsc::UnboundedSender<u64>),
}

enum Rx {
    Bounded(mpsc::Receiver<u64>),
    Unbounded(mpsc::UnboundedReceiver<u64>),
}

impl Tx {
    async fn send(&self, v: u64) -> bool {
        match self {
            Tx::Bounded(t) => t.send(v).await.is_ok(),
            Tx::Unbounded(t) => t.send(v).is_ok(),
        }
    }
}

impl Rx {
    async fn recv(&mut self) -> Option<u64> {
        match self {
            Rx::Bounded(r) => r.recv().await,
            Rx::Unbounded(r) => r.recv().await,
        }
    }
}

fn link(capacity: Option<usize>) -> (Tx, Rx) {
    match capacity {
        Some(n) => {
            let (t, r) = mpsc::channel(n);
            (Tx::Bounded(t), Rx::Bounded(r))
        }
        None => {
            let (t, r) = mpsc::unbounded_channel();
            (Tx::Unbounded(t), Rx::Unbounded(r))
        }
    }
}

#[derive(Clone, Copy)]
struct Token {
    remaining: u64,
    acc: u64,
}

impl System for Tokio {
    fn name(&self) -> &'static str {
        if self.multi {
            "tokio-mt"
        } else {
            "tokio-ct"
        }
    }

    fn runtime(&self) -> &'static str {
        if self.multi {
            "tokio 1.x multi-thread runtime (workers = cores), tasks + tokio::sync::mpsc"
        } else {
            "tokio 1.x current-thread runtime, tasks + tokio::sync::mpsc"
        }
    }

    fn pingpong(&self, round_trips: u64, idle: usize) -> RunResult {
        let rt = self.build()?;
        rt.block_on(async move {
            let started = Started::new();
            let (reply, _replies) = mpsc::unbounded_channel();
            let _idle = spawn_idle(idle, &started, &reply);
            wait_started(&started, idle).await;

            let (to_b, mut b_inbox) = mpsc::unbounded_channel::<u64>();
            let (to_a, mut a_inbox) = mpsc::unbounded_channel::<u64>();
            let (go_tx, go_rx) = oneshot::channel::<()>();
            let (done_tx, done_rx) = oneshot::channel::<u64>();
            tokio::spawn(async move {
                while let Some(v) = b_inbox.recv().await {
                    if to_a.send(v + 1).is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                if go_rx.await.is_err() {
                    return;
                }
                let mut k = 0;
                while k < round_trips {
                    if to_b.send(k).is_err() {
                        return;
                    }
                    match a_inbox.recv().await {
                        Some(v) => k = v,
                        None => return,
                    }
                }
                let _ = done_tx.send(k);
            });
            let start = Instant::now();
            go_tx.send(()).map_err(|_| ended("ping task"))?;
            let k = done_rx.await.map_err(|_| ended("ping task"))?;
            let measured = start.elapsed();
            Ok(Sample {
                measured,
                check: k + started.count() as u64,
            })
        })
    }

    fn ring(&self, actors: usize, hops: u64) -> RunResult {
        let rt = self.build()?;
        rt.block_on(async move {
            let (txs, rxs): (Vec<_>, Vec<_>) =
                (0..actors).map(|_| mpsc::unbounded_channel::<Token>()).unzip();
            let (done_tx, mut done_rx) = mpsc::unbounded_channel::<u64>();
            for (i, mut inbox) in rxs.into_iter().enumerate() {
                let next = txs[(i + 1) % actors].clone();
                let done = done_tx.clone();
                let me = i as u64;
                tokio::spawn(async move {
                    while let Some(t) = inbox.recv().await {
                        if t.remaining == 0 {
                            let _ = done.send(t.acc);
                        } else if next
                            .send(Token {
                                remaining: t.remaining - 1,
                                acc: t.acc + me,
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
            let start = Instant::now();
            txs[0]
                .send(Token {
                    remaining: hops,
                    acc: 0,
                })
                .map_err(|_| ended("ring member 0"))?;
            let acc = done_rx.recv().await.ok_or_else(|| ended("ring"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: acc,
            })
        })
    }

    fn pipeline(&self, stages: usize, messages: u64, capacity: Option<usize>) -> RunResult {
        let rt = self.build()?;
        rt.block_on(async move {
            let (done_tx, done_rx) = oneshot::channel::<u64>();
            let (go_tx, go_rx) = oneshot::channel::<()>();
            let (first_tx, mut rx) = link(capacity);
            for _ in 0..stages {
                let (tx, next_rx) = link(capacity);
                let mut inbox = rx;
                tokio::spawn(async move {
                    while let Some(v) = inbox.recv().await {
                        if !tx.send(v + 1).await {
                            break;
                        }
                    }
                });
                rx = next_rx;
            }
            let mut sink_inbox = rx;
            tokio::spawn(async move {
                let (mut count, mut sum) = (0u64, 0u64);
                while count < messages {
                    match sink_inbox.recv().await {
                        Some(v) => {
                            sum = sum.wrapping_add(v);
                            count += 1;
                        }
                        None => break,
                    }
                }
                let _ = done_tx.send(sum);
            });
            tokio::spawn(async move {
                if go_rx.await.is_err() {
                    return;
                }
                for i in 0..messages {
                    if !first_tx.send(i).await {
                        return;
                    }
                }
            });
            let start = Instant::now();
            go_tx.send(()).map_err(|_| ended("source"))?;
            let sum = done_rx.await.map_err(|_| ended("sink"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: sum,
            })
        })
    }

    fn fanin(&self, producers: usize, per_producer: u64) -> RunResult {
        let rt = self.build()?;
        rt.block_on(async move {
            let total = producers as u64 * per_producer;
            let (tx, mut inbox) = mpsc::unbounded_channel::<u64>();
            let (done_tx, done_rx) = oneshot::channel::<u64>();
            tokio::spawn(async move {
                let (mut count, mut sum) = (0u64, 0u64);
                while count < total {
                    match inbox.recv().await {
                        Some(v) => {
                            sum = sum.wrapping_add(v);
                            count += 1;
                        }
                        None => break,
                    }
                }
                let _ = done_tx.send(sum);
            });
            let mut gos = Vec::with_capacity(producers);
            for p in 0..producers as u64 {
                let (go_tx, go_rx) = oneshot::channel::<()>();
                gos.push(go_tx);
                let tx = tx.clone();
                tokio::spawn(async move {
                    if go_rx.await.is_err() {
                        return;
                    }
                    for v in p * per_producer..(p + 1) * per_producer {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            let start = Instant::now();
            for go in gos {
                go.send(()).map_err(|_| ended("producer"))?;
            }
            let sum = done_rx.await.map_err(|_| ended("consumer"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: sum,
            })
        })
    }

    fn spawn(&self, n: usize) -> RunResult {
        let rt = self.build()?;
        rt.block_on(async move {
            let (parent_tx, mut parent) = mpsc::unbounded_channel::<u64>();
            let start = Instant::now();
            let mut inboxes = Vec::with_capacity(n);
            for i in 0..n {
                let (tx, mut inbox) = mpsc::unbounded_channel::<()>();
                let to_parent = parent_tx.clone();
                tokio::spawn(async move {
                    let _ = to_parent.send(i as u64);
                    drop(to_parent);
                    while inbox.recv().await.is_some() {}
                });
                inboxes.push(tx);
            }
            drop(parent_tx);
            let mut sum = 0u64;
            for _ in 0..n {
                sum += parent.recv().await.ok_or_else(|| ended("child"))?;
            }
            let measured = start.elapsed();
            drop(inboxes);
            Ok(Sample { measured, check: sum })
        })
    }

    fn idle(&self, n: usize, window: Duration) -> RunResult {
        let rt = self.build()?;
        rt.block_on(async move {
            let started = Started::new();
            let (reply, mut replies) = mpsc::unbounded_channel();
            let inboxes = spawn_idle(n, &started, &reply);
            drop(reply);
            wait_started(&started, n).await;
            let cpu0 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            tokio::time::sleep(window).await;
            let cpu1 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            for tx in &inboxes {
                tx.send(()).map_err(|_| ended("idle task"))?;
            }
            let mut sum = 0u64;
            for _ in 0..n {
                sum += replies.recv().await.ok_or_else(|| ended("idle task"))?;
            }
            Ok(Sample {
                measured: cpu1.saturating_sub(cpu0),
                check: sum,
            })
        })
    }
}
