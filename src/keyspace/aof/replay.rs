//! Loading the AOF: at start (after moving an old single-file AOF into the directory) and
//! for DEBUG LOADAOF, file by file as the manifest lists them, each replayed into the keyspace
//! as Redis's fake AOF client would run it.

use super::*;

impl Keyspace {
    /// At start with `appendonly yes`: a replica loads now (before its link may sync); a
    /// master answers -LOADING meanwhile and loads in its next turn.
    pub(crate) fn aof_at_start(&mut self, ctx: &mut Context<Self>) {
        self.aof_refresh_settings();
        self.shared.loading.store(true, Relaxed);
        let _ = ctx;
        if self.shared.cfg().replicaof().is_some() {
            self.load_aof_at_start();
        } else {
            // Once the server announced itself (ServerHandle::load), or at the first cron
            // tick. Until then it is loading already (INFO says so, clients get -LOADING).
            self.begin_aof_loading(0);
            self.aof.load_pending = true;
        }
    }

    /// Loads the AOF if the start left it to load.
    pub(crate) fn load_pending_aof(&mut self) {
        if std::mem::take(&mut self.aof.load_pending) {
            self.load_aof_at_start();
        }
    }

    pub(super) fn load_aof_at_start(&mut self) {
        let start = Instant::now();
        let mut m = match manifest_from_disk(&self.shared) {
            Ok(m) => m,
            Err(lines) => return self.aof_fatal(lines),
        };
        if let Err(lines) = self.aof_upgrade_if_needed(&mut m) {
            return self.aof_fatal(lines);
        }
        let r = self.load_aof_files(&m);
        self.end_aof_loading();
        match r {
            LoadResult::Failed => return self.aof_fatal(vec![]),
            LoadResult::NotExist => {}
            _ => crate::notice!(self.shared.log, "DB loaded from append only file: {:.3} seconds", start.elapsed().as_secs_f64()),
        }
        self.aof.manifest = m;
        if let Err(lines) = self.open_aof_on_start() {
            return self.aof_fatal(lines);
        }
        self.delete_aof_history();
    }

    pub(super) fn aof_fatal(&mut self, lines: Vec<String>) {
        for l in lines {
            crate::warning!(self.shared.log, "{}", l);
        }
        self.end_aof_loading();
        self.shared.fail("Fatal error loading the AOF".into());
    }

    /// An old single-file AOF (`appendfilename` in `dir`) moves into the AOF directory as
    /// the base of a new manifest (Redis's aofUpgradePrepare).
    pub(super) fn aof_upgrade_if_needed(&mut self, m: &mut Manifest) -> Result<(), Vec<String>> {
        let fname = filename(&self.shared);
        let dir = aof_dir(&self.shared);
        let old = self.shared.cfg().dir().join(&fname);
        if !old.is_file() {
            return Ok(());
        }
        let upgrade = !dir.is_dir()
            || m.is_empty()
            || (m.incr.is_empty() && m.base.as_ref().is_some_and(|b| b.name == fname) && !dir.join(&fname).exists());
        if !upgrade {
            return Ok(());
        }
        std::fs::create_dir_all(&dir).map_err(|e| vec![format!("Can't open or create append-only dir {}: {}", dir.display(), strerror(&e))])?;
        m.base = Some(manifest::AofFile { name: fname.clone(), seq: 1, kind: manifest::Kind::Base });
        m.base_seq = 1;
        manifest::persist(&dir, &fname, m).map_err(|e| vec![e])?;
        std::fs::rename(&old, dir.join(&fname)).map_err(|e| {
            vec![format!("Error trying to move the old AOF file {} into dir {}: {}", fname, dir.display(), strerror(&e))]
        })?;
        crate::notice!(self.shared.log, "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).", fname, dir.display());
        Ok(())
    }

    /// After loading at start: the AOF directory exists, an empty dataset gets a base file,
    /// and the last incr file is opened for appending (Redis's aofOpenIfNeededOnServerStart).
    pub(super) fn open_aof_on_start(&mut self) -> Result<(), Vec<String>> {
        let dir = aof_dir(&self.shared);
        let fname = filename(&self.shared);
        std::fs::create_dir_all(&dir).map_err(|e| vec![format!("Can't open or create append-only dir {}: {}", dir.display(), strerror(&e))])?;
        let had_incr = !self.aof.manifest.incr.is_empty();
        if self.aof.manifest.is_empty() {
            let preamble = self.shared.cfg().flag("aof-use-rdb-preamble");
            let base = self.aof.manifest.new_base(&fname, preamble);
            let snap = self.snapshot();
            let timestamps = self.shared.cfg().flag("aof-timestamp-enabled");
            let compress = self.shared.cfg().rdbcompression();
            let path = dir.join(&base);
            let written = (|| -> std::io::Result<()> {
                let w = std::io::BufWriter::new(File::create(&path)?);
                let w = if preamble { crate::keyspace::snapshot::write_rdb_as(&snap, w, compress, true)? } else { rewrite::write_commands(&snap, w, timestamps)? };
                w.into_inner().map_err(|e| e.into_error())?.sync_all()
            })();
            if let Err(e) = written {
                return Err(vec![format!("Write error writing append only file on disk: {}", strerror(&e))]);
            }
            crate::notice!(self.shared.log, "Creating AOF base file {} on server start", base);
        }
        let name = self.aof.manifest.last_incr(&fname);
        let f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(dir.join(&name))
            .map_err(|e| vec![format!("Can't open the append-only file {}: {}", name, strerror(&e))])?;
        manifest::persist(&dir, &fname, &self.aof.manifest).map_err(|e| vec![e])?;
        self.aof.last_incr_size = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.aof.file = Some(Arc::new(f));
        self.aof.last_fsync = now_secs();
        self.aof.state = AofState::On;
        self.feed.aof = Some(AofFeed::new(self.shared.cfg().flag("aof-timestamp-enabled")));
        if had_incr {
            crate::notice!(self.shared.log, "Opening AOF incr file {} on server start", name);
        } else {
            crate::notice!(self.shared.log, "Creating AOF incr file {} on server start", name);
        }
        Ok(())
    }

