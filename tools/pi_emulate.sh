#!/usr/bin/env bash
# Run fer-edge's device side on emulated Raspberry Pi CPUs: Debian arm64 roots under qemu-user.
#
#   sudo tools/pi_emulate.sh                        # bookworm and trixie, cortex-a72 (Pi 4) and cortex-a76 (Pi 5)
#   sudo tools/pi_emulate.sh --release bookworm --cpu cortex-a72
#   sudo tools/pi_emulate.sh --help
#
# What it checks, per Debian release (bookworm: Python 3.11, trixie: Python 3.13) and CPU:
#   lite   a minimal OS (debootstrap minbase + python3, python3-venv, ca-certificates: no GUI libraries,
#          like Raspberry Pi OS Lite), a `python3 -m venv --system-site-packages ~/fer-env` and a plain
#          `pip install` of this checkout as user `pi`; then the demo (`fer-edge run --source
#          samples/astronaut.jpg --headless --jsonl -`: one face, happy), a short video with --max-frames,
#          `bench` on it, `bench --classify-only` (every shipped model loads and runs), and the error lines
#          a Lite user meets (a window without a display, --camera picam without picamera2): one `error:`
#          line each, no traceback. Then, once, a GUI OpenCV (`opencv-python`) put into that venv: one
#          `error:` line naming the missing library's apt package.
#   picam  the OS's numpy first (apt), as `sudo apt install python3-picamera2` brings it on Raspberry Pi
#          OS, then the README's Pi install (a --system-site-packages venv, the release's pip line from
#          pi_pip_extra below). The venv must keep the OS's numpy: picamera2's compiled helper
#          (simplejpeg) is built against it and fails to import under another numpy ABI. Debian's own
#          archive has no python3-picamera2 (Raspberry Pi's archive has it, and is not reachable here),
#          so a Debian extension compiled against the OS's numpy (python3-pywt) stands in for simplejpeg;
#          where the archive does have python3-picamera2, it is installed and imported instead.
#
# How the emulation works, and why:
#   - Each release's root is built once by debootstrap and cached (default /var/tmp/fer-edge-pi/<release>,
#     --cache or FER_PI_CACHE); --rebuild makes it again. Every run works on an overlay over it, so the
#     cache stays as debootstrap left it and each run starts from a fresh OS.
#   - binfmt_misc runs the arm64 binaries through qemu-aarch64; QEMU_CPU picks the CPU it emulates, so
#     code built for a newer ARM core than the Pi's fails here as on the Pi (SIGILL).
#   - qemu-user (7.2) shows programs the host's own /proc/cpuinfo, an x86 text. The cpuinfo library inside
#     XNNPACK (LiteRT's CPU delegate) parses it for the ARM core and crashes on it (SIGSEGV as soon as /sys
#     is there too; without /sys it gives up and XNNPACK is not used at all). So a real Pi's text is
#     bind-mounted over the root's /proc/cpuinfo: tools/pi4-cpuinfo.txt (Pi 4, Cortex-A72 "0xd08") for
#     cortex-a72, tools/pi5-cpuinfo.txt (Pi 5, Cortex-A76 "0xd0b") for cortex-a76. Serials are zeroed.
#   - The host's CA bundle is copied into the root (pip behind a TLS-inspecting proxy needs it) and the
#     host's pip settings are left out: the root sees only PyPI, as a Pi does.
#   - The checkout is copied as the working tree (git's tracked and untracked files, not ignored ones,
#     uncommitted changes included), so it tests what is about to be committed.
#   - Nothing is timed: emulation says nothing about a Pi's speed.
#
# Needs root, debootstrap, qemu-user-static with binfmt_misc (qemu-aarch64 registered), git, python3,
# and deb.debian.org and PyPI. A fresh root takes 4-8 minutes to build, a run about 10 minutes per
# release. Exit status 0 only when every check passed; all mounts are undone on every exit path.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${FER_PI_CACHE:-/var/tmp/fer-edge-pi}
MIRROR=${FER_PI_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${FER_PI_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
RELEASES="bookworm trixie"
CPUS="cortex-a72 cortex-a76"
REBUILD=0
GUI_CHECK=1
PICAM_CHECK=1
PI_UID=1000

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; cat <<EOF
options:
  --release "bookworm trixie"   Debian releases to test (default: $RELEASES)
  --cpu "cortex-a72 cortex-a76" QEMU CPUs (default: $CPUS)
  --cache DIR                   cached roots and pip cache (default: $CACHE; or FER_PI_CACHE)
  --rebuild                     build the roots afresh
  --no-gui-check                skip putting a GUI OpenCV into the venv
  --no-picam                    skip the OS-numpy (picamera2) install
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --release) RELEASES=$2; shift 2 ;;
        --cpu) CPUS=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --rebuild) REBUILD=1; shift ;;
        --no-gui-check) GUI_CHECK=0; shift ;;
        --no-picam) PICAM_CHECK=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

