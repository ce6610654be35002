//! Peer `flume-ct`: flume channels driven by their async API
//! (`send_async`/`recv_async`) on a single-threaded executor,
//! `futures::executor::LocalPool` (no tokio involved). A component is a
//! local task owning a flume receiver: `flume::unbounded` everywhere except
//! the `bounded` workload, which uses `flume::bounded(n)`. LocalPool has no
//! timer, so the idle window is ended by a sleeping helper thread sending on
//! a channel the driver awaits.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::executor::{LocalPool, LocalSpawner};
use futures::task::LocalSpawnExt;

use super::{failed, RunError, RunResult, Sample, Started, System};
use crate::harness::process_cpu_time;

pub struct FlumeLocal;

fn ended(what: &str) -> RunError {
    RunError::Failed(format!("{what} ended before reporting"))
}

/// Yield once to the executor.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

async fn wait_started(started: &Started, n: usize) {
    while started.count() < n {
        YieldNow(false).await;
    }
}

fn spawn<F: Future<Output = ()> + 'static>(sp: &LocalSpawner, f: F) -> Result<(), RunError> {
    sp.spawn_local(f).map_err(|e| failed("spawn_local", e))
}

/// Run `body` as the driver of a fresh LocalPool.
fn drive<F, Fut>(body: F) -> RunResult
where
    F: FnOnce(LocalSpawner) -> Fut,
    Fut: Future<Output = RunResult>,
{
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    pool.run_until(body(spawner))
}

fn spawn_idle(
    sp: &LocalSpawner,
    n: usize,
    started: &Started,
    reply: &flume::Sender<u64>,
) -> Result<Vec<flume::Sender<()>>, RunError> {
    let mut inboxes = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = flume::unbounded::<()>();
        let started = started.clone();
        let reply = reply.clone();
        spawn(sp, async move {
            started.bump();
            while rx.recv_async().await.is_ok() {
                let _ = reply.send(i as u64);
            }
        })?;
        inboxes.push(tx);
    }
    Ok(inboxes)
}

fn link(capacity: Option<usize>) -> (flume::Sender<u64>, flume::Receiver<u64>) {
    match capacity {
        Some(n) => flume::bounded(n),
        None => flume::unbounded(),
    }
}

#[derive(Clone, Copy)]
struct Token {
    remaining: u64,
    acc: u64,
}

