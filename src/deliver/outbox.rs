//! The `Outbox`: what a handler does with encoded frames. It owns the
//! transport, the spool (in memory or durable), the acknowledgement window
//! and the counters of every frame it was given, so that each frame is
//! sent, spooled, or dropped with its reason.
//!
//! A handler family only encodes; all it knows of delivery is this API:
//! `deliver` (one frame), `deliver_joined` (several frames in one write),
//! `flush`, `close`.
//!
//! One concept, over 400 lines: delivery with its three pumps (plain,
//! spooled, acknowledged) and their shared accounting.

use std::time::{Duration, Instant};

use crate::deliver::acks::{AckWindow, Acks};
use crate::deliver::spool::{Overflow, Spool, SpoolLimits};
use crate::deliver::stats::Stats;
use crate::deliver::transport::Transport;
use crate::error::{Error, Result};

pub struct Outbox {
    transport: Box<dyn Transport>,
    /// For stream transports with `spool_records` above 0.
    spool: Option<Spool>,
    /// Acknowledged mode (pylog's acknowledgements, or RELP's).
    acks: Option<Acks>,
    /// Frames only: sent, spooled, replayed, dropped after encoding.
    stats: Stats,
    /// SocketHandler's `closeOnError`: a failed record closes the socket.
    close_on_error: bool,
    closed: bool,
    /// The transport's connection (`Transport::generation`) and the frames
    /// counted sent since it began: what a receiver that turns out to have
    /// discarded that connection (`close_checked`) may not have read.
    connection: (u64, u64),
    /// Frames counted sent on earlier connections that ended before our
    /// close (the receiver closed them, or a write failed). Plain TCP cannot
    /// tell whether those were read; once the receiver is seen discarding a
    /// connection, they are as uncertain as the rest.
    on_ended_connections: u64,
    /// Connections the receiver discarded: why (the first), and the
    /// records counted sent on them, now counted unconfirmed; said at close.
    discarded: Option<(String, u64)>,
}

/// What closing left behind, and how the last flush went.
pub struct Closing {
    /// Records the outbox could not deliver: kept in the durable spool, or
    /// dropped (and counted).
    pub left_behind: Option<Error>,
    pub flushed: Result<()>,
}

/// How an outbox holds frames back while the receiver is away.
#[derive(Debug, Clone, Default)]
pub struct OutboxOptions {
    pub spool: SpoolLimits,
    /// Acknowledged mode when above 0: at most this many frames in flight.
    pub ack_window: u32,
    pub close_on_error: bool,
}

impl Outbox {
    /// An outbox over `transport` for handler `name` (which names its
    /// durable spool's folder). Records an earlier run left in the durable
    /// spool are loaded and count as emitted, so the accounting identity
    /// holds from the start; those over the spool's bounds are dropped as a
    /// full spool drops.
    pub fn open(transport: Box<dyn Transport>, name: &str, options: OutboxOptions) -> Result<Outbox> {
        let limits = options.spool;
        check_spool(&limits)?;
        let mut stats = Stats::default();
        let spool = match (transport.is_stream() && limits.max_records > 0, limits.directory.clone()) {
            (true, None) => Some(Spool::new(limits)),
            (true, Some(dir)) => {
                let (spool, found) = Spool::open_durable(limits, &dir, name)?;
                if let Some(why) = &found.quarantined {
                    // The host shows the plugin's stderr; the count reaches
                    // the summary as a corrupt entry.
                    eprintln!("{why}");
                }
                stats.emitted = found.frames;
                stats.recovered = found.frames;
                stats.spooled = found.frames - found.over_limit;
                stats.dropped_spool_full = found.over_limit;
                stats.corrupt = found.corrupt + u64::from(found.quarantined.is_some());
                Some(spool)
            }
            (false, Some(_)) => {
                return Err(Error::BadConfig(
                    "a durable spool (spool_dir) needs a stream destination (TCP or a unix stream) and spool_records above 0"
                        .into(),
                ))
            }
            (false, None) => None,
        };
        let acks = match options.ack_window {
            0 if transport.confirms() => {
                return Err(Error::BadConfig(
                    "a transport that confirms messages needs an acknowledgement window".into(),
                ))
            }
            0 => None,
            window if spool.is_some() && transport.confirms() => Some(Acks::ByTransport { window: window as usize }),
            window if spool.is_some() && transport.is_stream() => {
                Some(Acks::Sequenced(AckWindow::new(window as usize)))
            }
            _ => {
                return Err(Error::BadConfig(
                    "acknowledged mode needs a TCP destination and a spool (spool_records above 0)".into(),
                ))
            }
        };
        Ok(Outbox {
            transport,
            spool,
            acks,
            stats,
            close_on_error: options.close_on_error,
            closed: false,
            connection: (0, 0),
            on_ended_connections: 0,
            discarded: None,
        })
    }

