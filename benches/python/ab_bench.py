"""Two builds of `pylog emit` side by side (a change's before and after):
the same scenarios, records and sinks as emit_bench.py, the two builds
alternating round after round. Reports the median wall-clock time and the
median CPU time (user + system of the process) of each, and the minimums:
on a shared, noisy machine CPU time and minimums move less than wall time.

usage: ab_bench.py PYLOG_A PLUGIN_A PYLOG_B PLUGIN_B [N] [ROUNDS] [SCENARIO]
(PLUGIN is the component each pylog loads, passed as --plugin; SCENARIO
picks one of emit_bench's, e.g. "DatagramHandler".)
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emit_bench import records, scenarios, tcp_sink, udp_sink  # noqa: E402


def run(cmd):
    """(wall seconds, CPU seconds) of one process, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{cmd}: exit {done.returncode}: {done.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    builds = {"A": sys.argv[1:3], "B": sys.argv[3:5]}
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 100_000
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 9
    only = sys.argv[7] if len(sys.argv) > 7 else None
    tcp, udp = tcp_sink(), udp_sink()
    with tempfile.TemporaryDirectory() as tmp:
        lines = os.path.join(tmp, "records.jsonl")
        with open(lines, "w") as f:
            for line in records(n):
                f.write(line + "\n")
        print(f"pylog emit A vs B, whole process, {n} records; {rounds} alternating rounds:")
        for label, config in scenarios(tcp, udp):
            if only and label != only:
                continue
            path = os.path.join(tmp, "logging.json")
            with open(path, "w") as f:
                json.dump(config, f)
            wall = {"A": [], "B": []}
            cpu = {"A": [], "B": []}
            for _ in range(rounds):
                for key, (pylog, plugin) in builds.items():
                    w, c = run([pylog, "--plugin", plugin, "emit", "--config", path, lines])
                    wall[key].append(w)
                    cpu[key].append(c)
            for name, times in (("wall", wall), ("cpu", cpu)):
                a, b = statistics.median(times["A"]), statistics.median(times["B"])
                print(
                    f"  {label:20} {name:4} A {a:6.3f} s  B {b:6.3f} s  A/B {a / b:5.2f}x"
                    f"   (min A {min(times['A']):.3f}, B {min(times['B']):.3f})"
                )


if __name__ == "__main__":
    main()
