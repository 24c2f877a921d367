//! Text that may reach the database: no NUL characters.
//!
//! PostgreSQL cannot store U+0000 in text or JSON (SQLite can), so a NUL anywhere in a message,
//! a name, a keyword or a worker's report would fail deep inside a write. Every way in (query
//! strings, forms, JSON bodies) is checked here instead, the same on both databases, and refused
//! with the field's name.

/// Where the first NUL character is in a query string or form body, by field name.
pub fn nul_in_form(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) && !bytes.contains(&0) {
        return None;
    }
    form_urlencoded::parse(bytes)
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', "\\u0000"))
}

/// Where the first NUL character is in a JSON document, as a path (`items[3].data.name`).
pub fn nul_in_json(bytes: &[u8]) -> Option<String> {
    // JSON can only carry a NUL escaped; a document without the escape needs no parse.
    if !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    nul_path(&value, String::new())
}

fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    let named = |path: String| {
        if path.is_empty() {
            "the body".to_owned()
        } else {
            path
        }
    };
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(|| named(path)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let inner = if path.is_empty() {
                key.replace('\0', "\\u0000")
            } else {
                format!("{path}.{}", key.replace('\0', "\\u0000"))
            };
            if key.contains('\0') {
                Some(inner)
            } else {
                nul_path(item, inner)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_found_by_field() {
        assert_eq!(
            nul_in_json(br#"{"message":"hola","phones":["+34600000001","+34\u00006"]}"#),
            Some("phones[1]".to_owned())
        );
        assert_eq!(
            nul_in_json(br#"{"items":[{"key":"a","data":{"name":"x\u0000"}}]}"#),
            Some("items[0].data.name".to_owned())
        );
        assert_eq!(nul_in_json(br#""\u0000""#), Some("the body".to_owned()));
        // An escaped backslash followed by "u0000" is text, not a NUL.
        assert_eq!(nul_in_json(br#"{"message":"\\u0000"}"#), None);
        assert_eq!(nul_in_json(br#"{"message":"hola"}"#), None);
        assert_eq!(
            nul_in_form(b"message=hola%00&devices_limit=5"),
            Some("message".to_owned())
        );
        assert_eq!(nul_in_form(b"q=%2500"), None);
        assert_eq!(nul_in_form(b"q=ok"), None);
    }
}
