//! Hostile database servers on loopback, for the tests that guard credentials: each speaks
//! just enough of its protocol to get a client to send its password in clear text, keeps
//! every byte a client sent (so a test can prove the password never left), and quotes any
//! password it gets back in its error (so a test can prove the driver scrubs it).
//!
//! Plain threads and std sockets, so synchronous tests (the CLI) and async ones can share
//! it. Shared by the end-to-end tests and `connectors/tests` (included by path).
#![allow(dead_code)]

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::Duration,
};

/// What every client sent, and the passwords among it.
#[derive(Default)]
struct Seen {
    bytes: Vec<u8>,
    passwords: Vec<String>,
}

pub struct Hostile {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

/// A client connection, recording what it reads.
struct Peer<'a> {
    s: TcpStream,
    seen: &'a Mutex<Seen>,
}

impl Peer<'_> {
    fn read(&mut self, n: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0; n];
        self.s.read_exact(&mut buf).ok()?;
        self.seen.lock().unwrap().bytes.extend_from_slice(&buf);
        Some(buf)
    }
    fn write(&mut self, b: &[u8]) -> Option<()> {
        self.s.write_all(b).ok()
    }
    fn password(&self, p: &[u8]) {
        let p = String::from_utf8_lossy(p)
            .trim_end_matches('\0')
            .to_string();
        self.seen.lock().unwrap().passwords.push(p);
    }
}

impl Hostile {
    fn start(handler: fn(&mut Peer<'_>) -> Option<()>) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for s in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    let Ok(s) = s else { continue };
                    let seen = seen.clone();
                    std::thread::spawn(move || {
                        // Bounded: a client that stalls cannot keep the thread forever.
                        let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                        let mut peer = Peer { s, seen: &seen };
                        let _ = handler(&mut peer);
                        let _ = peer.s.shutdown(Shutdown::Both);
                    });
                }
            })
        };
        Hostile {
            port,
            seen,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// PostgreSQL: answers `N` to SSLRequest, asks for the password in clear text
    /// (AuthenticationCleartextPassword), and fails any PasswordMessage with an
    /// ErrorResponse (SQLSTATE XX000, not an authentication code) quoting the password.
    pub fn postgres() -> Hostile {
        Hostile::start(|p| {
            loop {
                let len = u32::from_be_bytes(p.read(4)?.try_into().ok()?) as usize;
                let code = u32::from_be_bytes(p.read(4)?.try_into().ok()?);
                if code == 80_877_103 {
                    p.write(b"N")?; // SSLRequest: no TLS here
                    continue;
                }
                p.read(len.checked_sub(8)?)?; // the rest of the StartupMessage
                break;
            }
            p.write(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3])?;
            let kind = p.read(1)?[0];
            let len = u32::from_be_bytes(p.read(4)?.try_into().ok()?) as usize;
            let body = p.read(len.checked_sub(4)?)?;
            if kind != b'p' {
                return None;
            }
            p.password(&body);
            let quoted = String::from_utf8_lossy(&body)
                .trim_end_matches('\0')
                .to_string();
            let mut fields = Vec::new();
            for (tag, value) in [
                (b'S', "FATAL".to_string()),
                (b'V', "FATAL".to_string()),
                (b'C', "XX000".to_string()),
                (
                    b'M',
                    format!("password \"{quoted}\" does not meet the policy"),
                ),
            ] {
                fields.push(tag);
                fields.extend_from_slice(value.as_bytes());
                fields.push(0);
            }
            fields.push(0);
            let mut msg = vec![b'E'];
            msg.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
            msg.extend_from_slice(&fields);
            p.write(&msg)
        })
    }

    /// MySQL: a handshake without TLS (CLIENT_SSL unset), then an AuthSwitchRequest to
    /// `mysql_clear_password`; fails any password it gets with an ERR packet (1105, not an
    /// authentication code) quoting it.
    pub fn mysql() -> Hostile {
        fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
            let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
            p.push(seq);
            p.extend_from_slice(payload);
            p
        }
        fn read_packet(p: &mut Peer<'_>) -> Option<Vec<u8>> {
            let h = p.read(4)?;
            p.read(u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize)
        }
        Hostile::start(|p| {
            let mut hello = vec![0x0a];
            hello.extend_from_slice(b"5.7.99-hostile\0");
            hello.extend_from_slice(&7u32.to_le_bytes());
            hello.extend_from_slice(b"abcdefgh\0");
            // PROTOCOL_41, SECURE_CONNECTION, LONG_PASSWORD, CONNECT_WITH_DB, TRANSACTIONS;
            // PLUGIN_AUTH, MULTI_RESULTS. No SSL.
            hello.extend_from_slice(&0xa20fu16.to_le_bytes());
            hello.push(33);
            hello.extend_from_slice(&2u16.to_le_bytes());
            hello.extend_from_slice(&0x000au16.to_le_bytes());
            hello.push(21);
            hello.extend_from_slice(&[0; 10]);
            hello.extend_from_slice(b"ijklmnopqrst\0");
            hello.extend_from_slice(b"mysql_native_password\0");
            p.write(&packet(0, &hello))?;
            read_packet(p)?; // HandshakeResponse41
            let mut switch = vec![0xfe];
            switch.extend_from_slice(b"mysql_clear_password\0");
            p.write(&packet(2, &switch))?;
            let pw = read_packet(p)?;
            p.password(&pw);
            let quoted = String::from_utf8_lossy(&pw)
                .trim_end_matches('\0')
                .to_string();
            let mut err = vec![0xff];
            err.extend_from_slice(&1105u16.to_le_bytes());
            err.extend_from_slice(b"#HY000");
            err.extend_from_slice(
                format!("password '{quoted}' does not meet the policy").as_bytes(),
            );
            p.write(&packet(4, &err))
        })
    }

    /// SQL Server: answers PRELOGIN with encryption NOT_SUP, so a client that goes on
    /// sends LOGIN7 (its password only obfuscated) in clear; records that packet as the
    /// password and closes.
    pub fn sql_server() -> Hostile {
        Hostile::start(|p| {
            let header = p.read(8)?;
            let len = u16::from_be_bytes([header[2], header[3]]) as usize;
            p.read(len.checked_sub(8)?)?;
            // VERSION (6 bytes) and ENCRYPTION (1 byte: NOT_SUP), then the terminator.
            let payload = [
                0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xff, 16, 0, 0, 0, 0, 0, 0x02,
            ];
            let mut msg = vec![0x04, 0x01];
            msg.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
            msg.extend_from_slice(&[0, 0, 1, 0]);
            msg.extend_from_slice(&payload);
            p.write(&msg)?;
            let header = p.read(8)?;
            let len = u16::from_be_bytes([header[2], header[3]]) as usize;
            let body = p.read(len.checked_sub(8)?)?;
            if header[0] == 0x10 {
                p.password(&body);
            }
            None
        })
    }

    /// Every byte any client sent so far.
    pub fn received(&self) -> Vec<u8> {
        self.seen.lock().unwrap().bytes.clone()
    }

    /// Whether any client sent `needle`.
    pub fn received_text(&self, needle: &str) -> bool {
        self.received()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    /// The passwords (PostgreSQL, MySQL) or LOGIN7 packets (SQL Server) clients sent.
    pub fn passwords(&self) -> Vec<String> {
        self.seen.lock().unwrap().passwords.clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}
