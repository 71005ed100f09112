//! Refusing to send a password in clear text over a connection that is not encrypted.
//!
//! The client libraries answer a server's request for the plain password by sending it:
//! tokio-postgres has no hook to refuse `AuthenticationCleartextPassword`, and tiberius sends
//! its LOGIN7 packet (password only XOR-obfuscated, as good as clear text) unencrypted when
//! the server says it supports no encryption. So the refusal sits in the byte stream under
//! them: a [`Watched`] stream shows a protocol [`Watch`] every byte the server sends, and
//! the read that would hand the library such a request fails instead, before the password
//! is ever written. [`Refusal`] tells the driver afterwards that this, and not the network,
//! ended the connection (the libraries keep only an I/O error's text, not its type).
//!
//! MySQL and MariaDB need no watch: mysql_async refuses `mysql_clear_password` unless told
//! otherwise (`enable_cleartext_plugin`), which the driver sets from the same field.

use std::{
    io,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A protocol's view of what the server sends: `Err` to refuse before the client sees it.
pub(crate) trait Watch: Unpin {
    fn read(&mut self, bytes: &[u8]) -> Result<(), Refused>;
}

/// No watch: nothing is refused (the connection allows clear-text passwords).
impl<W: Watch> Watch for Option<W> {
    fn read(&mut self, bytes: &[u8]) -> Result<(), Refused> {
        self.as_mut().map_or(Ok(()), |w| w.read(bytes))
    }
}

/// The server asked for the password where it would travel in clear text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused to send the password in clear text over an unencrypted connection")
    }
}

impl std::error::Error for Refused {}

/// Whether a watch refused on a connection, readable after the library gave up on it.
#[derive(Clone, Default)]
pub(crate) struct Refusal(Arc<AtomicBool>);

impl Refusal {
    pub(crate) fn happened(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A stream whose incoming bytes pass a [`Watch`] before the client library reads them.
pub(crate) struct Watched<S, W> {
    inner: S,
    watch: W,
    refusal: Refusal,
}

impl<S, W> Watched<S, W> {
    pub(crate) fn new(inner: S, watch: W) -> (Self, Refusal) {
        let refusal = Refusal::default();
        (
            Watched {
                inner,
                watch,
                refusal: refusal.clone(),
            },
            refusal,
        )
    }
}

impl<S: AsyncRead + Unpin, W: Watch> AsyncRead for Watched<S, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.happened() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                Refused,
            )));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Err(refused) = this.watch.read(&buf.filled()[before..]) {
            // The library never sees the request, so it never answers it.
            buf.set_filled(before);
            this.refusal.0.store(true, Ordering::Release);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                refused,
            )));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin, W: Unpin> AsyncWrite for Watched<S, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// PostgreSQL: refuses `AuthenticationCleartextPassword` (`R`, code 3) on a channel that is
/// not TLS: no SSLRequest sent, or the server answered it `N`. Reads the backend messages'
/// headers for the life of a plain connection (a request can come at any point of the
/// exchange); after an `S` answer everything is TLS and passes unread.
pub(crate) struct PgCleartext {
    state: PgState,
}

enum PgState {
    /// The one-byte answer to our SSLRequest.
    SslAnswer,
    Tls,
    /// Message type, length and (for `R`) the authentication code; then the rest skipped.
    Plain {
        head: [u8; 9],
        have: usize,
        skip: usize,
    },
}

const PG_CLEARTEXT_PASSWORD: u32 = 3;

impl PgCleartext {
    /// `ssl_request`: whether tokio-postgres starts by asking for TLS (any mode but
    /// `disable`).
    pub(crate) fn new(ssl_request: bool) -> Self {
        PgCleartext {
            state: if ssl_request {
                PgState::SslAnswer
            } else {
                PgState::plain()
            },
        }
    }
}

impl PgState {
    fn plain() -> Self {
        PgState::Plain {
            head: [0; 9],
            have: 0,
            skip: 0,
        }
    }
}

