#!/bin/bash
# Tests the package under a real systemd. Boots a copy of a cached Debian 12 root with
# systemd-nspawn (systemd as PID 1, private network) and installs the .deb inside. Then checks
# the socket, socket activation, a container, journald priorities, reload, restart and purge.
# Everything it starts is stopped by pid, and its copy is removed, also when a step fails.
#
# Usage: scripts/test-package.sh DEB
#
# The nested setup needs root on the host, the kernel's overlayfs and the legacy ip_tables
# tables. systemd inside runs on the legacy cgroup v1 layout
# (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0), because the host's PID 1 is not systemd and gives
# nspawn no delegated unified hierarchy. Two adaptations to nspawn's confinement: the v1
# controllers, which nspawn mounts read-only, are remounted writable inside the machine for the
# daemon's container cgroups; and LimitNOFILE is lowered to the host's hard limit by a drop-in,
# because nspawn drops CAP_SYS_RESOURCE. overlayfs, bridges, veths and iptables work inside
# as they are.
set -euo pipefail

deb=$(readlink -f "${1:?usage: test-package.sh DEB}")
repository=$(cd "$(dirname "$0")/.." && pwd)
started=$(date +%s)

if [ "$(id -u)" != 0 ]; then
    echo "test-package: SKIP: needs root to boot a machine with systemd-nspawn" >&2
    exit 0
fi
for tool in systemd-nspawn nsenter; do
    command -v "$tool" >/dev/null || { echo "test-package: $tool is missing" >&2; exit 1; }
done

cached=$("$repository/scripts/test-package-root.sh")
machine="swiftd-pkg-$$-$RANDOM"
work=$(mktemp -d "/var/tmp/$machine.XXXXXX")
root=$work/root
nspawn_pid=""
cgroups=()

teardown() {
    local status=$?
    set +e
    if [ "$status" != 0 ] && [ -n "${SWIFTD_TEST_KEEP:-}" ]; then
        # For debugging, the machine stays up. Stop it with kill -TERM on nspawn's pid.
        echo "test-package: kept $machine: nspawn pid $nspawn_pid, leader $leader, $work" >&2
        return
    fi

    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        # SIGTERM makes nspawn ask the machine's systemd to power off. SIGKILL follows after 30 s.
        kill -TERM "$nspawn_pid"
        for _ in $(seq 300); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$nspawn_pid" 2>/dev/null; then
            echo "test-package: the machine did not power off in 30 s, so it is killed" >&2
            kill -KILL "$nspawn_pid"
        fi
        wait "$nspawn_pid" 2>/dev/null
    fi

    # The machine's cgroups, deepest first, once its processes are gone.
    for dir in "${cgroups[@]}"; do
        for _ in $(seq 50); do
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$dir" ] || break
            sleep 0.1
        done
        [ -d "$dir" ] && echo "test-package: could not remove the cgroup $dir" >&2
    done

    # Whatever the machine left mounted below the copy, deepest first.
    awk -v dir="$work" 'index($2, dir "/") == 1 { print $2 }' /proc/self/mounts | sort -r \
        | while read -r point; do umount --lazy "$point"; done
    rm -rf "$work"

    if [ "$status" = 0 ]; then
        echo "test-package: PASS in $(($(date +%s) - started)) s"
    else
        echo "test-package: FAIL (exit $status) after $(($(date +%s) - started)) s" >&2
        [ -f "$work.log" ] && tail -40 "$work.log" >&2
    fi
    rm -f "$work.log"
}
trap teardown EXIT

step() { echo "== $*"; }
leader=""
fail() {
    echo "test-package: FAIL: $*" >&2
    if [ -n "$leader" ]; then
        inside systemctl status --no-pager --lines=0 swiftd.socket swiftd.service >&2 || true
        inside journalctl --no-pager -n 40 -o short-monotonic -u swiftd -u swiftd.socket >&2 || true
    fi
    exit 1
}

step "copy the cached root $cached"
cp -a --reflink=auto "$cached" "$root"
cp "$deb" "$root/root/"
cp "$repository/scripts/busybox-image.sh" "$root/root/"
echo "$machine" >"$root/etc/hostname"

# The machine gets a cgroup of its own in every v1 controller, which nspawn makes the root of
# the machine's cgroup namespace. Without it, controllers where this process sits at the root
# would show the machine the host's whole hierarchy, and the daemon inside (whose pids are
# namespaced) would take other daemons' swiftd-<pid> cgroups for stale ones.
for controller in memory cpu cpuacct cpu,cpuacct cpuset pids freezer devices blkio; do
    mount=/sys/fs/cgroup/$controller
    [ -f "$mount/cgroup.procs" ] && [ ! -L "$mount" ] || continue
    own=$(awk -F: -v c="$controller" '$2 == c { print $3 }' /proc/self/cgroup)
    [ -n "$own" ] || continue
    dir=$mount${own%/}/$machine
    mkdir "$dir"
    cgroups+=("$dir")
    if [ "$controller" = cpuset ]; then
        cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus"
        cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems"
    fi