# What the README has a Pi user add to `pip install fer-edge` on each release (in the venv made with
# `python3 -m venv --system-site-packages`, so that it sees the OS's picamera2).
# Bookworm's numpy is 1.24: without the pin, pip puts numpy 2 into the venv (today's opencv-python-headless
# and ml_dtypes, which ai-edge-litert needs, require numpy >= 2) and the OS's picamera2 stops importing;
# with it pip keeps the OS's numpy and picks opencv-python-headless 4.x and an ml_dtypes that accept it.
# Trixie's numpy is 2.2, which picamera2 is built against there and which today's wheels accept.
pi_pip_extra() {
    case $1 in
        bookworm) echo '"numpy<2"' ;;
        *) echo '' ;;
    esac
}

cpuinfo_for() {
    case $1 in
        cortex-a72) echo "$REPO/tools/pi4-cpuinfo.txt" ;;
        cortex-a76) echo "$REPO/tools/pi5-cpuinfo.txt" ;;
        *) echo "error: no Pi cpuinfo text for QEMU CPU $1 (cortex-a72 or cortex-a76)" >&2; return 1 ;;
    esac
}

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and mounts need it)"
for tool in debootstrap chroot git python3 timeout; do
    command -v $tool >/dev/null || die "$tool not found"
done
BINFMT=/proc/sys/fs/binfmt_misc/qemu-aarch64
[ -r $BINFMT ] && head -1 $BINFMT | grep -q enabled \
    || die "qemu-aarch64 is not registered in binfmt_misc (apt install qemu-user-static binfmt-support)"
# With the F flag the kernel holds the interpreter open, so it works inside a chroot; without it the
# interpreter must exist at the same path inside the root.
QEMU_INTERP=$(sed -n 's/^interpreter //p' $BINFMT)
grep -q '^flags:.*F' $BINFMT && QEMU_INTERP=
[ -r "$CA_BUNDLE" ] || die "CA bundle $CA_BUNDLE not found (set FER_PI_CA_BUNDLE)"
for cpu in $CPUS; do cpuinfo_for "$cpu" >/dev/null || exit 2; done

# ---- mounts: every top-level mount made is listed, and undone in reverse order on any exit ----------
MOUNTS=()
cleanup() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        if mountpoint -q "${MOUNTS[i]}"; then
            umount -R "${MOUNTS[i]}" 2>/dev/null || umount -R -l "${MOUNTS[i]}" || say "warning: could not unmount ${MOUNTS[i]}"
        fi
    done
    MOUNTS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

track_mount() {  # track_mount TARGET mount-args...
    local target=$1; shift
    mount "$@" "$target"
    MOUNTS+=("$target")
}

# /proc, /sys and /dev of the host, seen inside ROOT. rslave: unmounting them later must not reach the host.
mount_system() {
    local root=$1
    track_mount "$root/proc" -t proc proc
    track_mount "$root/sys" --rbind /sys
    mount --make-rslave "$root/sys"
    track_mount "$root/dev" --rbind /dev
    mount --make-rslave "$root/dev"
    cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    if [ -n "$QEMU_INTERP" ]; then
        mkdir -p "$root$(dirname "$QEMU_INTERP")"
        cp "$QEMU_INTERP" "$root$QEMU_INTERP"
    fi
}

