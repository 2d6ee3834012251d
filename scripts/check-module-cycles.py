#!/usr/bin/env python3
"""Lists the `crate::` edges between tandem's top-level modules and fails on a cycle.

A top-level module is `src/<name>.rs` or `src/<name>/`. An edge a -> b means some file of a
names `crate::b` (in a `use crate::{...}` group, a path, or one of b's exported macros such
as `crate::notice!`). lib.rs, main.rs and src/bin/ are the crate's roots, not modules.

Prints every edge with its count, then the modules in layer order (each depends only on
earlier layers). With a cycle it prints the strongly connected components and exits 1.

usage: scripts/check-module-cycles.py [src-dir]
"""
import os
import re
import sys
from collections import defaultdict

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
src = os.path.normpath(src)

files = {}
for root, _, names in os.walk(src):
    for n in names:
        if not n.endswith(".rs"):
            continue
        path = os.path.join(root, n)
        rel = os.path.relpath(path, src)
        parts = rel.split(os.sep)
        if parts[0] in ("lib.rs", "main.rs", "bin"):
            continue
        module = parts[0][:-3] if len(parts) == 1 else parts[0]
        files[path] = module
modules = set(files.values())

def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)

# Exported macros live at the crate root; their uses depend on the module defining them.
macro_home = {}
for path, module in files.items():
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r"#\[macro_export\]\s*macro_rules!\s*(\w+)", text):
        macro_home[m.group(1)] = module

def group_heads(body):
    """Top-level names of a `use crate::{...}` group body."""
    heads, depth, cur = [], 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            heads.append(cur)
            cur = ""
            continue
        if depth == 0:
            cur += ch
    heads.append(cur)
    return [re.match(r"\s*(\w+)", h).group(1) for h in heads if re.match(r"\s*(\w+)", h)]

def find_group(text, start):
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return ""

edges = defaultdict(int)
for path, module in files.items():
    text = strip_comments(open(path, encoding="utf-8").read())
    names = []
    for m in re.finditer(r"(?<![\w$])crate::(\{|\w+)", text):
        if m.group(1) == "{":
            names += group_heads(find_group(text, m.start(1)))
        else:
            names.append(m.group(1))
    for n in names:
        target = n if n in modules else macro_home.get(n)
        if target and target != module:
            edges[(module, target)] += 1

graph = defaultdict(set)
for (a, b) in edges:
    graph[a].add(b)

for (a, b), n in sorted(edges.items()):
    print(f"{a} -> {b} ({n})")

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in sorted(graph[v]):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        sccs.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(modules):
    if v not in index:
        visit(v)

cycles = [c for c in sccs if len(c) > 1]
if cycles:
    print()
    for c in cycles:
        inner = sorted((a, b) for (a, b) in edges if a in c and b in c)
        print("CYCLE among " + ", ".join(c) + ":")
        for a, b in inner:
            print(f"    {a} -> {b} ({edges[(a, b)]})")
    sys.exit(1)

# Layers: each module after everything it uses.
layer = {}
def depth(v):
    if v not in layer:
        layer[v] = 1 + max((depth(w) for w in graph[v]), default=-1)
    return layer[v]
for v in modules:
    depth(v)
print()
print("no cycle; layers from the bottom:")
for d in range(max(layer.values()) + 1):
    print(f"  {d}: " + ", ".join(sorted(v for v in modules if layer[v] == d)))