done

step "boot $machine with systemd-nspawn"
(
    for dir in "${cgroups[@]}"; do echo "$BASHPID" >"$dir/cgroup.procs"; done
    exec env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0 systemd-nspawn --quiet --register=no \
        --keep-unit --machine="$machine" --directory="$root" --private-network \
        --console=read-only --boot
) >"$work.log" 2>&1 </dev/null &
nspawn_pid=$!

# The machine's PID 1 is nspawn's child; commands run inside through nsenter.
for _ in $(seq 200); do
    leader=$(cat "/proc/$nspawn_pid/task/$nspawn_pid/children" 2>/dev/null | awk '{ print $1 }')
    [ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] && break
    kill -0 "$nspawn_pid" 2>/dev/null || fail "systemd-nspawn exited at boot"
    sleep 0.1
done
[ -n "$leader" ] || fail "no systemd inside the machine after 20 s"
inside() {
    nsenter --target "$leader" --all -- /usr/bin/env -i \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}
# Until the system bus is up systemctl cannot answer at all, so poll instead of --wait.
state=""
for _ in $(seq 600); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 0.1
done
case $state in
    running | degraded) ;;
    *) fail "the machine's systemd is \"$state\" after 60 s, not running" ;;
esac
[ "$state" = running ] || inside systemctl --failed --no-legend >&2 || true
echo "systemd is $state inside $machine"

# nspawn mounts the cgroup v1 controllers read-only inside the machine (in the machine's own
# cgroup namespace); the daemon nests its container cgroups in them, so they become writable.
for controller in memory cpu cpuacct cpu,cpuacct cpuset pids freezer devices blkio; do
    if inside test -d "/sys/fs/cgroup/$controller"; then
        inside mount -o remount,bind,rw "/sys/fs/cgroup/$controller"
    fi
done
# Without CAP_SYS_RESOURCE (nspawn drops it) systemd cannot raise the hard limit of open
# files above the host's; the unit asks for 1048576, so the machine gets the host's limit.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 1048576 ]; then
    inside mkdir -p /etc/systemd/system/swiftd.service.d
    printf '[Service]\nLimitNOFILE=%s\n' "$hard" \
        | inside tee /etc/systemd/system/swiftd.service.d/test-limits.conf >/dev/null
    echo "LimitNOFILE lowered to the host's hard limit, $hard, inside the machine"
fi

# README "Install the package": the same commands, in the same order.
step "apt-get install ./$(basename "$deb")"
inside sh -c "cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    ./$(basename "$deb")" || fail "apt-get install failed"
inside getent group swiftd >/dev/null || fail "the swiftd group is missing"
[ "$(inside systemctl is-active swiftd.socket)" = active ] || fail "swiftd.socket is not active"
[ "$(inside systemctl is-enabled swiftd.socket)" = enabled ] || fail "swiftd.socket not enabled"
[ "$(inside stat -c '%a %G' /run/swiftd.sock)" = "660 swiftd" ] \
    || fail "/run/swiftd.sock is not mode 660, group swiftd"

step "socket activation: stop the service, then a client call starts it"
inside systemctl stop swiftd.service
[ "$(inside systemctl is-active swiftd.service)" != active ] || fail "swiftd.service still active"
[ "$(inside systemctl is-active swiftd.socket)" = active ] || fail "the socket stopped too"
inside swiftd version | grep -q 'Server' || fail "swiftd version through the socket failed"
[ "$(inside systemctl is-active swiftd.service)" = active ] || fail "the socket did not start it"

step "systemctl start swiftd"
inside systemctl start swiftd
[ "$(inside systemctl is-active swiftd)" = active ] || fail "swiftd is not active"

step "import busybox and run a container through the socket"
inside sh /root/busybox-image.sh /root/busybox.tar
inside swiftd import /root/busybox.tar busybox >/dev/null
output=$(inside swiftd run --rm busybox sh -c 'echo hello from $(hostname); ip -4 addr show eth0')
echo "$output"
echo "$output" | grep -q '^hello from ' || fail "the container printed no greeting"
echo "$output" | grep -q 'inet 172\.' || fail "the container has no address on the bridge"

