//! Layering with the `config` crate. Each layer (defaults, file+stdin,
//! environment, command line) becomes a map `directive -> [occurrence, ...]`
//! (for `client-output-buffer-limit`: `directive.class -> [...]`), where an
//! occurrence records the layer, the line number and the line text. The crate
//! merges the layers (a later layer replaces a directive's occurrences from
//! earlier layers); the merged occurrences are then applied in order to the
//! typed `Config` with the same validation as CONFIG SET.
//!
//! Every line is fully validated while its layer is parsed, so errors are
//! reported in line order with the line number, like Redis.

use super::table::{self, Special, DEPRECATED, SPECS};
use super::value::{self, ClientClass};
use super::{ConfigError, ErrorLocation};
use crate::util::splitargs::{repr, splitargs};
use ::config::{ConfigError as CrateError, FileStoredFormat, Format, Map, Source, Value, ValueKind};
use std::error::Error;

pub const LAYER_DEFAULT: i64 = 0;
pub const LAYER_FILE: i64 = 1;
pub const LAYER_ENV: i64 = 2;
pub const LAYER_ARGV: i64 = 3;

/// Prefix of environment variables that set directives.
pub const ENV_PREFIX: &str = "TANDEM_";

/// One line that set a directive, after merging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub layer: i64,
    pub line: i64,
    pub text: String,
    /// environment variable name for the env layer, else empty
    pub origin: String,
}

impl Occurrence {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("layer".to_string(), Value::new(None, ValueKind::I64(self.layer)));
        m.insert("line".to_string(), Value::new(None, ValueKind::I64(self.line)));
        m.insert("text".to_string(), Value::new(None, ValueKind::String(self.text.clone())));
        m.insert("origin".to_string(), Value::new(None, ValueKind::String(self.origin.clone())));
        Value::new(None, ValueKind::Table(m))
    }
    fn from_value(v: Value) -> Option<Occurrence> {
        let mut t = v.into_table().ok()?;
        Some(Occurrence {
            layer: t.remove("layer")?.into_int().ok()?,
            line: t.remove("line")?.into_int().ok()?,
            text: t.remove("text")?.into_string().ok()?,
            origin: t.remove("origin")?.into_string().ok()?,
        })
    }
    pub fn location(&self) -> ErrorLocation {
        if self.layer == LAYER_ENV {
            ErrorLocation::Env { var: self.origin.clone(), text: self.text.clone() }
        } else {
            ErrorLocation::Line { number: self.line as usize, text: self.text.clone() }
        }
    }
}

/// A line split into lowercase directive name and its arguments.
pub struct Directive {
    pub name: String,
    pub args: Vec<Vec<u8>>,
}

