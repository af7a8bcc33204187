//! An incremental Server-Sent-Events frame splitter.
//!
//! It sees the bytes the proxy forwards, on the side, and reports each
//! complete event (`event:` name and joined `data:` lines). It never changes
//! or holds back the bytes: the caller forwards them untouched.
//!
//! Lines end with CRLF, LF or a lone CR (the SSE spec), across any chunk
//! boundary: a CR that ends one chunk and an LF that starts the next are one
//! line end. Memory is bounded whatever a seller sends: an event holds at
//! most `cap` bytes of line and `cap` of data; past that the meter stops
//! reading the line (the bytes still flow to the client) and the event is
//! reported by name with empty data, so its meaning (an end of stream) is
//! not lost.

/// Most bytes one event may hold by default — above any real event (a
/// Responses `response.completed` echoing a long answer stays well under).
pub const MAX_EVENT: usize = 1 << 20;

/// Buffers larger than this are freed after use rather than kept.
const KEEP: usize = 64 << 10;

/// How an event stream's first line can begin (a field name or a comment).
const STREAM_STARTS: [&[u8]; 5] = [b"data:", b"event:", b"id:", b"retry:", b":"];

/// Whether a body's first bytes are an event stream, whatever its
/// `Content-Type` said. Unambiguous against JSON (which starts with `{`,
/// `[`, `"`, a digit, `t`, `f`, `n` or `-`) and HTML (`<`); a chunk shorter
/// than a field name counts when it begins one.
pub fn looks_like_sse(first: &[u8]) -> bool {
    let start = first.trim_ascii_start();
    !start.is_empty()
        && STREAM_STARTS.iter().any(|p| {
            if start.len() >= p.len() {
                start.starts_with(p)
            } else {
                p.starts_with(start)
            }
        })
}

