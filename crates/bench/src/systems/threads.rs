//! Peer `threads`: one OS thread per component (`std::thread`) with
//! `crossbeam-channel` inboxes: `unbounded` everywhere except the `bounded`
//! workload (`bounded(n)`). Threads created in bulk (spawn, idle, scale)
//! get 64 KiB stacks.
//!
//! Limits of the model: 100,000 or 1,000,000 *live* threads exceed the
//! kernel's thread limits (pid_max, vm.max_map_count), so in `spawn` each
//! thread exits right after sending (and `spawn-mem` is n/a), and `scale`
//! with more than [`MAX_LIVE_THREADS`] idle threads is n/a.

use std::sync::Arc;
use std::sync::Barrier;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use super::{failed, RunError, RunResult, Sample, Started, System};
use crate::harness::process_cpu_time;

/// The most idle threads this adapter will keep alive at once.
pub const MAX_LIVE_THREADS: usize = 16_384;

/// Stack size for threads created in bulk.
const SMALL_STACK: usize = 64 * 1024;

pub struct Threads;

fn ended(what: &str) -> RunError {
    RunError::Failed(format!("{what} ended before reporting"))
}

/// Spawn a thread, retrying briefly if the kernel is momentarily out of
/// threads (EAGAIN while earlier threads are still exiting).
fn start<F>(stack: Option<usize>, f: F) -> Result<JoinHandle<()>, RunError>
where
    F: FnOnce() + Send + 'static,
{
    let f = Arc::new(std::sync::Mutex::new(Some(f)));
    let mut last_err = None;
    for _ in 0..1000 {
        let mut b = thread::Builder::new();
        if let Some(s) = stack {
            b = b.stack_size(s);
        }
        let job = Arc::clone(&f);
        match b.spawn(move || {
            let f = job.lock().ok().and_then(|mut g| g.take());
            if let Some(f) = f {
                f();
            }
        }) {
            Ok(h) => return Ok(h),
            Err(e) => {
                last_err = Some(e);
                thread::sleep(Duration::from_millis(1));
            }
        }
    }
    Err(failed(
        "spawning a thread",
        last_err.map_or_else(|| "unknown".to_string(), |e| e.to_string()),
    ))
}

fn join_all(handles: Vec<JoinHandle<()>>) -> Result<(), RunError> {
    for h in handles {
        h.join()
            .map_err(|_| RunError::Failed("a component thread panicked".into()))?;
    }
    Ok(())
}

fn wait_started(started: &Started, n: usize) {
    while started.count() < n {
        thread::sleep(Duration::from_millis(1));
    }
}

/// Idle threads: their inboxes and join handles.
struct Idle {
    inboxes: Vec<Sender<()>>,
    handles: Vec<JoinHandle<()>>,
}

impl Idle {
    /// Drop the inboxes (the threads exit) and join the threads.
    fn shut_down(self) -> Result<(), RunError> {
        drop(self.inboxes);
        join_all(self.handles)
    }
}

/// `n` threads each blocked on its own inbox; on every `()` they send their
/// index to `reply`; they exit when their inbox is dropped.
fn spawn_idle(n: usize, started: &Started, reply: &Sender<u64>) -> Result<Idle, RunError> {
    let mut inboxes = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = unbounded::<()>();
        let started = started.clone();
        let reply = reply.clone();
        handles.push(start(Some(SMALL_STACK), move || {
            started.bump();
            while rx.recv().is_ok() {
                let _ = reply.send(i as u64);
            }
        })?);
        inboxes.push(tx);
    }
    Ok(Idle { inboxes, handles })
}

enum Token {
    Hop { remaining: u64, acc: u64 },
    Stop,
}

fn link(capacity: Option<usize>) -> (Sender<u64>, Receiver<u64>) {
    match capacity {
        Some(n) => bounded(n),
        None => unbounded(),
    }
}

