//! tandem's configuration: redis.conf syntax, Redis 7.0 directive names,
//! aliases, units, defaults and error texts; layered with the `config` crate
//! (defaults < file (+stdin) < `TANDEM_*` environment < command line); and the
//! runtime API behind CONFIG GET / SET / REWRITE.
//!
//! A server instance owns one [`Config`] (typically in
//! `Arc<std::sync::RwLock<Config>>`); nothing here is process-global state.
//!
//! Differences from Redis worth knowing:
//! * A directive set in a later layer replaces all its lines from earlier
//!   layers (e.g. `--save 60 1` replaces the file's `save` lines, Redis would
//!   append); within one layer `save` lines accumulate like in Redis, and
//!   `client-output-buffer-limit` is merged per client class.
//! * `dir` is not chdir'ed into (several servers share a process): it is
//!   stored as an absolute path and the server must join file names to it.
//! * `include` is not supported (logged and ignored), `loadmodule` is
//!   accepted and ignored, `user` and `rename-command` lines are kept for the
//!   server ([`Config::users`], [`Config::rename_commands`]).
//! * TLS directives are not known (like a Redis built without TLS).

mod cli;
mod rewrite;
mod source;
pub mod table;
pub mod value;

pub use cli::{parse_args, usage_text, version_text, CliAction, StartOptions};
pub use source::ENV_PREFIX;
pub use value::{notify, ClientClass, ObufLimit};

use crate::util::glob::glob_match;
use source::{LineKind, Occurrence};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use table::{Kind, SPECS};
use value::Val;

/// Redis version tandem is compatible with (used in messages).
pub const REDIS_VERSION: &str = "7.0.15";

/// `shutdown-on-sigint` / `shutdown-on-sigterm` flag bits.
pub mod shutdown_flags {
    /// `default`: save an RDB only if save points are configured.
    pub const DEFAULT: u32 = 0;
    /// `save`: save an RDB even without save points.
    pub const SAVE: u32 = 1;
    /// `nosave`: do not save an RDB even with save points.
    pub const NOSAVE: u32 = 2;
    /// `now`: do not wait for lagging replicas.
    pub const NOW: u32 = 4;
    /// `force`: shut down even if the final save fails.
    pub const FORCE: u32 = 8;
}

/// Value of `enable-debug-command`, `enable-protected-configs`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectedAction {
    /// `no`: refused to every client.
    No,
    /// `yes`: allowed to every client.
    Yes,
    /// allowed for connections from the local host only
    Local,
}

impl ProtectedAction {
    /// Whether a client may use the protected feature.
    pub fn allows(self, client_is_local: bool) -> bool {
        self == ProtectedAction::Yes || (self == ProtectedAction::Local && client_is_local)
    }
}

/// Where a configuration error was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorLocation {
    /// Line of the combined configuration (file, stdin, then command-line options).
    Line {
        /// 1-based line number in the combined text.
        number: usize,
        /// The line as written.
        text: String,
    },
    /// An environment variable (`text` is `NAME=value`).
    Env {
        /// The variable's name (`TANDEM_...`).
        var: String,
        /// `NAME=value`.
        text: String,
    },
}

/// A start-up configuration error. `Display` gives the text to print on
/// stderr (Redis's layout) before exiting with status 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `*** FATAL CONFIG FILE ERROR ...` block.
    Fatal {
        /// The offending line or variable (None when no single line is to blame, e.g.
        /// the log file cannot be opened).
        location: Option<ErrorLocation>,
        /// The reason, printed last (Redis's wording).
        message: String,
    },
    /// The config file could not be read.
    CantOpen {
        /// The config file's absolute path.
        path: String,
        /// The operating system's reason, strerror-style.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Fatal { location, message } => {
                writeln!(f)?;
                writeln!(f, "*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***")?;
                match location {
                    Some(ErrorLocation::Line { number, text }) => {
                        writeln!(f, "Reading the configuration file, at line {number}")?;
                        writeln!(f, ">>> '{text}'")?;
                    }
                    Some(ErrorLocation::Env { var, text }) => {
                        writeln!(f, "Reading the environment variable {var}")?;
                        writeln!(f, ">>> '{text}'")?;
                    }
                    None => {}
                }
                write!(f, "{message}")
            }
            ConfigError::CantOpen { path, reason } => {
                write!(f, "Fatal error, can't open config file '{path}': {reason}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// What to do at start-up, see [`Config::startup`].
#[derive(Debug)]
pub enum Startup {
    /// `-v` / `--version`: print [`version_text`] and exit.
    Version,
    /// `-h` / `--help`: print [`usage_text`] and exit.
    Help,
    /// Start a server with this configuration.
    Run(Box<Config>),
}

/// The configuration of one server instance.
#[derive(Clone, Debug)]
pub struct Config {
    values: Vec<Val>,
    config_file: Option<PathBuf>,
    /// `rename-command old new` lines, in order (new empty = remove the command).
    pub rename_commands: Vec<(Vec<u8>, Vec<u8>)>,
    /// `user ...` lines (arguments after `user`), in order.
    pub users: Vec<Vec<Vec<u8>>>,
    /// The `user` lines CONFIG REWRITE writes in place of the old ones (the ACL users as
    /// they are now; none with an ACL file); None keeps the old lines.
    pub acl_rewrite: Option<Vec<String>>,
    /// Things worth one warning line in the start-up log (ignored include /
    /// loadmodule lines, unknown TANDEM_* variables).
    pub startup_warnings: Vec<String>,
    /// Directives set to a non-default value that tandem does not act on.
    no_effect: Vec<&'static str>,
    /// Directives set explicitly (file, stdin, env or argv).
    explicitly_set: Vec<bool>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values: SPECS.iter().map(value::default_val).collect(),
            config_file: None,
            rename_commands: Vec::new(),
            users: Vec::new(),
            acl_rewrite: None,
            startup_warnings: Vec::new(),
            no_effect: Vec::new(),
            explicitly_set: vec![false; SPECS.len()],
        }
    }
}

