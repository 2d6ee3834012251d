//! Command-line handling, following redis-server's rules:
//! `tandem [/path/to/tandem.conf] [--directive value ...] [-]`.

use crate::util::splitargs::{repr, splitargs};
use std::path::PathBuf;

/// What the binary should do after looking at its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliAction {
    /// `-v` / `--version`: print [`version_text`] and exit 0.
    Version,
    /// `-h` / `--help`: print [`usage_text`] and exit 1 (as redis-server does).
    Help,
    /// Start the server with these options (load them with `Config::load`).
    Start(StartOptions),
}

/// Where the configuration comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartOptions {
    /// Absolute path of the config file (first argument not starting with '-').
    pub config_file: Option<PathBuf>,
    /// A lone `-` as first or last argument: read config text from stdin
    /// (appended right after the file's contents).
    pub from_stdin: bool,
    /// `--name value ...` options turned into config lines, one per line,
    /// loaded after the file (and stdin).
    pub options: String,
}

/// Interprets `argv` (`argv[0]` is the program name) the way redis-server's
/// main() does.
pub fn parse_args(argv: &[String]) -> CliAction {
    let mut opts = StartOptions::default();
    let n = argv.len();
    if n < 2 {
        return CliAction::Start(opts);
    }
    match argv[1].as_str() {
        "-v" | "--version" => return CliAction::Version,
        "-h" | "--help" => return CliAction::Help,
        _ => {}
    }
    let mut j = 1;
    if !argv[1].starts_with('-') {
        let p = PathBuf::from(&argv[1]);
        opts.config_file = Some(std::path::absolute(&p).unwrap_or(p));
        j = 2;
    }
    // false right after an option name given alone ("--port"), so that the
    // next argument is taken as its value even if it starts with "--".
    let mut value_seen = true;
    let options = &mut opts.options;
    while j < n {
        let arg = &argv[j];
        let is_last = j == n - 1;
        let next_is_option = !is_last && argv[j + 1].starts_with("--");
        if arg == "-" && (j == 1 || is_last) {
            opts.from_stdin = true;
        } else if value_seen && arg.starts_with("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&arg[2..]);
            options.push(' ');
            let words = splitargs(arg.as_bytes()).map(|v| v.len()).unwrap_or(0);
            if words == 1 {
                value_seen = false;
                let is_save = arg.eq_ignore_ascii_case("--save");
                if is_save && next_is_option {
                    // `--save --port 1` means an empty save list
                    options.push_str("\"\"");
                    value_seen = true;
                } else if is_save && is_last {
                    options.push_str("\"\"");
                } else if arg.eq_ignore_ascii_case("--sentinel") && next_is_option {
                    value_seen = true;
                }
            } else {
                // "--port 6380" given as one argument
                value_seen = true;
            }
        } else {
            options.push_str(&repr(arg.as_bytes()));
            options.push(' ');
            value_seen = true;
        }
        j += 1;
    }
    CliAction::Start(opts)
}

/// Text for `--version`.
pub fn version_text(server_version: &str) -> String {
    format!("tandem server v={server_version} (Redis {} compatible)", super::REDIS_VERSION)
}

/// Text for `--help`.
pub fn usage_text(prog: &str) -> String {
    format!(
        "Usage: {prog} [/path/to/tandem.conf] [options] [-]\n\
         \x20      {prog} - (read config from stdin)\n\
         \x20      {prog} -v or --version\n\
         \x20      {prog} -h or --help\n\
         \n\
         Examples:\n\
         \x20      {prog} (run the server with default conf)\n\
         \x20      echo 'maxmemory 128mb' | {prog} -\n\
         \x20      {prog} /etc/tandem/6379.conf\n\
         \x20      {prog} --port 7777\n\
         \x20      {prog} --port 7777 --replicaof 127.0.0.1 8888\n\
         \x20      {prog} /etc/mytandem.conf --loglevel verbose -\n\
         \x20      {prog} /etc/mytandem.conf --loglevel verbose\n\
         \n\
         Environment: TANDEM_<DIRECTIVE>=value (dashes as underscores) overrides the file;\n\
         command-line options override both.\n"
    )
}
