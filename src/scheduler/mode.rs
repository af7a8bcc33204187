//! The user's routing choice: which sellers are eligible (mode) and how they
//! are ranked (scorer). Persisted by `settings.rs`, changed at runtime.

use serde::{Deserialize, Serialize};

/// Which sellers a request may go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RoutingMode {
    /// One chosen seller (others only if failover is allowed).
    Fixed,
    /// A chosen set, ranked by the scorer.
    FixedSet,
    /// Every compatible seller, ranked by the scorer.
    #[default]
    FullAuto,
}

/// How eligible sellers are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Scorer {
    /// Time to first token and throughput first.
    Speed,
    /// Price first; speed and health break near-ties.
    Discount,
    /// Health, speed and price together.
    #[default]
    Balanced,
}

/// The routing settings, as stored and as `/api/routing` speaks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingSettings {
    /// Eligibility.
    #[serde(default)]
    pub mode: RoutingMode,
    /// Ranking.
    #[serde(default)]
    pub scorer: Scorer,
    /// The seller of `fixed` mode.
    #[serde(default)]
    pub fixed_seller: Option<String>,
    /// The sellers of `fixedSet` mode.
    #[serde(default)]
    pub fixed_set: Vec<String>,
    /// In `fixed` mode, may other sellers stand in when the fixed one fails?
    #[serde(default = "yes")]
    pub fixed_failover: bool,
    /// May a seller that does not speak the client's protocol serve it
    /// through translation (`chat ← messages`, …)? Each seller can also
    /// refuse it with `translation: false` in the sellers file.
    #[serde(default = "yes")]
    pub translation: bool,
}

fn yes() -> bool {
    true
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            mode: RoutingMode::default(),
            scorer: Scorer::default(),
            fixed_seller: None,
            fixed_set: Vec::new(),
            fixed_failover: true,
            translation: true,
        }
    }
}

/// Settings that do not make sense together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `fixed` without a seller.
    #[error("mode fixed needs fixedSeller (the id of one seller)")]
    NoFixedSeller,
    /// `fixedSet` with an empty set.
    #[error("mode fixedSet needs fixedSet (a non-empty list of seller ids)")]
    EmptyFixedSet,
}

impl RoutingSettings {
    /// Checks that the mode has what it needs.
    pub fn validate(&self) -> Result<(), SettingsError> {
        match self.mode {
            RoutingMode::Fixed
                if self
                    .fixed_seller
                    .as_deref()
                    .is_none_or(|s| s.trim().is_empty()) =>
            {
                Err(SettingsError::NoFixedSeller)
            }
            RoutingMode::FixedSet if self.fixed_set.is_empty() => Err(SettingsError::EmptyFixedSet),
            _ => Ok(()),
        }
    }

    /// Whether `id` is eligible as a first choice; `Err` says why not.
    pub fn eligibility(&self, id: &str) -> Eligibility {
        match self.mode {
            RoutingMode::FullAuto => Eligibility::Eligible,
            RoutingMode::FixedSet if self.fixed_set.iter().any(|s| s == id) => {
                Eligibility::Eligible
            }
            RoutingMode::FixedSet => Eligibility::Excluded("not in the fixed set"),
            RoutingMode::Fixed if self.fixed_seller.as_deref() == Some(id) => Eligibility::Eligible,
            RoutingMode::Fixed if self.fixed_failover => Eligibility::Standby,
            RoutingMode::Fixed => Eligibility::Excluded("not the fixed seller (failover off)"),
        }
    }
}

/// Where a seller stands under the routing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    /// Ranked by the scorer.
    Eligible,
    /// Only after every eligible seller (fixed mode with failover).
    Standby,
    /// Never, with the reason.
    Excluded(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_defaults() {
        let s: RoutingSettings =
            serde_json::from_str(r#"{"mode":"fixedSet","scorer":"speed","fixedSet":["a"]}"#)
                .unwrap();
        assert_eq!(s.mode, RoutingMode::FixedSet);
        assert_eq!(s.scorer, Scorer::Speed);
        assert!(s.fixed_failover);
        assert_eq!(
            serde_json::from_str::<RoutingSettings>("{}").unwrap(),
            RoutingSettings::default()
        );
        assert!(serde_json::from_str::<RoutingSettings>(r#"{"mode":"auto"}"#).is_err());
        assert!(serde_json::from_str::<RoutingSettings>(r#"{"modes":"fixed"}"#).is_err());
    }

    #[test]
    fn validation_and_eligibility() {
        let mut s = RoutingSettings {
            mode: RoutingMode::Fixed,
            ..RoutingSettings::default()
        };
        assert_eq!(s.validate(), Err(SettingsError::NoFixedSeller));
        s.fixed_seller = Some("a".into());
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.eligibility("a"), Eligibility::Eligible);
        assert_eq!(s.eligibility("b"), Eligibility::Standby);
        s.fixed_failover = false;
        assert!(matches!(s.eligibility("b"), Eligibility::Excluded(_)));
        let set = RoutingSettings {
            mode: RoutingMode::FixedSet,
            fixed_set: vec!["a".into()],
            ..RoutingSettings::default()
        };
        assert_eq!(set.eligibility("a"), Eligibility::Eligible);
        assert!(matches!(set.eligibility("b"), Eligibility::Excluded(_)));
        assert_eq!(
            RoutingSettings {
                mode: RoutingMode::FixedSet,
                ..RoutingSettings::default()
            }
            .validate(),
            Err(SettingsError::EmptyFixedSet)
        );
    }
}