step "systemctl reload swiftd with an invalid file: an error that journalctl -p err shows"
pid=$(inside systemctl show -P MainPID swiftd)
echo '{"log-level": "loud"}' | inside tee /etc/swiftd/daemon.json >/dev/null
inside systemctl reload swiftd
wait_for_journal() {
    for _ in $(seq 100); do
        inside journalctl -u swiftd --no-pager -o cat | grep -q "$1" && return 0
        sleep 0.1
    done
    fail "no \"$1\" in the journal of swiftd"
}
wait_for_journal 'reloading the configuration failed'
errors=$(inside journalctl -u swiftd -p err --no-pager -o cat)
echo "$errors"
echo "$errors" | grep -q 'invalid --log-level loud' || fail "the reload error is not at err"
if echo "$errors" | grep -q 'daemon ready'; then fail "info lines pass the err filter"; fi
inside journalctl -u swiftd -p info --no-pager -o cat | grep -q 'daemon ready' \
    || fail "the start-up line is not in the journal"

step "systemctl reload swiftd: SIGHUP applies the log level"
echo '{"log-level": "debug", "live-restore": true}' | inside tee /etc/swiftd/daemon.json >/dev/null
inside systemctl reload swiftd
wait_for_journal 'configuration reloaded.*log-level=debug'
[ "$(inside systemctl show -P MainPID swiftd)" = "$pid" ] || fail "reload restarted the daemon"
inside swiftd version >/dev/null || fail "the daemon stopped serving after reload"
# "container started" is a debug line: absent from the first run, present after the reload.
if inside journalctl -u swiftd --no-pager -o cat | grep -q 'container started'; then
    fail "a debug line was logged at the info level"
fi
inside swiftd run --rm busybox true
# journald may store the line a moment after the client returns.
wait_for_journal 'container started'
inside journalctl -u swiftd -p debug --no-pager -o cat | grep -q 'container started' \
    || fail "no debug line after the reload to debug"

step "systemctl restart swiftd with a container running"
inside swiftd run -d --name keeper busybox sh -c 'while true; do echo tick; sleep 0.2; done' >/dev/null
keeper_pid=$(inside swiftd inspect -f '{{.State.Pid}}' keeper)
inside systemctl restart swiftd
[ "$(inside systemctl is-active swiftd)" = active ] || fail "swiftd is not active after restart"
[ "$(inside systemctl show -P MainPID swiftd)" != "$pid" ] || fail "restart kept the old daemon"
# The shipped daemon.json sets live-restore: the container outlives the restart.
[ "$(inside swiftd inspect -f '{{.State.Status}} {{.State.Pid}}' keeper)" = "running $keeper_pid" ] \
    || fail "keeper did not survive the restart: $(inside swiftd ps -a | grep keeper)"
ticks=$(inside swiftd logs keeper | wc -l)
sleep 1
[ "$(inside swiftd logs keeper | wc -l)" -gt "$ticks" ] || fail "keeper's log stopped at the restart"
inside swiftd run --rm busybox true || fail "no container runs after the restart"

step "apt-get purge swiftd leaves nothing behind"
inside sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q swiftd' \
    || fail "apt-get purge failed"
for path in /usr/bin/swiftd /usr/libexec/swiftd /lib/systemd/system/swiftd.service /lib/systemd/system/swiftd.socket \
    /etc/swiftd /var/lib/swiftd /run/swiftd /run/swiftd.sock /run/swiftd.pid \
    /etc/systemd/system/sockets.target.wants/swiftd.socket \
    /etc/systemd/system/multi-user.target.wants/swiftd.service; do
    if inside test -e "$path"; then fail "$path is left after purge"; fi
done
if inside grep -q swiftd /proc/self/mounts; then fail "swiftd mounts are left after purge"; fi
if inside sh -c 'ls -l /proc/[0-9]*/exe 2>/dev/null' | grep -q swiftd; then
    fail "a swiftd process is left after purge"
fi
[ "$(inside systemctl is-active swiftd.socket)" != active ] || fail "the socket is still active"

step "policy-rc.d that forbids starting services: installed and enabled, not started"
printf '#!/bin/sh\nexit 101\n' | inside tee /usr/sbin/policy-rc.d >/dev/null
inside chmod 755 /usr/sbin/policy-rc.d
inside sh -c "cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    ./$(basename "$deb")" >/dev/null || fail "apt-get install with policy-rc.d failed"
[ "$(inside systemctl is-enabled swiftd.socket)" = enabled ] || fail "swiftd.socket not enabled"
[ "$(inside systemctl is-active swiftd.socket)" != active ] || fail "policy-rc.d was not obeyed"
inside rm /usr/sbin/policy-rc.d
inside sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q swiftd' >/dev/null \
    || fail "apt-get purge failed"