/// What a directive line does, once recognised.
pub enum LineKind {
    /// a table directive: index into SPECS and the arguments to pass to it
    Spec(usize, Vec<Vec<u8>>),
    /// include / rename-command / user / loadmodule (key, arguments)
    FileOnly(&'static str, Vec<Vec<u8>>),
    /// accepted and ignored (deprecated directives, lone `sentinel`)
    Ignored,
}

/// Classifies and validates one directive (Redis's rules for argument counts
/// and messages).
pub fn classify(d: &Directive) -> Result<LineKind, String> {
    let argc = d.args.len() + 1;
    if let Some((i, _)) = table::lookup(d.name.as_bytes()) {
        let spec = &SPECS[i];
        if !spec.multi_arg() && argc != 2 {
            return Err("wrong number of arguments".into());
        }
        let args = if spec.multi_arg() && argc == 2 && !d.args[0].is_empty() {
            splitargs(&d.args[0]).unwrap_or_else(|| d.args.clone())
        } else {
            d.args.clone()
        };
        value::parse(spec, &args, &value::default_val(spec))?;
        return Ok(LineKind::Spec(i, args));
    }
    if DEPRECATED.iter().any(|(n, lo, hi)| *n == d.name && *lo <= argc && argc <= *hi) {
        return Ok(LineKind::Ignored);
    }
    match d.name.as_str() {
        "include" if argc == 2 => Ok(LineKind::FileOnly("include", d.args.clone())),
        "rename-command" if argc == 3 => Ok(LineKind::FileOnly("rename-command", d.args.clone())),
        "user" if argc >= 2 => Ok(LineKind::FileOnly("user", d.args.clone())),
        "loadmodule" if argc >= 2 => Ok(LineKind::FileOnly("loadmodule", d.args.clone())),
        n if n.contains('.') => {
            if argc < 2 {
                Err("Module config specified without value".into())
            } else {
                Err("Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting"
                    .into())
            }
        }
        "sentinel" if argc == 1 => Ok(LineKind::Ignored),
        "sentinel" => Err("sentinel directive while not in sentinel mode".into()),
        _ => Err("Bad directive or wrong number of arguments".into()),
    }
}

/// Splits a (trimmed, non-comment) line; None for unbalanced quotes,
/// Some(None) for a line without words.
pub fn split_line(line: &str) -> Option<Option<Directive>> {
    let mut words = splitargs(line.as_bytes())?;
    if words.is_empty() {
        return Some(None);
    }
    let name = String::from_utf8_lossy(&words.remove(0)).to_ascii_lowercase();
    Some(Some(Directive { name, args: words }))
}

/// Keys of the merged map an accepted line is stored under.
fn keys_for(kind: &LineKind, layer: i64) -> Vec<String> {
    match kind {
        LineKind::Spec(i, args) => {
            let spec = &SPECS[*i];
            // Redis reads the file and then the command line as one text, where `save` lines
            // add up (the first one drops the defaults): the command line's are kept apart
            // so that they add to the file's instead of replacing them.
            if matches!(spec.kind, table::Kind::Special(Special::Save)) && layer == LAYER_ARGV {
                return vec![format!("{}_argv", spec.name)];
            }
            if matches!(spec.kind, table::Kind::Special(Special::ClientOutputBufferLimit)) {
                let mut keys: Vec<String> = args
                    .chunks(4)
                    .filter_map(|q| ClientClass::from_name(&q[0]))
                    .map(|c| format!("{}.{}", spec.name, c.rewrite_name()))
                    .collect();
                keys.dedup();
                keys
            } else {
                vec![spec.name.to_string()]
            }
        }
        LineKind::FileOnly(k, _) => vec![k.to_string()],
        LineKind::Ignored => vec![],
    }
}

/// Parses redis.conf text into `key -> [occurrence]`. `first_line` is the
/// number of the text's first line in the combined configuration.
pub fn parse_text(
    text: &str,
    layer: i64,
    first_line: usize,
    origin: &str,
) -> Result<Map<String, Value>, ConfigError> {
    let mut out: Map<String, Vec<Value>> = Map::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let occ = Occurrence {
            layer,
            line: (first_line + i) as i64,
            text: line.to_string(),
            origin: origin.to_string(),
        };
        let fail = |msg: String| ConfigError::Fatal { location: Some(occ.location()), message: msg };
        let d = match split_line(line) {
            None => return Err(fail("Unbalanced quotes in configuration line".into())),
            Some(None) => continue,
            Some(Some(d)) => d,
        };
        let kind = classify(&d).map_err(fail)?;
        for key in keys_for(&kind, layer) {
            out.entry(key).or_default().push(occ.to_value());
        }
    }
    Ok(out.into_iter().map(|(k, v)| (k, Value::new(None, ValueKind::Array(v)))).collect())
}

/// The redis.conf format for the `config` crate.
#[derive(Clone, Debug)]
pub struct RedisConfFormat {
    pub layer: i64,
    pub first_line: usize,
}

impl Format for RedisConfFormat {
    fn parse(&self, _uri: Option<&String>, text: &str) -> Result<Map<String, Value>, Box<dyn Error + Send + Sync>> {
        parse_text(text, self.layer, self.first_line, "").map_err(|e| Box::new(e) as Box<dyn Error + Send + Sync>)
    }
}

impl FileStoredFormat for RedisConfFormat {
    fn file_extensions(&self) -> &'static [&'static str] {
        &["conf"]
    }
}

/// Environment variables `TANDEM_<DIRECTIVE>` as a `config` source. The
/// variables are passed in (no process-global reads here), sorted by name.
#[derive(Clone, Debug, Default)]
pub struct EnvSource {
    pub vars: Vec<(String, String)>,
}