    /// Whether several frames may go out in one write now: the transport
    /// allows it, nothing is spooled ahead of them, and no acknowledgement
    /// window needs to see them one by one.
    pub fn coalesces(&self) -> bool {
        self.acks.is_none() && self.transport.coalesces() && self.spool.as_ref().is_none_or(Spool::is_empty)
    }

    /// Whether several frames may go in one call as separate messages
    /// (datagrams): nothing to spool or acknowledge, and a transport that
    /// does better than one call per message.
    pub fn sends_in_bulk(&self) -> bool {
        self.spool.is_none() && self.acks.is_none() && self.transport.sends_in_bulk()
    }

    /// When the `block` overflow policy stops waiting for room: one deadline
    /// for a whole batch, so a batch never waits longer than one record would.
    pub fn block_deadline(&self) -> Instant {
        Instant::now() + self.spool.as_ref().map_or(Duration::ZERO, |s| s.limits.block_timeout)
    }

    /// The encoder refused a record: CPython's `handleError`, which closes
    /// the socket when `closeOnError` is set.
    pub fn refused(&mut self) {
        if self.close_on_error {
            self.transport.close();
        }
    }

    /// Delivers one frame: spooled records first, in order, then this one;
    /// what cannot go now is spooled (stream transports) or dropped and
    /// counted (the rest).
    pub fn deliver(&mut self, frame: &[u8], block_until: Instant) -> Result<()> {
        let sent_before = self.stats.sent;
        let delivered = self.deliver_one(frame, block_until);
        self.track_connection(sent_before);
        delivered
    }

    /// Counts the frames sent since `sent_before` against the transport's
    /// current connection.
    fn track_connection(&mut self, sent_before: u64) {
        let generation = self.transport.generation();
        let new = self.stats.sent.saturating_sub(sent_before);
        if let Some(why) = self.transport.take_discarded() {
            // The connection that ended: what was counted sent on it (the
            // frames of this call too, as some may have gone on it) is
            // unconfirmed, and so is what went on connections ended before.
            let frames = self.connection.1 + new + std::mem::take(&mut self.on_ended_connections);
            self.unconfirm(why, frames);
            self.connection = (generation, 0);
            return;
        }
        if generation != self.connection.0 {
            self.on_ended_connections += self.connection.1;
            self.connection = (generation, 0);
        }
        self.connection.1 += new;
    }

    /// Moves `frames` counted sent to unconfirmed (acknowledged mode has
    /// its own confirmations and never needs this).
    fn unconfirm(&mut self, why: String, frames: u64) {
        if self.acks.is_some() {
            return;
        }
        let frames = frames.min(self.stats.sent);
        self.stats.sent -= frames;
        self.stats.dropped_unconfirmed += frames;
        let total = self.discarded.as_ref().map_or(0, |d| d.1) + frames;
        let why = self.discarded.take().map_or(why, |d| d.0);
        self.discarded = Some((why, total));
    }

