//! A guard between a newline-delimited JSON-RPC stream (stdin/stdout) and rmcp.
//!
//! rmcp's own line transport drops a line that is not JSON or is too long without a reply,
//! so a client waits forever. The guard reads each line itself, bounded in memory
//! ([`MAX_MESSAGE_BYTES`]; a longer line is skipped up to its newline, never buffered whole),
//! answers what [`precheck`] rejects, and hands only the rest to rmcp through an in-memory
//! pipe. rmcp's replies and the guard's come out on one writer, a whole line at a time, so
//! they never interleave mid-line.
//!
//! The end of input ends rmcp's input, so a session ends as it did without the guard.

use std::io;

use tokio::{
    io::{
        AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader,
        DuplexStream,
    },
    sync::mpsc,
    task::JoinHandle,
};

use crate::jsonrpc::{precheck, Rejection, MAX_MESSAGE_BYTES};

/// Room in each in-memory pipe; a longer message waits for rmcp to read, it is not refused.
const PIPE_BYTES: usize = 64 * 1024;
/// Whole lines waiting for the writer.
const QUEUED_LINES: usize = 32;

/// The running guard. [`StdioGuard::finish`] once rmcp is done, so every reply is written.
pub struct StdioGuard {
    reader: JoinHandle<()>,
    writer: JoinHandle<io::Result<()>>,
}

/// rmcp's side of the guard: it reads requests from `.0` and writes replies to `.1`.
pub type RmcpEnds = (DuplexStream, DuplexStream);

impl StdioGuard {
    /// Starts guarding `input` and `output`; serve rmcp on the returned ends.
    pub fn spawn<R, W>(input: R, output: W) -> (StdioGuard, RmcpEnds)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (to_rmcp, rmcp_in) = tokio::io::duplex(PIPE_BYTES);
        let (rmcp_out, from_rmcp) = tokio::io::duplex(PIPE_BYTES);
        let (lines, queued) = mpsc::channel(QUEUED_LINES);
        let reader = tokio::spawn(read_input(BufReader::new(input), to_rmcp, lines.clone()));
        tokio::spawn(relay_replies(BufReader::new(from_rmcp), lines));
        let writer = tokio::spawn(write_output(queued, output));
        (StdioGuard { reader, writer }, (rmcp_in, rmcp_out))
    }

    /// Stops reading input (rmcp is gone) and waits until every queued line is written.
    pub async fn finish(self) -> io::Result<()> {
        // Normally input already ended, which is why rmcp stopped; if rmcp stopped for another
        // reason, a read of stdin may never return, so do not wait for it.
        self.reader.abort();
        self.writer.await.map_err(io::Error::other)?
    }
}

/// One read from the input.
#[derive(Debug, PartialEq)]
enum Frame {
    /// A whole line (without its newline) is in the buffer; also a last line with none.
    Line,
    /// A line longer than the limit was skipped up to its newline.
    TooLong,
    Eof,
}

/// Reads one line into `line`, holding at most `max` bytes of it.
async fn next_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<Frame> {
    line.clear();
    let mut too_long = false;
    loop {
        let chunk = input.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Frame::TooLong,
                (false, true) => Frame::Eof,
                (false, false) => Frame::Line,
            });
        }
        let newline = chunk.iter().position(|b| *b == b'\n');
        let content = &chunk[..newline.unwrap_or(chunk.len())];
        if !too_long && line.len() + content.len() > max {
            too_long = true;
            line.clear();
        }
        if !too_long {
            line.extend_from_slice(content);
        }
        let used = newline.map_or(chunk.len(), |at| at + 1);
        input.consume(used);
        if newline.is_some() {
            return Ok(if too_long {
                Frame::TooLong
            } else {
                Frame::Line
            });
        }
    }
}

/// Reads the input line by line: answers rejected lines, forwards good ones to rmcp.
async fn read_input<R: AsyncBufRead + Unpin>(
    mut input: R,
    mut to_rmcp: DuplexStream,
    replies: mpsc::Sender<Vec<u8>>,
) {
    let mut line = Vec::new();
    loop {
        let rejection = match next_line(&mut input, &mut line, MAX_MESSAGE_BYTES).await {
            Ok(Frame::Eof) => break,
            Err(e) => {
                tracing::warn!(error = %e, "reading MCP input failed; ending the session");
                break;
            }
            Ok(Frame::TooLong) => Rejection::too_long(),
            Ok(Frame::Line) => {
                let message = line.strip_suffix(b"\r").unwrap_or(&line);
                if message.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match precheck(message) {
                    Ok(()) => {
                        let sent = async {
                            to_rmcp.write_all(message).await?;
                            to_rmcp.write_all(b"\n").await
                        };
                        if sent.await.is_err() {
                            break; // rmcp is gone
                        }
                        continue;
                    }
                    Err(r) => r,
                }
            }
        };
        if replies.send(reply_line(&rejection)).await.is_err() {
            break; // the output is gone
        }
    }
    // Dropping `to_rmcp` ends rmcp's input, and with it the session.
}

