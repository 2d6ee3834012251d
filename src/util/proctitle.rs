//! The process title (`proc-title-template`), as Redis sets it with setproctitle: the
//! program's argument area is rewritten in place, so `ps` and `/proc/<pid>/cmdline` show
//! e.g. `/usr/bin/tandem 127.0.0.1:6379`.
//!
//! Linux with glibc passes (argc, argv, envp) to the functions of `.init_array`; one of ours
//! records them. Rewriting is switched on by the binary only ([`enable`]): a library
//! embedded in someone else's program never touches their process title.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*mut libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The writable area (start, length) and argv[0] as it was, once [`enable`] prepared them.
static AREA: Mutex<Option<(usize, usize, String)>> = Mutex::new(None);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static CAPTURE: extern "C" fn(libc::c_int, *mut *mut libc::c_char, *mut *mut libc::c_char) = capture;

#[allow(dead_code)]
extern "C" fn capture(argc: libc::c_int, argv: *mut *mut libc::c_char, _envp: *mut *mut libc::c_char) {
    ARGC.store(argc.max(0) as usize, Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

/// Lets [`set`] rewrite the title: the environment's strings, which follow the arguments in
/// memory, are moved to the heap first, and the area they and the arguments occupied becomes
/// the title's. Call once, from `main`, after the arguments were read.
pub fn enable() {
    let argv = ARGV.load(Ordering::Relaxed);
    let argc = ARGC.load(Ordering::Relaxed);
    if argv.is_null() || argc == 0 {
        return;
    }
    // SAFETY: argv/environ come from the C runtime and are valid for the process's life;
    // this runs on the main thread before the server's threads read the environment.
    unsafe {
        let start = *argv as usize;
        if start == 0 {
            return;
        }
        let first = std::ffi::CStr::from_ptr(*argv).to_string_lossy().into_owned();
        // The contiguous run of argument strings, then environment strings, from argv[0].
        let mut end = start;
        for i in 0..argc {
            let p = *argv.add(i) as usize;
            if p != end && i > 0 {
                break;
            }
            end = p + libc::strlen(p as *const libc::c_char) + 1;
        }
        let mut env = libc::environ;
        while !env.is_null() && !(*env).is_null() {
            let p = *env as usize;
            if p == end {
                end = p + libc::strlen(p as *const libc::c_char) + 1;
                // The variable moves to the heap (getenv keeps working).
                *env = libc::strdup(*env);
            }
            env = env.add(1);
        }
        *AREA.lock().unwrap_or_else(|e| e.into_inner()) = Some((start, end - start, first));
    }
    ENABLED.store(true, Ordering::Relaxed);
}

/// The program's first argument as it was started (Redis's `{title}`).
pub fn program() -> Option<String> {
    AREA.lock().ok()?.as_ref().map(|(_, _, first)| first.clone())
}

/// Sets the process title (cut to the room the arguments had).
pub fn set(title: &str) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let area = AREA.lock().unwrap_or_else(|e| e.into_inner());
    let Some((start, len, _)) = area.as_ref() else { return };
    let n = title.len().min(len - 1);
    // SAFETY: the area belongs to this process and nothing else reads it any more (see
    // `enable`); the title is followed by zeros to the end of the area.
    unsafe {
        let p = *start as *mut u8;
        std::ptr::copy_nonoverlapping(title.as_ptr(), p, n);
        std::ptr::write_bytes(p.add(n), 0, len - n);
    }
}

/// Expands a `proc-title-template`: `{name}` is what `var` gives for it (None: unknown, the
/// template is invalid), `{{` and `}}` are braces. Spaces around the result are trimmed, as
/// Redis does.
pub fn expand(template: &str, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if tail.starts_with('{') {
            let close = tail.find('}')?;
            out.push_str(&var(&tail[1..close])?);
            rest = &tail[close + 1..];
        } else {
            return None;
        }
    }
    out.push_str(rest);
    Some(out.trim_matches(' ').to_string())
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn expands_templates_as_redis() {
        let var = |n: &str| match n {
            "title" => Some("/bin/tandem".to_string()),
            "listen-addr" => Some("127.0.0.1:6379".to_string()),
            "server-mode" => Some(String::new()),
            _ => None,
        };
        assert_eq!(expand("{title} {listen-addr} {server-mode}", var).as_deref(), Some("/bin/tandem 127.0.0.1:6379"));
        assert_eq!(expand("x {{y}} {title}", var).as_deref(), Some("x {y} /bin/tandem"));
        assert_eq!(expand("{nope}", var), None);
        assert_eq!(expand("{title", var), None);
        assert_eq!(expand("a } b", var), None);
    }
}
