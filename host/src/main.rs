//! `pylog`: ship records through the sandboxed plugin, or receive them.
//! This file parses the command line and dispatches to `cli/`.

mod cli;

/// A faster allocator for the many short-lived strings of parsed records
/// (BENCHMARKS.md, "Where the time goes").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::dry_run::DryRun;
use cli::emit::EmitOptions;
use cli::listen::Format;
use pylog_host::receive::listen::{self, Input};

#[derive(Parser)]
#[command(name = "pylog", version, about = "CPython's logging.handlers as a sandboxed WebAssembly plugin")]
struct Cli {
    /// The plugin component (default: $PYLOG_PLUGIN, else the one built beside this binary).
    #[arg(long, global = true)]
    plugin: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ship JSON-lines records through the handlers of a dictConfig document.
    Emit {
        /// A logging.config.dictConfig document, JSON or TOML (.toml).
        #[arg(long)]
        config: PathBuf,
        /// Write the bytes the handler would send to stdout instead of
        /// sending them (one handler; with several, use --dry-run-dir).
        #[arg(long)]
        dry_run: bool,
        /// As --dry-run, writing each handler's bytes to DIR/NAME.bin.
        #[arg(long, value_name = "DIR", conflicts_with = "dry_run")]
        dry_run_dir: Option<PathBuf>,
        /// Also let every handler reach this address (TCP and UDP), beyond
        /// what its configuration names. Repeatable.
        #[arg(long, value_name = "IP:PORT")]
        allow: Vec<SocketAddr>,
        /// Refuse records whose text and bytes exceed this many bytes, before
        /// they enter the plugin (each is reported and counted as dropped).
        #[arg(long, default_value_t = pylog_host::runtime::DEFAULT_MAX_RECORD_BYTES)]
        max_record_bytes: usize,
        /// The sockets one handler's plugin instance may hold at once; one
        /// more is refused and counted as a sandbox refusal.
        #[arg(long, default_value_t = pylog_host::sandbox::socket_gate::DEFAULT_MAX_SOCKETS)]
        max_sockets: usize,
        /// Records as JSON lines; `-` or absent for stdin.
        records: Option<PathBuf>,
    },
    /// Bake a dictConfig and the plugin into a component that imports
    /// wasi:logging, for hosts that are not pylog's (wasmtime run/serve, jco, Spin).
    ///
    /// The result imports only wasi:* interfaces.
    Compose {
        /// A logging.config.dictConfig document, JSON or TOML (.toml).
        #[arg(long)]
        config: PathBuf,
        /// The component whose wasi:logging import gets the handlers.
        extension: PathBuf,
        /// Where to write the composed component.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Check a dictConfig document and print what pylog resolved from it.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Receive records from SocketHandler, DatagramHandler and SysLogHandler senders.
    ///
    /// With no address given, listens on CPython's defaults: TCP 127.0.0.1:9020 and UDP 127.0.0.1:9021.
    Listen {
        /// SocketHandler streams (length-prefixed pickles).
        #[arg(long)]
        tcp: Vec<SocketAddr>,
        /// DatagramHandler datagrams.
        #[arg(long)]
        udp: Vec<SocketAddr>,
        /// Syslog datagrams.
        #[arg(long)]
        syslog_udp: Vec<SocketAddr>,
        /// Syslog over TCP: octet-counted, or LF/NUL delimited.
        #[arg(long)]
        syslog_tcp: Vec<SocketAddr>,
        /// One JSON object per record, or a human line.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Exit after this many records.
        #[arg(long)]
        count: Option<u64>,
        /// Refuse frames and messages larger than this, before reading them.
        #[arg(long, default_value_t = listen::DEFAULT_MAX_FRAME)]
        max_frame: usize,
        /// Connections open at once; more are closed as they arrive.
        #[arg(long, default_value_t = listen::ListenLimits::default().max_connections)]
        max_connections: usize,
        /// Seconds a connection may send nothing before it is closed.
        #[arg(long, default_value_t = listen::ListenLimits::default().idle_timeout.as_secs_f64())]
        idle_timeout: f64,
        /// Seconds a frame or message, once begun, may take to arrive whole.
        #[arg(long, default_value_t = listen::ListenLimits::default().frame_timeout.as_secs_f64())]
        frame_timeout: f64,
        /// Accept only frames signed with this key (HMAC-SHA256; SECURITY.md).
        #[arg(long)]
        hmac_key_file: Option<PathBuf>,
        /// Serve every TCP input over TLS with this PEM certificate chain
        /// (with --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Require a client certificate signed by this PEM CA.
        #[arg(long, requires = "tls_cert")]
        tls_client_ca: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Validate FILE (JSON or TOML) and print its handlers, loggers and filters.
    Check { file: PathBuf },
}

fn plugin_path(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(p) = explicit.or_else(|| std::env::var_os("PYLOG_PLUGIN").map(PathBuf::from)) {
        return p;
    }
    // target/release/pylog -> target/wasm32-wasip2/component/pylog_handlers.wasm
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe.parent().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default();
    target.join("wasm32-wasip2").join("component").join("pylog_handlers.wasm")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Emit { config, dry_run, dry_run_dir, allow, max_record_bytes, max_sockets, records } => {
            let dry = match (dry_run, dry_run_dir) {
                (_, Some(dir)) => DryRun::Files(dir, Default::default()),
                (true, None) => DryRun::Stdout,
                (false, None) => DryRun::Off,
            };
            let plugin = plugin_path(cli.plugin);
            cli::emit::run(EmitOptions { plugin, config, dry, allow, max_record_bytes, max_sockets, records })
        }
        Command::Compose { config, extension, output } => {
            cli::compose::run(&config, &extension, &output, plugin_path(cli.plugin))
        }
        Command::Config { action: ConfigAction::Check { file } } => {
            cli::config_check::run(&file, plugin_path(cli.plugin))
        }
        Command::Listen {
            tcp,
            udp,
            syslog_udp,
            syslog_tcp,
            format,
            count,
            max_frame,
            max_connections,
            idle_timeout,
            frame_timeout,
            hmac_key_file,
            tls_cert,
            tls_key,
            tls_client_ca,
        } => {
            let mut requests: Vec<(Input, SocketAddr)> = Vec::new();
            requests.extend(tcp.into_iter().map(|a| (Input::Tcp, a)));
            requests.extend(udp.into_iter().map(|a| (Input::Udp, a)));
            requests.extend(syslog_udp.into_iter().map(|a| (Input::SyslogUdp, a)));
            requests.extend(syslog_tcp.into_iter().map(|a| (Input::SyslogTcp, a)));
            if requests.is_empty() {
                requests.push((Input::Tcp, SocketAddr::from(([127, 0, 0, 1], listen::DEFAULT_TCP_PORT))));
                requests.push((Input::Udp, SocketAddr::from(([127, 0, 0, 1], listen::DEFAULT_UDP_PORT))));
            }
            let check = match hmac_key_file {
                None => Ok(listen::FrameCheck::default()),
                Some(path) => pylog_host::config::read_key_file(&path).map(|k| listen::FrameCheck::with_key(&k)),
            };
            let limits = cli::listen::seconds(idle_timeout, "--idle-timeout").and_then(|idle| {
                Ok(listen::ListenLimits {
                    max_frame,
                    max_connections: max_connections.max(1),
                    idle_timeout: idle,
                    frame_timeout: cli::listen::seconds(frame_timeout, "--frame-timeout")?,
                    ..Default::default()
                })
            });
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    pylog_host::receive::tls::server_config(&cert, &key, tls_client_ca.as_deref()).map(Some)
                }
                _ => Ok(None),
            };
            check.and_then(|check| cli::listen::serve(&requests, format, count, limits?, check, tls?))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pylog: {e:#}");
            ExitCode::from(2)
        }
    }
}
