//! Freeform (`custom`) tools over chat: chat tools take JSON arguments only,
//! so a custom tool is sent as a function taking `{"input": string}`, and a
//! call of it comes back as a `custom_tool_call` whose `input` is that
//! string. [`InputDecoder`] reads the string out of the streamed arguments
//! as they arrive (JSON escapes decoded), so the client gets each piece of
//! the input as soon as the seller sends it.

use serde_json::{json, Value};

/// The chat function tool standing for a custom tool `t`. Its grammar (if
/// any) cannot constrain a chat model, so it goes into the description.
pub fn function_tool(t: &Value) -> Value {
    let mut description = t
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let format = t.get("format").unwrap_or(&Value::Null);
    if format.get("type").and_then(Value::as_str) == Some("grammar") {
        let syntax = format
            .get("syntax")
            .and_then(Value::as_str)
            .unwrap_or("lark");
        let definition = format
            .get("definition")
            .and_then(Value::as_str)
            .unwrap_or_default();
        description.push_str(&format!(
            "\n\nThe input must follow this {syntax} grammar:\n{definition}"
        ));
    }
    json!({
        "type": "function",
        "function": {
            "name": t.get("name").cloned().unwrap_or(Value::Null),
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {"input": {"type": "string", "description": "The tool's freeform input, as plain text."}},
                "required": ["input"],
                "additionalProperties": false,
            },
        },
    })
}

/// The names of the custom tools of a Responses request.
pub fn custom_names(request: &Value) -> Vec<String> {
    request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("custom"))
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The `input` of whole `{"input": …}` arguments; arguments of another shape
/// are passed on as they are (the tool then tells the model what is wrong).
pub fn input_of(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(o)) => match o.get("input") {
            Some(Value::String(s)) => s.clone(),
            _ => arguments.to_string(),
        },
        _ => arguments.to_string(),
    }
}

/// Reads the `input` string out of `{"input": "…"}` arguments arriving in
/// pieces.
#[derive(Debug, Default)]
pub struct InputDecoder {
    raw: String,
    /// Where the string's next undecoded character is in `raw` (`None`
    /// until the opening quote has been seen).
    at: Option<usize>,
    closed: bool,
    /// The arguments are not `{"input": "…"}` as expected: nothing is
    /// decoded as it streams; [`InputDecoder::finish`] reads them whole.
    odd: bool,
    decoded: String,
}

impl InputDecoder {
    /// Takes the next piece of arguments; returns the input it completes.
    pub fn push(&mut self, piece: &str) -> String {
        self.raw.push_str(piece);
        if self.closed || self.odd {
            return String::new();
        }
        let start = match self.at {
            Some(at) => at,
            None => match opening(&self.raw) {
                Opening::At(at) => at,
                Opening::NotYet => return String::new(),
                Opening::Odd => {
                    self.odd = true;
                    return String::new();
                }
            },
        };
        let (end, closed) = safe_end(&self.raw[start..]);
        let segment = &self.raw[start..start + end];
        let text: String = serde_json::from_str(&format!("\"{segment}\"")).unwrap_or_default();
        self.at = Some(start + end + usize::from(closed));
        self.closed = closed;
        self.decoded.push_str(&text);
        text
    }

    /// The whole input, once the arguments are complete; and what of it was
    /// not yet given out by [`InputDecoder::push`].
    pub fn finish(&mut self) -> (String, String) {
        let whole = input_of(&self.raw);
        let rest = whole
            .strip_prefix(self.decoded.as_str())
            .unwrap_or_default()
            .to_string();
        self.decoded = whole.clone();
        (whole, rest)
    }
}

enum Opening {
    At(usize),
    NotYet,
    Odd,
}

/// Where the `input` string's first character is in `raw`, if its opening
/// quote has arrived.
fn opening(raw: &str) -> Opening {
    let mut pos = 0;
    for token in ["{", "\"input\"", ":", "\""] {
        let rest = &raw[pos..];
        pos += rest.len() - rest.trim_start().len();
        let rest = &raw[pos..];
        if rest.len() < token.len() {
            return if token.starts_with(rest) {
                Opening::NotYet
            } else {
                Opening::Odd
            };
        }
        if !rest.starts_with(token) {
            return Opening::Odd;
        }
        pos += token.len();
    }
    Opening::At(pos)
}

/// How much of `s` (the inside of a JSON string, possibly unfinished) can be
/// decoded now, and whether the string's closing quote ends it there.
fn safe_end(s: &str) -> (usize, bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => return (i, true),
            b'\\' => {
                let need = match b.get(i + 1) {
                    None => return (i, false),
                    Some(b'u') => {
                        let Some(hex) = s.get(i + 2..i + 6) else {
                            return (i, false);
                        };
                        // A high surrogate needs its low half in the same segment.
                        let high = u16::from_str_radix(hex, 16)
                            .is_ok_and(|h| (0xD800..0xDC00).contains(&h));
                        if high {
                            12
                        } else {
                            6
                        }
                    }
                    Some(_) => 2,
                };
                if i + need > b.len() {
                    return (i, false);
                }
                i += need;
            }
            _ => i += 1,
        }
    }
    (b.len(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(args: &str, size: usize) -> (String, String) {
        let mut d = InputDecoder::default();
        let chars: Vec<char> = args.chars().collect();
        let mut streamed = String::new();
        for piece in chars.chunks(size) {
            streamed.push_str(&d.push(&piece.iter().collect::<String>()));
        }
        let (whole, rest) = d.finish();
        streamed.push_str(&rest);
        assert_eq!(streamed, whole, "{args} in pieces of {size}");
        (streamed, whole)
    }

    #[test]
    fn the_input_streams_out_of_the_arguments_whatever_the_cuts() {
        let input = "*** Begin Patch\n*** Add File: a.txt\n+héllo \"😀\" \\ tab\t\n*** End Patch";
        let args = json!({"input": input}).to_string();
        let escaped = args.replace('😀', "\\ud83d\\ude00");
        for a in [
            &args,
            &escaped,
            &format!(" {{ \"input\" :  {}}}", json!(input)),
        ] {
            for size in 1..8 {
                assert_eq!(decode_in_pieces(a, size).1, input);
            }
        }
    }

    #[test]
    fn odd_arguments_come_whole_at_the_end() {
        let mut d = InputDecoder::default();
        assert_eq!(d.push("{\"path\": \"x\", \"input\": \"y\"}"), "");
        assert_eq!(d.finish(), ("y".to_string(), "y".to_string()));
        assert_eq!(input_of("not json"), "not json");
    }

    #[test]
    fn a_grammar_goes_into_the_description() {
        let f = function_tool(
            &json!({"type": "custom", "name": "apply_patch", "description": "Patch.", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}),
        );
        assert_eq!(f["function"]["name"], "apply_patch");
        assert!(f["function"]["description"]
            .as_str()
            .unwrap()
            .ends_with("lark grammar:\nstart: x"));
    }
}