fn lines_before_options(base: &str) -> usize {
    base.bytes().filter(|&b| b == b'\n').count() + 1
}

impl Config {
    // ------------------------------------------------------------ loading

    /// Full start-up: command line, optional stdin, environment.
    /// `argv[0]` is the program name; `env` is the process environment
    /// (only `TANDEM_*` variables are looked at).
    pub fn startup(
        argv: &[String],
        stdin: &mut dyn Read,
        env: &[(String, String)],
    ) -> Result<Startup, ConfigError> {
        match parse_args(argv) {
            CliAction::Version => Ok(Startup::Version),
            CliAction::Help => Ok(Startup::Help),
            CliAction::Start(opts) => Ok(Startup::Run(Box::new(Config::load(&opts, stdin, env)?))),
        }
    }

    /// Loads the layers described by `opts` (file, stdin if asked, options)
    /// plus the environment, and builds the typed configuration.
    pub fn load(opts: &StartOptions, stdin: &mut dyn Read, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut base = String::new();
        if let Some(path) = &opts.config_file {
            let bytes = std::fs::read(path).map_err(|e| ConfigError::CantOpen {
                path: path.display().to_string(),
                reason: value::io_error_text(&e),
            })?;
            base.push_str(&String::from_utf8_lossy(&bytes));
        }
        if opts.from_stdin {
            let mut buf = Vec::new();
            stdin.read_to_end(&mut buf).map_err(|e| ConfigError::Fatal {
                location: None,
                message: format!("Error reading config from stdin: {}", value::io_error_text(&e)),
            })?;
            base.push_str(&String::from_utf8_lossy(&buf));
        }
        let mut cfg = Config::load_layers(&base, env, &opts.options)?;
        cfg.config_file = opts.config_file.clone();
        Ok(cfg)
    }

    /// Builds a configuration from redis.conf text alone (no file, no
    /// environment, no options). Handy for tests and embedding.
    pub fn from_text(text: &str) -> Result<Config, ConfigError> {
        Config::load_layers(text, &[], "")
    }

    /// The layering itself: defaults, `base` (file + stdin text), the
    /// environment, then `options` (command-line lines).
    pub fn load_layers(base: &str, env: &[(String, String)], options: &str) -> Result<Config, ConfigError> {
        use ::config::{Config as Layers, File};
        let mut builder = Layers::builder();
        for (key, value) in source::default_layer() {
            builder = builder.set_default(key, value).map_err(source::unwrap_crate_error)?;
        }
        let env_source = source::EnvSource { vars: env.to_vec() };
        let options_first_line = lines_before_options(base) + 1;
        let merged = builder
            .add_source(File::from_str(
                base,
                source::RedisConfFormat { layer: source::LAYER_FILE, first_line: 1 },
            ))
            .add_source(env_source.clone())
            .add_source(File::from_str(
                options,
                source::RedisConfFormat { layer: source::LAYER_ARGV, first_line: options_first_line },
            ))
            .build()
            .map_err(source::unwrap_crate_error)?;
        let root: ::config::Map<String, ::config::Value> =
            merged.try_deserialize().map_err(source::unwrap_crate_error)?;

        let mut cfg = Config::default();
        for var in env_source.unknown_vars() {
            cfg.startup_warnings.push(format!("Environment variable {var} names no configuration directive, ignored"));
        }
        // Who began the save list in force: None (the compiled default), Some(false) the
        // defaults layer, Some(true) a line of the file or the command line.
        let mut save_seen = None;
        for occ in source::merged_occurrences(root) {
            cfg.apply_occurrence(&occ, &mut save_seen)?;
        }
        cfg.finish_load()?;
        Ok(cfg)
    }