impl System for FlumeLocal {
    fn name(&self) -> &'static str {
        "flume-ct"
    }

    fn runtime(&self) -> &'static str {
        "flume async API on futures::executor::LocalPool (one thread)"
    }

    fn pingpong(&self, round_trips: u64, idle: usize) -> RunResult {
        drive(|sp| async move {
            let started = Started::new();
            let (reply, _replies) = flume::unbounded();
            let _idle = spawn_idle(&sp, idle, &started, &reply)?;
            wait_started(&started, idle).await;

            let (to_b, b_inbox) = flume::unbounded::<u64>();
            let (to_a, a_inbox) = flume::unbounded::<u64>();
            let (go_tx, go_rx) = flume::bounded::<()>(1);
            let (done_tx, done_rx) = flume::bounded::<u64>(1);
            spawn(&sp, async move {
                while let Ok(v) = b_inbox.recv_async().await {
                    if to_a.send_async(v + 1).await.is_err() {
                        break;
                    }
                }
            })?;
            spawn(&sp, async move {
                if go_rx.recv_async().await.is_err() {
                    return;
                }
                let mut k = 0;
                while k < round_trips {
                    if to_b.send_async(k).await.is_err() {
                        return;
                    }
                    match a_inbox.recv_async().await {
                        Ok(v) => k = v,
                        Err(_) => return,
                    }
                }
                let _ = done_tx.send_async(k).await;
            })?;
            let start = Instant::now();
            go_tx.send(()).map_err(|_| ended("ping task"))?;
            let k = done_rx.recv_async().await.map_err(|_| ended("ping task"))?;
            let measured = start.elapsed();
            Ok(Sample {
                measured,
                check: k + started.count() as u64,
            })
        })
    }

    fn ring(&self, actors: usize, hops: u64) -> RunResult {
        drive(|sp| async move {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..actors).map(|_| flume::unbounded::<Token>()).unzip();
            let (done_tx, done_rx) = flume::unbounded::<u64>();
            for (i, inbox) in rxs.into_iter().enumerate() {
                let next = txs[(i + 1) % actors].clone();
                let done = done_tx.clone();
                let me = i as u64;
                spawn(&sp, async move {
                    while let Ok(t) = inbox.recv_async().await {
                        if t.remaining == 0 {
                            let _ = done.send(t.acc);
                        } else if next
                            .send_async(Token {
                                remaining: t.remaining - 1,
                                acc: t.acc + me,
                            })
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                })?;
            }
            let start = Instant::now();
            txs[0]
                .send(Token {
                    remaining: hops,
                    acc: 0,
                })
                .map_err(|_| ended("ring member 0"))?;
            let acc = done_rx.recv_async().await.map_err(|_| ended("ring"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: acc,
            })
        })
    }

    fn pipeline(&self, stages: usize, messages: u64, capacity: Option<usize>) -> RunResult {
        drive(|sp| async move {
            let (done_tx, done_rx) = flume::bounded::<u64>(1);
            let (go_tx, go_rx) = flume::bounded::<()>(1);
            let (first_tx, mut rx) = link(capacity);
            for _ in 0..stages {
                let (tx, next_rx) = link(capacity);
                let inbox = rx;
                spawn(&sp, async move {
                    while let Ok(v) = inbox.recv_async().await {
                        if tx.send_async(v + 1).await.is_err() {
                            break;
                        }
                    }
                })?;
                rx = next_rx;
            }
            let sink_inbox = rx;
            spawn(&sp, async move {
                let (mut count, mut sum) = (0u64, 0u64);
                while count < messages {
                    match sink_inbox.recv_async().await {
                        Ok(v) => {
                            sum = sum.wrapping_add(v);
                            count += 1;
                        }
                        Err(_) => break,
                    }
                }
                let _ = done_tx.send_async(sum).await;
            })?;
            spawn(&sp, async move {
                if go_rx.recv_async().await.is_err() {
                    return;
                }
                for i in 0..messages {
                    if first_tx.send_async(i).await.is_err() {
                        return;
                    }
                }
            })?;
            let start = Instant::now();
            go_tx.send(()).map_err(|_| ended("source"))?;
            let sum = done_rx.recv_async().await.map_err(|_| ended("sink"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: sum,
            })
        })
    }

    fn fanin(&self, producers: usize, per_producer: u64) -> RunResult {
        drive(|sp| async move {
            let total = producers as u64 * per_producer;
            let (tx, inbox) = flume::unbounded::<u64>();
            let (done_tx, done_rx) = flume::bounded::<u64>(1);
            spawn(&sp, async move {
                let (mut count, mut sum) = (0u64, 0u64);
                while count < total {
                    match inbox.recv_async().await {
                        Ok(v) => {
                            sum = sum.wrapping_add(v);
                            count += 1;
                        }
                        Err(_) => break,
                    }
                }
                let _ = done_tx.send_async(sum).await;
            })?;
            let (go_tx, go_rx) = flume::unbounded::<()>();
            for p in 0..producers as u64 {
                let tx = tx.clone();
                let go = go_rx.clone();
                spawn(&sp, async move {
                    if go.recv_async().await.is_err() {
                        return;
                    }
                    for v in p * per_producer..(p + 1) * per_producer {
                        if tx.send_async(v).await.is_err() {
                            return;
                        }
                    }
                })?;
            }
            drop(tx);
            let start = Instant::now();
            for _ in 0..producers {
                go_tx.send(()).map_err(|_| ended("producer"))?;
            }
            let sum = done_rx.recv_async().await.map_err(|_| ended("consumer"))?;
            Ok(Sample {
                measured: start.elapsed(),
                check: sum,
            })
        })
    }

    fn spawn(&self, n: usize) -> RunResult {
        drive(|sp| async move {
            let (parent_tx, parent) = flume::unbounded::<u64>();
            let start = Instant::now();
            let mut inboxes = Vec::with_capacity(n);
            for i in 0..n {
                let (tx, inbox) = flume::unbounded::<()>();
                let to_parent = parent_tx.clone();
                spawn(&sp, async move {
                    let _ = to_parent.send(i as u64);
                    drop(to_parent);
                    while inbox.recv_async().await.is_ok() {}
                })?;
                inboxes.push(tx);
            }
            drop(parent_tx);
            let mut sum = 0u64;
            for _ in 0..n {
                sum += parent.recv_async().await.map_err(|_| ended("child"))?;
            }
            let measured = start.elapsed();
            drop(inboxes);
            Ok(Sample { measured, check: sum })
        })
    }

    fn idle(&self, n: usize, window: Duration) -> RunResult {
        drive(|sp| async move {
            let started = Started::new();
            let (reply, replies) = flume::unbounded();
            let inboxes = spawn_idle(&sp, n, &started, &reply)?;
            drop(reply);
            wait_started(&started, n).await;
            let (alarm_tx, alarm) = flume::bounded::<()>(1);
            let cpu0 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            let timer = std::thread::spawn(move || {
                std::thread::sleep(window);
                let _ = alarm_tx.send(());
            });
            alarm.recv_async().await.map_err(|_| ended("timer thread"))?;
            let cpu1 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
            let _ = timer.join();
            for tx in &inboxes {
                tx.send(()).map_err(|_| ended("idle task"))?;
            }
            let mut sum = 0u64;
            for _ in 0..n {
                sum += replies.recv_async().await.map_err(|_| ended("idle task"))?;
            }
            Ok(Sample {
                measured: cpu1.saturating_sub(cpu0),
                check: sum,
            })
        })
    }
}
