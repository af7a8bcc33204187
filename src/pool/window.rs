//! Output throughput over a sliding time window (10 minutes by default).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Tokens and generation time of recent requests, pruned by age.
#[derive(Debug, Clone)]
pub struct ThroughputWindow {
    span: Duration,
    samples: VecDeque<(Instant, u64, f64)>,
    tokens: u64,
    seconds: f64,
}

impl ThroughputWindow {
    /// A window keeping samples younger than `span`.
    pub fn new(span: Duration) -> Self {
        ThroughputWindow {
            span,
            samples: VecDeque::new(),
            tokens: 0,
            seconds: 0.0,
        }
    }

    fn prune(&mut self, now: Instant) {
        while let Some(&(at, tokens, secs)) = self.samples.front() {
            if now.saturating_duration_since(at) <= self.span {
                break;
            }
            self.samples.pop_front();
            self.tokens -= tokens;
            self.seconds -= secs;
        }
    }

    /// Records `tokens` generated over `generating` (first to last token).
    pub fn add(&mut self, tokens: u64, generating: Duration, now: Instant) {
        self.prune(now);
        let secs = generating.as_secs_f64();
        self.samples.push_back((now, tokens, secs));
        self.tokens += tokens;
        self.seconds += secs;
    }

    /// Tokens per second over the window: total tokens / total generating
    /// time, so long requests weigh more than one-token blips.
    pub fn tokens_per_sec(&mut self, now: Instant) -> Option<f64> {
        self.prune(now);
        (self.seconds > 1e-9).then(|| self.tokens as f64 / self.seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_and_forgets_old_samples() {
        let t0 = Instant::now();
        let mut w = ThroughputWindow::new(Duration::from_secs(600));
        assert_eq!(w.tokens_per_sec(t0), None);
        w.add(100, Duration::from_secs(1), t0);
        w.add(100, Duration::from_secs(3), t0 + Duration::from_secs(60));
        assert_eq!(w.tokens_per_sec(t0 + Duration::from_secs(60)), Some(50.0));
        assert_eq!(
            w.tokens_per_sec(t0 + Duration::from_secs(601)),
            Some(100.0 / 3.0)
        );
        assert_eq!(w.tokens_per_sec(t0 + Duration::from_secs(700)), None);
    }
}
