//! One COMMAND INFO entry: name, arity, flags, first/last/step, ACL categories, tips, key
//! specs and subcommands (each a full entry).

use super::{data, subcommands, Doc, Target};
use crate::client::acl::{self, Begin, Find, KeySpec, KEY_FLAG_NAMES};
use crate::keyspace::cmd::CommandSpec;
use crate::resp::Out;

/// The entry of `t`, or a null for a name Redis would not know.
pub fn info_reply(out: &mut Out, t: Option<Target>) {
    match t {
        Some(Target::Top(spec)) => top(out, spec),
        Some(Target::Sub(doc)) => sub(out, doc),
        None => out.null(),
    }
}

fn top(out: &mut Out, spec: &'static CommandSpec) {
    let doc = data::docs().get(spec.name);
    let subs = subcommands(spec.name);
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    match doc {
        // A container shows its own flags and range (none), not those its table entry runs
        // every subcommand with.
        Some(d) if !subs.is_empty() => {
            statuses(out, &d.flags);
            range(out, d.first, d.last, d.step);
        }
        _ => {
            statuses(out, &spec.flag_names());
            range(out, spec.first_key as i64, spec.last_key as i64, spec.step as i64);
        }
    }
    statuses(out, &acl::category_names(spec));
    tips(out, doc);
    key_specs(out, spec.name, doc);
    if subs.is_empty() {
        // Redis: an empty set where a command has no subcommand table.
        out.set(0);
        return;
    }
    out.array(subs.len());
    for s in subs {
        sub(out, s);
    }
}

fn sub(out: &mut Out, doc: &Doc) {
    out.array(10);
    out.bulk(doc.name.as_bytes());
    out.int(doc.arity);
    statuses(out, &doc.flags);
    range(out, doc.first, doc.last, doc.step);
    statuses(out, &acl::entry_category_names(doc.name));
    tips(out, Some(doc));
    key_specs(out, doc.name, Some(doc));
    out.set(0);
}

/// First key, last key, step.
fn range(out: &mut Out, first: i64, last: i64, step: i64) {
    out.int(first);
    out.int(last);
    out.int(step);
}

/// A set of status strings.
fn statuses<S: AsRef<str>>(out: &mut Out, names: &[S]) {
    out.set(names.len());
    for n in names {
        out.simple(n.as_ref());
    }
}

fn tips(out: &mut Out, doc: Option<&Doc>) {
    let tips = doc.map_or(&[][..], |d| d.tips.as_slice());
    out.set(tips.len());
    for t in tips {
        out.bulk(t.as_bytes());
    }
}

fn key_specs(out: &mut Out, name: &str, doc: Option<&Doc>) {
    let specs = acl::entry_keyspecs(name);
    out.set(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let notes = doc.and_then(|d| d.notes.iter().find(|(n, _)| *n == i)).map(|(_, text)| *text);
        key_spec(out, spec, notes);
    }
}

fn key_spec(out: &mut Out, spec: &KeySpec, notes: Option<&str>) {
    out.map(3 + notes.is_some() as usize);
    if let Some(n) = notes {
        out.bulk(b"notes");
        out.bulk(n.as_bytes());
    }
    out.bulk(b"flags");
    let flags: Vec<&str> = KEY_FLAG_NAMES.iter().enumerate().filter(|(i, _)| spec.flags & (1 << i) != 0).map(|(_, n)| *n).collect();
    statuses(out, &flags);
    out.bulk(b"begin_search");
    begin_search(out, &spec.begin);
    out.bulk(b"find_keys");
    find_keys(out, &spec.find);
}

/// `{type, spec}` with the spec's integer fields.
fn typed(out: &mut Out, kind: &str, fields: &[(&str, i64)]) {
    out.map(2);
    out.bulk(b"type");
    out.bulk(kind.as_bytes());
    out.bulk(b"spec");
    out.map(fields.len());
    for (k, v) in fields {
        out.bulk(k.as_bytes());
        out.int(*v);
    }
}

fn begin_search(out: &mut Out, b: &Begin) {
    match b {
        Begin::Index(pos) => typed(out, "index", &[("index", *pos as i64)]),
        Begin::Keyword(word, from) => {
            out.map(2);
            out.bulk(b"type");
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(word.as_bytes());
            out.bulk(b"startfrom");
            out.int(*from);
        }
        Begin::Unknown => typed(out, "unknown", &[]),
    }
}

fn find_keys(out: &mut Out, f: &Find) {
    match f {
        Find::Range { last, step, limit } => typed(out, "range", &[("lastkey", *last), ("keystep", *step as i64), ("limit", *limit)]),
        Find::Keynum { idx, first, step } => typed(out, "keynum", &[("keynumidx", *idx as i64), ("firstkey", *first as i64), ("keystep", *step as i64)]),
        Find::Unknown => typed(out, "unknown", &[]),
    }
}
