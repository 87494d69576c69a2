//! The generated Rust types say what the OpenAPI document says: each component schema of the
//! effective document is compared with the JSON Schema schemars derives for its generated type
//! (feature `schemars`). Compared: property names, required vs optional, JSON types,
//! nullability, enum values, array item types and formats. What the crate changes on purpose is
//! listed once, in [`INTENDED`] and the rules of [`Comparison`]; any other difference fails with
//! the type, the property and both sides.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The differences the crate makes on purpose, each with why: the one reviewed place. The
/// comparison applies them as rules; anything else is a failure.
const INTENDED: &[(&str, &str)] = &[
    ("an optional property may also be null", "it is `Option<T>`: absent and null both read as `None`, and `None` is not sent"),
    ("`number` without a format is `format: double`; `integer` without one is `int64`", "they are `f64` and `i64`"),
    (
        "an opened enum lists its known values and says others may arrive",
        "the SDK keeps an unknown value (`Unknown(String)`) instead of failing on it",
    ),
    (
        "constraints (pattern, minLength, minimum) are not compared",
        "they are checked on what is sent, never on what is received: Hero's answers must not fail on them; `Id` keeps its pattern in its own schema",
    ),
    ("a free-form schema (no type) matches anything", "the document says nothing to compare"),
];

/// Walks both sides; see [`INTENDED`] for what it allows.
struct Comparison<'a> {
    generated: &'a Value,
    differences: Vec<String>,
}

/// A schema's type, nullability, and the component it names if it is a reference.
#[derive(Debug, Default)]
struct Shape<'a> {
    reference: Option<String>,
    json_type: Option<String>,
    nullable: bool,
    schema: Option<&'a Value>,
}

fn doc_shape(schema: &Value) -> Shape<'_> {
    let mut shape = Shape { nullable: schema.get("nullable").and_then(Value::as_bool) == Some(true), ..Shape::default() };
    let mut schema = schema;
    if let Some([only]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        schema = only;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        shape.reference = reference.rsplit('/').next().map(str::to_owned);
        return shape;
    }
    shape.json_type =
        schema.get("type").and_then(Value::as_str).map(str::to_owned).or_else(|| schema.get("properties").map(|_| "object".to_owned()));
    shape.nullable |= schema.get("nullable").and_then(Value::as_bool) == Some(true);
    shape.schema = Some(schema);
    shape
}

fn generated_shape(schema: &Value) -> Shape<'_> {
    let mut shape = Shape::default();
    let mut schema = schema;
    if let Some(members) = schema.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = members.iter().filter(|m| m.get("type").and_then(Value::as_str) != Some("null")).collect();
        if let [only] = non_null[..] {
            shape.nullable = members.len() > 1;
            schema = only;
        }
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        shape.reference = reference.rsplit('/').next().map(str::to_owned);
        return shape;
    }
    match schema.get("type") {
        Some(Value::String(t)) => shape.json_type = Some(t.clone()),
        Some(Value::Array(types)) => {
            shape.nullable = types.iter().any(|t| t == "null");
            shape.json_type = types.iter().filter_map(Value::as_str).find(|t| *t != "null").map(str::to_owned);
        }
        _ => shape.json_type = schema.get("properties").map(|_| "object".to_owned()),
    }
    shape.schema = Some(schema);
    shape
}

impl Comparison<'_> {
    fn differ(&mut self, at: &str, what: &str, document: impl std::fmt::Debug, generated: impl std::fmt::Debug) {
        self.differences.push(format!("{at}: {what}: the document says {document:?}, the generated type says {generated:?}"));
    }

    fn generated_def(&self, name: &str) -> Option<&Value> {
        self.generated.get("$defs").and_then(|d| d.get(name))
    }

    /// Compares a property (or item) schema of both sides.
    fn compare(&mut self, at: &str, document: &Value, generated: &Value, optional: bool) {
        let (d, g) = (doc_shape(document), generated_shape(generated));
        if d.nullable != g.nullable && !(optional && g.nullable && !d.nullable) {
            self.differ(at, "nullable", d.nullable, g.nullable);
        }
        match (&d.reference, &g.reference) {
            (Some(a), Some(b)) if a == b => return,
            (Some(a), Some(b)) => return self.differ(at, "type", a, b),
            (Some(a), None) => return self.differ(at, "type", a, g.json_type.as_deref().unwrap_or("(inline)")),
            // An inline schema generated as its own named type: compare it here.
            (None, Some(b)) => {
                if let Some(def) = self.generated_def(b).cloned() {
                    return self.compare_inline(at, d.schema.unwrap_or(document), &def, optional, d.nullable);
                }
                return self.differ(at, "type", d.json_type.as_deref().unwrap_or("(free-form)"), b);
            }
            (None, None) => {}
        }
        let (Some(ds), Some(gs)) = (d.schema, g.schema) else { return };
        self.compare_inline(at, ds, gs, optional, d.nullable);
    }

    fn compare_inline(&mut self, at: &str, ds: &Value, gs: &Value, _optional: bool, _nullable: bool) {
        let (d, g) = (doc_shape(ds), generated_shape(gs));
        let Some(doc_type) = d.json_type.clone() else { return };
        if g.json_type.as_deref() != Some(doc_type.as_str()) {
            return self.differ(at, "JSON type", &doc_type, g.json_type.as_deref().unwrap_or("(any)"));
        }
        let (ds, gs) = (d.schema.unwrap_or(ds), g.schema.unwrap_or(gs));
        let doc_enum: Option<BTreeSet<String>> =
            ds.get("enum").and_then(Value::as_array).map(|v| v.iter().map(ToString::to_string).collect());
        let gen_enum: Option<BTreeSet<String>> =
            gs.get("enum").and_then(Value::as_array).map(|v| v.iter().map(ToString::to_string).collect());
        if doc_enum != gen_enum {
            self.differ(at, "enum values", doc_enum, gen_enum);
        }
        let format = |s: &Value| s.get("format").and_then(Value::as_str).map(str::to_owned);
        let (doc_format, gen_format) = (format(ds), format(gs));
        let default_format = match doc_type.as_str() {
            "number" => Some("double".to_owned()),
            "integer" => Some("int64".to_owned()),
            _ => None,
        };
        let expected_format = doc_format.clone().or(default_format);
        if expected_format != gen_format {
            self.differ(at, "format", doc_format, gen_format);
        }
        match doc_type.as_str() {
            "array" => {
                if let (Some(di), Some(gi)) = (ds.get("items"), gs.get("items")) {
                    self.compare(&format!("{at}[]"), di, gi, false);
                }
            }
            "object" => self.compare_object(at, ds, gs),
            _ => {}
        }
    }

    fn compare_object(&mut self, at: &str, ds: &Value, gs: &Value) {
        let properties = |s: &Value| s.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        let required = |s: &Value| -> BTreeSet<String> {
            s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
        };
        let (dp, gp) = (properties(ds), properties(gs));
        let (dr, gr) = (required(ds), required(gs));
        let names: BTreeSet<&String> = dp.keys().chain(gp.keys()).collect();
        for name in names {
            let here = format!("{at}.{name}");
            match (dp.get(name), gp.get(name)) {
                (Some(d), Some(g)) => {
                    if dr.contains(name) != gr.contains(name) {
                        self.differ(&here, "required", dr.contains(name), gr.contains(name));
                    }
                    self.compare(&here, d, g, !dr.contains(name));
                }
                (Some(_), None) => self.differ(&here, "property", "present", "absent"),
                (None, Some(_)) => self.differ(&here, "property", "absent", "present"),
                (None, None) => {}
            }
        }
        if let (Some(d), Some(g)) =
            (ds.get("additionalProperties").filter(|a| a.is_object()), gs.get("additionalProperties").filter(|a| a.is_object()))
        {
            self.compare(&format!("{at}.*"), d, g, false);
        }
    }
}

