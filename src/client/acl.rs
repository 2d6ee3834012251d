//! ACL: the one user, `default`, and the commands it may not run.

use super::Client;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

/// A minimal ACL: one user, `default`, whose command permissions can be narrowed with
/// `ACL SETUSER default -cmd` / `+cmd` (enough for operators and Redis's tests).
pub(super) fn acl(c: &mut Client, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    match sub.as_str() {
        "whoami" => c.out.bulk(b"default"),
        "users" => {
            c.out.array(1);
            c.out.bulk(b"default");
        }
        "list" => {
            let denied = c.shared.acl_denied.lock().map(|d| d.clone()).unwrap_or_default();
            let mut rule = String::from("user default on nopass ~* &* +@all");
            let mut d: Vec<_> = denied.into_iter().collect();
            d.sort();
            for x in d {
                rule.push_str(&format!(" -{}", x));
            }
            c.out.array(1);
            c.out.bulk(rule.as_bytes());
        }
        "setuser" if a.len() >= 3 => {
            if a[2] != "default" {
                return c.out.error("ERR tandem supports only the 'default' user");
            }
            let mut denied = c.shared.acl_denied.lock().unwrap_or_else(|e| e.into_inner());
            for r in &a[3..] {
                let r = String::from_utf8_lossy(r).to_lowercase();
                if let Some(cmd) = r.strip_prefix('-').filter(|x| !x.starts_with('@')) {
                    denied.insert(cmd.to_string());
                } else if let Some(cmd) = r.strip_prefix('+').filter(|x| !x.starts_with('@')) {
                    denied.remove(cmd);
                } else if r == "+@all" || r == "allcommands" || r == "on" || r == "nopass" || r == "~*" || r == "&*" || r == "reset" {
                    if r != "on" && r != "nopass" && r != "~*" && r != "&*" {
                        denied.clear();
                    }
                } else {
                    return c.out.error(format!("ERR Error in ACL SETUSER modifier '{}': Syntax error", r));
                }
            }
            c.shared.acl_active.store(!denied.is_empty(), Relaxed);
            c.out.ok();
        }
        _ => c.out.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "ACL")),
    }
}
