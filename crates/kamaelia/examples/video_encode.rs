//! `video_encode --frames N --out FILE.ts`: a component draws N frames of a
//! moving test pattern (raw `yuv420p`, computed, no input files) and pipes them
//! through `ffmpeg` run by a [`UnixProcess`] — the seed's encoder use case:
//!
//! ```text
//! TestPattern ──frames──▶ UnixProcess(ffmpeg -f rawvideo ... -i - -c:v mpeg2video FILE.ts)
//! ```
//!
//! Frames are sent as they are drawn; the process's bounded inbox holds the
//! drawing back to ffmpeg's pace. ffmpeg's stderr goes to a small logging
//! component (debug level: `RUST_LOG=ffmpeg=debug` shows it; its last lines
//! are printed if ffmpeg fails), its exit status is checked and reported, and
//! ours is non-zero if it failed. Ctrl-C stops the drawing
//! and asks ffmpeg to finish (`SIGTERM`, then `SIGKILL` after 3 s).
//!
//! ```text
//! cargo run --release -p kamaelia --example video_encode -- --frames 50 --out /tmp/pattern.ts
//! ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 /tmp/pattern.ts
//! ```
//!
//! Needs `ffmpeg` on `PATH` (Debian/Ubuntu: `apt-get install ffmpeg`).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axon::{link, Component, Inbox, Outbox, Prefab, Signal, Spawn, System};
use bytes::{BufMut, Bytes, BytesMut};
use clap::Parser;
use kamaelia::process::{Exit, UnixProcess};
use kamaelia::util::{null_sink, Intake};

#[path = "support/interrupt.rs"]
mod interrupt;
#[path = "support/logging.rs"]
mod logging;

/// Encode a computed test pattern with ffmpeg, through kamaelia components.
#[derive(Parser, Debug)]
#[command(name = "video_encode")]
struct Args {
    /// How many frames to draw.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    frames: u32,
    /// The file to write (MPEG transport stream).
    #[arg(long)]
    out: PathBuf,
    /// Frame width in pixels (even).
    #[arg(long, default_value_t = 320)]
    width: u32,
    /// Frame height in pixels (even).
    #[arg(long, default_value_t = 240)]
    height: u32,
    /// Frames per second.
    #[arg(long, default_value_t = 25)]
    fps: u32,
    /// ffmpeg video encoder: mpeg2video (always built in) or libx264, ...
    #[arg(long, default_value = "mpeg2video")]
    codec: String,
}

