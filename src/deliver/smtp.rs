//! The SMTP client side of `SMTPHandler`: `smtplib.SMTP(...)`, `login`,
//! `send_message` and `quit`, one connection per record as CPython does.
//!
//! Generic over the stream so that the dialogue is unit-tested natively;
//! the handler passes a WASI TCP stream to the configured mailhost, or,
//! with `secure` (STARTTLS), a connection from the host's TLS capability
//! that the host upgrades after `STARTTLS`.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use base64::Engine as _;

use crate::deliver::tls::{TlsConnection, TlsStreams};
use crate::deliver::transport::Transport;
use crate::error::{Error, Result};

/// `SMTPHandler`'s constructor arguments; the mailhost is the handler's
/// TCP destination.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpOptions {
    pub fromaddr: String,
    pub toaddrs: Vec<String>,
    pub subject: String,
    pub credentials: Option<(String, String)>,
    pub secure: bool,
    pub timeout: f64,
    pub local_hostname: String,
}

/// One SMTP session per record to the mailhost, as CPython's `emit`.
pub struct SmtpTarget {
    pub options: SmtpOptions,
    pub host: String,
    pub port: u16,
    /// STARTTLS through the host: CPython's `emit` upgrades only when it
    /// logs in (`secure` with `credentials`), and so does this.
    tls: Option<Box<dyn TlsStreams>>,
}

impl SmtpTarget {
    pub fn new(options: SmtpOptions, host: String, port: u16, tls: Box<dyn TlsStreams>) -> Result<SmtpTarget> {
        let tls = (options.secure && options.credentials.is_some()).then_some(tls);
        if options.toaddrs.is_empty() || options.fromaddr.is_empty() {
            return Err(Error::BadConfig("SMTPHandler needs fromaddr and at least one of toaddrs".into()));
        }
        if !(options.timeout > 0.0 && options.timeout <= 3600.0) {
            return Err(Error::BadConfig("SMTPHandler timeout must be between 0 and 3600 seconds".into()));
        }
        Ok(SmtpTarget { options, host, port, tls })
    }

    /// Delivers one flattened message.
    pub fn mail(&mut self, message: &[u8]) -> Result<()> {
        let o = &self.options;
        let timeout = std::time::Duration::from_secs_f64(o.timeout);
        let mail = Mail {
            local_hostname: &o.local_hostname,
            fromaddr: &o.fromaddr,
            toaddrs: &o.toaddrs,
            login: o.credentials.as_ref().map(|(u, p)| Login { username: u, password: p }),
            starttls: self.tls.is_some(),
            message,
        };
        if let Some(tls) = self.tls.as_mut() {
            let connection = tls.connect_plain(&self.host, self.port, timeout)?;
            return send(Upgradable { connection, timeout }, &mail);
        }
        let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(self.host.as_str(), self.port))
            .map_err(|e| Error::from_io(&format!("resolve {}:{}", self.host, self.port), &e))?;
        let mut last = Error::Io(format!("{} has no address", self.host));
        for addr in addrs {
            match std::net::TcpStream::connect(addr) {
                Ok(stream) => {
                    // Best effort: where the platform cannot time out a
                    // read, the host's call deadline still ends the wait.
                    let _ = stream.set_read_timeout(Some(timeout));
                    return send(stream, &mail);
                }
                Err(e) => last = Error::from_io(&format!("connect {addr}"), &e),
            }
        }
        Err(last)
    }
}

pub struct Login<'a> {
    pub username: &'a str,
    pub password: &'a str,
}

pub struct Mail<'a> {
    pub local_hostname: &'a str,
    pub fromaddr: &'a str,
    pub toaddrs: &'a [String],
    pub login: Option<Login<'a>>,
    /// `STARTTLS` after EHLO (and EHLO again), before AUTH.
    pub starttls: bool,
    /// The flattened message (CRLF line ends).
    pub message: &'a [u8],
}

struct Reply {
    code: u16,
    lines: Vec<String>,
}

/// A stream that can turn into TLS mid-conversation (SMTP's STARTTLS).
pub trait StartTls {
    fn start_tls(&mut self) -> Result<()>;
}

impl StartTls for std::net::TcpStream {
    fn start_tls(&mut self) -> Result<()> {
        Err(Error::Unsupported("STARTTLS needs the host's TLS capability".into()))
    }
}

