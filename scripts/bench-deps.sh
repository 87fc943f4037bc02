#!/bin/sh
# Installs what `make bench` needs from Debian: hyperfine, GNU time and, unless
# BENCH_NO_DOCKER=1, docker.io (dockerd 20.10, containerd, runc) to compare against.
# docker.io's postinst runs invoke-rc.d to start a docker service; without systemd as PID 1
# (and with a policy-rc.d that denies it) none starts. This checks that no dockerd or
# containerd runs after the install and names any that does, without touching it.
set -eu
packages="hyperfine time iptables iproute2"
if [ "${BENCH_NO_DOCKER:-0}" != 1 ]; then
    packages="$packages docker.io"
fi
missing=
for package in $packages; do
    dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "bench-deps.sh: installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
others=$(ps -eo pid=,args= | awk '$2 ~ /(^|\/)(dockerd|containerd)$/ {print}')
if [ -n "$others" ]; then
    echo "bench-deps.sh: a dockerd or containerd that the benchmark did not start runs here;" \
        "it is left alone:" >&2
    echo "$others" >&2
fi
