//! BGREWRITEAOF: a new incr file takes the writes while a child (or thread) writes a new base
//! from a snapshot; the keyspace then installs it in the manifest. Also CONFIG SET appendonly.

use super::*;

impl Keyspace {
    /// Opens the incr file writes go to once a rewrite starts: a new one listed in the
    /// manifest (AOF on), or the temporary one (AOF being turned on). Nothing when off.
    pub(super) fn open_new_incr_for_append(&mut self) -> Result<(), ()> {
        let dir = aof_dir(&self.shared);
        let fname = filename(&self.shared);
        let (name, temp) = match self.aof.state {
            AofState::Off => return Ok(()),
            AofState::WaitRewrite => (manifest::temp_incr_name(&fname), None),
            AofState::On => {
                let mut m = self.aof.manifest.clone();
                (m.new_incr(&fname), Some(m))
            }
        };
        let f = match std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(dir.join(&name)) {
            Ok(f) => f,
            Err(e) => {
                crate::warning!(self.shared.log, "Can't open the append-only file {}: {}", name, strerror(&e));
                return Err(());
            }
        };
        if let Some(m) = &temp {
            if let Err(e) = manifest::persist(&dir, &fname, m) {
                crate::warning!(self.shared.log, "{}", e);
                return Err(());
            }
        }
        crate::notice!(self.shared.log, "Creating AOF incr file {} on background rewrite", name);
        if let Some(old) = self.aof.file.take() {
            // fsynced and closed off the keyspace's turn.
            self.aof_fsyncer().submit(old);
            self.aof.fsync_offset = self.aof.current_size;
            self.aof.last_fsync = now_secs();
        }
        self.aof.file = Some(Arc::new(f));
        self.aof.last_incr_size = 0;
        if let Some(m) = temp {
            self.aof.manifest = m;
        }
        Ok(())
    }

