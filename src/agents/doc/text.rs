//! Line layout of a document's text, for editors that splice by byte span:
//! where a line starts and ends, its indentation, the file's newline and
//! indent unit, and applying splices.

/// The start of the line holding byte `pos`.
pub fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line holding byte `pos` (before its `\r\n` or `\n`).
pub fn line_end(text: &str, pos: usize) -> usize {
    let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    if end > pos && text.as_bytes().get(end - 1) == Some(&b'\r') && end < text.len() {
        end - 1
    } else {
        end
    }
}

/// The whitespace that starts the line holding `pos`.
pub fn indent_of(text: &str, pos: usize) -> &str {
    let start = line_start(text, pos);
    let rest = &text[start..];
    let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..n]
}

/// Whether only indentation precedes `pos` on its line.
pub fn starts_line(text: &str, pos: usize) -> bool {
    text[line_start(text, pos)..pos]
        .chars()
        .all(|c| c == ' ' || c == '\t')
}

/// The newline the file uses (`\r\n` if any line ends so).
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// The length of the line break just before byte `pos` (0 at the start).
pub fn break_before(text: &str, pos: usize) -> usize {
    let before = &text[..pos];
    if before.ends_with("\r\n") {
        2
    } else if before.ends_with('\n') {
        1
    } else {
        0
    }
}

/// The length of the line break at byte `pos` (0 if none).
pub fn break_at(text: &str, pos: usize) -> usize {
    let rest = &text[pos..];
    if rest.starts_with("\r\n") {
        2
    } else if rest.starts_with('\n') {
        1
    } else {
        0
    }
}

/// The file's indent unit: a tab if indented lines start with one, else the
/// smallest indentation seen, else two spaces.
pub fn indent_unit(text: &str) -> String {
    let mut smallest: Option<usize> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('\t') {
            return "\t".into();
        }
        let n = line.len() - line.trim_start_matches(' ').len();
        if n > 0 && smallest.is_none_or(|s| n < s) {
            smallest = Some(n);
        }
    }
    " ".repeat(smallest.unwrap_or(2))
}

/// One replacement of `text[start..end]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// First byte replaced.
    pub start: usize,
    /// One past the last byte replaced.
    pub end: usize,
    /// The new text.
    pub with: String,
}

impl Splice {
    /// Replaces `start..end` with `with`.
    pub fn new(start: usize, end: usize, with: impl Into<String>) -> Splice {
        Splice {
            start,
            end,
            with: with.into(),
        }
    }
}

/// Applies non-overlapping splices (any order).
pub fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    splices.sort_by_key(|s| std::cmp::Reverse(s.start));
    let mut out = text.to_string();
    for s in splices {
        out.replace_range(s.start..s.end, &s.with);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_indents() {
        let t = "a\r\n  b # c\r\nd";
        assert_eq!(line_start(t, 6), 3);
        assert_eq!(line_end(t, 6), 10);
        assert_eq!(indent_of(t, 6), "  ");
        assert!(starts_line(t, 5));
        assert!(!starts_line(t, 7));
        assert_eq!(newline(t), "\r\n");
        assert_eq!(break_before(t, 3), 2);
        assert_eq!(break_at(t, 10), 2);
        assert_eq!(line_end(t, 12), 13);
        assert_eq!(indent_unit("{\n\t\"a\": 1\n}"), "\t");
        assert_eq!(indent_unit("a:\n    b:\n      c: 1\n"), "    ");
        assert_eq!(
            apply(
                "abcdef",
                vec![Splice::new(1, 2, "X"), Splice::new(4, 4, "Y")]
            ),
            "aXcdYef"
        );
    }
}