unmount_below() {  # undo the tracked mounts at or below DIR (the rest of the list stays)
    local dir=$1 i keep=()
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        case ${MOUNTS[i]} in
            "$dir"|"$dir"/*) umount -R "${MOUNTS[i]}" 2>/dev/null || umount -R -l "${MOUNTS[i]}" ;;
            *) keep=("${MOUNTS[i]}" "${keep[@]}") ;;
        esac
    done
    MOUNTS=("${keep[@]}")
}

# ---- the cached root of a release ---------------------------------------------------------------------
ensure_root() {
    local release=$1 dir=$CACHE/$1
    if [ $REBUILD = 0 ] && [ -f "$dir/root/.fer-edge-pi-root" ]; then
        return 0
    fi
    say "== building the $release arm64 root in $dir/root (debootstrap minbase; several minutes)"
    mkdir -p "$dir"
    rm -rf "$dir/root.new"
    if ! debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
            "$release" "$dir/root.new" "$MIRROR" >"$dir/debootstrap.log" 2>&1; then
        say "debootstrap of $release failed; the end of $dir/debootstrap.log:"
        tail -5 "$dir/debootstrap.log" >&2
        return 1
    fi
    mount_system "$dir/root.new"
    # package lists now, so that the picam step can apt-get install without a long update under emulation
    chroot "$dir/root.new" apt-get update -q >>"$dir/debootstrap.log" 2>&1 || { unmount_below "$dir/root.new"; return 1; }
    unmount_below "$dir/root.new"
    date -u +"built %Y-%m-%dT%H:%MZ from $MIRROR" >"$dir/root.new/.fer-edge-pi-root"
    rm -rf "$dir/root"
    mv "$dir/root.new" "$dir/root"
}

# ---- running inside -----------------------------------------------------------------------------------
MERGED=
# in_root CPU USER SECONDS COMMAND: COMMAND in bash inside the root, as a Pi's user or root, in a clean
# environment (no host PIP_* or proxy settings), in /home/pi, where the checkout is ~/fer-edge. Not in the
# checkout itself: a PyPI user has none, and there its fer_edge/ folder would shadow the installed
# package for `python -m fer_edge` (which bench's start-up runs use).
in_root() {
    local cpu=$1 user=$2 seconds=$3; shift 3
    local home=/root spec=0:0
    if [ "$user" = pi ]; then home=/home/pi; spec=$PI_UID:$PI_UID; fi
    timeout -k 10 "$seconds" env -i HOME=$home USER="$user" LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        QEMU_CPU="$cpu" PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
        PIP_PROGRESS_BAR=off DEBIAN_FRONTEND=noninteractive \
        chroot --userspec=$spec "$MERGED" /bin/bash -c "cd /home/pi && $*"
}

use_cpu() {  # the Pi's /proc/cpuinfo text for this CPU, over the host's
    local target=$MERGED/proc/cpuinfo
    while mountpoint -q "$target"; do umount "$target"; done
    mount --bind "$(cpuinfo_for "$1")" "$target"
}

# ---- results ------------------------------------------------------------------------------------------
LOG=
FAILED=0
RESULTS=()
record() {  # record NAME PASS|FAIL DETAIL
    local line
    line=$(printf '%-38s %-4s %s' "$1" "$2" "$3")
    RESULTS+=("$line")
    say "   $line"
    [ "$2" = PASS ] || FAILED=1
}
show_tail() { say "     --- end of $1:"; tail -n "${2:-8}" "$1" | sed 's/^/     | /' >&2; }

# One JSON line per face; prints "N face(s): label score" (PASS needs one face, labelled happy).
check_demo() {  # check_demo NAME OUT ERR RC
    local summary
    summary=$(python3 - "$2" <<'EOF'
import json, sys
faces = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(len(faces), " ".join(f"{f['label']} {f['score']:.4f} box {f['box']}" for f in faces))
EOF
    ) || summary="0 unreadable output"
    if [ "$4" = 0 ] && [ "${summary%% *}" = 1 ] && [[ $summary == "1 happy "* ]]; then
        record "$1" PASS "1 face: ${summary#1 }"
    else
        record "$1" FAIL "exit $4, ${summary%% *} face(s) ${summary#* }"
        show_tail "$3"
    fi
}

# A bad-input run must end with exactly one `error:` line on stderr and no traceback.
check_error_line() {  # check_error_line NAME ERR RC MUST_CONTAIN
    local lines
    lines=$(grep -c . "$2" || true)
    if [ "$3" != 0 ] && [ "$3" -lt 124 ] && [ "$lines" = 1 ] && grep -q '^error: ' "$2" \
            && ! grep -q Traceback "$2" && grep -q -- "$4" "$2"; then
        record "$1" PASS "exit $3: $(head -c 150 "$2")"
    else
        record "$1" FAIL "exit $3, $lines stderr line(s), want one error: line naming $4"
        show_tail "$2"
    fi
}

lite_checks() {  # lite_checks RELEASE CPU: the fer-edge of the plain install in ~/fer-env
    local tag="$1/$2" cpu=$2 rc out=$LOG/$1-$2
    use_cpu "$cpu"
    say "-- $tag: lite install (no GUI libraries, plain pip install)"

    rc=0; in_root "$cpu" pi 600 '~/fer-env/bin/fer-edge run --source fer-edge/samples/astronaut.jpg --headless --jsonl -' \
        >"$out-demo.jsonl" 2>"$out-demo.err" || rc=$?
    check_demo "$tag demo" "$out-demo.jsonl" "$out-demo.err" $rc

    rc=0; in_root "$cpu" pi 600 '~/fer-env/bin/fer-edge run --source ~/clip.mp4 --headless --max-frames 8 --jsonl ~/clip.jsonl --output-video ~/clip_out.mp4' \
        >"$out-video.out" 2>&1 || rc=$?
    cp "$MERGED/home/pi/clip.jsonl" "$out-video.jsonl" 2>/dev/null || : >"$out-video.jsonl"
    local frames
    frames=$(python3 -c 'import json,sys; print(len({json.loads(l)["frame"] for l in open(sys.argv[1]) if l.strip()}))' "$out-video.jsonl")
    if [ $rc = 0 ] && [ "$frames" = 8 ]; then
        record "$tag video" PASS "--max-frames 8 of a 12-frame clip: a face in all 8, annotated video written"
    else
        record "$tag video" FAIL "exit $rc, faces in $frames of 8 frames"; show_tail "$out-video.out"
    fi

    rc=0; in_root "$cpu" pi 900 '~/fer-env/bin/fer-edge bench --source ~/clip.mp4 --frames 6 --warmup 2 --threads 2 --startup-runs 1 --json' \
        >"$out-bench.json" 2>"$out-bench.err" || rc=$?
    local fps
    fps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fps"])' "$out-bench.json" 2>/dev/null || echo none)
    if [ $rc = 0 ] && [ "$fps" != none ]; then
        record "$tag bench" PASS "pipeline bench ran (its FPS under emulation means nothing)"
    else
        record "$tag bench" FAIL "exit $rc, no JSON report"; show_tail "$out-bench.err"
    fi

    rc=0; in_root "$cpu" pi 900 '~/fer-env/bin/fer-edge bench --classify-only --frames 20 --warmup 2' \
        >"$out-classify.out" 2>&1 || rc=$?
    if [ $rc = 0 ]; then
        record "$tag classify-only" PASS "every shipped model loaded and ran"
    else
        record "$tag classify-only" FAIL "exit $rc"; show_tail "$out-classify.out"
    fi

    rc=0; in_root "$cpu" pi 300 '~/fer-env/bin/fer-edge run --source fer-edge/samples/astronaut.jpg --display' \
        >/dev/null 2>"$out-display.err" || rc=$?
    check_error_line "$tag window, no display" "$out-display.err" $rc "headless"

    rc=0; in_root "$cpu" pi 300 '~/fer-env/bin/fer-edge run --camera picam --headless --jsonl -' \
        >/dev/null 2>"$out-picam.err" || rc=$?
    check_error_line "$tag picam, no picamera2" "$out-picam.err" $rc "python3-picamera2"
}

gui_opencv_check() {  # a GUI OpenCV in the venv on an OS without GUI libraries: one line, not a traceback
    local tag="$1/$2" cpu=$2 rc out=$LOG/$1-$2
    use_cpu "$cpu"
    say "-- $tag: opencv-python (GUI build) put into the lite venv"
    rc=0; in_root "$cpu" pi 1200 '~/fer-env/bin/pip install -q opencv-python' >"$out-gui-pip.log" 2>&1 || rc=$?
    if [ $rc != 0 ]; then record "$tag GUI OpenCV" FAIL "pip install opencv-python: exit $rc"; show_tail "$out-gui-pip.log"; return; fi
    rc=0; in_root "$cpu" pi 300 '~/fer-env/bin/fer-edge run --source fer-edge/samples/astronaut.jpg --headless --jsonl -' \
        >/dev/null 2>"$out-gui.err" || rc=$?
    check_error_line "$tag GUI OpenCV" "$out-gui.err" $rc "sudo apt install"
}

picam_checks() {  # the OS's numpy (and picamera2 where the archive has it), then the README's Pi install
    local release=$1 tag="$1/picam" cpu rc extra probe standin
    extra=$(pi_pip_extra "$release")
    cpu=${CPUS%% *}
    use_cpu "$cpu"
    if in_root "$cpu" root 300 'apt-cache policy python3-picamera2 | grep -q "Candidate: [0-9]"'; then
        standin=python3-picamera2; probe='from picamera2 import Picamera2'
    else
        standin=python3-pywt; probe='import pywt'  # Cython, built against the OS numpy like simplejpeg
    fi
    say "-- $tag: apt install python3-numpy $standin, venv --system-site-packages, pip install fer-edge $extra"
    rc=0; in_root "$cpu" root 1800 "apt-get install -y -q --no-install-recommends python3-numpy $standin" \
        >"$LOG/$release-picam-apt.log" 2>&1 || rc=$?
    if [ $rc != 0 ]; then record "$tag apt" FAIL "exit $rc"; show_tail "$LOG/$release-picam-apt.log"; return; fi
    rc=0; in_root "$cpu" pi 1800 "python3 -m venv --system-site-packages ~/fer-env-picam && ~/fer-env-picam/bin/pip install ~/fer-edge $extra" \
        >"$LOG/$release-picam-pip.log" 2>&1 || rc=$?
    if [ $rc != 0 ]; then record "$tag install" FAIL "exit $rc"; show_tail "$LOG/$release-picam-pip.log"; return; fi
    local os_numpy venv_numpy
    os_numpy=$(in_root "$cpu" pi 300 '/usr/bin/python3 -c "import numpy; print(numpy.__version__)"')
    venv_numpy=$(in_root "$cpu" pi 300 '~/fer-env-picam/bin/python -c "import numpy; print(numpy.__version__, numpy.__file__)"')
    if [[ $venv_numpy == *" /usr/lib/python3/dist-packages/"* ]]; then
        record "$tag numpy" PASS "the venv uses the OS's numpy $os_numpy; pip chose $(in_root "$cpu" pi 300 \
            '~/fer-env-picam/bin/pip list 2>/dev/null' | awk '/^(opencv|ai-edge-litert|ml.dtypes)/{printf "%s%s %s", sep, $1, $2; sep=", "}')"
    else
        record "$tag numpy" FAIL "OS numpy $os_numpy, but the venv has numpy ${venv_numpy%% *} from pip"
    fi
    rc=0; in_root "$cpu" pi 300 "~/fer-env-picam/bin/python -c '$probe'" >"$LOG/$release-picam-import.err" 2>&1 || rc=$?
    if [ $rc = 0 ]; then
        record "$tag import" PASS "$standin imports in the venv ('$probe')"
    else
        record "$tag import" FAIL "$standin does not import in the venv: $(tail -1 "$LOG/$release-picam-import.err")"
    fi
    for cpu in $CPUS; do
        use_cpu "$cpu"
        local out=$LOG/$release-picam-$cpu
        rc=0; in_root "$cpu" pi 600 '~/fer-env-picam/bin/fer-edge run --source fer-edge/samples/astronaut.jpg --headless --jsonl -' \
            >"$out-demo.jsonl" 2>"$out-demo.err" || rc=$?
        check_demo "$release/$cpu picam demo" "$out-demo.jsonl" "$out-demo.err" $rc
    done
}

# ---- one release --------------------------------------------------------------------------------------
run_release() {
    local release=$1 dir=$CACHE/$1 rc
    if ! ensure_root "$release"; then
        record "$release root" FAIL "could not build the arm64 root from $MIRROR"
        return
    fi
    local run=$dir/run
    rm -rf "$run"
    mkdir -p "$run/upper" "$run/work" "$run/merged" "$CACHE/pip-cache/$release"
    MERGED=$run/merged
    # a fresh writable OS on top of the cached one: the cache never changes
    track_mount "$MERGED" -t overlay overlay -o "lowerdir=$dir/root,upperdir=$run/upper,workdir=$run/work"
    mount_system "$MERGED"
    chroot "$MERGED" useradd -m -u $PI_UID -s /bin/bash pi
    mkdir -p "$MERGED/home/pi/.cache/pip"
    chown -R $PI_UID:$PI_UID "$CACHE/pip-cache/$release" "$MERGED/home/pi/.cache"
    track_mount "$MERGED/home/pi/.cache/pip" --bind "$CACHE/pip-cache/$release"
    # the working tree: tracked and untracked files that git does not ignore, as they are on disk now
    mkdir -p "$MERGED/home/pi/fer-edge"
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
        | python3 -c 'import os,sys; sys.stdout.write("".join(p+"\0" for p in sys.stdin.read().split("\0") if p and os.path.isfile(p)))' \
        | tar -c --null -T - -f -) | tar -x -f - -C "$MERGED/home/pi/fer-edge"
    chown -R $PI_UID:$PI_UID "$MERGED/home/pi"

    local cpu0=${CPUS%% *} pyver
    use_cpu "$cpu0"
    pyver=$(in_root "$cpu0" pi 120 'python3 -c "import platform; print(platform.python_version(), platform.machine())"')
    say "== $release: Python $pyver; fer-edge $(cd "$REPO" && git rev-parse --short HEAD) + working tree"

    rc=0; in_root "$cpu0" pi 1800 'python3 -m venv --system-site-packages ~/fer-env && ~/fer-env/bin/pip install ~/fer-edge' \
        >"$LOG/$release-lite-pip.log" 2>&1 || rc=$?
    if [ $rc != 0 ]; then
        record "$release lite install" FAIL "pip install exit $rc"; show_tail "$LOG/$release-lite-pip.log" 12
    else
        record "$release lite install" PASS "$(grep '^Successfully installed' "$LOG/$release-lite-pip.log" \
            | tr ' ' '\n' | grep -E '^(numpy|opencv|ai-edge-litert)-' | tr '\n' ' ')"
        # a short video for run and bench: the sample photo panned over 12 frames
        rc=0; in_root "$cpu0" pi 300 '~/fer-env/bin/python - <<"EOF"
import cv2, numpy as np
img = cv2.imread("fer-edge/samples/astronaut.jpg")
h, w = img.shape[:2]
out = cv2.VideoWriter("/home/pi/clip.mp4", cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
assert out.isOpened(), "no video writer"
for i in range(12):
    out.write(cv2.warpAffine(img, np.float32([[1, 0, 3 * i], [0, 1, 2 * i]]), (w, h)))
out.release()
EOF' >"$LOG/$release-clip.log" 2>&1 || rc=$?
        [ $rc = 0 ] || { say "   could not write the clip:"; show_tail "$LOG/$release-clip.log"; }
        local cpu
        for cpu in $CPUS; do lite_checks "$release" "$cpu"; done
        VENV_SIZES+=("$release ~/fer-env (lite, as installed): $(du -sh "$MERGED/home/pi/fer-env" | cut -f1)")
        if [ $GUI_CHECK = 1 ]; then gui_opencv_check "$release" "$cpu0"; fi
    fi
    if [ $PICAM_CHECK = 1 ]; then
        picam_checks "$release"
        [ -d "$MERGED/home/pi/fer-env-picam" ] && \
            VENV_SIZES+=("$release ~/fer-env-picam (OS numpy): $(du -sh "$MERGED/home/pi/fer-env-picam" | cut -f1)")
    fi
    unmount_below "$MERGED"
    rm -rf "$run"
}

VENV_SIZES=()
LOG=$(mktemp -d /tmp/fer-edge-pi-log.XXXXXX)
say "fer-edge on emulated Raspberry Pi CPUs: releases [$RELEASES], CPUs [$CPUS]; logs in $LOG"
for release in $RELEASES; do
    run_release "$release"
done

echo
echo "fer-edge $(cd "$REPO" && git rev-parse --short HEAD) + working tree on emulated Raspberry Pi CPUs ($(qemu-aarch64-static --version 2>/dev/null | head -1 | sed 's/ (.*//'); not timed: emulation says nothing about speed)"
for line in "${RESULTS[@]}"; do echo "  $line"; done
for line in "${VENV_SIZES[@]}"; do echo "  size: $line"; done
if [ $FAILED = 0 ]; then echo "all checks passed"; else echo "SOME CHECKS FAILED (logs in $LOG)"; fi
exit $FAILED
