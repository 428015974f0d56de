#!/usr/bin/env bash
# Page views per second of one 10 KB page through each gateway:
#   quire serve (wrk), nginx -> quire fastcgi (wrk), and the wall time of one
#   CGI page view (hyperfine). Prints the figures recorded in BENCHMARKS.md.
#
# Needs: wrk, hyperfine, nginx (Debian packages; installed if missing and root).
# Usage: scripts/bench-gateways.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; }; }
need wrk wrk; need hyperfine hyperfine; need nginx nginx

cargo build --release --quiet -p app --bin quire
quire=$PWD/target/release/quire
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# A 10 KB page of ordinary Markdown: headings, paragraphs, a list, links.
data=$work/data
"$quire" --data "$data" init >/dev/null 2>&1
python3 - "$work/page.md" <<'PY'
import sys
parts = []
i = 0
while sum(len(p) for p in parts) < 10_000:
    i += 1
    parts.append(f"## Section {i}\n\nThe team agreed on item {i}; see [[FrontPage]] and [[Help/Editing]]. "
                 "Notes are *kept* here so **everyone** can find them later, with `code` too.\n\n"
                 f"- point {i}.a\n- point {i}.b with a [link](https://example.org/{i})\n\n")
open(sys.argv[1], "w").write("".join(parts)[:10_240])
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$quire" --data "$data" serve --listen 127.0.0.1:$port 2>/dev/null & pids+=($!)
for _ in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.1; done
curl -fs -o /dev/null -w '' --data-urlencode "text@$work/page.md" -d action=save http://127.0.0.1:$port/+edit/BenchPage
bytes=$(curl -fsS http://127.0.0.1:$port/BenchPage | wc -c)
echo "page: $(wc -c <"$work/page.md") bytes of Markdown, $bytes bytes of HTML"

echo "== quire serve: wrk -t2 -c16 -d${duration}s"
wrk -t2 -c16 -d"${duration}s" http://127.0.0.1:$port/BenchPage | grep -E 'Requests/sec|Latency'

echo "== nginx -> quire fastcgi (unix socket, keep-alive): wrk -t2 -c16 -d${duration}s"
sock=$work/fcgi.sock
"$quire" --data "$data" fastcgi --listen unix:$sock 2>/dev/null & pids+=($!)
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx"
cp /etc/nginx/fastcgi_params "$work/nginx/"
sed -e "s|@LISTEN@|127.0.0.1:$nport|" -e "s|@QUIRE@|unix:$sock|" deploy/nginx/quire-fastcgi.conf >"$work/nginx/site.conf"
cat >"$work/nginx/nginx.conf" <<NGINX
# The workers run as root only so they may connect to the socket this
# script's (root) quire created; in production give the socket a group the
# web server is in (see deploy/).
user root;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    fastcgi_temp_path $work/nginx/fastcgi;
    proxy_temp_path $work/nginx/proxy;
    scgi_temp_path $work/nginx/scgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    include $work/nginx/site.conf;
}
NGINX
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' & pids+=($!)
for _ in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:$nport/wiki/BenchPage && break; sleep 0.1; done
# Fail loudly rather than measure an error page.
curl -fsS http://127.0.0.1:$nport/wiki/BenchPage | grep -q 'href="/wiki/Help/Editing"' || { echo "nginx did not serve the page: $(cat "$work/nginx/error.log")"; exit 1; }
wrk -t2 -c16 -d"${duration}s" http://127.0.0.1:$nport/wiki/BenchPage | grep -E 'Requests/sec|Latency'

echo "== CGI: one process per page view: hyperfine"
export GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_NAME=/cgi-bin/quire PATH_INFO=/BenchPage \
       QUERY_STRING= SERVER_NAME=localhost SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 \
       QUIRE_DATA=$data
hyperfine -N --warmup 20 --runs 300 "$quire" 2>&1 | grep -E 'Time|Range'