/// Draws `frames` frames of `width`×`height` yuv420p: a diagonal luma ramp
/// scrolling by, a bright square bouncing across, colour drifting. One
/// message per frame on `outbox`, then `ProducerFinished` on `signal`.
fn test_pattern(width: usize, height: usize, frames: u32) -> Prefab {
    Prefab::new(
        Component::new("TestPattern").inbox_and_outbox::<(), Bytes>(),
        move |mut cx| async move {
            let mut intake = Intake::<()>::take(&mut cx)?;
            let mut out = cx.outbox::<Bytes>("outbox")?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let (cw, ch) = (width / 2, height / 2);
            let side = (height / 4).max(2);
            for n in 0..frames as usize {
                let mut frame = BytesMut::with_capacity(width * height + 2 * cw * ch);
                // The square bounces horizontally and vertically.
                let period_x = 2 * (width - side);
                let period_y = 2 * (height - side);
                let bx = {
                    let p = (n * 7) % period_x.max(1);
                    if p < width - side {
                        p
                    } else {
                        period_x - p
                    }
                };
                let by = {
                    let p = (n * 5) % period_y.max(1);
                    if p < height - side {
                        p
                    } else {
                        period_y - p
                    }
                };
                for y in 0..height {
                    for x in 0..width {
                        let inside = (bx..bx + side).contains(&x) && (by..by + side).contains(&y);
                        let luma = if inside {
                            235
                        } else {
                            16 + ((x + y + 3 * n) % 200) as u8
                        };
                        frame.put_u8(luma);
                    }
                }
                let u = (128.0 + 100.0 * (n as f64 / 20.0).sin()) as u8;
                let v = (128.0 + 100.0 * (n as f64 / 31.0).cos()) as u8;
                frame.put_bytes(u, cw * ch);
                frame.put_bytes(v, cw * ch);
                if !intake.send(&mut out, frame.freeze()).await? {
                    break; // shut down
                }
            }
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}

/// Logs each line of ffmpeg's stderr at debug level (target `ffmpeg`) and
/// keeps the last few, to show if it fails.
fn stderr_log(last: Arc<Mutex<VecDeque<String>>>) -> Prefab {
    Prefab::new(
        Component::new("StderrLog").inbox_and_outbox::<Bytes, ()>(),
        move |mut cx| async move {
            let mut intake = Intake::<Bytes>::take(&mut cx)?;
            let mut signal = cx.outbox::<Signal>("signal")?;
            let mut partial = Vec::new();
            let keep = |line: &[u8]| {
                let line = String::from_utf8_lossy(line).trim_end().to_string();
                if !line.is_empty() {
                    tracing::debug!(target: "ffmpeg", "{line}");
                    let mut last = last.lock().unwrap();
                    if last.len() == 8 {
                        last.pop_front();
                    }
                    last.push_back(line);
                }
            };
            while let Some(chunk) = intake.recv().await {
                // Progress lines end in \r, the others in \n.
                for piece in chunk.split_inclusive(|&b| b == b'\n' || b == b'\r') {
                    partial.extend_from_slice(piece);
                    if piece.ends_with(b"\n") || piece.ends_with(b"\r") {
                        keep(&partial);
                        partial.clear();
                    }
                }
            }
            keep(&partial);
            intake.finish(&mut signal).await;
            Ok(())
        },
    )
}

fn main() -> ExitCode {
    logging::init_or("warn");
    let args = Args::parse();
    if args.width < 2 || args.height < 2 || args.width % 2 == 1 || args.height % 2 == 1 {
        eprintln!("video_encode: --width and --height must be even and at least 2 (yuv420p)");
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("video_encode: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<(), axon::Error> {
    let size = format!("{}x{}", args.width, args.height);
    let mut ffmpeg = UnixProcess::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "info", "-y"])
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", &size])
        .args(["-framerate", &args.fps.to_string(), "-i", "-", "-an"])
        .args(["-c:v", &args.codec]);
    ffmpeg = match args.codec.as_str() {
        "mpeg2video" => ffmpeg.args(["-q:v", "4"]),
        "libx264" => ffmpeg.args(["-preset", "veryfast"]),
        _ => ffmpeg,
    };
    let ffmpeg = ffmpeg
        .args(["-f", "mpegts"])
        .arg(&args.out)
        .kill_grace(Duration::from_secs(3))
        .inbox_size(4);

    let sys = System::new();
    let pattern = test_pattern(args.width as usize, args.height as usize, args.frames).spawn(&sys);
    let ffmpeg = ffmpeg.spawn(&sys);
    let stdout = null_sink::<Bytes>().spawn(&sys); // ffmpeg writes the file, not stdout
    link(&pattern.outbox::<Bytes>("outbox")?, &ffmpeg.inbox("inbox")?)?;
    link(&pattern.outbox::<Signal>("signal")?, &ffmpeg.inbox("control")?)?;
    link(&ffmpeg.outbox::<Bytes>("outbox")?, &stdout.inbox("inbox")?)?;
    link(&ffmpeg.outbox::<Signal>("signal")?, &stdout.inbox("control")?)?;
    let last_lines = Arc::new(Mutex::new(VecDeque::new()));
    let log = stderr_log(last_lines.clone()).spawn(&sys);
    link(&ffmpeg.outbox::<Bytes>("error")?, &log.inbox("inbox")?)?;
    let mut exit = Inbox::<Exit>::detached("exit");
    link(&ffmpeg.outbox::<Exit>("exit")?, &exit.endpoint())?;

    let mut stop = Outbox::<Signal>::detached("stop");
    link(&stop.endpoint(), &pattern.inbox("control")?)?;
    interrupt::on_signal(move |_| {
        tracing::info!("interrupted: stopping");
        let _ = stop.try_send(Signal::ShutdownMicroprocess);
    })?;
    // Everything is linked: start.
    let _running = sys.start();

    let report = exit
        .recv_blocking()
        .map_err(|_| "the ffmpeg component ended without reporting")??;
    if report.killed {
        return Err(format!("stopped before the end: {report}").into());
    }
    if !report.success() {
        // Its stderr ends when it does: let the log component finish.
        let _ = axon::block_on_timeout(log.finished(), Some(Duration::from_secs(5)));
        for line in last_lines.lock().unwrap().iter() {
            eprintln!("ffmpeg: {line}");
        }
    }
    let report = report.check()?;
    tracing::debug!("{report}");
    let bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {} frames ({size} @ {} fps, {}) to {}: {bytes} bytes",
        args.frames,
        args.fps,
        args.codec,
        args.out.display()
    );
    Ok(())
}