/// A connection from the host's TLS capability, plaintext until
/// `start_tls`, as a `Read + Write` for the dialogue.
struct Upgradable {
    connection: Box<dyn TlsConnection>,
    timeout: Duration,
}

fn io_error(e: Error) -> std::io::Error {
    let kind = match &e {
        Error::Io(m) if m.contains("timed out") => std::io::ErrorKind::TimedOut,
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, e.to_string())
}

impl Read for Upgradable {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.connection.read(buf, self.timeout).map_err(io_error)
    }
}

impl Write for Upgradable {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.connection.write(buf, self.timeout).map_err(io_error)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl StartTls for Upgradable {
    fn start_tls(&mut self) -> Result<()> {
        self.connection.start_tls(self.timeout)
    }
}

struct Session<S: Read + Write> {
    stream: BufReader<S>,
}

impl<S: Read + Write> Session<S> {
    fn read_reply(&mut self) -> Result<Reply> {
        let mut lines = Vec::new();
        // A reply of more than 100 lines is not a mail server.
        for _ in 0..100 {
            let mut line = String::new();
            let n = self.stream.read_line(&mut line).map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    Error::Io("SMTP server did not reply within the handler's timeout".into())
                }
                _ => Error::from_io("SMTP read", &e),
            })?;
            if n == 0 {
                return Err(Error::Io("SMTP server closed the connection".into()));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line.get(..3).and_then(|c| c.parse::<u16>().ok()).ok_or_else(|| {
                Error::Io(format!("SMTP server sent {line:?}, which is not a reply (three digits, then text)"))
            })?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_string());
            if !more {
                return Ok(Reply { code, lines });
            }
        }
        Err(Error::Io("SMTP reply longer than 100 lines".into()))
    }

    fn command(&mut self, line: &str) -> Result<Reply> {
        let s = self.stream.get_mut();
        s.write_all(line.as_bytes())
            .and_then(|()| s.write_all(b"\r\n"))
            .map_err(|e| Error::from_io("SMTP write", &e))?;
        self.read_reply()
    }

    /// Sends `line`; an answer other than `expected` is an error naming the
    /// command (without its arguments, which may hold credentials).
    fn expect(&mut self, line: &str, verb: &str, expected: &[u16]) -> Result<Reply> {
        let reply = self.command(line)?;
        if expected.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(Error::Io(format!("SMTP {verb} refused: {} {}", reply.code, reply.lines.join(" "))))
        }
    }
}

/// The address in "Name <addr>" or a bare address, as
/// `email.utils.getaddresses` gives `send_message`.
fn address(field: &str) -> &str {
    match (field.find('<'), field.rfind('>')) {
        (Some(start), Some(end)) if start < end => &field[start + 1..end],
        _ => field.trim(),
    }
}

/// `smtplib.quotedata`: CRLF line ends and a dot doubled at a line start,
/// then the terminating ".".
fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 8);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// EHLO (HELO if refused); the extensions the server offers.
fn hello<S: Read + Write>(s: &mut Session<S>, local_hostname: &str) -> Result<Vec<String>> {
    let ehlo = s.command(&format!("EHLO {local_hostname}"))?;
    if ehlo.code == 250 {
        return Ok(ehlo.lines.iter().skip(1).map(|l| l.to_ascii_uppercase()).collect());
    }
    s.expect(&format!("HELO {local_hostname}"), "HELO", &[250])?;
    Ok(Vec::new())
}

