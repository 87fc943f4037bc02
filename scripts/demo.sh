#!/bin/sh
# The main job, end to end: starts a daemon on a temporary root, imports a busybox image, runs
# a container on the bridge network that prints its hostname, its eth0 address and a ping of
# the bridge gateway, and stops the daemon.
# Usage: demo.sh PATH/TO/swiftd
set -eu
swiftd=${1:?usage: demo.sh PATH/TO/swiftd}
work=$(mktemp -d /tmp/swiftd-demo.XXXXXX)
socket="unix://$work/swiftd.sock"
pid=
stop_daemon() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    rm -rf "$work"
}
trap stop_daemon EXIT

"$swiftd" -d -H "$socket" -g "$work/root" -p "$work/swiftd.pid" --exec-root "$work/run" \
    >"$work/daemon.log" 2>&1 &
pid=$!
tries=0
until "$swiftd" -H "$socket" version >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "demo.sh: the daemon did not start; its log:" >&2
        cat "$work/daemon.log" >&2
        exit 1
    fi
    sleep 0.1
done

scripts/busybox-image.sh "$work/busybox.tar"
echo "+ swiftd import busybox.tar busybox"
"$swiftd" -H "$socket" import "$work/busybox.tar" busybox
echo "+ swiftd run --rm busybox sh -c 'hostname; ip -4 addr show eth0; ping -c 1 GATEWAY'"
"$swiftd" -H "$socket" run --rm busybox sh -c '
    echo "hostname: $(hostname)"
    ip -4 -o addr show eth0 | awk "{print \"eth0: \" \$4}"
    gateway=$(ip route | awk "/^default/ {print \$3}")
    ping -c 1 -W 2 "$gateway"
'
