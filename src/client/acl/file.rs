//! Where users come from: the default user, `requirepass`, `user` lines of the
//! configuration file, and the ACL file (`aclfile`, ACL LOAD / ACL SAVE).

use super::{defaults, describe, refresh_active, rules};
use crate::shared::acl::User;
use crate::shared::Shared;
use std::collections::BTreeMap;

/// Creates the users at start: the default user (with `requirepass`), then the `user`
/// lines of the configuration, or the ACL file. Err: why the server must not start.
pub fn init(shared: &Shared) -> Result<(), String> {
    let (lines, aclfile) = {
        let cfg = shared.cfg();
        (cfg.users.clone(), acl_filename(shared))
    };
    shared.acl.write().unwrap_or_else(|e| e.into_inner()).users.insert("default".to_string(), rules::default_user());
    let _ = shared.acl_script_check.set(super::script_check);
    shared.sync_requirepass();
    if aclfile.is_some() && !lines.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".to_string());
    }
    let mut seen = std::collections::HashSet::new();
    for line in &lines {
        let name = line.first().cloned().unwrap_or_default();
        if !seen.insert(name.clone()) {
            return Err(format!("Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files", String::from_utf8_lossy(&name)));
        }
        config_user(shared, line)?;
    }
    if aclfile.is_some() {
        load(shared).map_err(|e| format!("Aborting Redis startup because of ACL errors: {}", e))?;
    }
    refresh_active(shared);
    Ok(())
}

/// `aclfile` as configured (a relative path is found in `dir`, where Redis runs).
fn acl_filename(shared: &Shared) -> Option<String> {
    shared.cfg().string("aclfile").filter(|f| !f.is_empty()).map(|f| String::from_utf8_lossy(&f).to_string())
}

fn acl_path(shared: &Shared) -> std::path::PathBuf {
    let name = acl_filename(shared).unwrap_or_default();
    shared.cfg().dir().join(name)
}

/// One `user name rules...` line of the configuration file.
fn config_user(shared: &Shared, line: &[Vec<u8>]) -> Result<(), String> {
    let Some((name, args)) = line.split_first() else { return Err("Missing user name".to_string()) };
    if name.iter().any(|&b| b == 0 || b.is_ascii_whitespace()) {
        return Err("Spaces not allowed in ACL usernames".to_string());
    }
    let name = String::from_utf8_lossy(name).to_string();
    let d = defaults(shared);
    let mut acl = shared.acl.write().unwrap_or_else(|e| e.into_inner());
    let base = match acl.users.get(&name) {
        Some(u) => {
            let mut u = u.clone();
            let _ = rules::apply_rule(&mut u, b"reset", d);
            u
        }
        None => User::new(&name, super::catalog::catalog().len(), d.all_channels),
    };
    let u = rules::apply_all(&base, args, d).map_err(|e| format!("Error in user declaration '{}': {}", name, e.trim_start_matches("ERR ")))?;
    acl.users.insert(name, u);
    Ok(())
}

use crate::util::strerror;

/// Splits an ACL file line on spaces (as Redis: no quoting).
fn words(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').filter(|w| !w.is_empty()).map(|w| w.as_bytes().to_vec()).collect()
}

/// Parses the ACL file into users; Err: the errors found, as Redis reports them.
fn parse(path: &str, text: &str, d: rules::Defaults) -> Result<BTreeMap<String, User>, String> {
    let mut users: BTreeMap<String, User> = BTreeMap::new();
    let mut errors = String::new();
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
        if line.is_empty() {
            continue;
        }
        let argv = words(line);
        if argv.len() < 2 || argv[0] != b"user" {
            errors.push_str(&format!("{}:{} should start with user keyword followed by the username. ", path, n));
            continue;
        }
        let name = String::from_utf8_lossy(&argv[1]).to_string();
        if users.contains_key(&name) {
            errors.push_str(&format!("WARNING: Duplicate user '{}' found on line {}. ", name, n));
            continue;
        }
        let mut u = User::new(&name, super::catalog::catalog().len(), d.all_channels);
        let merged = match rules::merge_selector_args(&argv[2..]) {
            Ok(m) => m,
            Err(_) => {
                errors.push_str(&format!("{}:{}: Unmatched parenthesis in selector definition.", path, n));
                continue;
            }
        };
        for op in &merged {
            if let Err(e) = rules::apply_rule(&mut u, op, d) {
                match e {
                    rules::RuleError::Unknown => errors.push_str(&format!("{}:{}: Error in applying operation '{}': {}. ", path, n, String::from_utf8_lossy(op), e.text())),
                    _ => errors.push_str(&format!("{}:{}: {}. ", path, n, e.text())),
                }
                break;
            }
        }
        users.insert(name, u);
    }
    if !errors.is_empty() {
        errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
        return Err(errors);
    }
    Ok(users)
}

/// ACL LOAD: replaces every user with the file's (the default user stays if the file has
/// none). Ok: the users that were replaced (their connections are to be closed).
pub fn load(shared: &Shared) -> Result<Vec<String>, String> {
    let path = acl_filename(shared).unwrap_or_default();
    let text = std::fs::read_to_string(acl_path(shared)).map_err(|e| format!("Error loading ACLs, opening file '{}': {}", path, strerror(&e)))?;
    let mut users = parse(&path, &text, defaults(shared))?;
    let mut acl = shared.acl.write().unwrap_or_else(|e| e.into_inner());
    if !users.contains_key("default") {
        users.insert("default".to_string(), rules::default_user());
    }
    let old: Vec<String> = acl.users.keys().filter(|n| *n != "default").cloned().collect();
    acl.users = users;
    Ok(old)
}

/// ACL SAVE: every user as a `user` line, written to a temporary file renamed over the
/// ACL file.
pub fn save(shared: &Shared) -> Result<(), String> {
    let path = acl_filename(shared).unwrap_or_default();
    let text: String = {
        let acl = shared.acl.read().unwrap_or_else(|e| e.into_inner());
        acl.users.values().map(|u| format!("user {} {}\n", u.name, describe::user(u))).collect()
    };
    let full = acl_path(shared);
    let tmp = format!("{}.tmp-{}-{}", full.display(), std::process::id(), crate::util::now_ms());
    let write = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &full));
    write.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("Failed to save the ACLs in '{}': {}", path, e)
    })
}
