#!/usr/bin/env bash
# The import and export benchmark (issue 14), through the release binary, each step timed with
# /usr/bin/time. It writes a MoinMoin 1.9 data directory of PAGES pages × REVISIONS revisions
# (app/tests/it/import_moin19.rs, write_a_large_moin_data_dir), imports it, imports it again (a
# rerun), exports it as Markdown and as git, and imports the git export into a fresh wiki (the
# round trip). Each step's time is also given as a ratio to the first import, measured in the same
# run. Usage, from the top of the checkout:
#
#   app/benches/import_export.sh [WORK_DIR]      # PAGES=10000 REVISIONS=10 by default
#
# WORK_DIR (default /tmp/quire-import-bench) is emptied first; it needs about 3 GB.
set -euo pipefail

work=${1:-/tmp/quire-import-bench}
pages=${PAGES:-10000}
revisions=${REVISIONS:-10}
rm -rf "$work"
mkdir -p "$work"

cargo build --release --quiet
QUIRE_MOIN19_BENCH="$work/moin" QUIRE_MOIN19_PAGES="$pages" QUIRE_MOIN19_REVISIONS="$revisions" \
    cargo test --quiet -p app --release --test it -- --ignored --exact \
    import_moin19::write_a_large_moin_data_dir >/dev/null
quire=target/release/quire

declare -a names seconds memory
step() {
    local name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$work/time" "$quire" "$@" >"$work/out" 2>&1 || {
        echo "$name failed:" >&2
        cat "$work/out" >&2
        exit 1
    }
    read -r wall kb <"$work/time"
    names+=("$name")
    seconds+=("$wall")
    memory+=("$kb")
    echo "$name: ${wall} s, peak RSS $((kb / 1024)) MB; it said: $(grep -v '^$' "$work/out" | tail -1)" >&2
}

step "import moin19" --data "$work/wiki" import moin19 "$work/moin" --quiet
step "import moin19, rerun" --data "$work/wiki" import moin19 "$work/moin" --quiet
step "export markdown" --data "$work/wiki" export markdown "$work/markdown" --quiet
step "export git" --data "$work/wiki" export git "$work/git" --quiet
step "import markdown (the git export)" --data "$work/back" import markdown "$work/git" --quiet

echo
echo "$pages pages × $revisions revisions, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo
echo "| step | seconds | ratio to the import | peak RSS |"
echo "|---|---:|---:|---:|"
for i in "${!names[@]}"; do
    ratio=$(awk -v a="${seconds[$i]}" -v b="${seconds[0]}" 'BEGIN { printf "%.3f", a / b }')
    echo "| ${names[$i]} | ${seconds[$i]} | $ratio | $((memory[i] / 1024)) MB |"
done
echo
echo "git repository: $(du -sh "$work/git/.git" | cut -f1); wiki database: $(du -sh "$work/wiki" | cut -f1)"