pub fn send<S: Read + Write + StartTls>(stream: S, mail: &Mail) -> Result<()> {
    let mut s = Session { stream: BufReader::new(stream) };
    let greeting = s.read_reply()?;
    if greeting.code != 220 {
        return Err(Error::Io(format!("SMTP server greeted with {} {}", greeting.code, greeting.lines.join(" "))));
    }
    let mut extensions = hello(&mut s, mail.local_hostname)?;
    if mail.starttls {
        // As `smtplib.starttls`: refused outright if not offered, so that
        // the credentials never go in plaintext.
        if !extensions.iter().any(|e| e == "STARTTLS") {
            return Err(Error::Io(
                "the SMTP server does not offer STARTTLS and secure is set: nothing was sent in plaintext".into(),
            ));
        }
        s.expect("STARTTLS", "STARTTLS", &[220])?;
        if !s.stream.buffer().is_empty() {
            return Err(Error::Io("the SMTP server sent more after its STARTTLS answer; refusing to go on".into()));
        }
        s.stream.get_mut().start_tls()?;
        extensions = hello(&mut s, mail.local_hostname)?;
    }
    if let Some(login) = &mail.login {
        let methods =
            extensions.iter().find_map(|e| e.strip_prefix("AUTH").filter(|m| m.starts_with([' ', '=']))).ok_or_else(
                || Error::Io("SMTP AUTH extension not supported by server (credentials were configured)".into()),
            )?;
        let offers = |m: &str| methods.split([' ', '=']).any(|x| x == m);
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        // smtplib prefers CRAM-MD5, then PLAIN, then LOGIN.
        if offers("PLAIN") {
            let token = b64(format!("\0{}\0{}", login.username, login.password).as_bytes());
            s.expect(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", &[235])?;
        } else if offers("LOGIN") {
            s.expect(&format!("AUTH LOGIN {}", b64(login.username.as_bytes())), "AUTH LOGIN", &[334])?;
            s.expect(&b64(login.password.as_bytes()), "AUTH LOGIN password", &[235])?;
        } else {
            return Err(Error::Unsupported(format!(
                "the SMTP server offers AUTH{methods}; the plugin speaks PLAIN and LOGIN (CRAM-MD5 is not implemented)"
            )));
        }
    }
    let size = if extensions.iter().any(|e| e == "SIZE" || e.starts_with("SIZE ")) {
        format!(" size={}", mail.message.len())
    } else {
        String::new()
    };
    s.expect(&format!("MAIL FROM:<{}>{size}", address(mail.fromaddr)), "MAIL FROM", &[250])?;
    let mut refused = Vec::new();
    let recipients: Vec<&str> = mail.toaddrs.iter().flat_map(|t| t.split(',')).map(address).collect();
    for to in &recipients {
        let reply = s.command(&format!("RCPT TO:<{to}>"))?;
        if reply.code != 250 && reply.code != 251 {
            refused.push(format!("{to}: {} {}", reply.code, reply.lines.join(" ")));
        }
    }
    if refused.len() == recipients.len() {
        let _ = s.command("RSET");
        return Err(Error::Io(format!("SMTP server refused every recipient: {}", refused.join("; "))));
    }
    s.expect("DATA", "DATA", &[354])?;
    let data = dot_stuffed(mail.message);
    s.stream.get_mut().write_all(&data).map_err(|e| Error::from_io("SMTP write", &e))?;
    let accepted = s.read_reply()?;
    if accepted.code != 250 {
        return Err(Error::Io(format!(
            "SMTP server refused the message: {} {}",
            accepted.code,
            accepted.lines.join(" ")
        )));
    }
    let _ = s.command("QUIT");
    if !refused.is_empty() {
        // CPython's sendmail returns the refused ones and SMTPHandler
        // ignores them; we say so.
        return Err(Error::Io(format!("SMTP server refused some recipients: {}", refused.join("; "))));
    }
    Ok(())
}

impl Transport for SmtpTarget {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.mail(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A scripted server: its replies in, our commands out.
    struct Script {
        replies: Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.replies.read(buf)
        }
    }

    impl StartTls for &mut Script {
        fn start_tls(&mut self) -> Result<()> {
            Err(Error::Unsupported("a script has no TLS".into()))
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.sent.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn dialogue_with_auth_plain_and_dot_stuffing() {
        let replies = "220 hi\r\n250-mx\r\n250-SIZE 100\r\n250 AUTH LOGIN PLAIN\r\n235 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n221 bye\r\n";
        let mut script = Script { replies: Cursor::new(replies.as_bytes().to_vec()), sent: Vec::new() };
        let to = vec!["B <b@y>".to_string()];
        let mail = Mail {
            local_hostname: "h",
            fromaddr: "a@x",
            toaddrs: &to,
            login: Some(Login { username: "u", password: "p" }),
            starttls: false,
            message: b"Subject: s\r\n\r\n.dot\r\n",
        };
        send(&mut script, &mail).unwrap();
        let sent = String::from_utf8(script.sent).unwrap();
        assert_eq!(
            sent,
            "EHLO h\r\nAUTH PLAIN AHUAcA==\r\nMAIL FROM:<a@x> size=20\r\nRCPT TO:<b@y>\r\nDATA\r\nSubject: s\r\n\r\n..dot\r\n.\r\nQUIT\r\n"
        );
    }
}
