#!/bin/sh
# Builds a busybox root file system from Debian's busybox-static and writes it as a tar archive.
# Usage: busybox-image.sh OUTPUT.tar
set -eu
output=${1:?usage: busybox-image.sh OUTPUT.tar}
busybox=/bin/busybox
if ! "$busybox" --list >/dev/null 2>&1; then
    echo "busybox-image.sh: $busybox is missing: apt-get install busybox-static" >&2
    exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
# Fixed owners and times, so the same busybox gives the same archive and the same diff ID.
tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -C "$root" -cf "$output" .
