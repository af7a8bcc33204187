//! Tool namespaces over chat: chat tools have none, so each function of a
//! `namespace` tool is sent as a function named `<namespace>__<name>` (the
//! namespace's description leads its own), and a call of that name comes
//! back as a `function_call` with `namespace` and `name` apart again.

use serde_json::{json, Map, Value};

use crate::translate::Untranslatable;

const SEPARATOR: &str = "__";

/// The chat name of function `name` in `namespace`.
pub fn joined(namespace: &str, name: &str) -> String {
    format!("{namespace}{SEPARATOR}{name}")
}

/// The chat function tools for a `namespace` tool `t`.
pub fn flatten(t: &Value) -> Result<Vec<Value>, Untranslatable> {
    let namespace = t.get("name").and_then(Value::as_str).unwrap_or_default();
    let about = t
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = Vec::new();
    for inner in t
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if inner.get("type").and_then(Value::as_str) != Some("function") {
            return Err(Untranslatable::new(
                format!(
                    "a `{}` tool in the namespace `{namespace}`",
                    inner["type"].as_str().unwrap_or("untyped")
                ),
                "only functions translate to chat",
            ));
        }
        let name = inner
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut f = Map::new();
        f.insert("name".into(), joined(namespace, name).into());
        let own = inner
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        f.insert(
            "description".into(),
            format!("[{namespace}: {about}]\n{own}").into(),
        );
        for key in ["parameters", "strict"] {
            if let Some(v) = inner.get(key).filter(|v| !v.is_null()) {
                f.insert(key.into(), v.clone());
            }
        }
        out.push(json!({"type": "function", "function": f}));
    }
    Ok(out)
}

/// Chat function name → (namespace, name), for the request's namespaces.
pub fn of_request(request: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for t in request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if t.get("type").and_then(Value::as_str) != Some("namespace") {
            continue;
        }
        let namespace = t.get("name").and_then(Value::as_str).unwrap_or_default();
        for inner in t
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = inner
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            out.push((
                joined(namespace, name),
                namespace.to_string(),
                name.to_string(),
            ));
        }
    }
    out
}

/// The namespace and name a chat function `name` stands for, if it is one
/// of `table`'s ([`of_request`]).
pub fn split<'a>(table: &'a [(String, String, String)], name: &str) -> Option<(&'a str, &'a str)> {
    table
        .iter()
        .find(|(chat, _, _)| chat == name)
        .map(|(_, ns, n)| (ns.as_str(), n.as_str()))
}

/// Puts a `function_call` item's namespace back (its chat name was
/// `<namespace>__<name>`), per `table` ([`of_request`]).
pub fn restore(item: &mut Value, table: &[(String, String, String)]) {
    let split = item
        .get("name")
        .and_then(Value::as_str)
        .and_then(|n| split(table, n));
    if let Some((namespace, name)) = split {
        item["name"] = name.into();
        item["namespace"] = namespace.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_in_a_namespace_are_named_for_it_and_come_apart_again() {
        let t = json!({"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.", "tools": [
            {"type": "function", "name": "spawn_agent", "description": "Spawn one.", "parameters": {"type": "object"}, "strict": false}]});
        let f = flatten(&t).unwrap();
        assert_eq!(f[0]["function"]["name"], "multi_agent_v1__spawn_agent");
        assert_eq!(
            f[0]["function"]["description"],
            "[multi_agent_v1: Sub-agents.]\nSpawn one."
        );
        let table = of_request(&json!({"tools": [t]}));
        assert_eq!(
            split(&table, "multi_agent_v1__spawn_agent"),
            Some(("multi_agent_v1", "spawn_agent"))
        );
        assert_eq!(split(&table, "spawn_agent"), None);
        let mut item = json!({"type": "function_call", "name": "multi_agent_v1__spawn_agent"});
        restore(&mut item, &table);
        assert_eq!(
            item,
            json!({"type": "function_call", "name": "spawn_agent", "namespace": "multi_agent_v1"})
        );
    }
}
