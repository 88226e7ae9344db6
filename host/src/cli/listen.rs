//! `pylog listen`: receive from SocketHandler, DatagramHandler and
//! SysLogHandler senders and write each record as a line; acknowledged
//! frames are acknowledged only once their line is written.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use pylog_host::receive::listen::{self, Event, Input};

/// `--format`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Json,
    Text,
}

pub fn seconds(s: f64, option: &str) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{option} {s} must be a number of seconds above 0"))
}

pub fn serve(
    requests: &[(Input, SocketAddr)],
    format: Format,
    count: Option<u64>,
    limits: listen::ListenLimits,
    check: listen::FrameCheck,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
) -> Result<ExitCode> {
    let output = match format {
        Format::Json => listen::Output::Json,
        Format::Text => listen::Output::Text,
    };
    let mut listener = listen::start(requests, limits, check, output, tls)?;
    let ready: Vec<String> = listener.bound.iter().map(|(i, a)| format!("{}={a}", i.label())).collect();
    eprintln!("pylog listen: ready {}", ready.join(" "));
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let (mut received, mut rejected, mut duplicates) = (0u64, 0u64, 0u64);
    let mut acks = Vec::new();
    'serving: while count.is_none_or(|c| received < c) {
        let Some(batch) = listener.events.blocking_recv() else {
            break;
        };
        // The records' lines, up to the last one to print (with --count).
        let mut printed = 0;
        for event in batch.events {
            match event {
                Event::Duplicate => duplicates += 1,
                Event::Record { end, ack, .. } => {
                    received += 1;
                    printed = end;
                    acks.extend(ack);
                    if count.is_some_and(|c| received >= c) {
                        break;
                    }
                }
                Event::Rejected { input, peer, reason } => {
                    rejected += 1;
                    eprintln!("pylog listen: rejected from {} {peer}: {reason}", input.label());
                }
            }
        }
        // One write and one flush per batch; only then are its records
        // handled, and acknowledged.
        stdout.write_all(&batch.lines[..printed])?;
        stdout.flush()?;
        for ticket in acks.drain(..) {
            ticket.acknowledge();
        }
        if count.is_some_and(|c| received >= c) {
            break 'serving;
        }
    }
    eprintln!("pylog listen: {received} records, {rejected} rejected, {duplicates} duplicates dropped");
    Ok(ExitCode::SUCCESS)
}
