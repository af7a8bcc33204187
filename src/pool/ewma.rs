//! A time-decayed average: old samples lose half their weight every
//! `half_life`, however many samples arrive (decay by time, not by count).

use std::time::{Duration, Instant};

/// Exponentially time-decayed mean of samples.
#[derive(Debug, Clone)]
pub struct Ewma {
    half_life: Duration,
    weighted_sum: f64,
    weight: f64,
    at: Option<Instant>,
}

impl Ewma {
    /// An empty average whose samples halve in weight every `half_life`.
    pub fn new(half_life: Duration) -> Self {
        Ewma {
            half_life,
            weighted_sum: 0.0,
            weight: 0.0,
            at: None,
        }
    }

    fn decay_to(&mut self, now: Instant) {
        if let Some(at) = self.at {
            let dt = now.saturating_duration_since(at).as_secs_f64();
            let factor = 0.5f64.powf(dt / self.half_life.as_secs_f64().max(1e-9));
            self.weighted_sum *= factor;
            self.weight *= factor;
        }
        self.at = Some(now);
    }

    /// Adds a sample taken at `now`.
    pub fn add(&mut self, sample: f64, now: Instant) {
        self.decay_to(now);
        self.weighted_sum += sample;
        self.weight += 1.0;
    }

    /// How much (decayed) sample weight stands behind the mean, as of the
    /// last sample: 1.0 per sample at that instant.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// The mean, or `None` before the first sample.
    pub fn value(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.weighted_sum / self.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_by_time_not_by_count() {
        let t0 = Instant::now();
        let mut e = Ewma::new(Duration::from_secs(10));
        assert_eq!(e.value(), None);
        e.add(100.0, t0);
        e.add(200.0, t0);
        assert_eq!(e.value(), Some(150.0));
        // One half-life later the old pair weighs 1 (2 × ½) against the new sample's 1.
        e.add(400.0, t0 + Duration::from_secs(10));
        let v = e.value().unwrap();
        assert!((v - 275.0).abs() < 1e-9, "{v}");
    }
}