impl System for Threads {
    fn name(&self) -> &'static str {
        "threads"
    }

    fn runtime(&self) -> &'static str {
        "std::thread per component + crossbeam-channel; in spawn each thread exits after sending"
    }

    fn pingpong(&self, round_trips: u64, idle: usize) -> RunResult {
        if idle > MAX_LIVE_THREADS {
            return Err(RunError::NotApplicable(
                "that many live OS threads exceed the kernel's thread limits",
            ));
        }
        let started = Started::new();
        let (reply, _replies) = unbounded();
        let idlers = spawn_idle(idle, &started, &reply)?;
        wait_started(&started, idle);

        let (to_b, b_inbox) = unbounded::<u64>();
        let (to_a, a_inbox) = unbounded::<u64>();
        let (go_tx, go_rx) = bounded::<()>(1);
        let (done_tx, done_rx) = bounded::<u64>(1);
        let b = start(None, move || {
            while let Ok(v) = b_inbox.recv() {
                if to_a.send(v + 1).is_err() {
                    break;
                }
            }
        })?;
        let a = start(None, move || {
            if go_rx.recv().is_err() {
                return;
            }
            let mut k = 0;
            while k < round_trips {
                if to_b.send(k).is_err() {
                    return;
                }
                match a_inbox.recv() {
                    Ok(v) => k = v,
                    Err(_) => return,
                }
            }
            let _ = done_tx.send(k);
        })?;
        let start_at = Instant::now();
        go_tx.send(()).map_err(|_| ended("ping thread"))?;
        let k = done_rx.recv().map_err(|_| ended("ping thread"))?;
        let measured = start_at.elapsed();
        let check = k + started.count() as u64;
        join_all(vec![a, b])?;
        idlers.shut_down()?;
        Ok(Sample { measured, check })
    }

    fn ring(&self, actors: usize, hops: u64) -> RunResult {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..actors).map(|_| unbounded::<Token>()).unzip();
        let (done_tx, done_rx) = unbounded::<u64>();
        let mut handles = Vec::with_capacity(actors);
        for (i, inbox) in rxs.into_iter().enumerate() {
            let next = txs[(i + 1) % actors].clone();
            let done = done_tx.clone();
            let me = i as u64;
            handles.push(start(None, move || {
                while let Ok(t) = inbox.recv() {
                    match t {
                        Token::Hop { remaining: 0, acc } => {
                            let _ = done.send(acc);
                            let _ = next.send(Token::Stop);
                            return;
                        }
                        Token::Hop { remaining, acc } => {
                            let forward = Token::Hop {
                                remaining: remaining - 1,
                                acc: acc + me,
                            };
                            if next.send(forward).is_err() {
                                return;
                            }
                        }
                        Token::Stop => {
                            let _ = next.send(Token::Stop);
                            return;
                        }
                    }
                }
            })?);
        }
        let start_at = Instant::now();
        txs[0]
            .send(Token::Hop {
                remaining: hops,
                acc: 0,
            })
            .map_err(|_| ended("ring member 0"))?;
        let acc = done_rx.recv().map_err(|_| ended("ring"))?;
        let measured = start_at.elapsed();
        drop(txs);
        join_all(handles)?;
        Ok(Sample { measured, check: acc })
    }

    fn pipeline(&self, stages: usize, messages: u64, capacity: Option<usize>) -> RunResult {
        let (done_tx, done_rx) = bounded::<u64>(1);
        let (go_tx, go_rx) = bounded::<()>(1);
        let (first_tx, mut rx) = link(capacity);
        let mut handles = Vec::with_capacity(stages + 2);
        for _ in 0..stages {
            let (tx, next_rx) = link(capacity);
            let inbox = rx;
            handles.push(start(None, move || {
                while let Ok(v) = inbox.recv() {
                    if tx.send(v + 1).is_err() {
                        break;
                    }
                }
            })?);
            rx = next_rx;
        }
        let sink_inbox = rx;
        handles.push(start(None, move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < messages {
                match sink_inbox.recv() {
                    Ok(v) => {
                        sum = sum.wrapping_add(v);
                        count += 1;
                    }
                    Err(_) => break,
                }
            }
            let _ = done_tx.send(sum);
        })?);
        handles.push(start(None, move || {
            if go_rx.recv().is_err() {
                return;
            }
            for i in 0..messages {
                if first_tx.send(i).is_err() {
                    return;
                }
            }
        })?);
        let start_at = Instant::now();
        go_tx.send(()).map_err(|_| ended("source"))?;
        let sum = done_rx.recv().map_err(|_| ended("sink"))?;
        let measured = start_at.elapsed();
        join_all(handles)?;
        Ok(Sample { measured, check: sum })
    }

    fn fanin(&self, producers: usize, per_producer: u64) -> RunResult {
        let total = producers as u64 * per_producer;
        let (tx, inbox) = unbounded::<u64>();
        let (done_tx, done_rx) = bounded::<u64>(1);
        let mut handles = Vec::with_capacity(producers + 1);
        handles.push(start(None, move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < total {
                match inbox.recv() {
                    Ok(v) => {
                        sum = sum.wrapping_add(v);
                        count += 1;
                    }
                    Err(_) => break,
                }
            }
            let _ = done_tx.send(sum);
        })?);
        let go = Arc::new(Barrier::new(producers + 1));
        for p in 0..producers as u64 {
            let tx = tx.clone();
            let go = Arc::clone(&go);
            handles.push(start(None, move || {
                go.wait();
                for v in p * per_producer..(p + 1) * per_producer {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            })?);
        }
        drop(tx);
        let start_at = Instant::now();
        go.wait();
        let sum = done_rx.recv().map_err(|_| ended("consumer"))?;
        let measured = start_at.elapsed();
        join_all(handles)?;
        Ok(Sample { measured, check: sum })
    }

    fn spawn(&self, n: usize) -> RunResult {
        let (parent_tx, parent) = unbounded::<u64>();
        let start_at = Instant::now();
        for i in 0..n {
            let to_parent = parent_tx.clone();
            // Detached: a joined-later handle would keep every stack mapped.
            drop(start(Some(SMALL_STACK), move || {
                let _ = to_parent.send(i as u64);
            })?);
        }
        drop(parent_tx);
        let mut sum = 0u64;
        for _ in 0..n {
            sum += parent.recv().map_err(|_| ended("child"))?;
        }
        let measured = start_at.elapsed();
        // Let the detached threads finish exiting before the next run.
        while parent.recv().is_ok() {}
        Ok(Sample { measured, check: sum })
    }

    fn spawn_memory(&self) -> Result<(), RunError> {
        Err(RunError::NotApplicable(
            "threads exit after sending; 100,000 live OS threads exceed kernel limits",
        ))
    }

    fn idle(&self, n: usize, window: Duration) -> RunResult {
        if n > MAX_LIVE_THREADS {
            return Err(RunError::NotApplicable(
                "that many live OS threads exceed the kernel's thread limits",
            ));
        }
        let started = Started::new();
        let (reply, replies) = unbounded();
        let idlers = spawn_idle(n, &started, &reply)?;
        drop(reply);
        wait_started(&started, n);
        let cpu0 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
        thread::sleep(window);
        let cpu1 = process_cpu_time().map_err(|e| failed("cpu time", e))?;
        for tx in &idlers.inboxes {
            tx.send(()).map_err(|_| ended("idle thread"))?;
        }
        let mut sum = 0u64;
        for _ in 0..n {
            sum += replies.recv().map_err(|_| ended("idle thread"))?;
        }
        idlers.shut_down()?;
        Ok(Sample {
            measured: cpu1.saturating_sub(cpu0),
            check: sum,
        })
    }
}
