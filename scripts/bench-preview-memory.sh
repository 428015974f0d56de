#!/usr/bin/env bash
# Peak memory of `quire serve` under 16 concurrent anonymous previews of hostile
# Markdown (issue 19): the server's VmHWM and VmRSS from /proc/PID/status before
# the burst, after it, and a few seconds later (glibc may keep freed memory).
#
# Payloads, each 16 times at once on a fresh server:
#   table  the report's 2 MB table of 2 000 columns x 500 rows;
#   near   the costliest text within the render bounds: 30 000 wiki links
#          (120 000 markup characters, 120 000 events) and 1.8 MB of words.
#
# Usage: scripts/bench-preview-memory.sh [QUIRE_BINARY]
#   (default: builds and uses target/release/quire)
set -euo pipefail
cd "$(dirname "$0")/.."
quire=${1:-}
if [ -z "$quire" ]; then
    cargo build --release --quiet -p app --bin quire
    quire=$PWD/target/release/quire
fi
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

for payload in table near; do
    rm -rf "$work/data"
    "$quire" --data "$work/data" init >/dev/null 2>&1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$quire" --data "$work/data" serve --listen "127.0.0.1:$port" 2>"$work/serve.log" &
    pid=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/" >/dev/null && break
        sleep 0.1
    done
    python3 - "$port" "$pid" "$payload" <<'PY'
import http.client, re, sys, threading, time, urllib.parse

port, pid, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3]
CLIENTS = 16

def memory():
    status = open(f"/proc/{pid}/status").read()
    field = lambda name: int(re.search(rf"{name}:\s+(\d+) kB", status).group(1)) // 1024
    return field("VmHWM"), field("VmRSS")

if payload == "table":
    row = "|" + "a|" * 2000 + "\n"
    text = row + "|" + "-|" * 2000 + "\n" + row * 499
else:
    text = "[[a]] " * 30000 + "\n\n" + "word " * 360000

def editor(page):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", f"/+edit/{page}")
    response = conn.getresponse()
    body = response.read().decode()
    cookie = "; ".join(h.split(";")[0] for k, h in response.getheaders() if k.lower() == "set-cookie")
    token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    return cookie, token

forms = []
for n in range(CLIENTS):
    cookie, token = editor(f"Bench{n}")
    body = urllib.parse.urlencode({"csrf_token": token, "text": text, "action": "preview"}).encode()
    forms.append((f"Bench{n}", cookie, body))

results = []
def preview(page, cookie, body):
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("POST", f"/+edit/{page}", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    results.append((response.status, time.monotonic() - started))

before = memory()
threads = [threading.Thread(target=preview, args=form) for form in forms]
started = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
wall = time.monotonic() - started
after = memory()
time.sleep(5)
later = memory()
statuses = sorted({s for s, _ in results})
counts = {s: sum(1 for r, _ in results if r == s) for s in statuses}
print(f"{payload}: {len(text)} bytes x {CLIENTS} previews in {wall:.2f} s, statuses {counts}, "
      f"slowest {max(d for _, d in results):.2f} s")
print(f"  before: VmHWM {before[0]} MB, VmRSS {before[1]} MB")
print(f"  after:  VmHWM {after[0]} MB, VmRSS {after[1]} MB; 5 s later VmRSS {later[1]} MB")
PY
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
