"""Checks that each crate's modules import only downward: no import cycle
between files, and each layer (a top-level folder or file of `src/`) uses
only the layers listed below it. Run by `make lint`.

    python3 scripts/check_layers.py

A module is a file; `crate::a::b::Item` is an import of the file that
defines module `a::b` (or `a` when `b` is an item). Test modules
(`#[cfg(test)]` to the end of a file) are not counted.
"""
import os
import re
import sys

# Bottom first. A layer may use itself and any layer before it.
CRATES = {
    "src": ["error", "python", "encode", "deliver", "handlers", "routing", "component", "lib"],
    "host/src": ["bindings", "records", "config", "sandbox", "runtime", "embed", "compose", "receive", "cli", "lib", "main"],
}
# Within a crate, layers that stand apart from others at the same height:
# receive uses records only, so it may sit anywhere above records.
PATH_RE = re.compile(r"crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)")
USE_GROUP_RE = re.compile(r"use crate::\{([^;]*)\};", re.S)


def modules(root):
    """Module path ('a::b') -> file, for every .rs file under root."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            found["::".join(rel)] = path
    return found


def imports(path, mods):
    text = open(path).read()
    text = text.split("#[cfg(test)]")[0]
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    paths = PATH_RE.findall(text)
    for group in USE_GROUP_RE.findall(text):
        # crate::{a::X, b} : each member is a path from the crate root.
        paths += [p.strip().split("::{")[0] for p in re.split(r",(?![^{]*\})", group) if p.strip()]
    targets = set()
    for p in paths:
        parts = [x for x in p.split("::") if x and x != "self"]
        while parts and "::".join(parts) not in mods:
            parts.pop()
        if parts:
            targets.add("::".join(parts))
    return targets


def layer_of(module, order):
    top = module.split("::")[0] if module else "lib"
    return top if top in order else None


def check(root, order):
    mods = modules(root)
    graph = {m: imports(f, mods) - {m} for m, f in mods.items()}
    problems = []
    for m, targets in graph.items():
        lm = layer_of(m, order)
        for t in targets:
            lt = layer_of(t, order)
            if lm is None or lt is None:
                problems.append(f"{root}: {m} or {t} is in no layer of {order}")
            elif order.index(lt) > order.index(lm):
                problems.append(f"{root}: {m} ({lm}) imports {t} ({lt}), a layer above it")
    # Cycles between files, by depth-first search.
    state = {}

    def visit(m, stack):
        state[m] = "open"
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            # A module may use its own submodules (a parent re-exports them).
            if t.startswith(m + "::") or m.startswith(t + "::"):
                continue
            if state.get(t) == "open":
                cycle = stack[stack.index(t):] + [t]
                problems.append(f"{root}: import cycle: {' -> '.join(cycle)}")
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    return problems


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    problems = []
    for root, order in CRATES.items():
        problems += check(root, order)
    for p in problems:
        print(p)
    if problems:
        sys.exit(f"{len(problems)} layering problems")
    print("layers: every import points down, no cycles")


if __name__ == "__main__":
    main()
