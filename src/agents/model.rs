//! Which model to configure an agent with: the one asked for; else the
//! agent's current model when a seller serves it; else the first model a
//! seller declares; else (no sellers yet, or sellers that serve any model)
//! the current one.

use crate::sellers::Seller;

/// The model to configure, or why there is none.
pub fn choose(
    requested: Option<&str>,
    current: Option<&str>,
    sellers: &[Seller],
) -> Result<String, String> {
    if let Some(m) = requested.filter(|m| !m.trim().is_empty()) {
        return Ok(m.trim().to_string());
    }
    let serves_any = sellers.iter().any(|s| s.models.is_empty());
    let served =
        |m: &str| serves_any || sellers.iter().any(|s| s.models.iter().any(|r| r.name == m));
    if let Some(m) = current.filter(|m| !m.is_empty() && served(m)) {
        return Ok(m.to_string());
    }
    let mut by_priority: Vec<&Seller> = sellers.iter().collect();
    by_priority.sort_by_key(|s| std::cmp::Reverse(s.priority));
    if let Some(m) = by_priority.iter().flat_map(|s| s.models.iter()).next() {
        return Ok(m.name.clone());
    }
    match current {
        Some(m) if !m.is_empty() && (serves_any || sellers.is_empty()) => Ok(m.to_string()),
        _ if sellers.is_empty() => Err(
            "no sellers are set up yet, so there is no model to pick: add a seller or pass --model"
                .into(),
        ),
        _ => Err("the sellers declare no models: pass --model".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;
    use crate::sellers::{ModelRoute, Secret};

    fn seller(models: &[&str], priority: i32) -> Seller {
        Seller {
            id: "s".into(),
            name: "s".into(),
            base_url: "http://127.0.0.1:1".into(),
            api_key: Secret::new("k"),
            protocols: Protocol::ALL.to_vec(),
            models: models
                .iter()
                .map(|m| ModelRoute {
                    name: m.to_string(),
                    upstream: m.to_string(),
                })
                .collect(),
            discount_ratio: 1.0,
            service_fee_ratio: 0.0,
            priority,
            max_concurrency: None,
            prices: Default::default(),
            credits: None,
            translation: true,
        }
    }

    #[test]
    fn picks_requested_then_current_if_served_then_a_seller_model() {
        let sellers = vec![seller(&["cheap-1"], 0), seller(&["glm-5", "kimi"], 5)];
        assert_eq!(choose(Some("x"), Some("kimi"), &sellers).unwrap(), "x");
        assert_eq!(choose(None, Some("kimi"), &sellers).unwrap(), "kimi");
        assert_eq!(choose(None, Some("gpt-5"), &sellers).unwrap(), "glm-5");
        assert_eq!(
            choose(None, None, &[seller(&[], 0)]).unwrap_err(),
            "the sellers declare no models: pass --model"
        );
        assert_eq!(
            choose(None, Some("gpt-5"), &[seller(&[], 0)]).unwrap(),
            "gpt-5"
        );
        assert_eq!(choose(None, Some("gpt-5"), &[]).unwrap(), "gpt-5");
        assert!(choose(None, None, &[]).is_err());
    }
}
