#!/usr/bin/env bash
# Flat cost with size (issue 16, item 4): the same requests against wikis of 100, 10 000 and
# 100 000 pages through a real `quire serve` (release), one client, a new connection per request;
# p50 and p99 of each, the ratio of 100 000 pages to 100, and the server's RSS after each run.
#
# The wikis are built once into /tmp/scale-N straight through storage (app/benches/scale.rs:
# about ten revisions a page, one page with N revisions, one with 10 000 backlinks; the 100 000
# one holds about a million revisions and takes a few minutes), then indexed by `quire reindex`.
# Remove /tmp/scale-* to build them again; each run indexes them again with the binary measured.
# Output: /tmp/scale-results/{100,10k,100k}.tsv and a
# Markdown table on stdout.
#
# Usage: scripts/bench-scale.sh [RUNS]     # RUNS per request, default 100 (at most 30 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
target=${CARGO_TARGET_DIR:-$PWD/target}

# Both in the release profile (the bench profile would build every crate once more).
scale=$(nice -n 10 cargo build --release --quiet -p app --bin quire --bench scale --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*\/scale-[^"]*\)".*/\1/p' | tail -1)
quire=$target/release/quire
bench() { nice -n 10 "$scale" "$@"; }

out=/tmp/scale-results
mkdir -p "$out"
for pages in 100 10000 100000; do
    dir=/tmp/scale-$pages
    if [ ! -f "$dir/wiki.sqlite3" ]; then
        rm -rf "$dir"
        bench build "$dir" "$pages"
    fi
    # Indexed by the binary measured: an index another build wrote may have other fields, and a
    # server would rebuild it in the background while it is being measured. Seconds at 100 000.
    nice -n 10 "$quire" --data "$dir" reindex --quiet
done

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load average/load average/')"
for pages in 100 10000 100000; do
    label=$pages
    [ "$pages" = 10000 ] && label=10k
    [ "$pages" = 100000 ] && label=100k
    bench measure "/tmp/scale-$pages" "$quire" "$runs" > "$out/$label.tsv"
done
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load average/load average/')"
bench table "$out/100.tsv" "$out/10k.tsv" "$out/100k.tsv"