/// One complete SSE event, borrowed from the splitter's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, if any.
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n` (empty when they were over the cap).
    pub data: &'a str,
}

/// Splits a byte stream into SSE events across arbitrary chunk boundaries.
#[derive(Debug)]
pub struct SseSplitter {
    /// Bytes of an unfinished line carried over from the previous chunk.
    partial: Vec<u8>,
    /// The previous chunk ended in CR: an LF first in the next is its pair.
    after_cr: bool,
    /// The line being read went over the cap: skip to its end.
    skipping: bool,
    event: String,
    data: String,
    has_data: bool,
    /// The event being read lost a line, or its data, to the cap.
    truncated: bool,
    cap: usize,
}

impl Default for SseSplitter {
    fn default() -> Self {
        Self::with_cap(MAX_EVENT)
    }
}

impl SseSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A splitter whose events hold at most `cap` bytes of line and of data.
    pub fn with_cap(cap: usize) -> Self {
        SseSplitter {
            partial: Vec::new(),
            after_cr: false,
            skipping: false,
            event: String::new(),
            data: String::new(),
            has_data: false,
            truncated: false,
            cap,
        }
    }

    /// Bytes held now (buffer capacities), for the memory bound.
    pub fn buffered(&self) -> usize {
        self.partial.capacity() + self.event.capacity() + self.data.capacity()
    }

    /// The bytes that end the line and the event in progress, so that what
    /// is sent next starts an event of its own (nothing at an event
    /// boundary). After a lone CR an LF may be taken as its pair, so two.
    pub fn to_boundary(&self) -> &'static [u8] {
        let mid_line = !self.partial.is_empty() || self.skipping;
        let pending = self.has_data || !self.event.is_empty() || self.truncated;
        match (mid_line, pending, self.after_cr) {
            (true, _, _) | (false, true, true) => b"\n\n",
            (false, true, false) => b"\n",
            (false, false, _) => b"",
        }
    }

    /// Feeds one chunk; calls `on_event` for every event it completes.
    pub fn push(&mut self, chunk: &[u8], mut on_event: impl FnMut(SseEvent<'_>)) {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            rest = rest.strip_prefix(b"\n").unwrap_or(rest);
        }
        while let Some(at) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, tail) = rest.split_at(at);
            let cr = tail[0] == b'\r';
            rest = &tail[1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            self.end_line(line, &mut on_event);
        }
        self.carry(rest);
    }

    /// Keeps the start of an unfinished line, up to the cap.
    fn carry(&mut self, rest: &[u8]) {
        if self.skipping || rest.is_empty() {
            return;
        }
        if self.partial.len() + rest.len() > self.cap {
            self.skipping = true;
            self.truncated = true;
            self.partial = Vec::new();
        } else {
            self.partial.extend_from_slice(rest);
        }
    }

    /// A line ended: `line` is its part in this chunk.
    fn end_line(&mut self, line: &[u8], on_event: &mut impl FnMut(SseEvent<'_>)) {
        if self.skipping {
            // The end of a line already given up on.
            self.skipping = false;
            return;
        }
        if self.partial.len() + line.len() > self.cap {
            self.truncated = true;
            self.partial = Vec::new();
            return;
        }
        if self.partial.is_empty() {
            self.line(line, on_event);
        } else {
            let mut joined = std::mem::take(&mut self.partial);
            joined.extend_from_slice(line);
            self.line(&joined, on_event);
            if joined.capacity() <= KEEP {
                joined.clear();
                self.partial = joined;
            }
        }
    }

    fn line(&mut self, line: &[u8], on_event: &mut impl FnMut(SseEvent<'_>)) {
        if line.is_empty() {
            if self.has_data || !self.event.is_empty() || self.truncated {
                on_event(SseEvent {
                    event: (!self.event.is_empty()).then_some(self.event.as_str()),
                    data: if self.truncated { "" } else { &self.data },
                });
            }
            self.event.clear();
            self.data.clear();
            if self.data.capacity() > KEEP {
                self.data = String::new();
            }
            self.has_data = false;
            self.truncated = false;
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
        match field {
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            b"data" => {
                let more = self.has_data;
                self.has_data = true;
                if self.truncated {
                    return;
                }
                // Measured after decoding: invalid bytes grow (to U+FFFD).
                let value = String::from_utf8_lossy(value);
                if self.data.len() + value.len() + 1 > self.cap {
                    // The event's data is lost: say so, and hold nothing.
                    self.truncated = true;
                    self.data = String::new();
                    return;
                }
                if more {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
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

    /// The SSE spec: a line ends with CRLF, LF or a lone CR.
    #[test]
    fn a_lone_cr_ends_a_line() {
        let text = b"event: a\rdata: 1\r\rdata: 2\r\n\r\ndata: 3\n\r";
        let want = vec![
            (Some("a".into()), "1".into()),
            (None, "2".into()),
            (None, "3".into()),
        ];
        assert_eq!(split_all(&[text]), want);
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(split_all(&[a, b]), want, "cut at {cut}");
        }
        // A CR ending one chunk and the LF starting the next are one line
        // end, also with empty chunks between them.
        assert_eq!(
            split_all(&[b"data: x\r", b"", b"\n\r", b"\n"]),
            vec![(None, "x".into())]
        );
        assert_eq!(split_all(&[b"data: x\r", b"\r"]), vec![(None, "x".into())]);
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_and_memory_stays_bounded() {
        let mut s = SseSplitter::with_cap(64);
        let mut seen = Vec::new();
        let mut push = |s: &mut SseSplitter, b: &[u8]| {
            s.push(b, |e| {
                seen.push((e.event.map(str::to_string), e.data.to_string()))
            })
        };
        push(&mut s, b"event: big\ndata: ");
        for _ in 0..1000 {
            push(&mut s, &[b'x'; 100]);
            assert!(s.buffered() <= 6 * 64, "{}", s.buffered());
        }
        push(&mut s, b"\n\ndata: small\n\n");
        // The long line is dropped; its event still comes, by name, with no data.
        assert_eq!(
            seen,
            vec![(Some("big".into()), String::new()), (None, "small".into())]
        );
        // Many lines each under the cap, but an event over it: the same.
        let mut s = SseSplitter::with_cap(64);
        let mut seen = Vec::new();
        for _ in 0..100 {
            s.push(b"data: 0123456789\n", |e| seen.push(e.data.to_string()));
            assert!(s.buffered() <= 6 * 64, "{}", s.buffered());
        }
        s.push(b"\n", |e| seen.push(e.data.to_string()));
        assert_eq!(seen, vec![String::new()]);
    }

    #[test]
    fn event_streams_are_told_from_bodies() {
        for yes in [
            &b"data: {}\n\n"[..],
            b"event: message_start\n",
            b": ok\n",
            b"\n\ndata:",
            b"da",
            b"id: 1",
        ] {
            assert!(looks_like_sse(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"{\"id\":1}"[..],
            b"[]",
            b"<!doctype html>",
            b"",
            b"  ",
            b"null",
            b"Internal Server Error",
            b"date",
        ] {
            assert!(!looks_like_sse(no), "{}", String::from_utf8_lossy(no));
        }
    }

    #[test]
    fn what_ends_the_event_in_progress() {
        let after = |text: &[u8]| {
            let mut s = SseSplitter::new();
            s.push(text, |_| {});
            s.to_boundary()
        };
        assert_eq!(after(b""), b"");
        assert_eq!(after(b"data: 1\n\n"), b"");
        assert_eq!(after(b": ping\n"), b"");
        assert_eq!(after(b"data: 1\n"), b"\n");
        assert_eq!(after(b"data: 1\r"), b"\n\n");
        assert_eq!(after(b"data: 1"), b"\n\n");
        // Whatever the state, the ending plus an event gives that event.
        for text in [
            &b"data: 1"[..],
            b"data: 1\r",
            b"data: 1\n",
            b"event: x\r\n",
            b"",
        ] {
            let mut s = SseSplitter::new();
            s.push(text, |_| {});
            let mut seen = Vec::new();
            let end = s.to_boundary();
            s.push(end, |_| {});
            s.push(b"data: last\n\n", |e| seen.push(e.data.to_string()));
            assert_eq!(seen, ["last"], "{}", String::from_utf8_lossy(text));
        }
    }

    /// A plain, whole-text reading of the spec (with the same cap), to
    /// check the incremental splitter against.
    fn reference(text: &[u8], cap: usize) -> Vec<(Option<String>, String)> {
        let mut lines: Vec<&[u8]> = Vec::new();
        let (mut start, mut i) = (0, 0);
        while i < text.len() {
            if text[i] == b'\n' || text[i] == b'\r' {
                lines.push(&text[start..i]);
                if text[i] == b'\r' && text.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            i += 1;
        }
        let mut out = Vec::new();
        let (mut event, mut data, mut has_data, mut lost): (String, String, bool, bool) =
            Default::default();
        for line in lines {
            if line.len() > cap {
                lost = true;
                continue;
            }
            if line.is_empty() {
                if has_data || !event.is_empty() || lost {
                    let name = (!event.is_empty()).then(|| event.clone());
                    out.push((name, if lost { String::new() } else { data.clone() }));
                }
                (event, data, has_data, lost) = Default::default();
                continue;
            }
            if line[0] == b':' {
                continue;
            }
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(i) => (
                    &line[..i],
                    line[i + 1..].strip_prefix(b" ").unwrap_or(&line[i + 1..]),
                ),
                None => (line, &b""[..]),
            };
            let value = String::from_utf8_lossy(value);
            match field {
                b"event" => event = value.into_owned(),
                b"data" => {
                    let more = has_data;
                    has_data = true;
                    if lost {
                        continue;
                    }
                    if data.len() + value.len() + 1 > cap {
                        lost = true;
                        continue;
                    }
                    if more {
                        data.push('\n');
                    }
                    data.push_str(&value);
                }
                _ => {}
            }
        }
        out
    }

    fn split_chunks(chunks: &[&[u8]], cap: usize) -> (Vec<(Option<String>, String)>, usize) {
        let mut s = SseSplitter::with_cap(cap);
        let mut out = Vec::new();
        let mut most = 0;
        for c in chunks {
            s.push(c, |e| {
                out.push((e.event.map(str::to_string), e.data.to_string()))
            });
            most = most.max(s.buffered());
        }
        (out, most)
    }

    /// Stream text made of the pieces that matter to a splitter.
    fn stream_text() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"data: ".to_vec()),
            Just(b"data:".to_vec()),
            Just(b"event: ".to_vec()),
            Just(b": ping".to_vec()),
            Just(b"id: 1".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\n\n".to_vec()),
            Just(b"{\"type\":\"x\"}".to_vec()),
            Just("caf\u{e9} \u{1F600}".as_bytes().to_vec()),
            Just(b"\xFF\xC3(".to_vec()),
            prop::collection::vec(b'a'..=b'z', 0..40),
            prop::collection::vec(any::<u8>(), 0..8),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|p| p.concat())
    }

    /// The text cut at `cuts` (positions, any order, repeats allowed).
    fn cut<'a>(text: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c % (text.len() + 1)).collect();
        at.sort_unstable();
        let mut out = Vec::new();
        let mut prev = 0;
        for a in at {
            out.push(&text[prev..a]);
            prev = a;
        }
        out.push(&text[prev..]);
        out
    }

    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    fn config() -> Config {
        Config {
            cases: 256,
            rng_seed: RngSeed::Fixed(0x055e_5717),
            failure_persistence: None,
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_chunking_gives_the_events_the_spec_gives(
            text in stream_text(),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let want = reference(&text, MAX_EVENT);
            let (whole, _) = split_chunks(&[&text], MAX_EVENT);
            prop_assert_eq!(&whole, &want);
            let (chunked, _) = split_chunks(&cut(&text, &cuts), MAX_EVENT);
            prop_assert_eq!(&chunked, &want);
            let bytes: Vec<&[u8]> = text.chunks(1).collect();
            prop_assert_eq!(&split_chunks(&bytes, MAX_EVENT).0, &want);
        }

        #[test]
        fn memory_stays_bounded_under_the_cap(
            text in stream_text(),
            runs in prop::collection::vec((0usize..400, any::<bool>()), 0..6),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
            cap in 8usize..64,
        ) {
            // Long lines, with and without an end, spliced into the text.
            let mut text = text;
            for (len, newline) in runs {
                text.extend_from_slice(b"data: ");
                text.extend(std::iter::repeat_n(b'x', len));
                if newline {
                    text.extend_from_slice(b"\n\n");
                }
            }
            let want = reference(&text, cap);
            let (got, most) = split_chunks(&cut(&text, &cuts), cap);
            prop_assert_eq!(got, want);
            prop_assert!(most <= 6 * cap.max(8), "held {} with cap {}", most, cap);
        }
    }
}
