//! Compares one JSON answer with the schema the document gives it, and keeps the differences as
//! shapes: field paths, JSON types, nullness, enum values. Never a value of a field that is not an
//! enum: names, dates of birth, NHS numbers, addresses, ids and free text stay out of findings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// One way an answer differs from the document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    /// A status the operation does not document.
    UndocumentedStatus {
        /// The status.
        status: u16,
    },
    /// A field the schema does not describe.
    UnknownField {
        /// Its name.
        name: String,
        /// Its JSON type (`string`, `null`…).
        json_type: &'static str,
    },
    /// A required field that was absent.
    MissingRequired {
        /// Its name.
        name: String,
    },
    /// A JSON type other than the schema's.
    TypeDiffers {
        /// The schema's type.
        expected: String,
        /// What came.
        observed: &'static str,
    },
    /// `null` where the schema is not nullable.
    UnexpectedNull,
    /// An enum value the schema does not list (enum values are not patient data).
    EnumValue {
        /// The value, or a placeholder when it does not look like an enum value.
        value: String,
    },
    /// A string that does not parse as its format (`date-time`, `date`).
    BadFormat {
        /// The format.
        format: String,
    },
    /// A string that is not a numeric Hero id where the schema says `Id`.
    IdPattern,
}

/// A difference, where it was seen and where the schema says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The operationId.
    pub operation: String,
    /// Where in the answer (`data[].sector`), names only.
    pub field: String,
    /// The schema node to change (a JSONPath into the effective document).
    pub at: String,
    /// What differs.
    pub difference: Difference,
}

/// The numeric-id pattern of the `Id` component.
const ID_PATTERN: &str = "^\\d+$";

/// Walks answers against a document's schemas.
pub struct Comparer<'a> {
    document: &'a Value,
    operation: String,
    /// The document's own words: property names, enum values, schema names (shared with the
    /// trial comparers of `anyOf`/`oneOf`, so the document is walked once per answer).
    words: std::rc::Rc<BTreeSet<String>>,
    /// Findings so far (a set: the items of a list repeat the same difference).
    pub findings: BTreeSet<Finding>,
    /// How often each finding was seen.
    pub counts: BTreeMap<Finding, usize>,
}

/// Every word of the document an answer may be named by: property names, enum values (strings)
/// and schema names. Anything else an answer brings (a new field's name, a map key, a new enum
/// value) can be data, an NHS number used as a key or a surname, and is written as a token.
pub fn document_words(document: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, words: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for key in ["properties", "schemas"] {
                    if let Some(Value::Object(named)) = map.get(key) {
                        words.extend(named.keys().cloned());
                    }
                }
                if let Some(Value::Array(values)) = map.get("enum") {
                    words.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                map.values().for_each(|v| walk(v, words));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, words)),
            _ => {}
        }
    }
    let mut words = BTreeSet::new();
    walk(document, &mut words);
    words
}

/// A token for text that is not shown: `‹field 3f2a›`, 16 bits of a hash keyed with a secret
/// of this run. The same name gets the same token throughout one run (one report), which is
/// enough to tell names apart; without the secret, a token cannot confirm a guessed value (an
/// NHS number tried against it).
pub fn token(kind: &str, text: &str) -> String {
    static SECRET: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
    let hash = std::hash::BuildHasher::hash_one(SECRET.get_or_init(Default::default), text);
    format!("‹{kind} {:04x}›", hash & 0xffff)
}

/// Whether a name or value in a finding is a token rather than the text itself.
pub fn is_token(text: &str) -> bool {
    text.starts_with('‹')
}

impl<'a> Comparer<'a> {
    /// A comparer for answers of `operation`.
    pub fn new(document: &'a Value, operation: &str) -> Self {
        Comparer {
            document,
            operation: operation.to_owned(),
            words: std::rc::Rc::new(document_words(document)),
            findings: BTreeSet::new(),
            counts: BTreeMap::new(),
        }
    }

    /// `text` when it is a word of the document, its token otherwise.
    fn shown(&self, kind: &str, text: &str) -> String {
        if self.words.contains(text) { text.to_owned() } else { token(kind, text) }
    }

    fn add(&mut self, field: &str, at: &str, difference: Difference) {
        let finding = Finding {
            operation: self.operation.clone(),
            field: if field.is_empty() { "(the answer)".into() } else { field.to_owned() },
            at: at.to_owned(),
            difference,
        };
        *self.counts.entry(finding.clone()).or_default() += 1;
        self.findings.insert(finding);
    }

