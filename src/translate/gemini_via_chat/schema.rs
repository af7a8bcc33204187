//! Gemini's `Schema` (an OpenAPI 3.0 subset: upper-case `type` names,
//! `nullable`, integers written as strings in proto JSON) → JSON Schema,
//! which chat tools and `response_format` take.

use serde_json::{json, Map, Value};

/// Keys whose value is a count (`"5"` in proto JSON, `5` in JSON Schema).
const COUNTS: &[&str] = &[
    "maxItems",
    "minItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
];

/// The JSON Schema for a Gemini `schema`. `propertyOrdering` and `example`
/// are hints with no JSON Schema meaning and are left out; keys this does
/// not know pass through as they are.
pub fn to_json_schema(schema: &Value) -> Value {
    let Some(obj) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = Map::new();
    let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
    for (key, value) in obj {
        let converted = match key.as_str() {
            "type" => match value.as_str() {
                Some("TYPE_UNSPECIFIED") => continue,
                Some(t) => json!(t.to_ascii_lowercase()),
                None => value.clone(),
            },
            "nullable" | "propertyOrdering" | "example" => continue,
            "properties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), to_json_schema(v)))
                    .collect(),
            ),
            "items" => to_json_schema(value),
            "anyOf" => Value::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(to_json_schema)
                    .collect(),
            ),
            k if COUNTS.contains(&k) => match value.as_str().and_then(|s| s.parse::<u64>().ok()) {
                Some(n) => json!(n),
                None => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if nullable {
        if let Some(t) = out.get("type").and_then(Value::as_str).map(str::to_string) {
            out.insert("type".into(), json!([t, "null"]));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_counts_and_nullable() {
        let gemini = json!({
            "type": "OBJECT",
            "properties": {
                "city": {"type": "STRING", "description": "a city", "nullable": true},
                "days": {"type": "ARRAY", "items": {"type": "INTEGER"}, "maxItems": "7"},
                "unit": {"type": "STRING", "enum": ["C", "F"], "format": "enum"},
                "either": {"anyOf": [{"type": "NUMBER"}, {"type": "BOOLEAN"}]},
            },
            "required": ["city"],
            "propertyOrdering": ["city", "days"],
        });
        assert_eq!(
            to_json_schema(&gemini),
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": ["string", "null"], "description": "a city"},
                    "days": {"type": "array", "items": {"type": "integer"}, "maxItems": 7},
                    "unit": {"type": "string", "enum": ["C", "F"], "format": "enum"},
                    "either": {"anyOf": [{"type": "number"}, {"type": "boolean"}]},
                },
                "required": ["city"],
            })
        );
    }
}
