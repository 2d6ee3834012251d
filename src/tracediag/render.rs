//! Mermaid output: participant ids and labels, escaping, `--normalize`, collapsing repeats.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::parse::{Arrow, TraceLine};

/// Escapes text for a mermaid message or participant label: `#`, `;`, `<`, `>` and `%` become
/// entity codes (`#35;`, `#59;`, `#60;`, `#62;`, `#37;`), line breaks become spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#60;"),
            '>' => out.push_str("#62;"),
            '%' => out.push_str("#37;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A mermaid participant id from any name: ASCII letters, digits and `_` are kept, every other
/// character becomes `_` (mermaid ids cannot hold `:`, `-`, `+`, `,`, `;` or spaces).
pub fn sanitize_id(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.is_empty() {
        "_".to_string()
    } else {
        s
    }
}

/// The mermaid arrow for a trace arrow: `->>` (message), `-->>` (reply), `-)` (wire).
pub fn mermaid_arrow(arrow: Arrow) -> &'static str {
    match arrow {
        Arrow::Send => "->>",
        Arrow::Reply => "-->>",
        Arrow::Wire => "-)",
    }
}

/// The prefixes whose `prefix:<rest>` tokens in message text are aliased under `--normalize`
/// (participant names are aliased whatever their prefix).
const TEXT_ALIAS_PREFIXES: &[&str] = &["client", "replica", "net"];

/// `prefix` of `prefix:rest` when the prefix is a word (letters, `_`, `-`) and rest is not empty.
fn alias_prefix(name: &str) -> Option<&str> {
    let (p, rest) = name.split_once(':')?;
    let word = !p.is_empty()
        && p.starts_with(|c: char| c.is_ascii_alphabetic())
        && p.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-');
    (word && !rest.is_empty()).then_some(p)
}

/// Names seen so far: servers, aliases, participant ids and their declarations.
struct Names {
    normalize: bool,
    /// server name -> label (`S1` under normalize, else the name).
    servers: HashMap<String, String>,
    /// real participant name -> alias (normalize only).
    aliases: HashMap<String, String>,
    /// alias prefix -> last number given.
    counters: HashMap<String, usize>,
    /// (server, name) -> mermaid id.
    ids: HashMap<(String, String), String>,
    taken: HashSet<String>,
    decls: Vec<String>,
}

impl Names {
    fn new(normalize: bool) -> Names {
        Names {
            normalize,
            servers: HashMap::new(),
            aliases: HashMap::new(),
            counters: HashMap::new(),
            ids: HashMap::new(),
            taken: HashSet::new(),
            decls: Vec::new(),
        }
    }

    fn server(&mut self, server: &str) -> String {
        if let Some(s) = self.servers.get(server) {
            return s.clone();
        }
        let label = if self.normalize { format!("S{}", self.servers.len() + 1) } else { server.to_string() };
        self.servers.insert(server.to_string(), label.clone());
        label
    }

    /// The alias of a name with a `prefix:` (`client:17` -> `client1`), given on first sight.
    fn alias(&mut self, name: &str) -> String {
        if let Some(a) = self.aliases.get(name) {
            return a.clone();
        }
        let Some(prefix) = alias_prefix(name) else { return name.to_string() };
        let n = self.counters.entry(prefix.to_string()).or_insert(0);
        *n += 1;
        let a = format!("{}{}", sanitize_id(prefix), n);
        self.aliases.insert(name.to_string(), a.clone());
        a
    }

    /// The mermaid id of a participant, declaring it on first sight.
    fn participant(&mut self, server: &str, name: &str) -> String {
        let key = (server.to_string(), name.to_string());
        if let Some(id) = self.ids.get(&key) {
            return id.clone();
        }
        let slabel = self.server(server);
        let shown = if self.normalize { self.alias(name) } else { name.to_string() };
        let sid = if self.normalize { sanitize_id(&slabel) } else { format!("S{}", sanitize_id(&slabel)) };
        let base = format!("{}.{}", sid, sanitize_id(&shown));
        let mut id = base.clone();
        let mut n = 1;
        while self.taken.contains(&id) {
            n += 1;
            id = format!("{base}_{n}");
        }
        self.taken.insert(id.clone());
        self.decls.push(format!("    participant {} as {}", id, escape(&format!("{slabel} {shown}"))));
        self.ids.insert(key, id.clone());
        id
    }

