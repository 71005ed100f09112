//! Server-sent events, parsed as they arrive: each event's `data` lines joined, its `id`
//! (the stream's last event id, for resuming with `Last-Event-ID`) and any `retry` the
//! server asked for. Bytes are split into lines before text is decoded, so a character
//! cut between two chunks survives; a line longer than the bound is an error, so a server
//! that streams without line breaks cannot fill memory.

/// One event's payload (one JSON-RPC message, when the stream is MCP's).
pub struct Event {
    pub data: String,
}

/// A line or an event larger than this ends the stream with an error.
const MAX_EVENT: usize = 16 * 1024 * 1024;

#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    /// How far `buf` is known to hold no line break (so each byte is scanned once).
    scanned: usize,
    data: String,
    has_data: bool,
    /// The `id` of the last event, kept across events as the SSE standard says.
    pub last_id: Option<String>,
    /// The reconnection delay the server asked for, in milliseconds.
    pub retry_ms: Option<u64>,
}

#[derive(Debug)]
pub struct TooLarge;

impl Parser {
    /// Feeds bytes; returns the events they complete.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Event>, TooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        let mut from = self.scanned;
        while let Some(nl) = self.buf[from..].iter().position(|&b| b == b'\n') {
            let nl = from + nl - start;
            let end = start + nl;
            let line = String::from_utf8_lossy(&self.buf[start..end]);
            let line = line.strip_suffix('\r').unwrap_or(&line).to_string();
            start = end + 1;
            from = start;
            if let Some(e) = self.line(&line) {
                events.push(e);
            }
            if self.data.len() > MAX_EVENT {
                return Err(TooLarge);
            }
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_EVENT {
            return Err(TooLarge);
        }
        Ok(events)
    }

    /// The event left at the end of a stream with no blank line after it.
    pub fn finish(&mut self) -> Option<Event> {
        let rest = std::mem::take(&mut self.buf);
        self.scanned = 0;
        if !rest.is_empty() {
            let line = String::from_utf8_lossy(&rest)
                .trim_end_matches('\r')
                .to_string();
            if let Some(e) = self.line(&line) {
                return Some(e);
            }
        }
        self.line("")
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let had = std::mem::replace(&mut self.has_data, false);
            let data = std::mem::take(&mut self.data);
            return had.then_some(Event { data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // An id holding NUL is ignored, as the standard says.
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            "retry" => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_keep_their_text_id_and_retry() {
        let stream = "id: e-1\nretry: 500\ndata: \n\n: comment\nevent: message\nid: e-2\ndata: {\"a\":\ndata: \"é\"}\n\n".as_bytes();
        // Every split point, including inside the two bytes of "é".
        for cut in 0..stream.len() {
            let mut p = Parser::default();
            let mut got: Vec<String> = p
                .push(&stream[..cut])
                .unwrap()
                .into_iter()
                .map(|e| e.data)
                .collect();
            got.extend(p.push(&stream[cut..]).unwrap().into_iter().map(|e| e.data));
            assert_eq!(
                got,
                vec!["".to_string(), "{\"a\":\n\"é\"}".to_string()],
                "cut at {cut}"
            );
            assert_eq!(p.last_id.as_deref(), Some("e-2"));
            assert_eq!(p.retry_ms, Some(500));
        }
    }

    #[test]
    fn an_unterminated_last_event_is_kept_and_an_endless_line_is_refused() {
        let mut p = Parser::default();
        assert!(p.push(b"data: {\"x\":1}").unwrap().is_empty());
        assert_eq!(p.finish().unwrap().data, "{\"x\":1}");
        let mut p = Parser::default();
        let chunk = vec![b'a'; 1024 * 1024];
        let mut refused = false;
        for _ in 0..17 {
            if p.push(&chunk).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused);
    }
}