impl EnvSource {
    /// Maps TANDEM_REPL_BACKLOG_SIZE to "repl-backlog-size" (or to a
    /// directive spelled with underscores, like server_cpulist).
    pub fn directive_for(var: &str) -> Option<&'static str> {
        let rest = var.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
        let dashed = rest.replace('_', "-");
        table::lookup(dashed.as_bytes())
            .or_else(|| table::lookup(rest.as_bytes()))
            .map(|(i, _)| SPECS[i].name)
    }

    /// TANDEM_* variables that name no directive.
    pub fn unknown_vars(&self) -> Vec<String> {
        self.vars
            .iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && Self::directive_for(k).is_none())
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn collect_map(&self) -> Result<Map<String, Value>, ConfigError> {
        let mut vars: Vec<&(String, String)> = self.vars.iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
        vars.sort();
        let mut out: Map<String, Value> = Map::new();
        for (k, v) in vars {
            let Some(name) = Self::directive_for(k) else { continue };
            let line = format!("{name} {}", repr(v.as_bytes()));
            let parsed = parse_text(&line, LAYER_ENV, 0, k).map_err(|e| match e {
                ConfigError::Fatal { message, .. } => ConfigError::Fatal {
                    location: Some(ErrorLocation::Env { var: k.clone(), text: format!("{k}={v}") }),
                    message,
                },
                other => other,
            })?;
            out.extend(parsed);
        }
        Ok(out)
    }
}

impl Source for EnvSource {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }
    fn collect(&self) -> Result<Map<String, Value>, CrateError> {
        self.collect_map().map_err(|e| CrateError::Foreign(Box::new(e)))
    }
}

/// Recovers our error from the crate's wrapping.
pub fn unwrap_crate_error(e: CrateError) -> ConfigError {
    let boxed: Option<&(dyn Error + Send + Sync + 'static)> = match &e {
        CrateError::FileParse { cause, .. } => Some(cause.as_ref()),
        CrateError::Foreign(cause) => Some(cause.as_ref()),
        _ => None,
    };
    if let Some(ours) = boxed.and_then(|b| b.downcast_ref::<ConfigError>()) {
        return ours.clone();
    }
    ConfigError::Fatal { location: None, message: e.to_string() }
}

/// Default values as a layer: one occurrence per directive that has a value
/// to write (what CONFIG REWRITE would write for it).
pub fn default_layer() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for spec in SPECS {
        let val = value::default_val(spec);
        if matches!(spec.kind, table::Kind::Special(Special::Dir)) {
            continue; // the process's working directory, nothing to write
        }
        let lines: Vec<String> = value::rewrite_lines(spec, &val).into_iter().map(|(l, _)| l).collect();
        let lines = if lines.is_empty() && matches!(spec.kind, table::Kind::Special(Special::Bind)) {
            vec![format!("bind {}", value::BIND_DEFAULT.join(" "))]
        } else {
            lines
        };
        for (n, line) in lines.into_iter().enumerate() {
            let occ = Occurrence { layer: LAYER_DEFAULT, line: n as i64, text: line, origin: String::new() };
            let key = match spec.kind {
                table::Kind::Special(Special::ClientOutputBufferLimit) => {
                    format!("{}.{}", spec.name, ClientClass::ALL[n].rewrite_name())
                }
                _ => spec.name.to_string(),
            };
            out.push((key, occ));
        }
    }
    // group occurrences per key into arrays
    let mut grouped: Vec<(String, Vec<Value>)> = Vec::new();
    for (k, occ) in out {
        match grouped.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(occ.to_value()),
            None => grouped.push((k, vec![occ.to_value()])),
        }
    }
    grouped.into_iter().map(|(k, v)| (k, Value::new(None, ValueKind::Array(v)))).collect()
}

/// Flattens the merged root table back into occurrences, ordered by layer
/// and line (the order Redis would have read them in).
pub fn merged_occurrences(root: Map<String, Value>) -> Vec<Occurrence> {
    fn walk(v: Value, out: &mut Vec<Occurrence>) {
        match v.kind {
            ValueKind::Array(items) => {
                for it in items {
                    if let Some(o) = Occurrence::from_value(it) {
                        out.push(o);
                    }
                }
            }
            ValueKind::Table(t) => {
                for (_, v) in t {
                    walk(v, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, v) in root {
        walk(v, &mut out);
    }
    out.sort_by(|a, b| (a.layer, a.line, &a.text).cmp(&(b.layer, b.line, &b.text)));
    out.dedup();
    out
}