fn reply_line(r: &Rejection) -> Vec<u8> {
    let mut line = r.to_json().to_string().into_bytes();
    line.push(b'\n');
    line
}

/// Queues rmcp's output for the writer, one whole line at a time.
async fn relay_replies<R: AsyncBufRead + Unpin>(mut from_rmcp: R, lines: mpsc::Sender<Vec<u8>>) {
    loop {
        let mut line = Vec::new();
        match from_rmcp.read_until(b'\n', &mut line).await {
            Ok(0) => break,
            Ok(_) => {
                if !line.ends_with(b"\n") {
                    line.push(b'\n');
                }
                if lines.send(line).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading MCP replies failed");
                break;
            }
        }
    }
}

/// Writes whole lines to the real output until every source is done.
async fn write_output<W: AsyncWrite + Unpin>(
    mut queued: mpsc::Receiver<Vec<u8>>,
    mut output: W,
) -> io::Result<()> {
    while let Some(line) = queued.recv().await {
        output.write_all(&line).await?;
        output.flush().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn lines_are_bounded_and_an_over_long_one_is_skipped_to_its_newline() {
        let input = b"abc\r\n\n0123456789toolong\nxyz\nlast".to_vec();
        let mut r = BufReader::with_capacity(4, &input[..]);
        let mut line = Vec::new();
        let mut seen = Vec::new();
        loop {
            let f = next_line(&mut r, &mut line, 8).await.unwrap();
            assert!(line.len() <= 8);
            if f == Frame::Eof {
                break;
            }
            seen.push((f, String::from_utf8(line.clone()).unwrap()));
        }
        let want = [
            (Frame::Line, "abc\r"),
            (Frame::Line, ""),
            (Frame::TooLong, ""),
            (Frame::Line, "xyz"),
            (Frame::Line, "last"),
        ];
        let want: Vec<_> = want.into_iter().map(|(f, s)| (f, s.to_string())).collect();
        assert_eq!(seen, want);
    }

    #[tokio::test]
    async fn an_over_long_last_line_without_a_newline_is_still_too_long() {
        let input = [b'x'; 20];
        let mut r = BufReader::with_capacity(4, &input[..]);
        let mut line = Vec::new();
        assert_eq!(
            next_line(&mut r, &mut line, 8).await.unwrap(),
            Frame::TooLong
        );
        assert_eq!(next_line(&mut r, &mut line, 8).await.unwrap(), Frame::Eof);
    }

    /// The guard between a client and a fake rmcp that echoes each line it gets as
    /// `{"echo": line}`; returns what the client read and what rmcp got.
    async fn run(input: Vec<u8>) -> (Vec<Value>, Vec<String>) {
        let (client, guard_io) = tokio::io::duplex(1024);
        let (guard_in, guard_out) = tokio::io::split(guard_io);
        let (guard, (rmcp_in, mut rmcp_out)) = StdioGuard::spawn(guard_in, guard_out);
        let rmcp = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut lines = BufReader::new(rmcp_in).lines();
            while let Some(l) = lines.next_line().await.unwrap() {
                let echo = json!({ "echo": l }).to_string() + "\n";
                rmcp_out.write_all(echo.as_bytes()).await.unwrap();
                got.push(l);
            }
            got
        });
        let (mut client_in, mut client_out) = tokio::io::split(client);
        let write = async move {
            client_out.write_all(&input).await.unwrap();
            client_out.shutdown().await.unwrap();
        };
        let mut out = String::new();
        let (_, read) = tokio::join!(write, client_in.read_to_string(&mut out));
        read.unwrap();
        let forwarded = rmcp.await.unwrap();
        guard.finish().await.unwrap();
        let replies = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("whole JSON lines"))
            .collect();
        (replies, forwarded)
    }

    #[tokio::test]
    async fn rejected_lines_are_answered_and_good_ones_reach_rmcp_whole() {
        let mut input = Vec::new();
        input.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":1,\n");
        input.extend_from_slice(b"   \r\n\n");
        input.extend(std::iter::repeat_n(b' ', MAX_MESSAGE_BYTES + 1));
        input.extend_from_slice(b"\n[]\n");
        input.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}\r\n");
        let (replies, forwarded) = run(input).await;
        assert_eq!(
            forwarded,
            vec![r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#]
        );
        let errors: Vec<_> = replies
            .iter()
            .filter(|r| r.get("error").is_some())
            .map(|r| (r["error"]["code"].clone(), r["id"].clone()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (json!(-32700), Value::Null),
                (json!(-32600), Value::Null),
                (json!(-32600), Value::Null),
            ]
        );
        assert_eq!(replies.len(), 4, "{replies:?}");
    }
}
