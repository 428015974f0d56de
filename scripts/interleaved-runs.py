#!/usr/bin/env python3
"""Times short-lived commands in turn (A B C A B C ...), for before/after figures on a shared machine.

hyperfine runs all of one command, then all of the next: when the load moves between them (other
builds on the two cores), the ratio moves with it. Here each round runs every command once, started
with posix_spawn (no shell, no fork of this interpreter), and the report gives per command the median
wall time and the median CPU time of the child (user + system, from wait4), which waiting for a core
does not inflate. The first 5 rounds are not counted.

Copy binaries to compare fresh (cp) before timing them: on a machine whose page cache is full, an
executable written long ago starts measurably slower than the same bytes written a minute ago.

Usage: scripts/interleaved-runs.py ROUNDS NAME=[VAR=value,-VAR,...:]COMMAND ...
  QUIRE_DATA=/tmp/w PATH_INFO=/Page GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET ... \\
  scripts/interleaved-runs.py 300 "python3=/usr/bin/python3 -c \\"print('hello')\\"" \\
      before=/tmp/bins/before after=/tmp/bins/after "404=PATH_INFO=/Nope:/tmp/bins/after"
The prefix before ':' sets (VAR=value) or removes (-VAR) variables of the inherited environment;
COMMAND is split as a shell would (shlex) and its output is thrown away.
"""

import os
import shlex
import statistics
import sys
import time

WARMUP = 5


def parse(spec):
    name, rest = spec.split("=", 1)
    env = dict(os.environ)
    head = rest.split(" ", 1)[0]
    if ":" in head and ("=" in head.split(":", 1)[0] or head.startswith("-")):
        prefix, rest = rest.split(":", 1)
        for item in prefix.split(","):
            if item.startswith("-"):
                env.pop(item[1:], None)
            else:
                key, value = item.split("=", 1)
                env[key] = value
    return name, shlex.split(rest), env


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    commands = [parse(spec) for spec in sys.argv[2:]]
    wall = {name: [] for name, _, _ in commands}
    cpu = {name: [] for name, _, _ in commands}
    failed = {name: 0 for name, _, _ in commands}
    devnull = os.open(os.devnull, os.O_WRONLY)
    quiet = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    for round_ in range(rounds + WARMUP):
        for name, argv, env in commands:
            start = time.perf_counter()
            pid = os.posix_spawn(argv[0], argv, env, file_actions=quiet)
            _, status, usage = os.wait4(pid, 0)
            elapsed = time.perf_counter() - start
            failed[name] += status != 0
            if round_ >= WARMUP:
                wall[name].append(elapsed * 1e3)
                cpu[name].append((usage.ru_utime + usage.ru_stime) * 1e3)
    base = None
    for name, _, _ in commands:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        base = base or (w, c)
        note = f"  ({failed[name]} runs exited non-zero)" if failed[name] else ""
        print(
            f"{name:24s} wall median {w:6.2f} ms mean {statistics.mean(wall[name]):6.2f}"
            f"  cpu median {c:6.2f} ms   ratio wall {w / base[0]:.2f} cpu {c / base[1]:.2f}{note}"
        )


if __name__ == "__main__":
    main()