impl Watch for PgCleartext {
    fn read(&mut self, mut bytes: &[u8]) -> Result<(), Refused> {
        while let Some(&first) = bytes.first() {
            match &mut self.state {
                PgState::Tls => return Ok(()),
                PgState::SslAnswer => {
                    self.state = if first == b'S' {
                        PgState::Tls
                    } else {
                        PgState::plain()
                    };
                    bytes = &bytes[1..];
                }
                PgState::Plain { skip, .. } if *skip > 0 => {
                    let n = (*skip).min(bytes.len());
                    *skip -= n;
                    bytes = &bytes[n..];
                }
                PgState::Plain { head, have, skip } => {
                    head[*have] = first;
                    *have += 1;
                    bytes = &bytes[1..];
                    // The length counts itself (4 bytes) but not the type byte.
                    let len = || u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
                    if *have == 5 && (head[0] != b'R' || len() < 8) {
                        *skip = len().saturating_sub(4);
                        *have = 0;
                    } else if *have == 9 {
                        let code = u32::from_be_bytes([head[5], head[6], head[7], head[8]]);
                        if code == PG_CLEARTEXT_PASSWORD {
                            return Err(Refused);
                        }
                        *skip = len() - 8;
                        *have = 0;
                    }
                }
            }
        }
        Ok(())
    }
}

/// SQL Server: refuses a PRELOGIN answer that leaves the login unencrypted. Only watched
/// when we offer no encryption (`tls_mode=disable`): tiberius then encrypts anyway when
/// the server supports it (the login and all after), and sends LOGIN7 in clear text only
/// when the server answers NOT_SUP, or names no encryption at all (tiberius's default).
/// The other modes ask for encryption, and tiberius fails on a server without it.
pub(crate) struct TdsCleartext {
    /// The PRELOGIN answer's payload so far (it may span packets).
    payload: Vec<u8>,
    /// The TDS packet being read: its header, then how much of its body is left.
    header: Vec<u8>,
    left: usize,
    first: bool,
    last: bool,
    done: bool,
}

/// More than any PRELOGIN answer needs; past it the answer is refused unread.
const TDS_PRELOGIN_MAX: usize = 4096;
const TDS_HEADER: usize = 8;
/// The packet type a PRELOGIN answer comes in (tabular result).
const TDS_PRELOGIN_ANSWER: u8 = 0x04;
const TDS_ENCRYPTION: u8 = 0x01;
const TDS_ENCRYPT_NOT_SUP: u8 = 0x02;

impl TdsCleartext {
    pub(crate) fn new() -> Self {
        TdsCleartext {
            payload: Vec::new(),
            header: Vec::with_capacity(TDS_HEADER),
            left: 0,
            first: true,
            last: false,
            done: false,
        }
    }

    /// The encryption the server answered, as tiberius decodes it (the last ENCRYPTION
    /// option wins; none means NOT_SUP). `None` when the answer cannot be read.
    fn encryption(&self) -> Option<u8> {
        let p = &self.payload;
        let mut level = TDS_ENCRYPT_NOT_SUP;
        let mut at = 0;
        loop {
            let token = *p.get(at)?;
            if token == 0xff {
                return Some(level);
            }
            let offset = u16::from_be_bytes([*p.get(at + 1)?, *p.get(at + 2)?]) as usize;
            if token == TDS_ENCRYPTION {
                level = *p.get(offset)?;
            }
            at += 5;
        }
    }
}