    /// Follows `$ref`s; the schema and its location.
    fn resolve(&self, schema: &'a Value, at: &str) -> (&'a Value, String) {
        let (mut schema, mut at) = (schema, at.to_owned());
        for _ in 0..32 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { break };
            let Some(name) = reference.strip_prefix("#/components/schemas/") else { break };
            let Some(target) = self.document.pointer(&format!("/components/schemas/{}", crate::codegen::document::pointer_segment(name)))
            else {
                break;
            };
            schema = target;
            at = format!("$.components.schemas['{name}']");
        }
        (schema, at)
    }

    /// Compares `value` with `schema` (whose node is at `at`), `field` naming where it is.
    pub fn check(&mut self, value: &Value, schema: &'a Value, at: &str, field: &str) {
        let (resolved, resolved_at) = self.resolve(schema, at);
        if value.is_null() {
            let nullable = |s: &Value| s.get("nullable").and_then(Value::as_bool) == Some(true);
            if !(nullable(schema) || nullable(resolved) || is_free_form(resolved)) {
                self.add(field, at, Difference::UnexpectedNull);
            }
            return;
        }
        if let Some([only]) = resolved.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            return self.check(value, only, &format!("{resolved_at}.allOf[0]"), field);
        }
        for union in ["anyOf", "oneOf"] {
            if let Some(members) = resolved.get(union).and_then(Value::as_array) {
                let clean = members.iter().enumerate().any(|(i, member)| {
                    let mut trial = Comparer {
                        document: self.document,
                        operation: self.operation.clone(),
                        words: self.words.clone(),
                        findings: BTreeSet::new(),
                        counts: BTreeMap::new(),
                    };
                    trial.check(value, member, &format!("{resolved_at}.{union}[{i}]"), field);
                    trial.findings.is_empty()
                });
                if !clean && let Some(first) = members.first() {
                    self.check(value, first, &format!("{resolved_at}.{union}[0]"), field);
                }
                return;
            }
        }
        let observed = json_type(value);
        let expected = resolved.get("type").and_then(Value::as_str).or_else(|| resolved.get("properties").map(|_| "object"));
        if let Some(expected) = expected
            && !type_fits(expected, value)
        {
            return self.add(field, at, Difference::TypeDiffers { expected: expected.to_owned(), observed });
        }
        if let Some(allowed) = resolved.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            let value = match value {
                Value::String(text) => self.shown("value", text),
                other => enum_text(other),
            };
            self.add(field, &format!("{resolved_at}.enum"), Difference::EnumValue { value });
        }
        match value {
            Value::String(text) => {
                if let Some(format) = resolved.get("format").and_then(Value::as_str)
                    && !format_fits(format, text)
                {
                    self.add(field, &resolved_at, Difference::BadFormat { format: format.to_owned() });
                }
                let numeric = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit());
                if resolved.get("pattern").and_then(Value::as_str) == Some(ID_PATTERN) && !numeric {
                    self.add(field, at, Difference::IdPattern);
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = resolved.get("items") {
                    for item in items {
                        self.check(item, item_schema, &format!("{resolved_at}.items"), &format!("{field}[]"));
                    }
                }
            }
            Value::Object(map) => {
                let properties = resolved.get("properties").and_then(Value::as_object);
                let extra = resolved.get("additionalProperties").filter(|a| a.is_object());
                for (name, item) in map {
                    let here = |shown: &str| if field.is_empty() { shown.to_owned() } else { format!("{field}.{shown}") };
                    match (properties.and_then(|p| p.get(name)), extra) {
                        (Some(property), _) => self.check(item, property, &format!("{resolved_at}.properties['{name}']"), &here(name)),
                        // A map's key is data (an NHS number, a name): never its text.
                        (None, Some(extra)) => {
                            let key = self.shown("key", name);
                            self.check(item, extra, &format!("{resolved_at}.additionalProperties"), &here(&key))
                        }
                        (None, None) if properties.is_some() => {
                            let name = self.shown("field", name);
                            self.add(field, &resolved_at, Difference::UnknownField { name, json_type: json_type(item) })
                        }
                        // A free-form object: the document says nothing to differ from.
                        (None, None) => {}
                    }
                }
                for required in resolved.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                    if !map.contains_key(required) {
                        self.add(field, &resolved_at, Difference::MissingRequired { name: required.to_owned() });
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_free_form(schema: &Value) -> bool {
    schema.as_object().is_some_and(|m| m.keys().all(|k| k.starts_with("x-") || k == "description"))
}

/// The JSON type of a value, as a schema names it.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_fits(expected: &str, value: &Value) -> bool {
    match (expected, value) {
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        ("number", Value::Number(_)) => true,
        (expected, value) => expected == json_type(value),
    }
}

fn format_fits(format: &str, text: &str) -> bool {
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        // Other formats (uri, email…) are not checked: their values are more often personal.
        _ => true,
    }
}

/// An unlisted enum value, shown only when it looks like one (short, no spaces or digits runs
/// that could be an identifier): a server putting free text in an enum field must not leak it.
/// A value that is not a string, for an enum finding.
fn enum_text(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        other => format!("(a {} not shown: it does not look like an enum value)", json_type(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_of_difference_is_found_without_values() {
        let document = json!({"components": {"schemas": {
            "Id": {"type": "string", "pattern": "^\\d+$"},
            "Thing": {"type": "object", "required": ["id", "name"], "properties": {
                "id": {"$ref": "#/components/schemas/Id"},
                "name": {"type": "string"},
                "born": {"type": "string", "format": "date"},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "count": {"type": "integer"},
            }},
        }}});
        let schema = json!({"$ref": "#/components/schemas/Thing"});
        let mut comparer = Comparer::new(&document, "getThing");
        let answer = json!({"id": "X-9", "born": "12 May 1990", "kind": "c", "count": "3", "extra": "Jane Doe"});
        comparer.check(&answer, &schema, "$.answer", "");
        let kinds: Vec<&Difference> = comparer.findings.iter().map(|f| &f.difference).collect();
        assert_eq!(kinds.len(), 6, "{kinds:#?}");
        let text = format!("{:?}", comparer.findings);
        assert!(!text.contains("X-9") && !text.contains("1990") && !text.contains("Jane"), "no values: {text}");
        assert!(text.contains("EnumValue { value: \"‹value "), "a value the document does not know is a token: {text}");
        assert!(!text.contains("extra") && text.contains("‹field "), "so is a name: {text}");
    }
}
