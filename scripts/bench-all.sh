#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md again, in one run, and its "Latest run" section written anew from
# what they printed: the machine, the date and the commit, then one table per benchmark. Each ratio
# is against a baseline measured in the same run (nginx serving the same page for the gateways,
# python3 printing hello for CGI, the raw page for in-process views, 100 pages for the scale
# benchmark). The sections below "Latest run" are the record of each change, before and after, and
# stay as they were written.
#
# Usage: scripts/bench-all.sh [--quick]
#   --quick   a smaller search corpus (2 000 pages instead of 10 000), 5 runs of each scale request
#             instead of 100, and criterion's short measurement times, to check the pipeline in minutes; its figures are not for
#             the record, and it writes them to target/bench-all/report.md only.
# Needs root for the tools it installs when missing (wrk, nginx, apache2, hyperfine), as the
# benchmarks it runs do. Takes about an hour in full on the project's 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "${1:-}" in
    --quick) quick=1 ;;
    "") ;;
    *) echo "usage: scripts/bench-all.sh [--quick]" >&2; exit 2 ;;
esac

out=target/bench-all
mkdir -p "$out"
report=$out/report.md
criterion_args=()
search_pages=10000
if [ "$quick" = 1 ]; then
    criterion_args=(--warm-up-time 1 --measurement-time 2)
    search_pages=2000
fi

log() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)" >&2; }

# A criterion bench's results (`--output-format bencher`: "test NAME ... bench: N ns/iter (+/- M)") as
# table rows, with each figure's ratio to the row named `$2` (or none when `$2` is empty).
criterion_table() {
    local log_file=$1 baseline=$2
    python3 - "$log_file" "$baseline" <<'EOF'
import re, sys
rows = []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.match(r"test (.+?) \.\.\. bench:\s+([\d,]+) ns/iter \(\+/- ([\d,]+)\)", line)
    if m:
        rows.append((m.group(1), int(m.group(2).replace(",", "")), int(m.group(3).replace(",", ""))))
if not rows:
    sys.exit("no criterion results in " + sys.argv[1])
base = next((ns for name, ns, _ in rows if name.endswith(sys.argv[2])), None) if sys.argv[2] else None
def fmt(ns):
    return f"{ns/1e6:.2f} ms" if ns >= 1e6 else f"{ns/1e3:.1f} µs"
print("| benchmark | time per iteration | ± | ratio |" if base else "| benchmark | time per iteration | ± |")
print("|---|---:|---:|---:|" if base else "|---|---:|---:|")
for name, ns, dev in rows:
    ratio = f" {ns/base:.2f}× |" if base else ""
    print(f"| `{name}` | {fmt(ns)} | {fmt(dev)} |{ratio}")
EOF
}

# Lines of a log that are Markdown table rows.
table_rows() { grep -E '^\|' "$1"; }

# Lines of a log as a fenced block.
fenced() { echo '```'; grep -vE '^\s*$' "$1" | grep -E "$2" || true; echo '```'; }

{
    echo "Measured by \`scripts/bench-all.sh\`$([ "$quick" = 1 ] && echo ' --quick (not for the record)')."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' with changes')"
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
} > "$report"

cargo build --release --quiet -p app --bin quire
quire=$PWD/target/release/quire

log "page views through real servers"
cargo test -p e2e --release -- --ignored bench_gateways --nocapture --test-threads=1 \
    > "$out/gateways.log" 2>&1 || { tail -40 "$out/gateways.log"; exit 1; }
{
    echo "### Page views through real servers"
    echo
    echo "\`cargo test -p e2e --release -- --ignored bench_gateways --nocapture --test-threads=1\`: wrk over"
    echo "loopback, one 10 KB page; the ratio is to nginx serving the same bytes as a file (one worker per core)."
    echo
    table_rows "$out/gateways.log"
    echo
} >> "$report"

log "CGI at 100 and 100 000 pages"
rm -f "$out"/cgi-*.json
EXPORT_DIR=$out scripts/bench-scale-cgi.sh > "$out/cgi.log" 2>&1 || { tail -40 "$out/cgi.log"; exit 1; }
{
    echo "### CGI against python3, at 100 and 100 000 pages"
    echo
    echo "\`scripts/bench-scale-cgi.sh\`: hyperfine, the bare binary run as a CGI process; python3 printing hello"
    echo "is the baseline of each run."
    echo
    python3 - "$out"/cgi-*.json <<'EOF'
import json, sys
print("| request | python3 hello (baseline) | quire | ratio |")
print("|---|---:|---:|---:|")
for path in sys.argv[1:]:
    results = json.load(open(path))["results"]
    base, quire = results[0], results[1]
    ms = lambda r: f"{r['mean']*1e3:.1f} ± {r['stddev']*1e3:.1f} ms"
    print(f"| {quire['command']} | {ms(base)} | {ms(quire)} | {quire['mean']/base['mean']:.2f}× |")
EOF
    echo
} >> "$report"