    fn deliver_one(&mut self, frame: &[u8], block_until: Instant) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        let transport = self.transport.as_mut();
        match (self.spool.as_mut(), self.acks.as_mut()) {
            (None, _) => {
                let sent = transport.send(frame);
                count_send(&mut self.stats, frame.len(), &sent);
                if sent.is_err() && self.close_on_error {
                    transport.close();
                }
                sent
            }
            (Some(spool), None) => {
                if pump(transport, spool, &mut self.stats) && transport.send(frame).is_ok() {
                    count_send(&mut self.stats, frame.len(), &Ok(()));
                    Ok(())
                } else {
                    // An exact-size copy: the spool's byte bound is then the
                    // memory it really takes.
                    enqueue(transport, spool, frame.to_vec(), &mut self.stats, None, block_until)
                }
            }
            (Some(spool), Some(acks)) => {
                let queued = enqueue(transport, spool, frame.to_vec(), &mut self.stats, Some(acks), block_until);
                pump_acked(transport, spool, &mut self.stats, acks);
                queued
            }
        }
    }

    /// Delivers the frames joined in `batch` in one write (when `coalesces`
    /// said so). `frames` are (result index, start, end); a frame that
    /// cannot go sets its result. If the write fails, every frame joins the
    /// spool: some may have left before the failure, so this is
    /// at-least-once, as a single frame's retry is.
    pub fn deliver_joined(
        &mut self,
        batch: &[u8],
        frames: &[(usize, usize, usize)],
        results: &mut [Result<()>],
        block_until: Instant,
    ) {
        if frames.is_empty() {
            return;
        }
        if self.closed {
            frames.iter().for_each(|&(i, _, _)| results[i] = Err(Error::Closed));
            return;
        }
        let transport = self.transport.as_mut();
        match transport.send(batch) {
            Ok(()) => {
                let sent_before = self.stats.sent;
                self.stats.sent += frames.len() as u64;
                self.stats.bytes += batch.len() as u64;
                self.track_connection(sent_before);
            }
            Err(e) => match self.spool.as_mut() {
                Some(spool) => {
                    for &(i, start, end) in frames {
                        let frame = batch[start..end].to_vec();
                        if let Err(err) = enqueue(transport, spool, frame, &mut self.stats, None, block_until) {
                            results[i] = Err(err);
                        }
                    }
                }
                None => {
                    self.stats.dropped_unsent += frames.len() as u64;
                    frames.iter().for_each(|&(i, _, _)| results[i] = Err(e.clone()));
                }
            },
        }
    }

    /// Delivers the frames in `batch` as separate messages in one call (when
    /// `sends_in_bulk` said so); `frames` are (result index, start, end). A
    /// frame that cannot go is dropped, counted, and sets its result.
    pub fn deliver_each(&mut self, batch: &[u8], frames: &[(usize, usize, usize)], results: &mut [Result<()>]) {
        if frames.is_empty() {
            return;
        }
        if self.closed {
            frames.iter().for_each(|&(i, _, _)| results[i] = Err(Error::Closed));
            return;
        }
        let messages: Vec<&[u8]> = frames.iter().map(|&(_, start, end)| &batch[start..end]).collect();
        let mut failed = false;
        for (&(i, start, end), sent) in frames.iter().zip(self.transport.send_each(&messages)) {
            count_send(&mut self.stats, end - start, &sent);
            failed |= sent.is_err();
            results[i] = sent;
        }
        if failed && self.close_on_error {
            self.transport.close();
        }
    }

    /// Delivers what is spooled, trying for up to the spool's
    /// `flush_timeout`; what is still spooled then stays spooled.
    pub fn flush(&mut self) -> Result<()> {
        self.flush_until(Patience::FlushTimeout)
    }

    /// As `flush`, but gives up as soon as the receiver cannot be reached
    /// (a connection failed and the next attempt must wait for the backoff):
    /// for a caller that may not block each time the receiver is down, such
    /// as the wasi:logging route, which flushes on every `log`.
    pub fn flush_while_reachable(&mut self) -> Result<()> {
        self.flush_until(Patience::WhileReachable)
    }

    fn flush_until(&mut self, patience: Patience) -> Result<()> {
        let sent_before = self.stats.sent;
        let flushed = self.flush_spool(patience);
        self.track_connection(sent_before);
        flushed
    }

    fn flush_spool(&mut self, patience: Patience) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        let transport = self.transport.as_mut();
        if let Some(spool) = self.spool.as_mut() {
            let start = Instant::now();
            let deadline = start + spool.limits.flush_timeout;
            while !pump_any(transport, spool, &mut self.stats, self.acks.as_mut()) && Instant::now() < deadline {
                if patience == Patience::WhileReachable && !transport.ready_in().is_zero() {
                    break;
                }
                wait_for(transport, deadline);
            }
            if !spool.is_empty() {
                return Err(Error::Io(format!(
                    "{} records are still spooled after {:.1} s: the receiver is unreachable ({}); they stay spooled",
                    spool.len(),
                    start.elapsed().as_secs_f64(),
                    transport.last_failure().unwrap_or_default()
                )));
            }
        }
        transport.flush()
    }

    /// Flushes, then closes. What is still spooled after the flush timeout
    /// stays on disk (durable spool) or is dropped and counted; `Closing`
    /// says which. Closing twice is harmless, as in CPython.
    pub fn close(&mut self) -> Closing {
        if self.closed {
            return Closing { left_behind: None, flushed: Ok(()) };
        }
        let mut flushed = self.flush();
        self.closed = true;
        let left_behind = self.let_go();
        // Acknowledged frames were confirmed one by one; the rest are
        // checked now, as far as the transport can tell.
        let checked = if self.acks.is_some() {
            self.transport.close();
            Ok(())
        } else {
            self.transport.close_checked()
        };
        if let Err(e) = checked {
            let (generation, frames) = self.connection;
            let current = if generation == self.transport.generation() { frames } else { 0 };
            let unread = current + std::mem::take(&mut self.on_ended_connections);
            let why = match e {
                Error::Io(m) => m,
                other => other.to_string(),
            };
            self.unconfirm(why, unread);
        }
        if let Some((why, unread)) = self.discarded.take() {
            let said = Error::Io(format!(
                "{why}; the {unread} records written on connections it discarded count as unconfirmed"
            ));
            flushed = match flushed {
                Ok(()) => Err(said),
                Err(first) => Err(Error::Io(format!("{first}; and {said}"))),
            };
        }
        Closing { left_behind, flushed }
    }

    /// Empties the spool at close: a durable spool keeps its records on
    /// disk for the next start; a memory spool's are dropped and counted.
    fn let_go(&mut self) -> Option<Error> {
        let spool = self.spool.as_mut()?;
        if spool.is_durable() && !spool.is_empty() {
            let kept = spool.clear();
            return Some(Error::Io(format!(
                "{kept} records could not be delivered before close; they stay in the durable spool for the next start"
            )));
        }
        let unconfirmed = spool.in_flight() as u64;
        let abandoned = spool.clear() as u64;
        self.stats.spooled = 0;
        self.stats.dropped_unconfirmed += unconfirmed;
        self.stats.dropped_unsent += abandoned - unconfirmed;
        (abandoned > 0).then(|| {
            Error::Dropped(format!(
                "{abandoned} spooled records could not be delivered before close: the receiver stayed unreachable ({})",
                self.transport.last_failure().unwrap_or_default()
            ))
        })
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn stats(&self) -> Stats {
        Stats { reconnects: self.transport.reconnects(), ..self.stats }
    }

    /// A memory destination's bytes (a dry run), also after close.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.transport.take_output()
    }
}

