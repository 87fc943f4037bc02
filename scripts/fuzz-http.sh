#!/bin/sh
# Builds the HTTP request parser with libFuzzer and AddressSanitizer and fuzzes it.
# Usage: scripts/fuzz-http.sh [RUNS]   (default 1000000; CI passes fewer)
# New inputs go to a temporary corpus directory; a crash leaves crash-* in .build/fuzz.
set -eu
runs=${1:-1000000}
repository=$(cd "$(dirname "$0")/.." && pwd)
out="$repository/.build/fuzz"
mkdir -p "$out"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name HTTPParserFuzz \
    "$repository/Sources/SwiftdAPI/HTTPParser.swift" \
    "$repository/Sources/SwiftdAPI/HTTPMessage.swift" \
    "$repository/Fuzz/HTTPParserFuzz.swift" \
    -o "$out/http-parser" > "$out/build.log" 2>&1 || {
    grep -v "ld.gold: warning: Cannot export local symbol" "$out/build.log" >&2
    exit 1
}
corpus=$(mktemp -d /tmp/swiftd-fuzz-XXXXXX)
trap 'rm -rf "$corpus"' EXIT
cd "$out"
./http-parser -runs="$runs" -max_len=4096 -print_final_stats=1 "$corpus" "$repository/Fuzz/corpus/http"