impl Watch for TdsCleartext {
    fn read(&mut self, mut bytes: &[u8]) -> Result<(), Refused> {
        while !self.done && !bytes.is_empty() {
            if self.header.len() < TDS_HEADER {
                let n = (TDS_HEADER - self.header.len()).min(bytes.len());
                self.header.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                if self.header.len() == TDS_HEADER {
                    if self.first && self.header[0] != TDS_PRELOGIN_ANSWER {
                        // Not SQL Server answering PRELOGIN: tiberius fails on it itself,
                        // before any login.
                        self.done = true;
                        return Ok(());
                    }
                    let len = u16::from_be_bytes([self.header[2], self.header[3]]) as usize;
                    self.left = len.saturating_sub(TDS_HEADER);
                    self.last = self.header[1] & 0x01 != 0;
                    self.first = false;
                }
                continue;
            }
            let n = self.left.min(bytes.len());
            if self.payload.len() + n > TDS_PRELOGIN_MAX {
                return Err(Refused);
            }
            self.payload.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            self.left -= n;
            if self.left == 0 {
                if self.last {
                    match self.encryption() {
                        Some(level) if level != TDS_ENCRYPT_NOT_SUP => self.done = true,
                        _ => return Err(Refused),
                    }
                } else {
                    self.header.clear();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` whole and one at a time (the worst split a socket can deliver) to a
    /// new watch each; whether each way passed.
    fn verdicts<W: Watch>(new: impl Fn() -> W, bytes: &[u8]) -> (bool, bool) {
        let whole = new().read(bytes).is_ok();
        let mut w = new();
        let split = bytes
            .iter()
            .all(|b| w.read(std::slice::from_ref(b)).is_ok());
        (whole, split)
    }

    fn pg(ssl_request: bool) -> impl Fn() -> PgCleartext {
        move || PgCleartext::new(ssl_request)
    }

    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut m = vec![b'R'];
        m.extend_from_slice(&(8 + extra.len() as u32).to_be_bytes());
        m.extend_from_slice(&code.to_be_bytes());
        m.extend_from_slice(extra);
        m
    }

    #[test]
    fn postgres_cleartext_request_is_refused_on_a_plain_channel() {
        let mut declined = vec![b'N'];
        declined.extend(auth(3, &[]));
        assert_eq!(verdicts(pg(true), &declined), (false, false));
        assert_eq!(verdicts(pg(false), &auth(3, &[])), (false, false));
        // After a notice, too.
        let mut notice = vec![b'N', 0, 0, 0, 9];
        notice.extend_from_slice(b"hello");
        notice.extend(auth(3, &[]));
        assert_eq!(verdicts(pg(false), &notice), (false, false));
    }

    #[test]
    fn postgres_other_requests_and_tls_pass() {
        // MD5 (with its salt), SASL, OK, then an ErrorResponse: all pass.
        let mut plain = auth(5, &[1, 2, 3, 4]);
        plain.extend(auth(10, b"SCRAM-SHA-256\0\0"));
        plain.extend(auth(0, &[]));
        plain.extend([b'E', 0, 0, 0, 6, b'x', 0]);
        assert_eq!(verdicts(pg(false), &plain), (true, true));
        // Once TLS is up, nothing is read: a cleartext request inside TLS is the server's
        // business with an encrypted channel.
        let mut tls = vec![b'S'];
        tls.extend(auth(3, &[]));
        assert_eq!(verdicts(pg(true), &tls), (true, true));
    }

    fn tds() -> impl Fn() -> TdsCleartext {
        TdsCleartext::new
    }

    /// A PRELOGIN answer: VERSION, then ENCRYPTION when given, in `packets` packets.
    fn prelogin(encryption: Option<u8>, packets: usize) -> Vec<u8> {
        let options = if encryption.is_some() { 2 } else { 1 };
        let data_at = (options * 5 + 1) as u16;
        let mut p = vec![0x00];
        p.extend_from_slice(&data_at.to_be_bytes());
        p.extend_from_slice(&6u16.to_be_bytes());
        if encryption.is_some() {
            p.push(TDS_ENCRYPTION);
            p.extend_from_slice(&(data_at + 6).to_be_bytes());
            p.extend_from_slice(&1u16.to_be_bytes());
        }
        p.push(0xff);
        p.extend_from_slice(&[16, 0, 0, 0, 0, 0]);
        p.extend(encryption);
        let chunks: Vec<&[u8]> = p.chunks(p.len().div_ceil(packets)).collect();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            out.extend_from_slice(&[0x04, u8::from(last)]);
            out.extend_from_slice(&((c.len() + TDS_HEADER) as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0, 1, 0]);
            out.extend_from_slice(c);
        }
        out
    }

    #[test]
    fn sql_server_without_encryption_is_refused() {
        for packets in [1, 3] {
            assert_eq!(
                verdicts(tds(), &prelogin(Some(TDS_ENCRYPT_NOT_SUP), packets)),
                (false, false)
            );
            assert_eq!(
                verdicts(tds(), &prelogin(None, packets)),
                (false, false),
                "no ENCRYPTION option means none"
            );
        }
    }

    #[test]
    fn not_sql_server_is_left_to_tiberius() {
        // A PostgreSQL ErrorResponse where a PRELOGIN answer should be.
        let pg = [b'E', 0, 0, 0, 6, b'x', 0, 0, 0, 0];
        assert_eq!(verdicts(tds(), &pg), (true, true));
    }

    #[test]
    fn sql_server_with_encryption_passes_and_is_not_read_further() {
        for level in [0x00, 0x01, 0x03] {
            let mut bytes = prelogin(Some(level), 2);
            bytes.extend_from_slice(&[0x12; 64]); // the TLS handshake that follows
            assert_eq!(verdicts(tds(), &bytes), (true, true), "level {level}");
        }
    }
}