/// Counts one frame sent without a spool: sent, with its bytes, or dropped
/// as unsent.
fn count_send(stats: &mut Stats, len: usize, sent: &Result<()>) {
    match sent {
        Ok(()) => {
            stats.sent += 1;
            stats.bytes += len as u64;
        }
        Err(_) => stats.dropped_unsent += 1,
    }
}

fn check_spool(s: &SpoolLimits) -> Result<()> {
    let ok = s.block_timeout.as_secs_f64() <= 3600.0 && s.flush_timeout.as_secs_f64() <= 3600.0;
    if !ok {
        return Err(Error::BadConfig("block_timeout and flush_timeout must be at most 3600 s".into()));
    }
    if s.write_timeout.is_zero() || s.write_timeout.as_secs_f64() > 3600.0 {
        return Err(Error::BadConfig(format!(
            "timeout {} must be above 0 and at most 3600 s (CPython's SocketHandler.timeout is 1.0)",
            s.write_timeout.as_secs_f64()
        )));
    }
    Ok(())
}

fn pump_any(transport: &mut dyn Transport, spool: &mut Spool, stats: &mut Stats, acks: Option<&mut Acks>) -> bool {
    match acks {
        Some(acks) => pump_acked(transport, spool, stats, acks),
        None => pump(transport, spool, stats),
    }
}

