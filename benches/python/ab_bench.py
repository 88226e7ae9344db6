"""Two builds of `pylog emit` side by side (a change's before and after):
the same scenarios, records and sinks as emit_bench.py, the two builds
alternating round after round, and the ratio of their medians reported.

usage: ab_bench.py PYLOG_A PLUGIN_A PYLOG_B PLUGIN_B [N] [ROUNDS]
(PLUGIN is the component each pylog loads, passed as --plugin.)
"""

import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emit_bench import records, scenarios, tcp_sink, timed, udp_sink  # noqa: E402


def main():
    pylog_a, plugin_a, pylog_b, plugin_b = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 100_000
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    tcp, udp = tcp_sink(), udp_sink()
    with tempfile.TemporaryDirectory() as tmp:
        lines = os.path.join(tmp, "records.jsonl")
        with open(lines, "w") as f:
            for line in records(n):
                f.write(line + "\n")
        print(f"pylog emit A vs B, whole process, {n} records; median of {rounds} alternating rounds:")
        for label, config in scenarios(tcp, udp):
            path = os.path.join(tmp, "logging.json")
            with open(path, "w") as f:
                json.dump(config, f)
            times = {"a": [], "b": []}
            for _ in range(rounds):
                times["a"].append(timed([pylog_a, "--plugin", plugin_a, "emit", "--config", path, lines]))
                times["b"].append(timed([pylog_b, "--plugin", plugin_b, "emit", "--config", path, lines]))
            a, b = statistics.median(times["a"]), statistics.median(times["b"])
            print(f"  {label:20} A {a:6.3f} s  B {b:6.3f} s  A/B {a / b:5.2f}x")


if __name__ == "__main__":
    main()