    /// BGREWRITEAOF: a new incr file takes the writes from now on, and a new base is written
    /// from a snapshot taken in this same turn.
    pub fn start_aof_rewrite(&mut self) -> Result<(), ()> {
        if self.child_active() {
            return Err(());
        }
        let Some(me) = self.me.as_ref().and_then(|w| w.upgrade()) else { return Err(()) };
        let dir = aof_dir(&self.shared);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            crate::warning!(self.shared.log, "Can't open or create append-only dir {}: {}", dir.display(), strerror(&e));
            self.aof.last_rewrite_failed = true;
            return Err(());
        }
        self.aof.scheduled = false;
        if let Some(f) = self.feed.aof.as_mut() {
            f.reset_db();
        }
        self.flush_aof(true);
        if self.open_new_incr_for_append().is_err() {
            self.aof.last_rewrite_failed = true;
            return Err(());
        }
        if self.aof.state == AofState::WaitRewrite && self.feed.aof.is_none() {
            // While the first base is written, writes collect in the temporary incr file.
            self.feed.aof = Some(AofFeed::new(self.shared.cfg().flag("aof-timestamp-enabled")));
        }
        self.aof.rewrites += 1;
        let snap = self.snapshot();
        crate::keyspace::persist::set_save_keys_total(&self.shared, &snap);
        let preamble = self.shared.cfg().flag("aof-use-rdb-preamble");
        let timestamps = self.shared.cfg().flag("aof-timestamp-enabled");
        let compress = self.shared.cfg().rdbcompression();
        let cancel = snap.cancel.clone();
        let shared = self.shared.clone();
        let write = move |path: &Path, snap: &crate::keyspace::snapshot::Snapshot| -> std::io::Result<()> {
            let f = File::create(path)?;
            let w = std::io::BufWriter::with_capacity(1 << 16, f);
            let w = if preamble { crate::keyspace::snapshot::write_rdb_as(snap, w, compress, true)? } else { rewrite::write_commands(snap, w, timestamps)? };
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()
        };
        let started = Instant::now();
        let mut running = Running { started, child: 0, cancel };
        if fork::enabled() {
            let forked = crate::keyspace::persist::fork_child(&shared, "redis-aof-rewrite", |mut pipe| {
                let path = temp_rewrite_path(&shared, std::process::id());
                match write(&path, &snap) {
                    Ok(()) => 0,
                    Err(e) => {
                        let _ = pipe.write_all(e.to_string().as_bytes());
                        let _ = std::fs::remove_file(&path);
                        1
                    }
                }
            });
            drop(snap);
            let mut child = match forked {
                Ok(c) => c,
                Err(e) => {
                    crate::warning!(self.shared.log, "Can't rewrite append only file in background: fork: {}", e);
                    self.aof.last_rewrite_failed = true;
                    return Err(());
                }
            };
            running.child = child.pid;
            self.shared.aof_child.store(child.pid, Relaxed);
            crate::notice!(self.shared.log, "Background append only file rewriting started by pid {}", child.pid);
            let tmp = temp_rewrite_path(&self.shared, child.pid as u32);
            crate::rt::spawn_blocking(move || {
                let mut msg = Vec::new();
                let _ = child.read_to_end(&mut msg);
                let exit = child.wait();
                let cow = child.progress.cow().0;
                crate::keyspace::persist::child_ended(&shared, &child);
                let result = match exit {
                    fork::Exit::Code(0) => Ok(()),
                    fork::Exit::Signal(s) => Err(crate::keyspace::persist::SaveFailure::Signal(s)),
                    fork::Exit::Code(c) if msg.is_empty() => Err(crate::keyspace::persist::SaveFailure::Error(format!("the rewrite child exited with code {}", c))),
                    fork::Exit::Code(_) => Err(crate::keyspace::persist::SaveFailure::Error(String::from_utf8_lossy(&msg).into_owned())),
                };
                if result.is_ok() {
                    crate::notice!(shared.log, "Successfully created the temporary AOF base file {}", tmp.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
                }
                let _ = me.send(AofRewriteDone { result, secs: started.elapsed().as_secs() as i64, tmp, cow });
            });
        } else {
            crate::notice!(self.shared.log, "Background append only file rewriting started by pid {}", std::process::id());
            let tmp = temp_rewrite_path(&self.shared, std::process::id());
            crate::rt::spawn_blocking(move || {
                let result = write(&tmp, &snap).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    if snap.cancel.load(Relaxed) {
                        crate::keyspace::persist::SaveFailure::Cancelled
                    } else {
                        crate::keyspace::persist::SaveFailure::Error(e.to_string())
                    }
                });
                if result.is_ok() {
                    crate::notice!(shared.log, "Successfully created the temporary AOF base file {}", tmp.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
                }
                let _ = me.send(AofRewriteDone { result, secs: started.elapsed().as_secs() as i64, tmp, cow: 0 });
            });
        }
        self.aof.running = Some(running);
        Ok(())
    }

    /// Stops a running rewrite (turning the AOF off, FLUSHALL is not a reason): the child is
    /// killed and its file removed.
    pub(super) fn kill_aof_child(&mut self) {
        let Some(r) = self.aof.running.take() else { return };
        if r.child > 0 {
            crate::notice!(self.shared.log, "Killing running AOF rewrite child: {}", r.child);
            fork::stop(r.child);
            self.shared.aof_child.store(0, Relaxed);
            let _ = std::fs::remove_file(temp_rewrite_path(&self.shared, r.child as u32));
        } else {
            r.cancel.store(true, Relaxed);
        }
    }

    /// A rewrite ended: on success the new base and incr files replace the old ones in the
    /// manifest, and the old files are removed.
    pub(super) fn aof_rewrite_done(&mut self, msg: AofRewriteDone) {
        use crate::keyspace::persist::SaveFailure;
        let Some(run) = self.aof.running.take() else {
            // Killed (AOF turned off): its file is gone already.
            let _ = std::fs::remove_file(&msg.tmp);
            return;
        };
        if run.child > 0 {
            self.shared.aof_child.store(0, Relaxed);
        }
        self.aof.last_cow = msg.cow;
        match msg.result {
            Ok(()) => {
                crate::notice!(self.shared.log, "Background AOF rewrite terminated with success");
                if self.install_rewritten_base(&msg.tmp).is_ok() {
                    self.aof.last_rewrite_failed = false;
                    self.aof.consecutive_failures = 0;
                    crate::notice!(self.shared.log, "Background AOF rewrite finished successfully");
                    if self.aof.state == AofState::WaitRewrite {
                        self.aof.state = AofState::On;
                    }
                } else {
                    self.aof.last_rewrite_failed = true;
                    self.aof.consecutive_failures += 1;
                }
            }
            Err(SaveFailure::Error(e)) => {
                self.aof.last_rewrite_failed = true;
                self.aof.consecutive_failures += 1;
                crate::warning!(self.shared.log, "Background AOF rewrite terminated with error");
                crate::debug!(self.shared.log, "AOF rewrite error: {}", e);
            }
            Err(SaveFailure::Signal(sig)) => {
                if sig != fork::STOP_SIGNAL {
                    self.aof.last_rewrite_failed = true;
                    self.aof.consecutive_failures += 1;
                }
                crate::warning!(self.shared.log, "Background AOF rewrite terminated by signal {}", sig);
            }
            Err(SaveFailure::Cancelled) => {
                crate::warning!(self.shared.log, "Background AOF rewrite terminated by signal {}", fork::STOP_SIGNAL);
            }
        }
        let _ = std::fs::remove_file(&msg.tmp);
        if self.aof.state == AofState::WaitRewrite {
            // The writes collected for a base that did not come are dropped; the rewrite is
            // tried again.
            self.feed.aof = None;
            if let Some(f) = self.aof.file.take() {
                drop(f);
            }
            let name = manifest::temp_incr_name(&filename(&self.shared));
            crate::notice!(self.shared.log, "Removing the temp incr aof file {} in the background", name);
            let _ = std::fs::remove_file(aof_dir(&self.shared).join(name));
            self.aof.scheduled = true;
        }
        self.aof.last_rewrite_secs = Some(msg.secs);
    }

    /// The successful rewrite's base goes into the manifest (Redis's
    /// backgroundRewriteDoneHandler).
    pub(super) fn install_rewritten_base(&mut self, tmp: &Path) -> Result<(), ()> {
        let dir = aof_dir(&self.shared);
        let fname = filename(&self.shared);
        let preamble = self.shared.cfg().flag("aof-use-rdb-preamble");
        let mut m = self.aof.manifest.clone();
        let base = m.new_base(&fname, preamble);
        let base_path = dir.join(&base);
        let tmp_name = tmp.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Err(e) = std::fs::rename(tmp, &base_path) {
            crate::warning!(self.shared.log, "Error trying to rename the temporary AOF base file {} into {}: {}", tmp_name, base_path.display(), strerror(&e));
            return Err(());
        }
        crate::notice!(self.shared.log, "Successfully renamed the temporary AOF base file {} into {}", tmp_name, base);
        let mut new_incr = None;
        if self.aof.state == AofState::WaitRewrite {
            let temp_incr = manifest::temp_incr_name(&fname);
            let incr = m.new_incr(&fname);
            if let Err(e) = std::fs::rename(dir.join(&temp_incr), dir.join(&incr)) {
                crate::warning!(
                    self.shared.log,
                    "Error trying to rename the temporary AOF incr file {} into {}: {}",
                    dir.join(&temp_incr).display(),
                    dir.join(&incr).display(),
                    strerror(&e)
                );
                let _ = std::fs::remove_file(&base_path);
                return Err(());
            }
            crate::notice!(self.shared.log, "Successfully renamed the temporary AOF incr file {} into {}", temp_incr, incr);
            new_incr = Some(incr);
        }
        m.mark_rewritten_incr_as_history(self.aof.file.is_some());
        if let Err(e) = manifest::persist(&dir, &fname, &m) {
            crate::warning!(self.shared.log, "{}", e);
            let _ = std::fs::remove_file(&base_path);
            if let Some(i) = new_incr {
                let _ = std::fs::remove_file(dir.join(i));
            }
            return Err(());
        }
        self.aof.manifest = m;
        if self.aof.file.is_some() {
            if let Some(f) = self.feed.aof.as_mut() {
                f.reset_db();
            }
            self.aof.current_size = file_size(&dir, &base).unwrap_or(0) + self.aof.last_incr_size;
            self.aof.base_size = self.aof.current_size;
            self.aof.fsync_offset = self.aof.current_size;
            self.aof.last_fsync = now_secs();
        }
        self.delete_aof_history();
        Ok(())
    }

    /// Removes the history files the manifest lists (unless `aof-disable-auto-gc`).
    pub(super) fn delete_aof_history(&mut self) {
        if self.aof.manifest.history.is_empty() || self.shared.cfg().flag("aof-disable-auto-gc") {
            return;
        }
        let dir = aof_dir(&self.shared);
        let mut gone = vec![];
        for f in std::mem::take(&mut self.aof.manifest.history) {
            crate::notice!(self.shared.log, "Removing the history file {} in the background", f.name);
            gone.push(dir.join(&f.name));
        }
        std::thread::spawn(move || {
            for p in gone {
                let _ = std::fs::remove_file(p);
            }
        });
        if let Err(e) = manifest::persist(&dir, &filename(&self.shared), &self.aof.manifest) {
            crate::warning!(self.shared.log, "{}", e);
        }
    }

    /// CONFIG SET appendonly yes: on once a rewrite wrote the first base (Redis's
    /// startAppendOnly).
    pub(super) fn start_append_only(&mut self) -> Result<(), String> {
        self.aof.state = AofState::WaitRewrite;
        if self.persist.bgsave_in_progress {
            self.aof.scheduled = true;
            crate::warning!(self.shared.log, "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        } else {
            if self.aof.running.is_some() {
                crate::warning!(self.shared.log, "AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                self.kill_aof_child();
            }
            if self.start_aof_rewrite().is_err() {
                self.aof.state = AofState::Off;
                self.feed.aof = None;
                crate::warning!(self.shared.log, "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
                return Err("Unable to turn on AOF. Check server logs.".into());
            }
        }
        self.aof.last_fsync = now_secs();
        if self.aof.write_error.take().is_some() {
            crate::warning!(self.shared.log, "AOF reopen, just ignore the last error.");
        }
        Ok(())
    }

    /// CONFIG SET appendonly no: what is buffered is written and fsynced, the file closed.
    pub(super) fn stop_append_only(&mut self) {
        self.flush_aof(true);
        if let Some(f) = self.aof.file.take() {
            match f.sync_data() {
                Ok(()) => self.aof.fsync_offset = self.aof.current_size,
                Err(e) => crate::warning!(self.shared.log, "Fail to fsync the AOF file: {}", strerror(&e)),
            }
        }
        self.feed.aof = None;
        self.aof.state = AofState::Off;
        self.aof.scheduled = false;
        self.aof.last_incr_size = 0;
        self.kill_aof_child();
    }

    /// At shutdown: the rewrite child is stopped, and what is buffered written and fsynced.
    pub(crate) fn aof_shutdown(&mut self) {
        if self.aof.running.as_ref().is_some_and(|r| r.child > 0) {
            crate::warning!(self.shared.log, "There is a child rewriting the AOF. Killing it!");
        }
        self.kill_aof_child();
        if self.aof.state != AofState::Off {
            self.flush_aof(true);
            crate::notice!(self.shared.log, "Calling fsync() on the AOF file.");
            if let Some(f) = &self.aof.file {
                let _ = f.sync_data();
            }
        }
    }

    /// BGSAVE refuses to run beside a rewrite (one child at a time, as Redis).
    pub(crate) fn aof_blocks_bgsave(&self) -> bool {
        self.aof.running.is_some()
    }

}

#[async_trait]
impl Handler<AofRewriteDone> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: AofRewriteDone) {
        crate::trace_msg!(self.shared.log, "aof-writer", "keyspace", "AofRewriteDone(ok={}, {} s)", msg.result.is_ok(), msg.secs);
        self.aof_rewrite_done(msg);
    }
}

