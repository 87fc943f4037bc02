#!/bin/bash
# Builds swiftd_<version>_<arch>.deb from a release binary, reproducibly: the same commit and
# binary give the same bytes (SOURCE_DATE_EPOCH from the last commit, fixed modes, root
# ownership, sorted members, gzip -n, xz with fixed settings).
#
# Usage: scripts/deb.sh BINARY OUTDIR
#   BINARY is a release build linked with --static-swift-stdlib, so that the package depends
#   only on Debian's libraries.
set -euo pipefail
umask 022

binary=$1
outdir=$2
repository=$(cd "$(dirname "$0")/.." && pwd)
packaging=$repository/packaging

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repository" log -1 --format=%ct)}
export LC_ALL=C TZ=UTC
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
version=$("$binary" --version | awk '{ print $NF }')
arch=$(dpkg --print-architecture)
deb="$outdir/swiftd_${version}_${arch}.deb"

# A link to the toolchain's libswiftCore would make the package depend on files no Debian
# package has.
if ldd "$binary" | grep -q 'libswift\|libFoundation\|libdispatch'; then
    echo "deb: $binary links the Swift runtime dynamically; build with --static-swift-stdlib" >&2
    exit 1
fi

work=$(mktemp -d /tmp/swiftd-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/swiftd
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/libexec/swiftd" "$root/lib/systemd/system" "$root/etc/swiftd" \
    "$doc" "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions"

install -m 0755 "$binary" "$root/usr/bin/swiftd"
# The per-container monitor is built next to swiftd; the daemon looks for it in /usr/libexec/swiftd.
install -m 0755 "$(dirname "$binary")/swiftd-monitor" "$root/usr/libexec/swiftd/swiftd-monitor"
# Debug sections carry build paths; the package ships without them.
for program in "$root/usr/bin/swiftd" "$root/usr/libexec/swiftd/swiftd-monitor"; do
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$program"
done
install -m 0644 "$packaging/swiftd.service" "$packaging/swiftd.socket" "$root/lib/systemd/system/"
install -m 0644 "$packaging/daemon.json" "$root/etc/swiftd/daemon.json"
install -m 0644 "$packaging/copyright" "$doc/copyright"
mkdir -p "$root/usr/share/lintian/overrides"
install -m 0644 "$packaging/lintian-overrides" "$root/usr/share/lintian/overrides/swiftd"
gzip -9n <"$packaging/changelog" >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

"$repository/scripts/deb-docs.sh" "$root/usr/bin/swiftd" "$work" "$date"
gzip -9n <"$work/swiftd.1" >"$root/usr/share/man/man1/swiftd.1.gz"
install -m 0644 "$work/swiftd.bash-completion" \
    "$root/usr/share/bash-completion/completions/swiftd"

for script in postinst prerm postrm; do
    install -m 0755 "$packaging/$script" "$root/DEBIAN/$script"
done
echo /etc/swiftd/daemon.json >"$root/DEBIAN/conffiles"

# Depends: exactly the shared libraries the binary links, as dpkg-shlibdeps finds them (the
# monitor is static).
mkdir -p "$work/src/debian"
printf 'Source: swiftd\n\nPackage: swiftd\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/bin/swiftd" \
    | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
# The libraries that swiftd loads with dlopen on first use (the SWD_DEFINE_LIBRARY lines in
# CModules) are not in its dynamic section, so dpkg-shlibdeps does not see them. Their packages
# come from the shlibs files of the installed libraries, the same files dpkg-shlibdeps reads.
for soname in libarchive.so.13 libcrypto.so.3 libssl.so.3 libsystemd.so.0; do
    dependency=$(awk -v name="${soname%.so.*}" -v major="${soname##*.so.}" \
        '$1 == name && $2 == major { $1 = $2 = ""; print; exit }' /var/lib/dpkg/info/*.shlibs)
    [ -n "$dependency" ] || { echo "deb: no shlibs entry for $soname" >&2; exit 1; }
    shlibs="$shlibs,${dependency#  }"
done
shlibs=$(printf '%s\n' "$shlibs" | tr ',' '\n' | sed 's/^ *//' | sort -u | paste -sd, | sed 's/,/, /g')

installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SHLIBS@/$shlibs/" \
    -e "s/@INSTALLED_SIZE@/$installed_size/" "$packaging/control.in" >"$root/DEBIAN/control"

(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z \
    | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +
find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$outdir"
dpkg-deb --root-owner-group -Zxz -z9 -Sextreme --build "$root" "$deb" >/dev/null
echo "$deb"
