#!/bin/bash
# Prints the path of a cached Debian 12 root for the package test, making it first if needed.
#
# The root is made once with debootstrap from deb.debian.org and kept under
# $SWIFTD_TEST_CACHE (default /var/cache/swiftd-test), keyed by the package list, so later runs
# only copy it. It contains systemd (booted by systemd-nspawn as PID 1), the shared libraries that
# swiftd's package depends on (the test boots with no network, so apt cannot fetch them), and
# busybox-static for a test image.
set -euo pipefail

cache=${SWIFTD_TEST_CACHE:-/var/cache/swiftd-test}
mirror=${SWIFTD_TEST_MIRROR:-http://deb.debian.org/debian}
# The runtime libraries must cover the Depends line that dpkg-shlibdeps writes for the binary
# of scripts/deb.sh, which links libstdc++ and the C libraries below but no Swift library.
packages=(
    systemd systemd-sysv dbus
    libnl-3-200 libnl-route-3-200 libip4tc2 libsystemd0 libcap2 libseccomp2 libarchive13
    libssl3 libstdc++6 libgcc-s1 zlib1g
    busybox-static
)
include=$(IFS=,; echo "${packages[*]}")
key=$(printf '%s\n' bookworm "$mirror" "$include" | sha256sum | cut -c1-12)
root="$cache/bookworm-$key"

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ ! -e "$root/.complete" ]; then
    for tool in debootstrap systemd-nspawn; do
        command -v "$tool" >/dev/null || { echo "test-package: $tool is missing" >&2; exit 1; }
    done
    partial="$root.partial"
    rm -rf "$partial"
    echo "test-package: debootstrap bookworm into $root (one time)" >&2
    start=$(date +%s)
    debootstrap --variant=minbase --include="$include" bookworm "$partial" "$mirror" \
        >"$cache/debootstrap-$key.log" 2>&1 || {
        tail -20 "$cache/debootstrap-$key.log" >&2
        echo "test-package: debootstrap failed; log in $cache/debootstrap-$key.log" >&2
        rm -rf "$partial"
        exit 1
    }
    # Downloaded archives are not needed again and only make every copy slower.
    rm -rf "$partial"/var/cache/apt/archives/*.deb
    echo "test-package: debootstrap took $(($(date +%s) - start)) s" >&2
    touch "$partial/.complete"
    mv "$partial" "$root"
fi
echo "$root"
