//! An SMTP server double for tests: a real SMTP server on 127.0.0.1 that receives mail the
//! way a mail relay does (EHLO, MAIL FROM, RCPT TO, DATA with dot-stuffing, RSET, QUIT)
//! and keeps each message, parsed with `mail-parser` (MIME, encoded words, quoted-printable
//! and base64), so a test reads the subject, the text and the language as a person would.
//!
//! It can refuse an address for good (`550 5.1.1` at `RCPT TO`, as a server does for a
//! mailbox that does not exist) and defer one a number of times (`451 4.3.0`).
//!
//! Written by hand (about a hundred lines of protocol) rather than with `mailin-embedded`:
//! that crate runs its own blocking thread pool whose `serve()` never returns, so a test
//! could neither stop it nor run it on the test's tokio runtime; and no tokio SMTP server
//! crate was a better fit. No TLS and no AUTH: the double is plain SMTP on loopback
//! (`mail.tls = "none"`), which is how the services' SMTP client is tested.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bureau_platform::settings::{MailSettings, SmtpTls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The largest message the double takes (it answers 552 above).
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// One message as received, with what a reader sees of it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// `MAIL FROM` and `RCPT TO` as the client said them.
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    /// The message as sent (headers and body), dot-stuffing removed.
    pub raw: Vec<u8>,
    pub from: String,
    pub subject: String,
    /// The first text part, decoded.
    pub text: String,
    /// The `Content-Language` header, if any.
    pub language: Option<String>,
}

impl ReceivedMail {
    fn parse(envelope_from: String, envelope_to: Vec<String>, raw: Vec<u8>) -> ReceivedMail {
        let parsed = mail_parser::MessageParser::default().parse(&raw[..]);
        let (from, subject, text, language) = match &parsed {
            Some(message) => (
                message
                    .from()
                    .and_then(|from| from.first())
                    .and_then(|address| address.address())
                    .unwrap_or_default()
                    .to_owned(),
                message.subject().unwrap_or_default().to_owned(),
                message
                    .body_text(0)
                    .map(|text| text.replace("\r\n", "\n"))
                    .unwrap_or_default(),
                message
                    .header_raw("Content-Language")
                    .map(|value| value.trim().to_owned()),
            ),
            None => Default::default(),
        };
        ReceivedMail {
            envelope_from,
            envelope_to,
            raw,
            from,
            subject,
            text,
            language,
        }
    }

