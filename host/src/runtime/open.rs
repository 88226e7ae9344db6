//! Opening handlers and pure instances from a loaded `Plugin`: where the
//! sandbox places a handler's files and spool, the grants it gets, and the
//! lock on its durable spool. (Kept apart from `plugin`, which `Handler`
//! uses to start instances, so the two do not import each other.)

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::bindings::{HandlerConfig, HandlerKind, HandlerStats};
use crate::runtime::error::PluginError;
use crate::runtime::handler::Handler;
use crate::runtime::plugin::Plugin;
use crate::runtime::pure::Pure;
use crate::sandbox::{Denials, Grants};

impl Plugin {
    /// An instance with no network at all, for the pure exports.
    pub fn pure(&self) -> Result<Pure> {
        let (store, world) = self.instantiate(&Grants::default(), Arc::default())?;
        Ok(Pure { store, world, wall: self.limits.call_deadline, packed: crate::records::packed::pack([]) })
    }

    /// Opens a handler in an instance that may reach only `config`'s destination.
    pub fn open(&self, config: &HandlerConfig) -> Result<Handler, PluginError> {
        let grants = Grants::for_handler(config).map_err(PluginError::Handler)?;
        self.open_with(config, grants)
    }

    /// Rewrites the paths of a handler's configuration to where the plugin
    /// sees them, and grants their host directories. A durable spool's
    /// directory and a file handler's directory are the only filesystem
    /// paths a plugin gets: preopened as /spool and /logs, for that handler.
    /// The spool must fit in the instance's memory, next to the plugin's own.
    pub(crate) fn place_in_sandbox(
        &self,
        config: &HandlerConfig,
        grants: &mut Grants,
    ) -> Result<HandlerConfig, PluginError> {
        let bad = PluginError::Config;
        let mut config = config.clone();
        if let Some(dir) = config.spool.directory.take() {
            if grants.spool_dir.replace(std::path::PathBuf::from(&dir)).is_some_and(|d| d.as_os_str() != dir.as_str()) {
                return Err(bad("one plugin instance can hold one durable spool directory".into()));
            }
            config.spool.directory = Some(crate::sandbox::SPOOL_DIR.into());
        }
        if let (HandlerKind::File(o), false) = (&mut config.kind, config.dry_run) {
            let file_name = std::path::Path::new(&o.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| bad(format!("filename {:?} names no file", o.path)))?;
            let dir = crate::sandbox::log_dir_of(&o.path);
            if grants.log_dir.replace(dir.clone()).is_some_and(|d| d != dir) {
                return Err(bad("one plugin instance can write log files in one directory".into()));
            }
            o.path = format!("{}/{file_name}", crate::sandbox::LOG_DIR);
        }
        let room = (self.limits.memory_bytes / 2) as u64;
        if config.spool.max_records > 0 && config.spool.max_bytes > room {
            return Err(bad(format!(
                "spool_bytes {} is more than half the plugin's memory limit ({} bytes); lower spool_bytes or give the \
                 plugin more memory (Limits::memory_bytes)",
                config.spool.max_bytes, self.limits.memory_bytes
            )));
        }
        Ok(config)
    }

    /// As `open`, with grants the caller chose (`--allow` widens them).
    pub fn open_with(&self, config: &HandlerConfig, mut grants: Grants) -> Result<Handler, PluginError> {
        let config = self.place_in_sandbox(config, &mut grants)?;
        let spool_lock = match &grants.spool_dir {
            Some(dir) => {
                Some(crate::runtime::spool_lock::SpoolLock::acquire(dir, &config.name).map_err(PluginError::Config)?)
            }
            None => None,
        };
        let config = &config;
        let denials = Arc::new(Denials::default());
        let mut handler = Handler {
            plugin: self.clone(),
            config: config.clone(),
            grants,
            denials,
            live: None,
            carried: HandlerStats::default(),
            traps: 0,
            // A call may legitimately wait for the spool (flush, close, a
            // blocking overflow) and a write; its wall-clock bound allows
            // for that on top of the CPU deadline (deadline.rs).
            wall_limit: self.limits.call_deadline
                + Duration::from_secs_f64(
                    config.spool.flush_timeout.max(config.spool.block_timeout).clamp(0.0, 3600.0)
                        + 2.0 * config.spool.write_timeout.clamp(0.0, 3600.0),
                ),
            _spool_lock: spool_lock,
            snapshot: HandlerStats::default(),
            lost_in_traps: 0,
            said_up_to: 0,
        };
        handler.start()?;
        Ok(handler)
    }
}
