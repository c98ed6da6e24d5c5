#!/bin/sh
# tests/fuzz/run.sh [SECONDS] — fuzz the line-protocol parser for SECONDS (default 60).
#
# Builds build/fuzz/fuzz_lineproto with libFuzzer + ASan + UBSan, runs it over a scratch
# copy of tests/fuzz/corpus (build/fuzz/corpus, so the checked-in seeds stay small), and
# exits non-zero if it finds a crash, leak or broken invariant; the reproducer is left in
# build/fuzz/ (replay it with: build/fuzz/fuzz_lineproto build/fuzz/crash-...).
set -eu

secs=${1:-60}
cd "$(dirname "$0")/../.."
out=build/fuzz
mkdir -p "$out"

clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I. -D_GNU_SOURCE -Wall -Wextra \
    tests/fuzz/fuzz_lineproto.c relay/ingest/lineproto.c relay/core/buf.c -lm \
    -o "$out/fuzz_lineproto"

rm -rf "$out/corpus"
cp -R tests/fuzz/corpus "$out/corpus"

if "$out/fuzz_lineproto" -max_total_time="$secs" -max_len=4096 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" 2>"$out/fuzz.log"; then
    tail -n 12 "$out/fuzz.log"
    echo "fuzz: no crash in ${secs}s"
else
    rc=$?
    tail -n 60 "$out/fuzz.log"
    echo "fuzz: FAILED (exit $rc), reproducer in $out/ (crash-*, leak-*, timeout-*)" >&2
    exit 1
fi
