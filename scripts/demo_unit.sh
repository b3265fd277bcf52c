#!/usr/bin/env bash
# `make demo-unit`: a NICU unit on this machine. A Mosquitto broker on a free loopback
# port, three bedside monitors replaying the demo video (headless, so three windows do not
# pile up; each starts again when the video ends, 10 s apart so they are not in step) and
# the central station window. One Ctrl+C (or closing the central window) stops them all
# and removes the broker's temporary folder.
#
#   BROKER=mqtt://HOST:PORT  use a running broker instead of starting mosquitto
#   HEADLESS=1               the central station prints one line per bed change (no window)
#   BEDS=3                   number of bedside monitors
set -euo pipefail

BIN=${BIN:-.venv/bin}
BEDS=${BEDS:-3}
UNIT=demo
VIDEO=assets/demo_grimace.mp4
WORK=$(mktemp -d "${TMPDIR:-/tmp}/painsign-demo-unit.XXXXXX")
PIDS=()

cleanup() {
    trap - EXIT INT TERM
    echo "stopping the demo unit ..."
    for pid in "${PIDS[@]}"; do
        pkill -TERM -P "$pid" 2>/dev/null || true  # the monitor a bedside loop runs
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${BROKER:-}" ]; then
    MOSQUITTO=$(command -v mosquitto || true)
    [ -z "$MOSQUITTO" ] && [ -x /usr/sbin/mosquitto ] && MOSQUITTO=/usr/sbin/mosquitto
    if [ -z "$MOSQUITTO" ]; then
        echo "mosquitto is not installed: 'sudo apt-get install mosquitto' (Debian, Ubuntu)," >&2
        echo "or point the demo at a running broker: BROKER=mqtt://HOST:PORT make demo-unit" >&2
        exit 1
    fi
    PORT=$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$WORK/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $WORK/
user $(id -un)
log_dest file $WORK/mosquitto.log
EOF
    "$MOSQUITTO" -c "$WORK/mosquitto.conf" &
    PIDS+=($!)
    BROKER=mqtt://127.0.0.1:$PORT
    for _ in $(seq 50); do
        "$BIN/python" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" \
            2>/dev/null && break
        sleep 0.1
    done
    echo "mosquitto on 127.0.0.1:$PORT (anonymous, loopback only; log in $WORK)"
fi

for n in $(seq "$BEDS"); do
    (
        sleep $(( (n - 1) * 10 ))
        while true; do
            "$BIN/painsign" monitor --video "$VIDEO" --demo --headless --no-record \
                --publish "$BROKER" --unit "$UNIT" --bed "bed $n" >>"$WORK/bed-$n.log" 2>&1 || true
            sleep 1
        done
    ) &
    PIDS+=($!)
done
echo "$BEDS bedside monitors replay $VIDEO to $BROKER as $UNIT/bed 1..$BEDS (headless, logs in $WORK)"
echo "press Ctrl+C (or close the central window) to stop everything"

CENTRAL=(--broker "$BROKER" --unit "$UNIT")
[ -n "${HEADLESS:-}" ] && CENTRAL+=(--headless)
# In the background so that a signal to this script also reaches the trap at once.
"$BIN/painsign" central "${CENTRAL[@]}" &
PIDS+=($!)
wait "$!"
