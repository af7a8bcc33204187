//! An incremental Server-Sent-Events frame splitter.
//!
//! It sees the bytes the proxy forwards, on the side, and reports each
//! complete event (`event:` name and joined `data:` lines). It never changes
//! or holds back the bytes: the caller forwards them untouched.

/// One complete SSE event, borrowed from the splitter's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, if any.
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n`.
    pub data: &'a str,
}

/// Splits a byte stream into SSE events across arbitrary chunk boundaries.
#[derive(Debug, Default)]
pub struct SseSplitter {
    /// Bytes of an unfinished line carried over from the previous chunk.
    partial: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
}

impl SseSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk; calls `on_event` for every event it completes.
    pub fn push(&mut self, chunk: &[u8], mut on_event: impl FnMut(SseEvent<'_>)) {
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(nl);
            rest = &tail[1..];
            if self.partial.is_empty() {
                self.line(line, &mut on_event);
            } else {
                let mut joined = std::mem::take(&mut self.partial);
                joined.extend_from_slice(line);
                self.line(&joined, &mut on_event);
                joined.clear();
                self.partial = joined;
            }
        }
        self.partial.extend_from_slice(rest);
    }

    fn line(&mut self, line: &[u8], on_event: &mut impl FnMut(SseEvent<'_>)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if self.has_data || !self.event.is_empty() {
                on_event(SseEvent {
                    event: (!self.event.is_empty()).then_some(self.event.as_str()),
                    data: &self.data,
                });
            }
            self.event.clear();
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return; // comment / keep-alive
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"event" => {
                self.event.clear();
                self.event.push_str(&value);
            }
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<(Option<String>, String)> {
        let mut s = SseSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |e| {
                out.push((e.event.map(str::to_string), e.data.to_string()))
            });
        }
        out
    }

    #[test]
    fn splits_events_across_any_boundary() {
        let text =
            b"event: a\ndata: {\"x\":1}\n\n: ping\n\ndata: one\ndata: two\n\ndata: [DONE]\n\n";
        let whole = split_all(&[text]);
        assert_eq!(
            whole,
            vec![
                (Some("a".into()), "{\"x\":1}".into()),
                (None, "one\ntwo".into()),
                (None, "[DONE]".into()),
            ]
        );
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(split_all(&[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(split_all(&bytes), whole);
    }

    #[test]
    fn handles_crlf() {
        let got = split_all(&[b"event: message_stop\r\ndata: {}\r\n\r\n"]);
        assert_eq!(got, vec![(Some("message_stop".into()), "{}".into())]);
    }
}
