//! What a plugin instance may reach: exactly the addresses its handler
//! configuration names, nothing ambient.
//!
//! wasmtime-wasi asks `socket_addr_check` before every bind, connect and
//! datagram; that closure is the whole egress policy. Refusals are counted
//! and remembered so that a host can report what an untrusted plugin tried.

pub mod http_gate;
pub mod https;
pub mod name_lookup;
pub mod socket_gate;
pub mod tls_errors;
pub mod tls_streams;
pub mod udp_datagrams;
pub mod unix_sockets;

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use crate::bindings::{Address, HandlerConfig, HandlerError, HandlerKind, StreamTarget};
use crate::config::tls::TlsClient;
use crate::config::Document;
use crate::sandbox::http_gate::normal_authority;

/// The directory holding a log file, as the host names it.
pub fn log_dir_of(path: &str) -> std::path::PathBuf {
    match std::path::Path::new(path).parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// A log file that is a symbolic link out of its own directory cannot be
/// written: the plugin is granted that directory only, and WASI follows no
/// link that leaves it. Said plainly at load, instead of the sandbox's
/// refusal at the first open, which blamed the configuration.
fn refuse_escaping_symlink(path: &str) -> Result<(), HandlerError> {
    let file = std::path::Path::new(path);
    let is_link = std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(());
    }
    let dir = std::fs::canonicalize(log_dir_of(path)).ok();
    // The link may point at a file not created yet (CPython creates it
    // through the link): resolve the target's directory instead.
    let target = std::fs::canonicalize(file).ok().or_else(|| {
        let pointed = log_dir_of(path).join(std::fs::read_link(file).ok()?);
        Some(std::fs::canonicalize(pointed.parent()?).ok()?.join(pointed.file_name()?))
    });
    if let (Some(dir), Some(target)) = (&dir, &target) {
        if target.starts_with(dir) {
            return Ok(());
        }
    }
    let target = target.map_or_else(|| "a path that does not exist".to_string(), |t| t.display().to_string());
    Err(HandlerError::BadConfig(format!(
        "log file {path} is a symbolic link to {target}, outside its own directory; the plugin may write only in \
         the directory of `filename`: set `filename` to the file the link points to"
    )))
}

#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub tcp: HashSet<SocketAddr>,
    pub udp: HashSet<SocketAddr>,
    /// Only when a destination is a host name rather than an address.
    pub name_lookup: bool,
    /// Unix socket paths; None when the host offers no unix capability.
    pub unix: Option<HashSet<String>>,
    /// The host directory of a durable spool, preopened as `SPOOL_DIR`.
    pub spool_dir: Option<std::path::PathBuf>,
    /// The host directory of a file handler's log file, preopened as `LOG_DIR`.
    pub log_dir: Option<std::path::PathBuf>,
    /// The one `host:port` an HTTPHandler may send requests to.
    pub http_authority: Option<String>,
    /// The TLS client of an HTTPHandler's `secure` requests (its `"." tls`);
    /// None: the system's trust store.
    pub http_tls: Option<TlsClient>,
    /// StreamHandler writes to the host's own stderr or stdout.
    pub console: Option<StreamTarget>,
    /// The TLS destination the host connects for the plugin (through
    /// tls-streams), and with which client; `tcp` holds its addresses.
    pub tls: Option<TlsGrant>,
}

/// A TLS destination: the host name and port the plugin may ask for, and
/// the client (trust, identity, policy) the host connects with. None: the
/// system's trust store.
#[derive(Debug, Clone)]
pub struct TlsGrant {
    pub host: String,
    pub port: u16,
    pub client: Option<TlsClient>,
}

/// Where the plugin sees a durable spool's directory.
pub const SPOOL_DIR: &str = "/spool";
/// Where the plugin sees a file handler's directory.
pub const LOG_DIR: &str = "/logs";

