#!/bin/bash
# The README's quick start on a fresh Debian bookworm (debootstrap minbase + curl, ca-certificates,
# build-essential, git), with Rust from rustup only.
set -e
export HOME=/root
cd /root
start=$(date +%s)
# sh.rustup.rs does not resolve from this machine; the same installer, from rustup's own dist server:
curl --proto '=https' --tlsv1.2 -sSf -o /root/rustup-init https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init
chmod +x /root/rustup-init
/root/rustup-init -y --profile minimal > /root/rustup.log 2>&1
. /root/.cargo/env
echo "rustup done in $(( $(date +%s) - start )) s: $(rustc --version)"
cd /root/quire
b=$(date +%s)
cargo run --release -- serve > /root/serve.log 2>&1 &
pid=$!
until curl -sf http://127.0.0.1:8080/ -o /root/front.html; do
  if ! kill -0 $pid 2>/dev/null; then echo "serve exited"; tail -20 /root/serve.log; exit 1; fi
  sleep 5
done
echo "cargo run --release -- serve answered after $(( $(date +%s) - b )) s"
grep -o '<title>[^<]*' /root/front.html
kill $pid