/// Acknowledged mode: reads acknowledgements (removing those frames from
/// the spool and counting them sent), then writes unsent frames while the
/// window allows. A lost connection puts every unacknowledged frame back in
/// line, to be written again first. True when the spool is empty.
fn pump_acked(transport: &mut dyn Transport, spool: &mut Spool, stats: &mut Stats, acks: &mut Acks) -> bool {
    let confirmed = acks.take_confirmed(transport, spool);
    stats.sent += confirmed.frames as u64;
    stats.bytes += confirmed.bytes as u64;
    if confirmed.down {
        stats.replayed += spool.in_flight() as u64;
        spool.resend_all();
    }
    while spool.in_flight() < acks.window() && transport.ready_in().is_zero() {
        if transport.confirms() {
            // Everything the window allows, in one call (one write for RELP).
            let frames: Vec<&[u8]> = spool.unsent().take(acks.window() - spool.in_flight()).collect();
            if frames.is_empty() {
                break;
            }
            let written = frames.len();
            if transport.send_each(&frames).iter().any(Result::is_err) {
                stats.replayed += spool.in_flight() as u64;
                spool.resend_all();
                break;
            }
            (0..written).for_each(|_| spool.mark_sent());
            continue;
        }
        let Some(frame) = spool.next_unsent() else { break };
        let reconnects = transport.reconnects();
        if transport.send(frame).is_err() {
            stats.replayed += spool.in_flight() as u64;
            spool.resend_all();
            break;
        }
        // (A transport that confirms messages keeps its own sessions: a
        // send it could not make on the session in use is an error.)
        if !transport.confirms() && transport.reconnects() != reconnects {
            // The send found the old connection dead and opened a new one:
            // what was in flight on the old one goes again (the frame just
            // written too; the receiver drops the duplicate).
            stats.replayed += spool.in_flight() as u64;
            spool.resend_all();
            continue;
        }
        spool.mark_sent();
    }
    stats.spooled = spool.len() as u64;
    spool.is_empty()
}

/// Sends from the front of the spool until it is empty (true) or a send
/// fails or must wait for the reconnect schedule (false).
fn pump(transport: &mut dyn Transport, spool: &mut Spool, stats: &mut Stats) -> bool {
    while let Some(front) = spool.front() {
        if !transport.ready_in().is_zero() || transport.send(front).is_err() {
            return false;
        }
        let len = front.len() as u64;
        spool.pop_front();
        stats.spooled = spool.len() as u64;
        stats.sent += 1;
        stats.replayed += 1;
        stats.bytes += len;
    }
    true
}

/// Keeps `frame` in the spool, making room by its overflow policy; the
/// `block` policy waits for room until `block_until`.
fn enqueue(
    transport: &mut dyn Transport,
    spool: &mut Spool,
    frame: Vec<u8>,
    stats: &mut Stats,
    mut acks: Option<&mut Acks>,
    block_until: Instant,
) -> Result<()> {
    let len = frame.len();
    if !spool.could_hold(len) {
        stats.dropped_spool_full += 1;
        return Err(Error::Dropped(format!(
            "the receiver is unreachable and a {len}-byte record cannot fit the spool (spool_bytes {})",
            spool.limits.max_bytes
        )));
    }
    while !spool.has_room(len) {
        match spool.limits.overflow {
            Overflow::DropOldest => match spool.drop_oldest() {
                Some(true) => stats.dropped_unconfirmed += 1,
                Some(false) => stats.dropped_spool_full += 1,
                // Nothing left to drop (could_hold said it fits an empty spool).
                None => break,
            },
            Overflow::Block if Instant::now() < block_until => {
                wait_for(transport, block_until);
                pump_any(transport, spool, stats, acks.as_deref_mut());
            }
            Overflow::DropNewest | Overflow::Block => {
                stats.dropped_spool_full += 1;
                stats.spooled = spool.len() as u64;
                return Err(Error::Dropped(format!(
                    "the receiver is unreachable and the spool is full ({} records, {} bytes); this record was dropped",
                    spool.len(),
                    spool.bytes()
                )));
            }
        }
    }
    let kept = spool.push_back(frame);
    stats.spooled = spool.len() as u64;
    kept
}

/// How long a flush keeps trying.
#[derive(Clone, Copy, PartialEq)]
enum Patience {
    FlushTimeout,
    WhileReachable,
}

/// Sleeps until the next connection attempt is allowed, in short steps so
/// that a receiver coming back is noticed, and never past `deadline`.
fn wait_for(transport: &dyn Transport, deadline: Instant) {
    let step = transport.ready_in().clamp(Duration::from_millis(1), Duration::from_millis(20));
    let left = deadline.saturating_duration_since(Instant::now());
    std::thread::sleep(step.min(left));
}
