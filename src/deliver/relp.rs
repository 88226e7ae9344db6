//! RELP, the client side (rsyslog's `imrelp` is the server): each syslog
//! message goes as a numbered `syslog` command over TCP or TLS, and counts
//! as delivered only once the server has answered it `200`. A new
//! connection opens a session first (`open`, answered before anything
//! else is sent); what was unanswered when a connection ended is sent
//! again, in order, on the next one (the `Outbox` keeps it in the spool,
//! so the durable spool keeps it across restarts too). At least once: a
//! message whose answer was lost arrives twice, and `replayed` counts it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::deliver::tcp::TcpTransport;
use crate::deliver::transport::Transport;
use crate::encode::relp::{next_txnr, write_command, Replies, Reply, OPEN_OFFERS};
use crate::error::{Error, Result};

/// rsyslog's own default window (`imrelp`'s and `omrelp`'s 128): commands
/// sent and not yet answered.
pub const DEFAULT_WINDOW: u32 = 128;

pub struct RelpTransport {
    tcp: TcpTransport,
    /// The connection (by `TcpTransport::generation`) whose session is open.
    session: Option<u64>,
    /// The last transaction number used in this session.
    txnr: u32,
    /// `syslog` commands sent in this session and not answered yet, in order.
    awaiting: VecDeque<u32>,
    replies: Replies,
    timeout: Duration,
    frame: Vec<u8>,
}

impl RelpTransport {
    pub fn new(tcp: TcpTransport, timeout: Duration) -> RelpTransport {
        RelpTransport {
            tcp,
            session: None,
            txnr: 0,
            awaiting: VecDeque::new(),
            replies: Replies::default(),
            timeout,
            frame: Vec::new(),
        }
    }

    fn end_session(&mut self) {
        self.session = None;
        self.awaiting.clear();
        self.replies.reset();
    }

    /// Connects if needed, sends `open` and waits (up to the timeout) for
    /// the server to accept the session.
    fn open_session(&mut self) -> Result<()> {
        self.end_session();
        self.frame.clear();
        write_command(&mut self.frame, 1, "open", OPEN_OFFERS.as_bytes());
        self.tcp.send(&self.frame)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let (bytes, down) = self.tcp.take_inbox();
            let replies = match self.replies.read(&bytes) {
                Ok(replies) => replies,
                Err(e) => return Err(self.refuse(e.to_string())),
            };
            for reply in replies {
                match reply {
                    Reply::Response { txnr: 1, code: 200, .. } => {
                        self.session = Some(self.tcp.generation());
                        self.txnr = 1;
                        return Ok(());
                    }
                    Reply::Response { txnr: 1, code, text } => {
                        return Err(self.refuse(format!("the RELP server refused the session: {code} {text}")))
                    }
                    Reply::Response { .. } => {}
                    Reply::ServerClose => {
                        return Err(self.refuse("the RELP server closed the session as it opened".into()))
                    }
                }
            }
            if down {
                return Err(self.refuse("the receiver closed the connection before answering RELP open".into()));
            }
            if Instant::now() >= deadline {
                return Err(self.refuse(format!(
                    "no answer to RELP open within {:.1} s (timeout): is this an imrelp port?",
                    self.timeout.as_secs_f64()
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn refuse(&mut self, why: String) -> Error {
        self.end_session();
        self.tcp.fail_connection(why.clone());
        Error::Io(why)
    }
}

impl Transport for RelpTransport {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.send_each(&[bytes]).pop().unwrap_or(Ok(()))
    }

    /// Several messages as one write of consecutive commands: all sent,
    /// or (the session lost) none.
    fn send_each(&mut self, messages: &[&[u8]]) -> Vec<Result<()>> {
        if messages.is_empty() {
            return Vec::new();
        }
        let all = |r: Result<()>| vec![r; messages.len()];
        if self.session != Some(self.tcp.generation()) || !self.tcp.is_connected() {
            if let Err(e) = self.open_session() {
                return all(Err(e));
            }
        }
        self.frame.clear();
        let mut txnr = self.txnr;
        let mut numbers = Vec::with_capacity(messages.len());
        for m in messages {
            txnr = next_txnr(txnr);
            write_command(&mut self.frame, txnr, "syslog", m);
            numbers.push(txnr);
        }
        let generation = self.tcp.generation();
        if let Err(e) = self.tcp.send(&self.frame) {
            self.end_session();
            return all(Err(e));
        }
        if self.tcp.generation() != generation {
            // The old connection was found dead and the commands went on a
            // new one that has no session: the server drops them. Start over.
            self.end_session();
            self.tcp.close();
            return all(Err(Error::Io("the RELP connection was lost; the session opens again".into())));
        }
        self.txnr = txnr;
        self.awaiting.extend(numbers);
        all(Ok(()))
    }

    fn confirms(&self) -> bool {
        true
    }

    fn take_confirmed(&mut self) -> (usize, bool) {
        if self.session.is_none() {
            return (0, false);
        }
        let (bytes, mut down) = self.tcp.take_inbox();
        let mut confirmed = 0;
        match self.replies.read(&bytes) {
            Ok(replies) => {
                for reply in replies {
                    match reply {
                        // Answers come in order; one for a later command
                        // also settles those before it.
                        Reply::Response { txnr, code: 200, .. } => {
                            if let Some(at) = self.awaiting.iter().position(|t| *t == txnr) {
                                self.awaiting.drain(..=at);
                                confirmed += at + 1;
                            }
                        }
                        Reply::Response { code, text, .. } => {
                            let why = format!("the RELP server refused a message: {code} {text}");
                            self.tcp.fail_connection(why);
                            down = true;
                        }
                        Reply::ServerClose => down = true,
                    }
                }
            }
            Err(e) => {
                self.tcp.fail_connection(e.to_string());
                down = true;
            }
        }
        if down {
            self.end_session();
            self.tcp.close();
        }
        (confirmed, down)
    }

    fn flush(&mut self) -> Result<()> {
        self.tcp.flush()
    }

    /// Ends the session as librelp does (`close`, answered), within the
    /// timeout; the connection closes either way.
    fn close(&mut self) {
        if self.session == Some(self.tcp.generation()) && self.tcp.is_connected() && self.awaiting.is_empty() {
            let txnr = next_txnr(self.txnr);
            self.frame.clear();
            write_command(&mut self.frame, txnr, "close", b"");
            if self.tcp.send(&self.frame).is_ok() {
                let deadline = Instant::now() + self.timeout;
                while Instant::now() < deadline {
                    let (bytes, down) = self.tcp.take_inbox();
                    let answered = self.replies.read(&bytes).map_or(true, |replies| {
                        replies.iter().any(|r| matches!(r, Reply::Response { txnr: t, .. } if *t == txnr))
                    });
                    if answered || down {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        self.end_session();
        self.tcp.close();
    }

    fn is_stream(&self) -> bool {
        true
    }

    fn coalesces(&self) -> bool {
        false
    }

    fn ready_in(&self) -> Duration {
        self.tcp.ready_in()
    }

    fn last_failure(&self) -> Option<String> {
        self.tcp.last_failure()
    }

    fn reconnects(&self) -> u64 {
        self.tcp.reconnects()
    }
}
