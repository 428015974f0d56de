#!/usr/bin/env bash
# Coverage-guided fuzzing of quire's parsers (TESTING.md, "Fuzzing"): each target in turn, one
# libFuzzer process at a time, niced, for SECONDS seconds each (default 180). A target starts from
# its seeds (fuzz/seeds/TARGET/, read only) and grows its working corpus (fuzz/corpus/TARGET/,
# git-ignored); an input that panics, runs over 10 s or over 2 GiB is saved in
# fuzz/artifacts/TARGET/ and ends that target's run. The log of each run is fuzz/logs/TARGET.log.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain RUSTC_BOOTSTRAP=1 lets it pass
# its -Z flags (sanitizer coverage and AddressSanitizer, both shipped with stable's rust-std).
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-180}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(fastcgi scgi cgi_environ form multipart page_names acl markdown moin)
fi
export RUSTC_BOOTSTRAP=1
nice -n 19 cargo fuzz build || exit 1
mkdir -p fuzz/logs
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    if nice -n 19 cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"fuzz/logs/$target.log" 2>&1; then
        echo "$target: nothing found; $(grep -E '^#[0-9]+.*DONE' "fuzz/logs/$target.log" | tail -1)"
    else
        echo "$target: FOUND something, see fuzz/logs/$target.log and fuzz/artifacts/$target/"
    fi
done