    fn apply_occurrence(&mut self, occ: &Occurrence, save_seen: &mut Option<bool>) -> Result<(), ConfigError> {
        let fail = |message: String| ConfigError::Fatal { location: Some(occ.location()), message };
        let d = match source::split_line(&occ.text) {
            Some(Some(d)) => d,
            _ => return Err(fail("Unbalanced quotes in configuration line".into())),
        };
        match source::classify(&d).map_err(fail)? {
            LineKind::Spec(i, args) => {
                let spec = &SPECS[i];
                let new = value::parse(spec, &args, &self.values[i]).map_err(fail)?;
                let new = match (new, &self.values[i]) {
                    (Val::Save(pairs), Val::Save(old)) => {
                        // save lines add up (file, then command line); the first one
                        // replaces the defaults; `save ""` clears
                        let clear = args.len() == 1 && args[0].is_empty();
                        let real = occ.layer > source::LAYER_DEFAULT;
                        let mut list = if clear || *save_seen != Some(real) { Vec::new() } else { old.clone() };
                        *save_seen = Some(real);
                        list.extend(pairs);
                        Val::Save(list)
                    }
                    (new, _) => new,
                };
                self.values[i] = new;
                if occ.layer > source::LAYER_DEFAULT {
                    self.explicitly_set[i] = true;
                }
            }
            LineKind::FileOnly(kind, args) => match kind {
                "rename-command" => self.rename_commands.push((args[0].clone(), args[1].clone())),
                "user" => self.users.push(args),
                "include" => self.startup_warnings.push(format!(
                    "The include directive is not supported, ignoring '{}' (line {})",
                    occ.text, occ.line
                )),
                _ => self.startup_warnings.push(format!(
                    "Modules are not supported, ignoring '{}' (line {})",
                    occ.text, occ.line
                )),
            },
            LineKind::Ignored => {}
        }
        Ok(())
    }