/// Every difference between the document's components and the generated types' schemas.
fn differences(document: &Value, generated: &[(&'static str, schemars::Schema)]) -> (usize, Vec<String>) {
    let mut all = Vec::new();
    let components = document.pointer("/components/schemas").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut compared = 0;
    for (name, schema) in generated {
        let Some(doc) = components.get(*name) else { continue };
        let generated = schema.as_value();
        let mut comparison = Comparison { generated, differences: Vec::new() };
        comparison.compare_inline(name, doc, generated, false, false);
        compared += 1;
        all.extend(comparison.differences);
    }
    (compared, all)
}

fn document() -> Value {
    yaml_serde::from_str(include_str!("../../openapi/hero-public-api.yaml")).unwrap()
}

#[test]
fn every_generated_type_says_what_the_document_says() {
    let generated = hero_health::component_schemas();
    let (compared, differences) = differences(&document(), &generated);
    let components = document().pointer("/components/schemas").and_then(Value::as_object).map_or(0, |c| c.len());
    assert!(compared > 100, "{compared} of {components} components compared");
    let rules: Vec<String> = INTENDED.iter().map(|(rule, why)| format!("- {rule}: {why}")).collect();
    assert!(
        differences.is_empty(),
        "{} unintended difference(s) between the document and the generated types:\n{}\n\nDifferences made on purpose (tests/it/type_fidelity.rs, INTENDED):\n{}",
        differences.len(),
        differences.join("\n"),
        rules.join("\n")
    );
    println!("{compared} types compared with their components; {} intended rules", INTENDED.len());
}

/// An edit of the document, for the failure cases.
type Change = fn(&mut Value);

/// The comparison is not a test that cannot fail: one changed property type, required flag and
/// enum value each fail it, naming the type, the property and both sides.
#[test]
fn a_changed_type_required_flag_or_enum_value_is_caught() {
    let generated = hero_health::component_schemas();
    let cases: [(&str, Change, &str); 3] = [
        (
            "type",
            |d| d["components"]["schemas"]["Appointment"]["properties"]["reason"]["type"] = "integer".into(),
            "Appointment.reason: JSON type: the document says \"integer\", the generated type says \"string\"",
        ),
        (
            "required",
            |d| {
                let required = d["components"]["schemas"]["Appointment"]["required"].as_array_mut().unwrap();
                required.retain(|r| r != "id");
            },
            "Appointment.id: required: the document says false, the generated type says true",
        ),
        ("enum", |d| d["components"]["schemas"]["Title"]["enum"][0] = "Sir".into(), "Title: enum values: the document says"),
    ];
    for (what, change, expected) in cases {
        let mut document = document();
        change(&mut document);
        let (_, differences) = differences(&document, &generated);
        assert_eq!(differences.len(), 1, "{what}: {differences:#?}");
        assert!(differences[0].starts_with(expected), "{what}: {}", differences[0]);
    }
}

#[test]
fn id_and_opened_enums_have_faithful_schemas() {
    let schemas: BTreeMap<&str, schemars::Schema> = hero_health::component_schemas().into_iter().collect();
    let id = schemars::schema_for!(hero_health::Id);
    assert_eq!(id.get("pattern").and_then(Value::as_str), Some("^\\d+$"));
    assert_eq!(id.get("type").and_then(Value::as_str), Some("string"));
    let title = &schemas["Title"];
    assert_eq!(title.get("type").and_then(Value::as_str), Some("string"));
    assert!(title.get("description").and_then(Value::as_str).unwrap().contains("may send others"));
}