    /// Message text under `--normalize`: replication ids, participant names, numbers.
    fn normalize_text(&mut self, text: &str) -> String {
        let text = replace_replids(text);
        let text = self.alias_tokens(&text);
        replace_numbers(&text)
    }

    /// Replaces `prefix:rest` tokens naming a participant already aliased, or with a prefix
    /// of [`TEXT_ALIAS_PREFIXES`], by their alias.
    fn alias_tokens(&mut self, text: &str) -> String {
        let is_tok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(is_tok) {
            out.push_str(&rest[..start]);
            let tail = &rest[start..];
            let end = tail.find(|c: char| !is_tok(c)).unwrap_or(tail.len());
            let tok = &tail[..end];
            let known = self.aliases.contains_key(tok);
            let aliasable = alias_prefix(tok).is_some_and(|p| TEXT_ALIAS_PREFIXES.contains(&p));
            if known || aliasable {
                out.push_str(&self.alias(tok));
            } else {
                out.push_str(tok);
            }
            rest = &tail[end..];
        }
        out.push_str(rest);
        out
    }
}

/// Replaces every run of exactly 40 hex digits (a replication id) standing alone (not part of
/// a longer run of letters and digits) by `<replid>`.
pub fn replace_replids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphanumeric()) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(tail.len());
        let run = &tail[..end];
        if run.len() == 40 && run.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.push_str("<replid>");
        } else {
            out.push_str(run);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Replaces every decimal number that does not continue a word (`offset=-1`, `(4711 bytes)`,
/// `127.0.0.1`, but not `client1`) by `N`; a `-` sign right before it goes too.
pub fn replace_numbers(text: &str) -> String {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !word(b[i - 1])) {
            let mut start = i;
            if i > 0 && b[i - 1] == b'-' && (i == 1 || !word(b[i - 2])) {
                start = i - 1;
            }
            out.push_str(&text[copied..start]);
            out.push('N');
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The mermaid sequence diagram of `lines`, in their order.
///
/// Participants are declared in order of first appearance, as `<server>.<name>` ids with
/// labels showing the server and the real name; message text is the logged `Kind(args) text`
/// followed by ` @<off>` when the line has an offset. With `normalize`, servers become `S1`,
/// `S2`..., `prefix:rest` names `prefix1`, `prefix2`... (in order of first appearance),
/// replication ids `<replid>`, numbers `N`, the metadata is left out, and consecutive
/// identical arrows become one ending in ` (xK)`.
pub fn render<'a>(lines: impl IntoIterator<Item = &'a TraceLine>, normalize: bool) -> String {
    let mut names = Names::new(normalize);
    let mut arrows: Vec<(String, usize)> = Vec::new();
    for l in lines {
        let from = names.participant(&l.server, &l.from);
        let to = names.participant(&l.server, &l.to);
        let text = if normalize {
            names.normalize_text(&l.body())
        } else {
            match l.offset() {
                Some(off) => format!("{} @{}", l.body(), off),
                None => l.body(),
            }
        };
        let arrow = format!("    {}{}{}: {}", from, mermaid_arrow(l.arrow), to, escape(&text));
        if normalize {
            if let Some(last) = arrows.last_mut() {
                if last.0 == arrow {
                    last.1 += 1;
                    continue;
                }
            }
        }
        arrows.push((arrow, 1));
    }
    let mut out = String::from("sequenceDiagram\n");
    for d in &names.decls {
        out.push_str(d);
        out.push('\n');
    }
    for (a, n) in &arrows {
        out.push_str(a);
        if *n > 1 {
            let _ = write!(out, " (x{n})");
        }
        out.push('\n');
    }
    out
}
