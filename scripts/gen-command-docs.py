#!/usr/bin/env python3
"""Generates src/client/cmddocs/commands.txt from Redis 7.0's command JSON files.

COMMAND INFO's tips and the flags, arity and key range of subcommands, and COMMAND DOCS
(summary, since, group, complexity, doc flags, deprecation, history, arguments, key spec
notes) come from it; key specs themselves and ACL categories come from the ACL catalog
(src/client/acl/*.txt).

usage: scripts/gen-command-docs.py [redis-src/src/commands] > src/client/cmddocs/commands.txt

One record a line, fields separated by tabs (no field holds a tab or a newline), an empty
field meaning "absent" and `""` an empty string that is present (MIGRATE's token `""`, which
Redis's generated C table turns into an empty string):
  C  name arity flags first last step tips doc_flags summary since group complexity deprecated_since replaced_by
  H  since changes                       (history, in order, of the C before)
  N  index notes                         (a key spec's notes)
  A  depth name type key_spec_index token summary since deprecated_since flags
     (arguments depth first; depth 0 is the command's own)
Commands come sorted by name, each container followed by its subcommands (`acl|cat`),
sorted as Redis's generated table has them. Sentinel-only commands are left out.
"""
import glob
import json
import os
import sys

# COMMAND INFO's command flags, in the order Redis prints them (hidden ones are absent).
FLAG_ORDER = [
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
    "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy",
]
DOC_FLAG_ORDER = ["deprecated", "syscmd"]


def legacy_range(specs):
    """(first, last, step, movable) as Redis derives them from the key specs."""
    simple = lambda s: "index" in s["begin_search"] and "range" in s["find_keys"]
    if not specs:
        return 0, 0, 0, False
    if len(specs) == 1 and simple(specs[0]):
        s = specs[0]
        pos, r = s["begin_search"]["index"]["pos"], s["find_keys"]["range"]
        last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        return pos, last, r["step"], "INCOMPLETE" in s.get("flags", [])
    first, last, prev, movable = None, 0, 0, False
    for s in specs:
        if not simple(s):
            movable = True
            continue
        pos, r = s["begin_search"]["index"]["pos"], s["find_keys"]["range"]
        if r["step"] != 1 or (prev and prev != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in s.get("flags", []):
            movable = True
        first = pos if first is None else min(first, pos)
        abs_last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        last = max(last & 0xFFFFFFFF, abs_last & 0xFFFFFFFF)
        last = last - (1 << 32) if last >= 1 << 31 else last
        prev = last
    if first is None:
        return 0, 0, 0, True
    return first, last, 1, movable


def flags_of(desc, movable):
    names = {f.lower() for f in desc.get("command_flags", [])}
    if movable:
        names.add("movablekeys")
    return ",".join(f for f in FLAG_ORDER if f in names)


def command_line(name, desc):
    first, last, step, movable = legacy_range(desc.get("key_specs", []))
    doc_flags = {f.lower() for f in desc.get("doc_flags", [])}
    fields = [
        "C", name, str(desc["arity"]), flags_of(desc, movable), str(first), str(last), str(step),
        ",".join(t.lower() for t in desc.get("command_tips", [])),
        ",".join(f for f in DOC_FLAG_ORDER if f in doc_flags),
        desc.get("summary", ""), desc.get("since", ""), desc["group"].replace("_", "-"),
        desc.get("complexity", ""), desc.get("deprecated_since", ""), desc.get("replaced_by", ""),
    ]
    return "\t".join(fields)


def arg_lines(args, depth):
    for a in args:
        flags = [f for f in ("optional", "multiple", "multiple_token") if a.get(f)]
        yield "\t".join([
            "A", str(depth), a["name"].lower(), a["type"], str(a.get("key_spec_index", "")),
            a.get("token", "").upper(), a.get("summary", ""), a.get("since", ""),
            a.get("deprecated_since", ""), ",".join(flags),
        ])
        if a["type"] in ("oneof", "block"):
            yield from arg_lines(a.get("arguments", []), depth + 1)


def lines_of(name, desc):
    yield command_line(name, desc)
    for since, changes in desc.get("history", []):
        yield "\t".join(["H", since, changes])
    for i, spec in enumerate(desc.get("key_specs", [])):
        if spec.get("notes"):
            yield "\t".join(["N", str(i), spec["notes"]])
    yield from arg_lines(desc.get("arguments", []), 0)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/tmp/redis-suite/redis-7.0.15/src/commands"
    tops, subs = {}, {}
    for path in glob.glob(os.path.join(src, "*.json")):
        for name, desc in json.load(open(path)).items():
            if "ONLY_SENTINEL" in desc.get("command_flags", []):
                continue
            if "container" in desc:
                subs.setdefault(desc["container"].lower(), []).append((name, desc))
            else:
                tops[name.lower()] = desc
    for name in sorted(tops):
        for line in lines_of(name, tops[name]):
            print(line)
        for sub, desc in sorted(subs.get(name, []), key=lambda s: s[0].upper()):
            for line in lines_of("%s|%s" % (name, sub.lower()), desc):
                print(line)


main()