    pub(super) fn begin_aof_loading(&mut self, total: u64) -> Arc<AtomicU64> {
        let progress = self.shared.loading_bytes.clone();
        progress.store(0, Relaxed);
        self.persist.loading = Some(crate::keyspace::persist::Loading { start_unix: now_secs(), total_bytes: total, loaded: progress.clone(), sync: None });
        self.shared.loading_aof.store(true, Relaxed);
        self.shared.loading.store(true, Relaxed);
        progress
    }

    pub(super) fn end_aof_loading(&mut self) {
        self.shared.loading_aof.store(false, Relaxed);
        self.persist.loading = None;
        self.shared.loading.store(false, Relaxed);
    }

    /// Loads the base and incr files the manifest lists, in order (Redis's
    /// loadAppendOnlyFiles).
    pub(super) fn load_aof_files(&mut self, m: &Manifest) -> LoadResult {
        if m.is_empty() {
            return LoadResult::NotExist;
        }
        let dir = aof_dir(&self.shared);
        let mut total = 0;
        for f in m.base.iter().chain(&m.incr) {
            match file_size(&dir, &f.name) {
                Ok(n) => total += n,
                Err(e) => {
                    crate::warning!(self.shared.log, "Unable to obtain the AOF file {} length. stat: {}", f.name, strerror(&e));
                    return LoadResult::Failed;
                }
            }
        }
        if total == 0 {
            return LoadResult::Empty;
        }
        let progress = self.begin_aof_loading(total);
        let files: Vec<_> = m.base.iter().chain(&m.incr).collect();
        let count = files.len();
        let mut result = LoadResult::Ok;
        let mut base_size = 0;
        let mut done = 0u64;
        for (i, f) in files.into_iter().enumerate() {
            let last = i + 1 == count;
            let started = Instant::now();
            let r = self.load_one_aof(&dir, &f.name, &progress, done);
            done += file_size(&dir, &f.name).unwrap_or(0);
            let is_base = f.kind == manifest::Kind::Base;
            if is_base {
                base_size = file_size(&dir, &f.name).unwrap_or(0);
            }
            if r == LoadResult::Ok || (r == LoadResult::Truncated && last) {
                let what = if is_base { "base" } else { "incr" };
                crate::notice!(self.shared.log, "DB loaded from {} file {}: {:.3} seconds", what, f.name, started.elapsed().as_secs_f64());
            }
            let r = match r {
                LoadResult::Empty if !is_base => LoadResult::Ok,
                LoadResult::Truncated if !last => {
                    crate::warning!(self.shared.log, "Fatal error: the truncated file is not the last file");
                    LoadResult::Failed
                }
                r => r,
            };
            match r {
                LoadResult::Failed | LoadResult::NotExist => return LoadResult::Failed,
                LoadResult::Truncated => result = LoadResult::Truncated,
                _ => {}
            }
        }
        self.aof.current_size = total;
        self.aof.base_size = base_size;
        self.aof.fsync_offset = total;
        result
    }