#[async_trait]
impl Handler<AofConfig> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: AofConfig) -> Result<(), String> {
        crate::trace_msg!(self.shared.log, "client", "keyspace", "AofConfig");
        self.aof_refresh_settings();
        // aof-disable-auto-gc no: the history kept meanwhile goes now.
        self.delete_aof_history();
        let on = self.shared.cfg().flag("appendonly");
        match (on, self.aof.state) {
            (true, AofState::Off) => self.start_append_only(),
            (false, AofState::On | AofState::WaitRewrite) => {
                self.stop_append_only();
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// At shutdown, from the server's side: a rewrite child still running is stopped and its
/// file removed (the keyspace may be busy).
pub fn stop_rewrite_child(shared: &Shared) {
    let pid = shared.aof_child.swap(0, Relaxed);
    if pid <= 0 {
        return;
    }
    crate::warning!(shared.log, "There is a child rewriting the AOF. Killing it!");
    fork::stop(pid);
    let _ = std::fs::remove_file(temp_rewrite_path(shared, pid as u32));
}

impl Keyspace {
    /// Whether a child process (or its thread) writes for this server now: a BGSAVE, a full
    /// sync's RDB, or a rewrite (Redis's hasActiveChildProcess).
    pub(crate) fn child_active(&self) -> bool {
        self.aof.running.is_some() || self.persist.bgsave_in_progress || self.jobs.in_progress()
    }
}

/// `BGREWRITEAOF`
pub fn bgrewriteaof_cmd(ks: &mut Keyspace, ctx: &mut crate::keyspace::Ctx, _a: &[Bytes]) {
    if ks.aof.running.is_some() {
        return ctx.error("ERR Background append only file rewriting already in progress");
    }
    if ks.child_active() || ctx.in_txn {
        ks.aof.scheduled = true;
        // A rewrite asked for by hand runs even while failures hold automatic ones back.
        ks.aof.consecutive_failures = 0;
        return ctx.out.simple("Background append only file rewriting scheduled");
    }
    match ks.start_aof_rewrite() {
        Ok(()) => ctx.out.simple("Background append only file rewriting started"),
        Err(()) => ctx.error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."),
    }
}

/// The directives the keyspace applies to the AOF when CONFIG SET changes them.
pub fn is_aof_setting(name: &[u8]) -> bool {
    let n = String::from_utf8_lossy(name).to_ascii_lowercase();
    matches!(n.as_str(), "appendonly" | "appendfsync" | "no-appendfsync-on-rewrite" | "aof-timestamp-enabled" | "aof-disable-auto-gc")
}

/// Shutdown: the rewrite child is stopped, the AOF written and fsynced.
pub struct AofShutdown;
impl Message for AofShutdown {
    type Result = ();
}

#[async_trait]
impl Handler<AofShutdown> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: AofShutdown) {
        crate::trace_msg!(self.shared.log, "server", "keyspace", "AofShutdown");
        self.aof_shutdown();
    }
}

impl Keyspace {
    /// A full sync replaced the dataset: the AOF starts over from it, with a rewrite (Redis's
    /// restartAOFAfterSYNC).
    pub(crate) fn restart_aof_after_sync(&mut self) {
        if self.aof.state == AofState::Off {
            return;
        }
        self.stop_append_only();
        if self.start_append_only().is_err() {
            crate::warning!(self.shared.log, "Failed enabling the AOF after successful master synchronization! Trying it again in one second.");
            self.aof.state = AofState::WaitRewrite;
            self.aof.scheduled = true;
        }
    }
}
