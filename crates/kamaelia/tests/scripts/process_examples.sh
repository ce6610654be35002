#!/usr/bin/env bash
# Drives the `pipe` and `video_encode` examples as processes, the way a user
# runs them, and exits non-zero on any mismatch.
#
#   bash crates/kamaelia/tests/scripts/process_examples.sh          # checks
#   bash crates/kamaelia/tests/scripts/process_examples.sh --bench  # checks, then 1 GB through `pipe -- cat` vs `cat | cat`
#
# Needs: gzip, cmp, ffmpeg and ffprobe (Debian: apt-get install -y ffmpeg).
set -euo pipefail

cd "$(dirname "$0")/../../../.."
for tool in gzip cmp ffmpeg ffprobe; do
    command -v "$tool" >/dev/null || { echo "process_examples: $tool not found (apt-get install -y ffmpeg gzip diffutils)" >&2; exit 1; }
done

cargo build --release -q -p kamaelia --example pipe --example video_encode
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
PIPE="$target_dir/release/examples/pipe"
VIDEO="$target_dir/release/examples/video_encode"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "process_examples: FAIL: $*" >&2; exit 1; }

# 1. Byte-exact through gzip, then gunzip outside.
head -c 8000000 /dev/urandom > "$tmp/f"
"$PIPE" -- gzip -c < "$tmp/f" | gunzip | cmp - "$tmp/f" || fail "pipe -- gzip -c | gunzip differs"
# ... and both inside, through a shell.
"$PIPE" --shell 'gzip -c | gunzip' < "$tmp/f" | cmp - "$tmp/f" || fail "pipe --shell 'gzip -c | gunzip' differs"
echo "ok: pipe gzip round trips (8 MB) byte-exact"

# 2. Exit codes: the command's, 127 for a missing one.
set +e
"$PIPE" -- sh -c 'exit 7' < /dev/null; code=$?
"$PIPE" -- kamaelia-no-such-command < /dev/null 2> "$tmp/err"; missing=$?
set -e
[ "$code" = 7 ] || fail "pipe -- sh -c 'exit 7' exited $code"
[ "$missing" = 127 ] || fail "missing command exited $missing"
grep -q "could not start \`kamaelia-no-such-command\`" "$tmp/err" || fail "missing command message: $(cat "$tmp/err")"
echo "ok: pipe exit codes (7, 127 with a clear message)"

# 3. Ctrl-C: the command is killed, pipe exits 130, nothing left behind.
mkfifo "$tmp/in"
sleep 1000 > "$tmp/in" &   # holds the fifo open: stdin never ends
holder=$!
"$PIPE" -- sleep 1000.125 < "$tmp/in" > /dev/null &
pid=$!
for _ in $(seq 100); do pgrep -f '^sleep 1000.125' >/dev/null && break; sleep 0.05; done
pgrep -f '^sleep 1000.125' >/dev/null || fail "pipe never started its command"
kill -INT "$pid"
set +e
wait "$pid"; code=$?
set -e
kill "$holder" 2>/dev/null || true
[ "$code" = 130 ] || fail "pipe exited $code after SIGINT"
! pgrep -f '^sleep 1000.125' >/dev/null || fail "the command survived SIGINT"
echo "ok: pipe stops cleanly on Ctrl-C"

# 4. video_encode: 50 frames in, 50 frames in the file.
"$VIDEO" --frames 50 --out "$tmp/v.ts"
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$tmp/v.ts" | grep -o '[0-9]\+' | head -1)
[ "$frames" = 50 ] || fail "video_encode --frames 50 gave $frames frames"
set +e
"$VIDEO" --frames 5 --out "$tmp/no/such/dir/v.ts" 2> "$tmp/err"; code=$?
set -e
[ "$code" != 0 ] || fail "video_encode into a missing directory succeeded"
grep -q "exited with code" "$tmp/err" || fail "ffmpeg failure not reported: $(cat "$tmp/err")"
echo "ok: video_encode --frames 50 → ffprobe counts 50; ffmpeg failure reported"

if [ "${1:-}" = "--bench" ]; then
    # 1 GB through `pipe -- cat` and through `cat` (each followed by `cat`), alternating.
    ms() { local s e; s=$(date +%s%N); bash -c "$1"; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
    for i in 1 2 3 4 5; do
        p=$(ms "head -c 1000000000 /dev/zero | '$PIPE' -- cat | cat > /dev/null")
        c=$(ms "head -c 1000000000 /dev/zero | cat | cat > /dev/null")
        echo "run $i: pipe -- cat ${p} ms ($(( 1000000 / p )) MB/s); cat | cat ${c} ms ($(( 1000000 / c )) MB/s)"
    done
fi
echo "process_examples: all ok"
