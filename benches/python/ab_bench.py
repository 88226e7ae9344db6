"""Two builds of `pylog emit` side by side (a change's before and after):
the same scenarios, records and sinks as emit_bench.py, the two builds
alternating round after round. Reports the median wall-clock time and the
median CPU time (user + system of the process) of each, and the minimums:
on a shared, noisy machine CPU time and minimums move less than wall time.

usage: ab_bench.py PYLOG_A PLUGIN_A PYLOG_B PLUGIN_B [N] [ROUNDS] [SCENARIO]
(PLUGIN is the component each pylog loads, passed as --plugin; SCENARIO
picks one of emit_bench's, e.g. "DatagramHandler".)
"""

import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emit_bench import measured, scenarios, tcp_sink, udp_sink, write_config, write_records  # noqa: E402


def main():
    builds = {"A": sys.argv[1:3], "B": sys.argv[3:5]}
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 100_000
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 9
    only = sys.argv[7] if len(sys.argv) > 7 else None
    tcp, udp = tcp_sink(), udp_sink()
    with tempfile.TemporaryDirectory() as tmp:
        lines = write_records(tmp, n)
        print(f"pylog emit A vs B, whole process, {n} records; {rounds} alternating rounds:")
        for label, config in scenarios(tcp, udp):
            if only and label != only:
                continue
            path = write_config(tmp, config)
            wall = {"A": [], "B": []}
            cpu = {"A": [], "B": []}
            for _ in range(rounds):
                for key, (pylog, plugin) in builds.items():
                    w, c = measured([pylog, "--plugin", plugin, "emit", "--config", path, lines])
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
