//! The process examples run as processes, the way a user runs them: random
//! bytes through `pipe -- gzip -c` and back through `gunzip`, byte-exact;
//! `video_encode --frames 50` makes a file `ffprobe` counts 50 frames in.
//! (`tests/scripts/process_examples.sh` drives the release builds the same
//! way, plus exit codes and Ctrl-C, and times `pipe -- cat` with `--bench`.)

mod tools;

use std::process::Command;

use tools::{example, have, random_bytes, sh};

#[test]
fn pipe_through_gzip_and_back_is_byte_exact() {
    if !have("gzip") {
        return;
    }
    let pipe = example("pipe");
    let data = random_bytes(8_000_000, 11);
    let out = sh(&format!("{} -- gzip -c | gunzip", pipe.display()), &data);
    assert!(out == data, "got {} bytes back, or different ones", out.len());
}

#[test]
fn video_encode_makes_50_frames_ffprobe_counts() {
    if !have("ffmpeg") || !have("ffprobe") {
        return;
    }
    let out = std::env::temp_dir().join(format!("kamaelia-video-{}.ts", std::process::id()));
    let status = Command::new(example("video_encode"))
        .args(["--frames", "50", "--out"])
        .arg(&out)
        .status()
        .expect("run video_encode");
    assert!(status.success(), "video_encode failed: {status}");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&out)
        .output()
        .expect("run ffprobe");
    let text = String::from_utf8_lossy(&probe.stdout);
    let frames: String = text.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(frames, "50", "ffprobe said {text:?}");
    let _ = std::fs::remove_file(out);
}