    /// The first `http(s)://` link in the text that contains `fragment`.
    pub fn link_containing(&self, fragment: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
            .find(|word| word.contains(fragment))
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct Inbox {
    received: Vec<ReceivedMail>,
    /// Lowercased addresses refused at RCPT with 550.
    refused: Vec<String>,
    /// Lowercased addresses answered 451 at RCPT this many more times.
    deferred: HashMap<String, u32>,
    /// RCPT answers given, per lowercased address (`550`, `451`, `250`).
    answers: Vec<(String, u16)>,
}

/// The running double; it stops when dropped.
pub struct SmtpDouble {
    address: SocketAddr,
    inbox: Arc<Mutex<Inbox>>,
    task: JoinHandle<()>,
}

impl Drop for SmtpDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpDouble {
    pub async fn start() -> anyhow::Result<SmtpDouble> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let shared = inbox.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = shared.clone();
                tokio::spawn(async move {
                    if let Err(error) = session(stream, inbox).await {
                        tracing::debug!(%error, "SMTP double: a session ended with an error");
                    }
                });
            }
        });
        Ok(SmtpDouble {
            address,
            inbox,
            task,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Points `[mail]` at the double: plain SMTP on its port, no credentials.
    pub fn configure(&self, mail: &mut MailSettings) {
        mail.host = self.address.ip().to_string();
        mail.port = self.address.port();
        mail.tls = SmtpTls::None;
        mail.username = String::new();
        mail.timeout_secs = 10;
    }

    /// `RCPT TO:<address>` is answered `550 5.1.1` from now on: the mailbox does not exist.
    pub fn refuse(&self, address: &str) {
        self.inbox
            .lock()
            .unwrap()
            .refused
            .push(address.to_ascii_lowercase());
    }

    /// `RCPT TO:<address>` is answered `451 4.3.0` (try again later) the next `times` times.
    pub fn defer(&self, address: &str, times: u32) {
        self.inbox
            .lock()
            .unwrap()
            .deferred
            .insert(address.to_ascii_lowercase(), times);
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().unwrap().received.clone()
    }

    /// The messages whose envelope names `address`.
    pub fn to(&self, address: &str) -> Vec<ReceivedMail> {
        let address = address.to_ascii_lowercase();
        self.received()
            .into_iter()
            .filter(|mail| {
                mail.envelope_to
                    .iter()
                    .any(|to| to.eq_ignore_ascii_case(&address))
            })
            .collect()
    }

    /// The reply codes given to `RCPT TO:<address>` so far, in order.
    pub fn rcpt_answers(&self, address: &str) -> Vec<u16> {
        let address = address.to_ascii_lowercase();
        self.inbox
            .lock()
            .unwrap()
            .answers
            .iter()
            .filter(|(to, _)| *to == address)
            .map(|(_, code)| *code)
            .collect()
    }
}

/// The address inside `FROM:<a@b> SIZE=1` / `TO:<a@b>`.
fn path_of(argument: &str) -> String {
    let argument = argument.trim();
    match (argument.find('<'), argument.find('>')) {
        (Some(open), Some(close)) if open < close => argument[open + 1..close].to_owned(),
        _ => argument
            .split_once(':')
            .map_or(argument, |(_, rest)| rest)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

async fn session(stream: TcpStream, inbox: Arc<Mutex<Inbox>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 smtp-double ESMTP ready\r\n").await?;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        let (verb, argument) = text.split_once(' ').unwrap_or((&text, ""));
        let reply: String = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => "250-smtp-double\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760".into(),
            "HELO" => "250 smtp-double".into(),
            "MAIL" => {
                from = Some(path_of(argument));
                to.clear();
                "250 2.1.0 OK".into()
            }
            "RCPT" if from.is_none() => "503 5.5.1 MAIL first".into(),
            "RCPT" => {
                let address = path_of(argument);
                let key = address.to_ascii_lowercase();
                let mut inbox = inbox.lock().unwrap();
                let code = if inbox.refused.contains(&key) {
                    550
                } else if let Some(times) = inbox.deferred.get_mut(&key).filter(|t| **t > 0) {
                    *times -= 1;
                    451
                } else {
                    to.push(address.clone());
                    250
                };
                inbox.answers.push((key, code));
                match code {
                    550 => format!("550 5.1.1 <{address}>: no such mailbox here"),
                    451 => format!("451 4.3.0 <{address}>: try again later"),
                    _ => "250 2.1.5 OK".into(),
                }
            }
            "DATA" if to.is_empty() => "554 5.5.1 no valid recipients".into(),
            "DATA" => {
                write
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut raw = Vec::new();
                let mut too_large = false;
                loop {
                    line.clear();
                    if lines.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    // Dot-stuffing: a line starting with "." was sent with one more.
                    let content = line.strip_prefix(b".").unwrap_or(&line);
                    if raw.len() + content.len() > MAX_MESSAGE_BYTES {
                        too_large = true;
                    } else {
                        raw.extend_from_slice(content);
                    }
                }
                let envelope_from = from.take().unwrap_or_default();
                let envelope_to = std::mem::take(&mut to);
                if too_large {
                    "552 5.3.4 message too big".into()
                } else {
                    let mail = ReceivedMail::parse(envelope_from, envelope_to, raw);
                    inbox.lock().unwrap().received.push(mail);
                    "250 2.0.0 queued".into()
                }
            }
            "RSET" => {
                from = None;
                to.clear();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not implemented".into(),
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\r\n").await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_with_or_without_brackets_and_parameters() {
        assert_eq!(path_of("FROM:<a@b.c> SIZE=100"), "a@b.c");
        assert_eq!(path_of("TO:<Olena@Example.com>"), "Olena@Example.com");
        assert_eq!(path_of("FROM: a@b.c"), "a@b.c");
    }
}
