//! Delivery through the spool: what a stream handler does with an encoded
//! frame when the receiver may be down, slow, or acknowledging.

use std::time::{Duration, Instant};

use crate::ack::AckState;
use crate::error::{Error, Result};
use crate::handler::Stats;
use crate::spool::{Overflow, Spool};
use crate::transport::Transport;

/// Sends spooled records in order, then this one; whatever cannot go now
/// joins the spool behind them, so order is kept across an outage.
pub(crate) fn deliver_or_spool(
    transport: &mut Transport,
    spool: &mut Spool,
    buf: &[u8],
    stats: &mut Stats,
    block_until: Instant,
) -> Result<()> {
    if pump(transport, spool, stats) && transport.send(buf).is_ok() {
        stats.sent += 1;
        stats.bytes += buf.len() as u64;
        return Ok(());
    }
    // An exact-size copy: the spool's byte bound is then the memory it
    // really takes, and `buf` keeps its capacity for the next record.
    enqueue(transport, spool, buf.to_vec(), stats, None, block_until)
}

pub(crate) fn pump_any(
    transport: &mut Transport,
    spool: &mut Spool,
    stats: &mut Stats,
    ack: Option<&mut AckState>,
) -> bool {
    match ack {
        Some(ack) => pump_acked(transport, spool, stats, ack),
        None => pump(transport, spool, stats),
    }
}

/// Acknowledged mode: reads acknowledgements (removing those frames from
/// the spool and counting them sent), then writes unsent frames while the
/// window allows. A lost connection puts every unacknowledged frame back in
/// line, to be written again first. True when the spool is empty.
pub(crate) fn pump_acked(transport: &mut Transport, spool: &mut Spool, stats: &mut Stats, ack: &mut AckState) -> bool {
    let (inbox, mut down) = transport.take_inbox();
    match ack.read_acks(&inbox) {
        Ok(Some(through)) => {
            let (n, bytes) = spool.acknowledge(through, crate::ack::seq_of);
            stats.sent += n as u64;
            stats.bytes += bytes as u64;
        }
        Ok(None) => {}
        Err(_) => {
            transport.close();
            down = true;
        }
    }
    if down {
        stats.replayed += spool.in_flight() as u64;
        spool.resend_all();
    }
    while spool.in_flight() < ack.window && transport.ready_in().is_zero() {
        let Some(frame) = spool.next_unsent() else { break };
        let reconnects = transport.reconnects();
        if transport.send(frame).is_err() {
            stats.replayed += spool.in_flight() as u64;
            spool.resend_all();
            break;
        }
        if transport.reconnects() != reconnects {
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
pub(crate) fn pump(transport: &mut Transport, spool: &mut Spool, stats: &mut Stats) -> bool {
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
/// `block` policy waits for room until `block_until` (one deadline for a
/// whole batch, so a batch never waits longer than one record would).
pub(crate) fn enqueue(
    transport: &mut Transport,
    spool: &mut Spool,
    frame: Vec<u8>,
    stats: &mut Stats,
    mut ack: Option<&mut AckState>,
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
    let deadline = block_until;
    while !spool.has_room(len) {
        match spool.limits.overflow {
            Overflow::DropOldest => match spool.drop_oldest() {
                Some(true) => stats.dropped_unconfirmed += 1,
                Some(false) => stats.dropped_spool_full += 1,
                // Nothing left to drop (could_hold said it fits an empty spool).
                None => break,
            },
            Overflow::Block if Instant::now() < deadline => {
                wait_for(transport, deadline);
                pump_any(transport, spool, stats, ack.as_deref_mut());
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

/// Sleeps until the next connection attempt is allowed, in short steps so
/// that a receiver coming back is noticed, and never past `deadline`.
pub(crate) fn wait_for(transport: &Transport, deadline: Instant) {
    let step = transport.ready_in().clamp(Duration::from_millis(1), Duration::from_millis(20));
    let left = deadline.saturating_duration_since(Instant::now());
    std::thread::sleep(step.min(left));
}