    /// Replays one file into the keyspace, as Redis's loadSingleAppendOnlyFile.
    pub(super) fn load_one_aof(&mut self, dir: &Path, name: &str, progress: &Arc<AtomicU64>, done_before: u64) -> LoadResult {
        let path = dir.join(name);
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::warning!(self.shared.log, "The append log file {} doesn't exist: {}", name, strerror(&e));
                return LoadResult::NotExist;
            }
            Err(e) => {
                crate::warning!(self.shared.log, "Fatal error: can't open the append log file {} for reading: {}", name, strerror(&e));
                return LoadResult::Failed;
            }
        };
        if f.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
            return LoadResult::Empty;
        }
        let old_style = name == filename(&self.shared);
        let file_progress = AtomicU64::new(0);
        let key_delay = self.shared.cfg().int("key-load-delay") as i64;
        self.feed.muted = true;
        self.applying_master = true;
        self.loading_aof = true;
        let mut db = 0usize;
        let ndbs = self.dbs.len();
        let end = {
            let me = &mut *self;
            let mut apply = |event: load::Event| -> Result<(), String> {
                let unit = match event {
                    load::Event::Rdb((dbs, info)) => {
                        if old_style {
                            crate::notice!(me.shared.log, "Reading RDB preamble from AOF file...");
                        } else {
                            crate::notice!(me.shared.log, "Reading RDB base file on AOF loading...");
                        }
                        let mut dbs = dbs;
                        dbs.resize_with(me.dbs.len(), crate::keyspace::Db::default);
                        me.dbs = dbs;
                        me.load_functions(&info.functions);
                        if old_style {
                            crate::notice!(me.shared.log, "Reading the remaining AOF tail...");
                        }
                        return Ok(());
                    }
                    load::Event::Unit(u) => u,
                };
                let item = match unit {
                    load::Unit::Cmd(argv) => Item::Cmd(aof_cmd(argv)?),
                    load::Unit::Txn(cmds) => Item::Txn(cmds.into_iter().map(aof_cmd).collect::<Result<_, _>>()?),
                };
                let mut out = crate::resp::Out::new(false);
                let _ = me.exec_items(std::slice::from_ref(&item), &mut db, 0, &mut out, &mut Vec::new());
                progress.store(done_before + file_progress.load(Relaxed), Relaxed);
                if key_delay != 0 {
                    crate::keyspace::snapshot::key_delay(key_delay);
                }
                Ok(())
            };
            load::read_file(f, ndbs, &file_progress, &mut apply)
        };
        self.feed.muted = false;
        self.applying_master = false;
        self.loading_aof = false;
        progress.store(done_before + file_progress.load(Relaxed), Relaxed);
        let log = self.shared.log.clone();
        match end {
            load::End::Ok => LoadResult::Ok,
            load::End::Refused(e) => {
                if old_style {
                    crate::warning!(log, "Error reading the RDB preamble of the AOF file {}, AOF loading aborted", name);
                } else {
                    crate::warning!(log, "Error reading the RDB base file {}, AOF loading aborted", name);
                }
                crate::debug!(log, "AOF load error: {}", e);
                LoadResult::Failed
            }
            load::End::Unknown(cmd) => {
                crate::warning!(log, "Unknown command '{}' reading the append only file {}", cmd, name);
                LoadResult::Failed
            }
            load::End::Io(e) => {
                crate::warning!(log, "Unrecoverable error reading the append only file {}: {}", name, e);
                LoadResult::Failed
            }
            load::End::Format => {
                crate::warning!(log, "Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", name);
                LoadResult::Failed
            }
            load::End::Short { valid_up_to, reverted_multi } => {
                if reverted_multi {
                    crate::warning!(log, "Revert incomplete MULTI/EXEC transaction in AOF file {}", name);
                }
                if self.shared.cfg().flag("aof-load-truncated") {
                    crate::warning!(log, "!!! Warning: short read while loading the AOF file {}!!!", name);
                    crate::warning!(log, "!!! Truncating the AOF {} at offset {} !!!", name, valid_up_to);
                    let truncated = std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(valid_up_to));
                    match truncated {
                        Ok(()) => {
                            crate::warning!(log, "AOF {} loaded anyway because aof-load-truncated is enabled", name);
                            return LoadResult::Truncated;
                        }
                        Err(e) => crate::warning!(log, "Error truncating the AOF file {}: {}", name, strerror(&e)),
                    }
                }
                crate::warning!(
                    log,
                    "Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                    name
                );
                LoadResult::Failed
            }
        }
    }

    /// DEBUG LOADAOF: the dataset is emptied and loaded again from the AOF files.
    pub(crate) fn debug_loadaof(&mut self) -> Result<(), ()> {
        if self.aof.state == AofState::On {
            self.flush_aof(true);
        }
        for db in self.dbs.iter_mut() {
            *db = crate::keyspace::Db::default();
        }
        self.scripting.libs.flush();
        let m = match manifest_from_disk(&self.shared) {
            Ok(m) => m,
            Err(lines) => {
                self.aof_fatal(lines);
                return Err(());
            }
        };
        self.aof.manifest = m.clone();
        self.delete_aof_history();
        let r = self.load_aof_files(&m);
        self.end_aof_loading();
        if !matches!(r, LoadResult::Ok | LoadResult::Empty | LoadResult::Truncated) {
            self.aof_fatal(vec![]);
            return Err(());
        }
        self.stats.dirty = 0;
        crate::warning!(self.shared.log, "Append Only File loaded by DEBUG LOADAOF");
        Ok(())
    }

}

/// A command read from an AOF, checked as the command table says.
fn aof_cmd(argv: Vec<Bytes>) -> Result<crate::keyspace::Cmd, String> {
    let spec = crate::keyspace::cmd::lookup(&argv[0]).ok_or_else(|| format!("unknown command '{}'", String::from_utf8_lossy(&argv[0])))?;
    Ok(crate::keyspace::Cmd { spec, argv: argv.into() })
}

#[async_trait]
impl Handler<LoadAof> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: LoadAof) {
        crate::trace_msg!(self.shared.log, "server", "keyspace", "LoadAof");
        self.load_pending_aof();
    }
}
