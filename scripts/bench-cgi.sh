#!/usr/bin/env bash
# Wall time of one CGI page view: the bare release binary run with RFC 3875
# variables, as a web server would, on the same 10 KB page as the e2e
# bench_gateways test, timed by hyperfine (no web server in the way).
#
# Needs: hyperfine (installed if missing, as root).
# Usage: scripts/bench-cgi.sh [--no-render-cache]   (the second renders every view)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine; }

cargo build --release --quiet -p app --bin quire
quire=$PWD/target/release/quire
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=$work/data
"$quire" --data "$data" init >/dev/null 2>&1
if [ "${1:-}" = "--no-render-cache" ]; then
    echo 'render_cache = false' >>"$data/quire.toml"
fi

# The page: 45 sections of a heading, a paragraph with two wiki links and a
# list with one external link (the generator bench_gateways uses).
python3 - "$work/page.md" <<'PY'
import sys
parts, i = [], 0
while sum(len(p) for p in parts) < 10_000:
    i += 1
    parts.append(f"## Section {i}\n\nThe team agreed on item {i}; see [[FrontPage]] and [[Help/Editing]]. "
                 "Notes are *kept* here so **everyone** can find them later, with `code` too.\n\n"
                 f"- point {i}.a\n- point {i}.b with a [link](https://example.org/{i})\n\n")
open(sys.argv[1], "w").write("".join(parts)[:10_240])
PY
body=$work/body
python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.urlencode({"text": open(sys.argv[1]).read(), "action": "save"}))' "$work/page.md" >"$body"

export GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost SERVER_PORT=80 \
       REMOTE_ADDR=127.0.0.1 SCRIPT_NAME=/cgi-bin/quire QUIRE_DATA=$data QUERY_STRING= PATH_INFO=/BenchPage
PATH_INFO=/+edit/BenchPage REQUEST_METHOD=POST CONTENT_TYPE=application/x-www-form-urlencoded \
    CONTENT_LENGTH=$(wc -c <"$body") "$quire" <"$body" | head -1 | grep -q '^Status: 303' || { echo "saving the page through CGI failed"; exit 1; }
REQUEST_METHOD=GET "$quire" | grep -q 'href="/cgi-bin/quire/Help/Editing"' \
    || { echo "the page did not come back through CGI"; exit 1; }

# The first view fills the render cache; hyperfine's warm-up views do too.
export REQUEST_METHOD=GET
hyperfine -N --warmup 20 --runs 300 "$quire"