    fn finish_load(&mut self) -> Result<(), ConfigError> {
        let logfile = self.logfile();
        if !logfile.is_empty() {
            let path = self.resolve_logfile_path(&logfile);
            if let Err(e) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
                return Err(ConfigError::Fatal {
                    location: None,
                    message: format!("Can't open the log file: {}", value::io_error_text(&e)),
                });
            }
        }
        if self.flag("cluster-enabled") && self.replicaof().is_some() {
            return Err(ConfigError::Fatal {
                location: None,
                message: "replicaof directive not allowed in cluster mode".into(),
            });
        }
        self.clamp_hz();
        self.no_effect = SPECS
            .iter()
            .enumerate()
            .filter(|(i, s)| !s.honoured && self.explicitly_set[*i] && self.values[*i] != value::default_val(s))
            .map(|(_, s)| s.name)
            .collect();
        Ok(())
    }

    fn resolve_logfile_path(&self, logfile: &str) -> PathBuf {
        // Redis opens the log file relative to the working directory it
        // chdir'ed to (`dir`); we do the same without chdir.
        let p = Path::new(logfile);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir().join(p)
        }
    }

    fn clamp_hz(&mut self) {
        let i = table::idx("hz");
        if let Val::Num(v) = &mut self.values[i] {
            *v = (*v).clamp(1, 500);
        }
    }

    // ------------------------------------------------------------ introspection

    /// The config file this configuration was loaded from (absolute path).
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// Sets the file CONFIG REWRITE writes to.
    pub fn set_config_file(&mut self, path: Option<PathBuf>) {
        self.config_file = path;
    }

    /// Directives that were set to a non-default value but have no effect in
    /// tandem (log one line each at start-up).
    pub fn no_effect_directives(&self) -> &[&'static str] {
        &self.no_effect
    }

    /// Whether the directive was set by the file, stdin, environment or
    /// command line (as opposed to its default).
    pub fn is_explicitly_set(&self, name: &str) -> bool {
        table::lookup(name.as_bytes()).map(|(i, _)| self.explicitly_set[i]).unwrap_or(false)
    }

    /// CONFIG GET-style rendering of one directive (exact name or alias).
    pub fn value_string(&self, name: &str) -> Option<String> {
        let (i, _) = table::lookup(name.as_bytes())?;
        Some(String::from_utf8_lossy(&value::render(&SPECS[i], &self.values[i])).into_owned())
    }

    // ------------------------------------------------------------ CONFIG GET

    /// CONFIG GET with one pattern: `(name, value)` pairs. A pattern without
    /// glob characters is looked up exactly (aliases and hidden directives
    /// included, name echoed as given); a glob matches case-insensitively all
    /// names and aliases except hidden directives.
    pub fn get(&self, pattern: &[u8]) -> Vec<(String, String)> {
        self.get_raw(&[pattern])
            .into_iter()
            .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), String::from_utf8_lossy(&v).into_owned()))
            .collect()
    }

    /// CONFIG GET with several patterns (Redis 7 form), binary-safe values,
    /// each name reported once.
    pub fn get_raw(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let taken = |out: &mut Vec<(Vec<u8>, Vec<u8>)>, name: &[u8], i: usize| {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_vec(), value::render(&SPECS[i], &self.values[i])));
            }
        };
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                if let Some((i, _)) = table::lookup(pat) {
                    taken(&mut out, pat, i);
                }
                continue;
            }
            for (i, spec) in SPECS.iter().enumerate() {
                if spec.has(table::HIDDEN) {
                    continue;
                }
                for name in std::iter::once(spec.name).chain(spec.alias) {
                    if glob_match(pat, name.as_bytes(), true) {
                        taken(&mut out, name.as_bytes(), i);
                    }
                }
            }
        }
        out
    }

    // ------------------------------------------------------------ CONFIG SET

    /// CONFIG SET name value [name value ...], all or nothing. Errors are the
    /// full Redis error text (starting with "ERR "). Protected directives
    /// are treated as coming from a non-local client; see [`Config::set_ext`].
    pub fn set(&mut self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String> {
        self.set_ext(pairs, false).map(|_| ())
    }

    /// Like [`Config::set`]; `client_is_local` matters when
    /// `enable-protected-configs` is `local`. Returns the canonical names of
    /// directives whose value changed, so the server can act on them (if
    /// acting fails, restore a clone taken before the call).
    pub fn set_ext(&mut self, pairs: &[(Vec<u8>, Vec<u8>)], client_is_local: bool) -> Result<Vec<&'static str>, String> {
        let mut chosen: Vec<(usize, &'static str, &[u8])> = Vec::new();
        for (name, val) in pairs {
            let shown = String::from_utf8_lossy(name);
            let Some((i, alias)) = table::lookup(name) else {
                return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{shown}'"));
            };
            let spec = &SPECS[i];
            let failed = |why: &str| format!("ERR CONFIG SET failed (possibly related to argument '{shown}') - {why}");
            if spec.has(table::IMMUTABLE) {
                return Err(failed("can't set immutable config"));
            }
            if spec.has(table::PROTECTED) && !self.enable_protected_configs().allows(client_is_local) {
                return Err(failed("can't set protected config"));
            }
            let registered = table::registered_name(i, alias);
            if chosen.iter().any(|(_, r, _)| *r == registered) {
                return Err(failed("duplicate parameter"));
            }
            chosen.push((i, registered, val));
        }
        // Names are all checked before any value is parsed (so an unknown
        // name is reported even if an earlier value is bad), like Redis.
        let mut values = self.values.clone();
        for (i, registered, val) in &chosen {
            let spec = &SPECS[*i];
            let args: Vec<Vec<u8>> = if spec.multi_arg() {
                if val.is_empty() {
                    Vec::new()
                } else {
                    val.split(|&c| c == b' ').map(|s| s.to_vec()).collect()
                }
            } else {
                vec![val.to_vec()]
            };
            values[*i] = value::parse(spec, &args, &values[*i]).map_err(|why| {
                format!("ERR CONFIG SET failed (possibly related to argument '{registered}') - {why}")
            })?;
        }
        let changed: Vec<&'static str> = chosen
            .iter()
            .filter(|(i, _, _)| values[*i] != self.values[*i])
            .map(|(i, _, _)| SPECS[*i].name)
            .collect();
        self.values = values;
        self.clamp_hz();
        Ok(changed)
    }

    // ------------------------------------------------------------ CONFIG REWRITE

    /// CONFIG REWRITE: rewrites the file this configuration was loaded from,
    /// keeping comments and lines it does not manage, replacing directives in
    /// place and appending new ones after "# Generated by CONFIG REWRITE".
    pub fn rewrite(&self) -> Result<(), String> {
        self.rewrite_ext(false)
    }

    /// CONFIG REWRITE, or with `force_all` every directive written, defaults included
    /// (DEBUG CONFIG-REWRITE-FORCE-ALL).
    pub fn rewrite_ext(&self, force_all: bool) -> Result<(), String> {
        let Some(path) = &self.config_file else {
            return Err("ERR The server is running without a config file".into());
        };
        rewrite::rewrite_file(path, self, force_all)
    }

    /// The new content CONFIG REWRITE would write over `old` (for tests and
    /// for DEBUG-style dumps).
    pub fn rewrite_content(&self, old: &str) -> String {
        rewrite::rewrite_content(old, self, false)
    }

    pub(crate) fn rewrite_entries(&self) -> Vec<(&'static str, Vec<(String, bool)>)> {
        SPECS.iter().zip(&self.values).map(|(s, v)| (s.name, value::rewrite_lines(s, v))).collect()
    }

    // ------------------------------------------------------------ generic accessors

    fn val(&self, name: &str) -> &Val {
        &self.values[table::idx(name)]
    }

    /// Numeric directive value (panics on a name that is not numeric: a bug).
    pub fn int(&self, name: &str) -> i128 {
        match self.val(name) {
            Val::Num(v) => *v,
            other => panic!("{name} is not numeric: {other:?}"),
        }
    }

    /// Boolean directive value.
    pub fn flag(&self, name: &str) -> bool {
        match self.val(name) {
            Val::Bool(b) => *b,
            other => panic!("{name} is not a boolean: {other:?}"),
        }
    }

    /// String directive value (None when unset / empty-means-unset).
    pub fn string(&self, name: &str) -> Option<Vec<u8>> {
        match self.val(name) {
            Val::Str(s) => s.clone(),
            other => panic!("{name} is not a string: {other:?}"),
        }
    }

    /// Enum directive value as its (first) name, e.g. "noeviction".
    pub fn enum_name(&self, name: &str) -> &'static str {
        let i = table::idx(name);
        match (&self.values[i], &SPECS[i].kind) {
            (Val::Enum(v), Kind::Enum { items, .. }) => {
                items.iter().find(|(_, x)| x == v).map(|(n, _)| *n).unwrap_or("unknown")
            }
            other => panic!("{name} is not an enum: {other:?}"),
        }
    }

    fn enum_bits(&self, name: &str) -> u32 {
        match self.val(name) {
            Val::Enum(v) => *v as u32,
            other => panic!("{name} is not an enum: {other:?}"),
        }
    }

    fn protected(&self, name: &str) -> ProtectedAction {
        match self.enum_name(name) {
            "yes" => ProtectedAction::Yes,
            "local" => ProtectedAction::Local,
            _ => ProtectedAction::No,
        }
    }

    fn string_lossy(&self, name: &str) -> String {
        self.string(name).map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default()
    }

    // ------------------------------------------------------------ typed getters

    /// `port`: TCP port to listen on (default 6379; 0 lets the OS pick a free port,
    /// see [`ServerHandle::addr`](crate::ServerHandle::addr)).
    pub fn port(&self) -> u16 {
        self.int("port") as u16
    }
    /// Addresses to listen on; a leading '-' marks an optional address.
    pub fn bind(&self) -> Vec<String> {
        match self.val("bind") {
            Val::Bind(b) => b.clone(),
            _ => unreachable!(),
        }
    }
    /// `protected-mode`: refuse connections from other hosts while the default user has
    /// no password (default yes).
    pub fn protected_mode(&self) -> bool {
        self.flag("protected-mode")
    }
    /// `requirepass`: password of the default user (default none = no AUTH needed).
    pub fn requirepass(&self) -> Option<Vec<u8>> {
        self.string("requirepass")
    }
    /// `masterauth`: password a replica sends to its master with AUTH (default none).
    pub fn masterauth(&self) -> Option<Vec<u8>> {
        self.string("masterauth")
    }
    /// `masteruser`: user name a replica sends to its master with AUTH (default none =
    /// authenticate as the default user).
    pub fn masteruser(&self) -> Option<Vec<u8>> {
        self.string("masteruser")
    }
    /// `databases`: number of logical databases, SELECT 0 to n-1 (default 16).
    pub fn databases(&self) -> usize {
        self.int("databases") as usize
    }
    /// Absolute working directory for RDB/AOF files.
    pub fn dir(&self) -> PathBuf {
        match self.val("dir") {
            Val::Dir(d) => PathBuf::from(d),
            _ => unreachable!(),
        }
    }
    /// `dbfilename`: RDB file name inside [`dir`](Config::dir) (default `dump.rdb`).
    pub fn dbfilename(&self) -> String {
        self.string_lossy("dbfilename")
    }
    /// `dir` joined with `dbfilename`.
    pub fn rdb_path(&self) -> PathBuf {
        self.dir().join(self.dbfilename())
    }
    /// (seconds, changes) save points; empty = no automatic saving.
    pub fn save_params(&self) -> Vec<(u64, u64)> {
        match self.val("save") {
            Val::Save(s) => s.clone(),
            _ => unreachable!(),
        }
    }
    /// `rdbcompression`: LZF-compress strings when writing RDB files (default yes).
    pub fn rdbcompression(&self) -> bool {
        self.flag("rdbcompression")
    }
    /// `rdbchecksum`: write and check the CRC64 trailer of RDB files (default yes).
    pub fn rdbchecksum(&self) -> bool {
        self.flag("rdbchecksum")
    }
    /// debug / verbose / notice / warning
    pub fn loglevel(&self) -> &'static str {
        self.enum_name("loglevel")
    }
    /// "" = standard output.
    pub fn logfile(&self) -> String {
        self.string_lossy("logfile")
    }
    /// Log file path resolved against `dir` (None = standard output).
    pub fn logfile_path(&self) -> Option<PathBuf> {
        let l = self.logfile();
        (!l.is_empty()).then(|| self.resolve_logfile_path(&l))
    }
    /// `pidfile`: file to write the process id to (default none = no pid file).
    pub fn pidfile(&self) -> Option<String> {
        self.string("pidfile").map(|v| String::from_utf8_lossy(&v).into_owned())
    }
    /// `daemonize`: run in the background (default no).
    pub fn daemonize(&self) -> bool {
        self.flag("daemonize")
    }
    /// Client idle timeout in seconds (0 = never).
    pub fn timeout(&self) -> u64 {
        self.int("timeout") as u64
    }
    /// `tcp-keepalive`: TCP keepalive interval in seconds for client connections
    /// (default 300; 0 = off).
    pub fn tcp_keepalive(&self) -> u64 {
        self.int("tcp-keepalive") as u64
    }
    /// `maxclients`: maximum number of connected clients (default 10000).
    pub fn maxclients(&self) -> u64 {
        self.int("maxclients") as u64
    }
    /// `proto-max-bulk-len`: largest bulk string a request may carry, in bytes
    /// (default 512 MiB).
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.int("proto-max-bulk-len") as u64
    }
    /// `client-query-buffer-limit`: largest query buffer of one client, in bytes
    /// (default 1 GiB).
    pub fn client_query_buffer_limit(&self) -> u64 {
        self.int("client-query-buffer-limit") as u64
    }
    /// `client-output-buffer-limit` for one client class: hard and soft limits in
    /// bytes and the soft limit's duration in seconds (defaults: normal 0 0 0 = no
    /// limit, replica 256 MiB 64 MiB 60, pubsub 32 MiB 8 MiB 60).
    pub fn client_output_buffer_limit(&self, class: ClientClass) -> ObufLimit {
        match self.val("client-output-buffer-limit") {
            Val::Obuf(l) => l[class as usize],
            _ => unreachable!(),
        }
    }
    /// Master to replicate from (None = this is a master).
    pub fn replicaof(&self) -> Option<(String, u16)> {
        match self.val("replicaof") {
            Val::ReplicaOf(r) => r.clone(),
            _ => unreachable!(),
        }
    }
    /// For the REPLICAOF command (CONFIG SET cannot change `replicaof`).
    pub fn set_replicaof(&mut self, master: Option<(String, u16)>) {
        let i = table::idx("replicaof");
        self.values[i] = Val::ReplicaOf(master);
    }
    /// `replica-read-only` (alias `slave-read-only`): a replica refuses writes from its
    /// own clients (default yes).
    pub fn replica_read_only(&self) -> bool {
        self.flag("replica-read-only")
    }
    /// `replica-serve-stale-data` (alias `slave-serve-stale-data`): a replica whose
    /// link to the master is down still answers data commands (default yes).
    pub fn replica_serve_stale_data(&self) -> bool {
        self.flag("replica-serve-stale-data")
    }
    /// `repl-backlog-size`: size of the replication backlog in bytes (default 1 MiB).
    pub fn repl_backlog_size(&self) -> u64 {
        self.int("repl-backlog-size") as u64
    }
    /// `repl-backlog-ttl`: seconds without replicas after which a master frees its
    /// backlog (default 3600; 0 = never).
    pub fn repl_backlog_ttl(&self) -> u64 {
        self.int("repl-backlog-ttl") as u64
    }
    /// `repl-timeout`: replication timeout in seconds, for the transfer and for a silent
    /// master or replica (default 60).
    pub fn repl_timeout(&self) -> u64 {
        self.int("repl-timeout") as u64
    }
    /// `repl-ping-replica-period` (alias `repl-ping-slave-period`): seconds between
    /// the PINGs a master sends to its replicas (default 10).
    pub fn repl_ping_replica_period(&self) -> u64 {
        self.int("repl-ping-replica-period") as u64
    }
    /// `repl-diskless-sync`: a master streams full syncs straight to the replica
    /// socket instead of through an RDB file (default yes).
    pub fn repl_diskless_sync(&self) -> bool {
        self.flag("repl-diskless-sync")
    }
    /// `repl-diskless-sync-delay`: seconds a master waits for more replicas before
    /// starting a diskless full sync (default 5; 0 = start at once).
    pub fn repl_diskless_sync_delay(&self) -> u64 {
        self.int("repl-diskless-sync-delay") as u64
    }
    /// `repl-diskless-sync-max-replicas`: start the diskless full sync before the
    /// delay ends once this many replicas wait (default 0 = no such limit).
    pub fn repl_diskless_sync_max_replicas(&self) -> u64 {
        self.int("repl-diskless-sync-max-replicas") as u64
    }
    /// disabled / on-empty-db / swapdb
    pub fn repl_diskless_load(&self) -> &'static str {
        self.enum_name("repl-diskless-load")
    }
    /// `repl-disable-tcp-nodelay`: disable TCP_NODELAY on the socket to replicas,
    /// fewer packets but more replication lag (default no).
    pub fn repl_disable_tcp_nodelay(&self) -> bool {
        self.flag("repl-disable-tcp-nodelay")
    }
    /// `dual-channel-replication-enabled` (Valkey 8): a full sync sends the RDB on a second
    /// connection while the stream goes to the first (default no).
    pub fn dual_channel(&self) -> bool {
        self.flag("dual-channel-replication-enabled")
    }
    /// `repl-backpressure` (tandem): hold write replies while a replica's lag nears its
    /// output buffer limit instead of dropping it into a full sync (default no).
    pub fn repl_backpressure(&self) -> bool {
        self.flag("repl-backpressure")
    }
    /// `replica-priority` (alias `slave-priority`): priority reported in INFO for
    /// promotion, lower is preferred, 0 = never promote (default 100).
    pub fn replica_priority(&self) -> i64 {
        self.int("replica-priority") as i64
    }
    /// `replica-announced`: whether this replica is listed by sentinels (default yes).
    pub fn replica_announced(&self) -> bool {
        self.flag("replica-announced")
    }
    /// `replica-announce-ip` (alias `slave-announce-ip`): address a replica
    /// announces to its master (default none = the connection's source address).
    pub fn replica_announce_ip(&self) -> Option<String> {
        self.string("replica-announce-ip").map(|v| String::from_utf8_lossy(&v).into_owned())
    }
    /// `replica-announce-port` (alias `slave-announce-port`): port a replica
    /// announces to its master with REPLCONF listening-port (default 0 = the
    /// listening port).
    pub fn replica_announce_port(&self) -> u16 {
        self.int("replica-announce-port") as u16
    }
    /// `min-replicas-to-write` (alias `min-slaves-to-write`): a master refuses
    /// writes with fewer good replicas than this (default 0 = check disabled).
    pub fn min_replicas_to_write(&self) -> u64 {
        self.int("min-replicas-to-write") as u64
    }
    /// `min-replicas-max-lag` (alias `min-slaves-max-lag`): largest lag in seconds
    /// for a replica to count as good for `min-replicas-to-write` (default 10).
    pub fn min_replicas_max_lag(&self) -> u64 {
        self.int("min-replicas-max-lag") as u64
    }
    /// `shutdown-timeout`: seconds a shutting-down master waits for lagging replicas
    /// to catch up (default 10; 0 = do not wait).
    pub fn shutdown_timeout(&self) -> u64 {
        self.int("shutdown-timeout") as u64
    }
    /// Bits from [`shutdown_flags`].
    pub fn shutdown_on_sigterm(&self) -> u32 {
        self.enum_bits("shutdown-on-sigterm")
    }
    /// Bits from [`shutdown_flags`].
    pub fn shutdown_on_sigint(&self) -> u32 {
        self.enum_bits("shutdown-on-sigint")
    }
    /// Already clamped to 1..=500 like Redis.
    pub fn hz(&self) -> u32 {
        self.int("hz") as u32
    }
    /// `dynamic-hz`: raise the background task frequency with the number of clients
    /// (default yes).
    pub fn dynamic_hz(&self) -> bool {
        self.flag("dynamic-hz")
    }
    /// Bytes, 0 = no limit.
    pub fn maxmemory(&self) -> u64 {
        self.int("maxmemory") as u64
    }
    /// e.g. "noeviction", "allkeys-lru".
    pub fn maxmemory_policy(&self) -> &'static str {
        self.enum_name("maxmemory-policy")
    }
    /// `maxmemory-samples`: keys sampled per eviction round (default 5).
    pub fn maxmemory_samples(&self) -> u64 {
        self.int("maxmemory-samples") as u64
    }
    /// `appendonly`: enable the append-only file (default no).
    pub fn appendonly(&self) -> bool {
        self.flag("appendonly")
    }
    /// `appendfsync`: AOF fsync policy, `always`, `everysec` or `no` (default `everysec`).
    pub fn appendfsync(&self) -> &'static str {
        self.enum_name("appendfsync")
    }
    /// `enable-debug-command`: who may run DEBUG, `no`, `yes` or `local` (default `no`).
    pub fn enable_debug_command(&self) -> ProtectedAction {
        self.protected("enable-debug-command")
    }
    /// `enable-protected-configs`: who may CONFIG SET protected directives such as
    /// `dir` and `dbfilename`, `no`, `yes` or `local` (default `no`).
    pub fn enable_protected_configs(&self) -> ProtectedAction {
        self.protected("enable-protected-configs")
    }
    /// `enable-module-command`: who may run MODULE, `no`, `yes` or `local`
    /// (default `no`).
    pub fn enable_module_command(&self) -> ProtectedAction {
        self.protected("enable-module-command")
    }
    /// `list-max-listpack-size` (alias `list-max-ziplist-size`): largest list node;
    /// positive = entries, -1 to -5 = 4 KiB to 64 KiB (default -2 = 8 KiB).
    pub fn list_max_listpack_size(&self) -> i64 {
        self.int("list-max-listpack-size") as i64
    }
    /// `list-compress-depth`: list nodes left uncompressed at each end (default 0 =
    /// no compression).
    pub fn list_compress_depth(&self) -> u64 {
        self.int("list-compress-depth") as u64
    }
    /// `hash-max-listpack-entries` (alias `hash-max-ziplist-entries`): most fields
    /// a hash may have and stay a listpack (default 512).
    pub fn hash_max_listpack_entries(&self) -> u64 {
        self.int("hash-max-listpack-entries") as u64
    }
    /// `hash-max-listpack-value` (alias `hash-max-ziplist-value`): longest field or
    /// value in bytes for a hash to stay a listpack (default 64).
    pub fn hash_max_listpack_value(&self) -> u64 {
        self.int("hash-max-listpack-value") as u64
    }
    /// `set-max-intset-entries`: most members an all-integer set may have and stay
    /// an intset (default 512).
    pub fn set_max_intset_entries(&self) -> u64 {
        self.int("set-max-intset-entries") as u64
    }
    /// `hll-sparse-max-bytes`: size in bytes above which a HyperLogLog switches from
    /// the sparse to the dense encoding (default 3000).
    pub fn hll_sparse_max_bytes(&self) -> u64 {
        self.int("hll-sparse-max-bytes") as u64
    }
    /// `zset-max-listpack-entries` (alias `zset-max-ziplist-entries`): most members
    /// a sorted set may have and stay a listpack (default 128).
    pub fn zset_max_listpack_entries(&self) -> u64 {
        self.int("zset-max-listpack-entries") as u64
    }
    /// `zset-max-listpack-value` (alias `zset-max-ziplist-value`): longest member in
    /// bytes for a sorted set to stay a listpack (default 64).
    pub fn zset_max_listpack_value(&self) -> u64 {
        self.int("zset-max-listpack-value") as u64
    }
    /// `stream-node-max-bytes`: largest stream node in bytes (default 4096; 0 = no
    /// limit).
    pub fn stream_node_max_bytes(&self) -> u64 {
        self.int("stream-node-max-bytes") as u64
    }
    /// `stream-node-max-entries`: most entries in one stream node (default 100; 0 =
    /// no limit).
    pub fn stream_node_max_entries(&self) -> u64 {
        self.int("stream-node-max-entries") as u64
    }
    /// `lazyfree-lazy-eviction`: free evicted values in the background (default no).
    pub fn lazyfree_lazy_eviction(&self) -> bool {
        self.flag("lazyfree-lazy-eviction")
    }
    /// `lazyfree-lazy-expire`: free expired values in the background (default no).
    pub fn lazyfree_lazy_expire(&self) -> bool {
        self.flag("lazyfree-lazy-expire")
    }
    /// `lazyfree-lazy-server-del`: free values the server deletes implicitly
    /// (overwrites, RENAME) in the background (default no).
    pub fn lazyfree_lazy_server_del(&self) -> bool {
        self.flag("lazyfree-lazy-server-del")
    }
    /// `lazyfree-lazy-user-del`: DEL behaves like UNLINK (default no).
    pub fn lazyfree_lazy_user_del(&self) -> bool {
        self.flag("lazyfree-lazy-user-del")
    }
    /// `lazyfree-lazy-user-flush`: FLUSHDB / FLUSHALL without a mode flush
    /// asynchronously (default no).
    pub fn lazyfree_lazy_user_flush(&self) -> bool {
        self.flag("lazyfree-lazy-user-flush")
    }
    /// `active-expire-effort`: effort of the active expire cycle, 1 to 10 (default 1).
    pub fn active_expire_effort(&self) -> u32 {
        self.int("active-expire-effort") as u32
    }
    /// `latency-tracking`: track per-command latency histograms (default yes).
    pub fn latency_tracking(&self) -> bool {
        self.flag("latency-tracking")
    }
    /// `latency-tracking-info-percentiles`: percentiles INFO latencystats
    /// reports (default 50 99 99.9).
    pub fn latency_tracking_info_percentiles(&self) -> Vec<f64> {
        match self.val("latency-tracking-info-percentiles") {
            Val::Percentiles(p) => p.clone(),
            _ => unreachable!(),
        }
    }
    /// `latency-monitor-threshold`: in milliseconds, events at least this slow
    /// are recorded by the latency monitor (default 0 = monitor off).
    pub fn latency_monitor_threshold(&self) -> i64 {
        self.int("latency-monitor-threshold") as i64
    }
    /// `slowlog-log-slower-than`: in microseconds, commands at least this slow go
    /// to the slow log (default 10000; 0 = all, negative = none).
    pub fn slowlog_log_slower_than(&self) -> i64 {
        self.int("slowlog-log-slower-than") as i64
    }
    /// `slowlog-max-len`: most entries kept in the slow log (default 128).
    pub fn slowlog_max_len(&self) -> u64 {
        self.int("slowlog-max-len") as u64
    }
    /// Bits from [`notify`].
    pub fn notify_keyspace_events(&self) -> u32 {
        match self.val("notify-keyspace-events") {
            Val::Notify(f) => *f,
            _ => unreachable!(),
        }
    }
    /// `unixsocket`: path of a Unix socket to listen on as well (default none).
    pub fn unixsocket(&self) -> Option<String> {
        self.string("unixsocket").map(|v| String::from_utf8_lossy(&v).into_owned())
    }
    /// `always-show-logo`: print the ASCII logo at start-up even when logging to a
    /// file (default no).
    pub fn always_show_logo(&self) -> bool {
        self.flag("always-show-logo")
    }
    /// `busy-reply-threshold` (alias `lua-time-limit`): in milliseconds, how long a
    /// script may run before other clients get BUSY replies (default 5000).
    pub fn busy_reply_threshold(&self) -> i64 {
        self.int("busy-reply-threshold") as i64
    }
    /// tandem's own: log actor messages on the trace target.
    pub fn trace(&self) -> bool {
        self.flag("trace")
    }
}

#[cfg(test)]
mod tests;
