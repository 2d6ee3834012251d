//! Users described as ACL LIST, ACL GETUSER and the ACL file show them: the command bits
//! turned back into a short list of rules (`+@all -@string +incr`), as Redis 7.0 derives them.

use super::catalog::{catalog, Catalog, CATEGORIES};
use super::rules::{change_perm, set_all, set_category};
use crate::shared::acl::{KeyPattern, Selector, User, READ, WRITE};

/// Allowed (on) and denied (off) commands of category `bit`.
fn count_category(cat: &Catalog, s: &Selector, bit: u32) -> (usize, usize) {
    let (mut on, mut off) = (0, 0);
    for (id, e) in cat.entries.iter().enumerate() {
        if e.cats & bit != 0 {
            if s.allowed[id] {
                on += 1;
            } else {
                off += 1;
            }
        }
    }
    (on, off)
}

/// The category rules that best approach the bits, each applied to `fake` (the bits the
/// rules so far give).
fn category_rules(cat: &Catalog, s: &Selector, fake: &mut Selector, additive: bool, rules: &mut Vec<String>) {
    let mut temp = s.clone();
    let mut applied = [false; 32];
    loop {
        let mut best: Option<usize> = None;
        let (mut mindiff, mut maxsame) = (usize::MAX, 0);
        for (j, _) in CATEGORIES.iter().enumerate() {
            if applied[j] {
                continue;
            }
            let (on, off) = count_category(cat, &temp, 1 << j);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                best = Some(j);
                mindiff = diff;
                maxsame = same;
            }
        }
        let Some(j) = best else { break };
        set_category(cat, fake, 1 << j, additive);
        set_category(cat, &mut temp, 1 << j, !additive);
        rules.push(format!("{}@{}", if additive { '+' } else { '-' }, CATEGORIES[j]));
        applied[j] = true;
    }
}

/// The command rules of a selector, starting with `+@all` or `-@all`.
pub fn command_rules(s: &Selector) -> String {
    let cat = catalog();
    let mut fake = Selector::new(cat.len(), false);
    let additive = !s.future;
    set_all(&mut fake, !additive);
    let mut rules = vec![if additive { "-@all" } else { "+@all" }.to_string()];
    category_rules(cat, s, &mut fake, additive, &mut rules);
    for id in cat.walk() {
        let (user, fakebit) = (s.allowed[id], fake.allowed[id]);
        if user != fakebit {
            rules.push(format!("{}{}", if user { '+' } else { '-' }, cat.entries[id].name));
            change_perm(cat, &mut fake, id, user);
        }
        if !user {
            for a in s.firstargs.get(&id).into_iter().flatten() {
                rules.push(format!("+{}|{}", cat.entries[id].name, a));
            }
        }
    }
    rules.join(" ")
}

pub fn key_pattern(k: &KeyPattern) -> String {
    let p = String::from_utf8_lossy(&k.pattern);
    match k.perms {
        p2 if p2 == READ | WRITE => format!("~{p}"),
        READ => format!("%R~{p}"),
        _ => format!("%W~{p}"),
    }
}

/// GETUSER's `keys` field.
pub fn keys_field(s: &Selector) -> String {
    if s.all_keys {
        return "~*".to_string();
    }
    s.keys.iter().map(key_pattern).collect::<Vec<_>>().join(" ")
}

/// GETUSER's `channels` field.
pub fn channels_field(s: &Selector) -> String {
    if s.all_channels {
        return "&*".to_string();
    }
    s.channels.iter().map(|c| format!("&{}", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
}

/// A selector as rules: keys, channels, commands.
pub fn selector(s: &Selector) -> String {
    let mut parts = vec![];
    if s.all_keys {
        parts.push("~*".to_string());
    } else {
        parts.extend(s.keys.iter().map(key_pattern));
    }
    if s.all_channels {
        parts.push("&*".to_string());
    } else {
        parts.push("resetchannels".to_string());
        parts.extend(s.channels.iter().map(|c| format!("&{}", String::from_utf8_lossy(c))));
    }
    parts.push(command_rules(s));
    parts.join(" ")
}

/// The user flags GETUSER lists.
pub fn flags(u: &User) -> Vec<&'static str> {
    let mut f = vec![if u.enabled { "on" } else { "off" }];
    if u.nopass {
        f.push("nopass");
    }
    match u.sanitize {
        Some(false) => f.push("skip-sanitize-payload"),
        Some(true) => f.push("sanitize-payload"),
        None => {}
    }
    f
}

/// The rules after `user <name> ` in ACL LIST and the ACL file.
pub fn user(u: &User) -> String {
    let mut parts: Vec<String> = flags(u).iter().map(|f| f.to_string()).collect();
    parts.extend(u.passwords.iter().map(|p| format!("#{p}")));
    parts.push(selector(&u.root));
    let mut s = parts.join(" ");
    for sel in &u.selectors {
        s.push_str(&format!(" ({})", selector(sel)));
    }
    s
}