impl Grants {
    /// `text` with the paths the plugin sees written as the host's.
    pub fn unsandboxed_text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (inside, outside) in [(SPOOL_DIR, &self.spool_dir), (LOG_DIR, &self.log_dir)] {
            if let Some(dir) = outside {
                text = text.replace(&format!("{inside}/"), &format!("{}/", dir.display()));
            }
        }
        text
    }

    /// The plugin's error with the paths it sees (`/spool/...`, `/logs/...`)
    /// written as the host paths the user configured.
    pub fn unsandboxed(&self, error: HandlerError) -> HandlerError {
        let rewrite = |text: &str| self.unsandboxed_text(text);
        match error {
            HandlerError::BadConfig(t) => HandlerError::BadConfig(rewrite(&t)),
            HandlerError::Io(t) => HandlerError::Io(rewrite(&t)),
            HandlerError::Unsupported(t) => HandlerError::Unsupported(rewrite(&t)),
            other => other,
        }
    }

    /// The grants one handler needs: its destination's addresses, resolved
    /// now by the host the same way the guest will resolve them.
    pub fn for_handler(config: &HandlerConfig) -> Result<Grants, HandlerError> {
        let mut g = Grants::default();
        if config.dry_run {
            // Nothing is opened: no grant at all.
            return Ok(g);
        }
        match config.kind.address() {
            Some(Address::Tls(e)) => {
                // The host resolves and connects; the plugin looks nothing up.
                g.tcp.extend(resolve(&e.host, e.port)?);
                g.tls = Some(TlsGrant { host: e.host.clone(), port: e.port, client: None });
            }
            Some(address @ (Address::Tcp(e) | Address::Udp(e))) => {
                g.name_lookup = is_name(&e.host);
                let addrs = resolve(&e.host, e.port)?;
                if address.is_stream() {
                    g.tcp.extend(addrs)
                } else {
                    g.udp.extend(addrs)
                }
            }
            Some(Address::UnixStream(path) | Address::UnixDatagram(path)) => {
                g.unix = Some(HashSet::from([path.to_string()]));
            }
            None => match &config.kind {
                HandlerKind::File(o) => {
                    refuse_escaping_symlink(&o.path)?;
                    g.log_dir = Some(log_dir_of(&o.path));
                }
                HandlerKind::Http(o) => g.http_authority = Some(normal_authority(&o.host, o.secure)),
                HandlerKind::Stream(target) => g.console = Some(*target),
                _ => {}
            },
        }
        // SMTP's STARTTLS (with credentials, as CPython) upgrades through
        // the host's TLS capability, to the mailhost only.
        if let HandlerKind::Smtp(o) = &config.kind {
            if o.secure && o.credentials.is_some() {
                g.tls = Some(TlsGrant { host: o.mailhost.host.clone(), port: o.mailhost.port, client: None });
            }
        }
        Ok(g)
    }

    /// `for_handler` with the TLS client the document configured for it.
    pub fn for_configured(config: &HandlerConfig, doc: &Document) -> Result<Grants, HandlerError> {
        let mut g = Grants::for_handler(config)?;
        if let Some(tls) = g.tls.as_mut() {
            tls.client = doc.tls.get(&config.name).cloned();
        }
        if matches!(config.kind, HandlerKind::Http(_)) {
            g.http_tls = doc.tls.get(&config.name).cloned();
        }
        Ok(g)
    }

    /// Widens the grants by an explicit `--allow host:port`.
    pub fn allow(&mut self, addr: SocketAddr, tcp: bool, udp: bool) {
        if tcp {
            self.tcp.insert(addr);
        }
        if udp {
            self.udp.insert(addr);
        }
    }

    fn permits(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        // Implicit binds before connect/send use the wildcard address and port 0.
        let implicit_bind = addr.ip().is_unspecified() && addr.port() == 0;
        match use_ {
            SocketAddrUse::TcpConnect => self.tcp.contains(&addr),
            SocketAddrUse::TcpBind => implicit_bind && !self.tcp.is_empty(),
            SocketAddrUse::UdpBind => implicit_bind && !self.udp.is_empty(),
            SocketAddrUse::UdpSend => self.udp.contains(&addr),
            SocketAddrUse::UdpReceive => false,
            SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => false,
        }
    }
}

/// Resolves a destination the way the guest will. A name that cannot be a
/// DNS name is refused before any lookup, so a typo never leaves the host
/// as a query.
pub(crate) fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, HandlerError> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !valid {
        return Err(HandlerError::Io(format!("{host:?} is not a valid host name; write a DNS name or an IP address")));
    }
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| HandlerError::Io(format!("cannot resolve {host}:{port}: {e}; check the host name")))?
        .collect();
    if addrs.is_empty() {
        return Err(HandlerError::Io(format!("{host} has no address; check the host name")));
    }
    Ok(addrs)
}