log "rendering"
cargo bench -p markup --bench render -- --output-format bencher "${criterion_args[@]}" > "$out/render.log" 2>&1
{
    echo "### Rendering Markdown"
    echo
    echo "\`cargo bench -p markup --bench render\`"
    echo
    criterion_table "$out/render.log" ""
    echo
} >> "$report"

log "page views in process"
cargo bench -p app --bench views -- --output-format bencher "${criterion_args[@]}" > "$out/views.log" 2>&1
{
    echo "### Page views in process"
    echo
    echo "\`cargo bench -p app --bench views\`: the whole middleware stack and the in-process client; the"
    echo "ratio is to \`raw\` (the same stack, the page's text with no rendering)."
    echo
    criterion_table "$out/views.log" "raw"
    echo
} >> "$report"

log "history"
cargo bench -p storage --bench history -- --output-format bencher "${criterion_args[@]}" \
    > "$out/storage-history.log" 2>&1
cargo bench -p app --bench history > "$out/app-history.log" 2>&1
{
    echo "### History"
    echo
    echo "\`cargo bench -p storage --bench history\`"
    echo
    criterion_table "$out/storage-history.log" ""
    echo
    echo "\`cargo bench -p app --bench history\`"
    echo
    fenced "$out/app-history.log" '^(built|diff)'
    echo
} >> "$report"

log "search at $search_pages pages"
corpus=/tmp/quire-bench-search-$search_pages
if [ ! -f "$corpus/wiki.sqlite3" ]; then
    cargo bench --quiet -p app --bench search -- corpus "$corpus" "$search_pages" > /dev/null
fi
/usr/bin/time -v "$quire" --data "$corpus" reindex --quiet 2> "$out/reindex.log"
cargo bench --quiet -p app --bench search -- queries "$corpus" > "$out/queries.log" 2>&1
cargo bench --quiet -p app --bench search -- freshness "$corpus" "$quire" > "$out/freshness.log" 2>&1
{
    echo "### Search at $search_pages pages"
    echo
    echo "\`cargo bench -p app --bench search -- corpus|queries|freshness\`, the index built by \`quire reindex\`"
    echo "under \`/usr/bin/time -v\`."
    echo
    echo "| | figure |"
    echo "|---|---|"
    echo "| full build, \`quire reindex\` | $(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/reindex.log") wall, peak RSS $(awk -F': ' '/Maximum resident/ {printf "%.0f MB", $2/1024}' "$out/reindex.log") |"
    echo "| queries | $(grep -m1 'queries x' "$out/queries.log" | sed 's/|/\\|/g') |"
    echo "| save → searchable, \`quire serve\` | $(grep -m1 'save -> searchable' "$out/freshness.log") |"
    echo
} >> "$report"

if [ -x scripts/bench-scale.sh ]; then
    log "flat cost with size"
    scale_runs=100
    [ "$quick" = 1 ] && scale_runs=5
    scripts/bench-scale.sh "$scale_runs" > "$out/scale.log" 2>&1 || { tail -40 "$out/scale.log"; exit 1; }
    {
        echo "### Flat cost with size"
        echo
        echo "\`scripts/bench-scale.sh\`: \`quire serve\` on wikis of 100, 10 000 and 100 000 pages; the ratio is"
        echo "to the same figure at 100 pages."
        echo
        table_rows "$out/scale.log"
        echo
    } >> "$report"
fi

echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$report"

if [ "$quick" = 1 ]; then
    echo "quick run: the report is in $report; BENCHMARKS.md is left as it is" >&2
    exit 0
fi

# The report replaces what lies between the markers in BENCHMARKS.md.
python3 - "$report" <<'EOF'
import sys
begin, end = "<!-- bench-all: begin -->", "<!-- bench-all: end -->"
text = open("BENCHMARKS.md", encoding="utf-8").read()
if begin not in text or end not in text:
    sys.exit("BENCHMARKS.md has lost its bench-all markers")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
report = open(sys.argv[1], encoding="utf-8").read().strip()
open("BENCHMARKS.md", "w", encoding="utf-8").write(f"{head}{begin}\n{report}\n{end}{tail}")
EOF
echo "BENCHMARKS.md's latest run is written; the logs are in $out" >&2
