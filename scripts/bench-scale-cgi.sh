#!/usr/bin/env bash
# CGI at any size: one page view and one 404 through the bare release binary run with RFC 3875
# variables (no web server in the way), on a wiki of 100 pages and one of 100 000 (the search
# benchmark's corpus, 862 MB of Markdown), beside Debian's python3 printing hello world as the same
# kind of process, all timed by hyperfine in one run.
#
# Needs: hyperfine (installed if missing, as root). The corpora are built once into /tmp (a few
# minutes for the big one); the first request on each records its links and ACL scan, and is not timed.
# Usage: scripts/bench-scale-cgi.sh
#   EXPORT_DIR=DIR  also writes each hyperfine run as JSON, DIR/cgi-*.json (bench-all.sh)
#   CORPUS=PREFIX   the wikis are PREFIX-100 and PREFIX-100000 (default /tmp/quire-scale); a newer
#                   quire migrates a wiki on first open, so point this at copies to keep the originals
#   BEFORE=BINARY   also times another build of quire in the same runs, as a third command (the
#                   "before" of a change; it must know the corpora's schema). hyperfine times one
#                   command after the other, so on a busy machine the load moves between them:
#                   scripts/interleaved-runs.py takes turns, for a before/after that holds
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine; }

cargo build --release --quiet -p app --bin quire
quire=${CARGO_TARGET_DIR:-$PWD/target}/release/quire
corpus=${CORPUS:-/tmp/quire-scale}
for pages in 100 100000; do
    dir=$corpus-$pages
    if [ ! -f "$dir/wiki.sqlite3" ]; then
        cargo bench --quiet -p app --bench search -- corpus "$dir" "$pages" >/dev/null
    fi
done

export GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost SERVER_PORT=80 \
       REMOTE_ADDR=127.0.0.1 SCRIPT_NAME=/cgi-bin/quire QUERY_STRING= REQUEST_METHOD=GET
# A page both corpora have (the generator is seeded), and one neither has.
page=$(python3 -c "import sqlite3; print(sqlite3.connect('$corpus-100/wiki.sqlite3').execute('SELECT name FROM pages ORDER BY id LIMIT 1 OFFSET 50').fetchone()[0])")
for pages in 100 100000; do
    PATH_INFO="/$page" QUIRE_DATA=$corpus-$pages "$quire" | head -1 | grep -q '^Status: 200' \
        || { echo "the page did not come back at $pages pages"; exit 1; }
done

# As a web server runs a CGI program: the variables in the environment, the binary executed
# directly (no env(1) in front, which would add an exec to every command). One hyperfine run per
# wiki size, each with the python3 baseline beside the view and the 404.
export_to() { [ -n "${EXPORT_DIR:-}" ] && echo --export-json "$EXPORT_DIR/cgi-$1.json"; }
for pages in 100 100000; do
    echo "== $pages pages"
    for request in view 404; do
        path=/$page
        [ "$request" = 404 ] && path=/NoSuchPageAnywhere
        # The before row last, so that bench-all.sh's reading of the first two is unchanged.
        before=()
        [ -n "${BEFORE:-}" ] && before=(-n "$request, $pages pages (before)" "$BEFORE")
        # shellcheck disable=SC2046 # export_to prints two words, or none
        QUIRE_DATA=$corpus-$pages PATH_INFO=$path hyperfine -N --warmup 10 --runs 200 \
            $(export_to "$pages-$request") \
            -n 'python3 hello' "/usr/bin/python3 -c 'print(\"hello\")'" \
            -n "$request, $pages pages" "$quire" "${before[@]}"
    done
done