fn is_name(host: &str) -> bool {
    host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_err()
}

/// Refused attempts, for the host to report.
#[derive(Debug, Default)]
pub struct Denials {
    count: AtomicU64,
    recent: Mutex<Vec<String>>,
}

impl Denials {
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The last few refused attempts, as "use address".
    pub fn recent(&self) -> Vec<String> {
        self.recent.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn record(&self, addr: SocketAddr, use_: SocketAddrUse) {
        self.remember(format!("{use_:?} {addr}"));
    }

    pub(crate) fn record_name(&self, name: &str) {
        self.remember(format!("NameLookup {name:?}"));
    }

    pub(crate) fn record_path(&self, path: &str) {
        self.remember(format!("Unix {path}"));
    }

    pub(crate) fn record_tls(&self, host: &str, port: u16) {
        self.remember(format!("TLS {host}:{port}"));
    }

    pub(crate) fn record_http(&self, authority: &str) {
        self.remember(format!("HTTP {authority}"));
    }

    /// A destination wasmtime-wasi refuses as `invalid-argument` before
    /// the address check (socket_gate.rs).
    pub(crate) fn record_invalid(&self, use_: &str, addr: SocketAddr, why: &str) {
        self.remember(format!("{use_} {addr} ({why})"));
    }

    pub(crate) fn record_socket_cap(&self, max: usize) {
        self.remember(format!("Socket beyond the cap of {max} per instance (--max-sockets)"));
    }

    fn remember(&self, what: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() >= 16 {
                recent.remove(0);
            }
            recent.push(what);
        }
    }
}

/// A WASI context that grants the sockets in `grants` and nothing else: no
/// environment, no arguments, no files, no inherited stdio. The plugin's
/// stderr goes to `stderr` (bounded), so that a panic message can be shown
/// with the trap it causes.
pub fn wasi_ctx(grants: &Grants, denials: Arc<Denials>, stderr: wasmtime_wasi::p2::pipe::MemoryOutputPipe) -> WasiCtx {
    let mut b = WasiCtxBuilder::new();
    match grants.console {
        // StreamHandler's stream is the host's own; a panic message then
        // appears there too.
        Some(StreamTarget::Stderr) => {
            b.inherit_stderr();
        }
        Some(StreamTarget::Stdout) => {
            b.inherit_stdout().stderr(stderr);
        }
        None => {
            b.stderr(stderr);
        }
    }
    let any_socket = !grants.tcp.is_empty() || !grants.udp.is_empty();
    // Both protocols are "allowed" so that every use of a socket reaches
    // `socket_addr_check`, which refuses and counts what the grants do not
    // name. Switched off, wasmtime-wasi refused a UDP attempt from a
    // TCP-only plugin before any check could count it.
    b.allow_tcp(true).allow_udp(true).allow_ip_name_lookup(grants.name_lookup && any_socket);
    if let Some(dir) = &grants.spool_dir {
        // Failing here would hide the cause; the plugin then reports that it
        // cannot open its spool file, naming the path.
        let _ = b.preopened_dir(dir, SPOOL_DIR, wasmtime_wasi::FsPerms::ReadWrite);
    }
    if let Some(dir) = &grants.log_dir {
        let _ = b.preopened_dir(dir, LOG_DIR, wasmtime_wasi::FsPerms::ReadWrite);
    }
    let grants = Arc::new(grants.clone());
    b.socket_addr_check(move |addr, use_| {
        let ok = grants.permits(addr, use_);
        if !ok {
            denials.record(addr, use_);
        }
        Box::pin(async move { ok })
    });
    b.build()
}

/// The sandbox's own part of a store's state: what its linker shims
/// (`name_lookup`, `socket_gate`) check and record.
pub struct SandboxState {
    /// Whether this instance may resolve names (its destination is a name).
    pub lookup_allowed: bool,
    pub denials: Arc<Denials>,
    /// The sockets this instance holds, against `max_sockets`.
    pub socket_count: socket_gate::SocketCount,
    pub max_sockets: usize,
}

/// What the sandbox's shims need from an embedder's store state, as
/// wasmtime-wasi's `WasiSocketsView` does: they never reach into the
/// embedder's struct.
pub trait SandboxView: wasmtime_wasi::sockets::WasiSocketsView + 'static {
    fn sandbox(&mut self) -> &mut SandboxState;
}
