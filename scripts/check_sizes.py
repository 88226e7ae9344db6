"""Checks that a source file over 400 lines says, in its opening comment,
why it is one concept ("One concept, over 400 lines: ..."). Run by
`make lint`.

    python3 scripts/check_sizes.py
"""
import os
import sys

LIMIT = 400
ROOTS = ["src", "host/src", "wire/src"]


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    problems = []
    for root in ROOTS:
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, name)
                lines = open(path).read().splitlines()
                opening = "\n".join(line for line in lines[:40] if line.startswith("//!"))
                if len(lines) > LIMIT and "One concept" not in opening:
                    problems.append(f"{path}: {len(lines)} lines; split it, or say in its opening comment why it is one concept")
    for p in problems:
        print(p)
    if problems:
        sys.exit(f"{len(problems)} files over {LIMIT} lines without a reason")
    print(f"sizes: every file over {LIMIT} lines says why it is one concept")


if __name__ == "__main__":
    main()
