//! One COMMAND DOCS entry: a map of summary, since, group, complexity, doc flags,
//! deprecation, history, arguments (recursive) and subcommands (a map of the same).

use super::{data, subcommands, Doc, Target};
use crate::keyspace::cmd::CommandSpec;
use crate::resp::Out;
use data::Arg;

/// The name and map of `t` (Redis leaves unknown names out: the caller skips them).
pub fn docs_reply(out: &mut Out, t: Target) {
    match t {
        Target::Top(spec) => match data::docs().get(spec.name) {
            Some(doc) => entry(out, doc),
            None => derived(out, spec),
        },
        Target::Sub(doc) => entry(out, doc),
    }
}

/// A tandem command Redis 7.0 lacks: what its table says.
fn derived(out: &mut Out, spec: &CommandSpec) {
    out.bulk(spec.name.as_bytes());
    out.map(2);
    pair(out, "summary", spec.summary);
    pair(out, "group", spec.group);
}

fn entry(out: &mut Out, doc: &Doc) {
    out.bulk(doc.name.as_bytes());
    body(out, doc);
}

fn pair(out: &mut Out, key: &str, value: &str) {
    out.bulk(key.as_bytes());
    out.bulk(value.as_bytes());
}

fn opt_pair(out: &mut Out, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        pair(out, key, v);
    }
}

fn body(out: &mut Out, doc: &Doc) {
    let subs = subcommands(doc.name);
    let present = [
        doc.summary.is_some(),
        doc.since.is_some(),
        true,
        doc.complexity.is_some(),
        !doc.doc_flags.is_empty(),
        doc.deprecated_since.is_some(),
        doc.replaced_by.is_some(),
        !doc.history.is_empty(),
        !doc.args.is_empty(),
        !subs.is_empty(),
    ];
    out.map(present.iter().filter(|p| **p).count());
    opt_pair(out, "summary", doc.summary);
    opt_pair(out, "since", doc.since);
    pair(out, "group", doc.group);
    opt_pair(out, "complexity", doc.complexity);
    if !doc.doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        statuses(out, &doc.doc_flags);
    }
    opt_pair(out, "deprecated_since", doc.deprecated_since);
    opt_pair(out, "replaced_by", doc.replaced_by);
    if !doc.history.is_empty() {
        out.bulk(b"history");
        history(out, doc);
    }
    if !doc.args.is_empty() {
        out.bulk(b"arguments");
        args(out, &doc.args);
    }
    if !subs.is_empty() {
        out.bulk(b"subcommands");
        out.map(subs.len());
        for s in subs {
            entry(out, s);
        }
    }
}

fn statuses(out: &mut Out, names: &[&str]) {
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
}

fn history(out: &mut Out, doc: &Doc) {
    out.set(doc.history.len());
    for (since, changes) in &doc.history {
        out.array(2);
        out.bulk(since.as_bytes());
        out.bulk(changes.as_bytes());
    }
}

fn args(out: &mut Out, list: &[Arg]) {
    out.array(list.len());
    for a in list {
        arg(out, a);
    }
}

fn arg(out: &mut Out, a: &Arg) {
    let block = matches!(a.kind, "oneof" | "block");
    let present = [
        a.key_spec_index.is_some(),
        a.token.is_some(),
        a.summary.is_some(),
        a.since.is_some(),
        a.deprecated_since.is_some(),
        !a.flags.is_empty(),
        block,
    ];
    out.map(2 + present.iter().filter(|p| **p).count());
    pair(out, "name", a.name);
    pair(out, "type", a.kind);
    if let Some(i) = a.key_spec_index {
        out.bulk(b"key_spec_index");
        out.int(i);
    }
    opt_pair(out, "token", a.token);
    opt_pair(out, "summary", a.summary);
    opt_pair(out, "since", a.since);
    opt_pair(out, "deprecated_since", a.deprecated_since);
    if !a.flags.is_empty() {
        out.bulk(b"flags");
        statuses(out, &a.flags);
    }
    if block {
        out.bulk(b"arguments");
        args(out, &a.args);
    }
}
