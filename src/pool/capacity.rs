//! How long a rate-limited (429) seller is blocked, from what it said.
//!
//! Read in order of precision: `retry-after-ms`, `Retry-After` (seconds or an
//! HTTP date), then the providers' reset headers for the limit that ran out —
//! OpenAI's `x-ratelimit-reset-{requests,tokens}` (durations like `6m0s`,
//! `20ms`) and Anthropic's `anthropic-ratelimit-{requests,tokens,input-tokens,
//! output-tokens}-reset` (RFC 3339 instants). Nothing usable: a short default.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The block when a 429 gives no hint.
pub const DEFAULT_BLOCK: Duration = Duration::from_secs(10);

/// Never block longer than this on a seller's word (a bad header must not
/// take a seller out for a day).
pub const MAX_BLOCK: Duration = Duration::from_secs(3600);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn seconds(value: &str) -> Option<Duration> {
    let v: f64 = value.parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v))
}

/// Parses OpenAI's reset durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`.
pub fn openai_duration(value: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut rest = value.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

/// Time until the RFC 3339 instant `value`, seen from `now`.
fn until_instant(value: &str, now: SystemTime) -> Option<Duration> {
    let at = humantime::parse_rfc3339_weak(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Reads one reset header's value as a wait from `now`.
type ResetParser = fn(&str, SystemTime) -> Option<Duration>;

/// How long to block a seller that answered 429 with `headers` at `now`.
pub fn block_for(headers: &HeaderMap, now: SystemTime) -> Duration {
    hinted_block(headers, now)
        .unwrap_or(DEFAULT_BLOCK)
        .min(MAX_BLOCK)
}

/// The block the headers ask for, if they say anything usable.
pub fn hinted_block(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(seconds) {
        return Some(ms / 1000);
    }
    if let Some(v) = header(headers, "retry-after") {
        if let Some(d) = seconds(v) {
            return Some(d);
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    // Reset headers, one per limit; prefer the limits reported exhausted.
    let limits: [(&str, &str, ResetParser); 6] = [
        (
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
            |v, _| openai_duration(v),
        ),
        (
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
            |v, _| openai_duration(v),
        ),
        (
            "anthropic-ratelimit-requests-remaining",
            "anthropic-ratelimit-requests-reset",
            until_instant,
        ),
        (
            "anthropic-ratelimit-tokens-remaining",
            "anthropic-ratelimit-tokens-reset",
            until_instant,
        ),
        (
            "anthropic-ratelimit-input-tokens-remaining",
            "anthropic-ratelimit-input-tokens-reset",
            until_instant,
        ),
        (
            "anthropic-ratelimit-output-tokens-remaining",
            "anthropic-ratelimit-output-tokens-reset",
            until_instant,
        ),
    ];
    let mut exhausted: Option<Duration> = None;
    let mut any: Option<Duration> = None;
    for (remaining, reset, parse) in limits {
        let Some(d) = header(headers, reset).and_then(|v| parse(v, now)) else {
            continue;
        };
        any = Some(any.map_or(d, |a| a.min(d)));
        if header(headers, remaining).is_some_and(|r| r == "0") {
            exhausted = Some(exhausted.map_or(d, |e| e.max(d)));
        }
    }
    exhausted.or(any)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn openai_durations() {
        let ms = Duration::from_millis;
        assert_eq!(openai_duration("1s"), Some(ms(1000)));
        assert_eq!(openai_duration("6m0s"), Some(ms(360_000)));
        assert_eq!(openai_duration("20ms"), Some(ms(20)));
        assert_eq!(openai_duration("1h2m3.5s"), Some(ms(3_723_500)));
        assert_eq!(openai_duration(""), None);
        assert_eq!(openai_duration("soon"), None);
    }

    #[test]
    fn retry_after_wins_and_each_form_is_read() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let s = Duration::from_secs;
        assert_eq!(block_for(&headers(&[("retry-after", "30")]), now), s(30));
        assert_eq!(
            block_for(
                &headers(&[("retry-after-ms", "1500"), ("retry-after", "30")]),
                now
            ),
            Duration::from_millis(1500)
        );
        let date = httpdate::fmt_http_date(now + s(42));
        assert_eq!(block_for(&headers(&[("retry-after", &date)]), now), s(42));
        assert_eq!(
            block_for(
                &headers(&[("retry-after", "5"), ("x-ratelimit-reset-requests", "6m0s")]),
                now
            ),
            s(5)
        );
    }

    #[test]
    fn reset_headers_of_the_exhausted_limit() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let s = Duration::from_secs;
        let h = headers(&[
            ("x-ratelimit-remaining-requests", "12"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "1m30s"),
        ]);
        assert_eq!(block_for(&h, now), s(90));
        let reset = humantime::format_rfc3339_seconds(now + s(25)).to_string();
        let h = headers(&[
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", &reset),
        ]);
        assert_eq!(block_for(&h, now), s(25));
        // No "remaining" info: the soonest reset.
        let h = headers(&[
            ("x-ratelimit-reset-requests", "2s"),
            ("x-ratelimit-reset-tokens", "9s"),
        ]);
        assert_eq!(block_for(&h, now), s(2));
    }

    #[test]
    fn nothing_usable_means_the_default_and_lies_are_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(block_for(&HeaderMap::new(), now), DEFAULT_BLOCK);
        assert_eq!(
            block_for(&headers(&[("retry-after", "soon")]), now),
            DEFAULT_BLOCK
        );
        assert_eq!(
            block_for(&headers(&[("retry-after", "999999")]), now),
            MAX_BLOCK
        );
    }
}
