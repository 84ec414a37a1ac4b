//! The exports that `register!(Type, constructor)` generates: the
//! configuration reaches the function through its constructor.

use serde::{Deserialize, Serialize, Serializer};
use sluice_fn::testing::{take, Record};
use sluice_fn::*;

#[derive(Deserialize)]
#[serde(default)]
struct Config {
    factor: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config { factor: 2 }
    }
}

struct Scale {
    factor: i64,
}

impl Scale {
    fn new(config: Config) -> Result<Self, Box<Error>> {
        if config.factor == 0 {
            return Err(Box::new(Error::with_kind(
                "invalid_config",
                "factor must not be 0",
            )));
        }
        Ok(Scale {
            factor: config.factor,
        })
    }
}

/// Borrows from the input document: `name` points into it.
#[derive(Deserialize)]
struct Input<'a> {
    name: &'a str,
    value: i64,
}

#[derive(Serialize)]
struct Output {
    name: String,
    value: Value,
}

/// A value that fails to serialise when negative.
struct Value(i64);

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 < 0 {
            return Err(serde::ser::Error::custom(
                "negative values cannot be written",
            ));
        }
        serializer.serialize_i64(self.0)
    }
}

impl<'a> Function<'a, Input<'a>, Output> for Scale {
    fn execute(&self, input: Input<'a>) -> Result<Box<Output>, Box<Error>> {
        Ok(Box::new(Output {
            name: input.name.to_owned(),
            value: Value(input.value * self.factor),
        }))
    }
}

register!(Scale, Scale::new);

/// Runs an export on `doc` as the host would; returns the status and record.
fn call(export: unsafe extern "C" fn(*const u8, usize) -> i32, doc: &str) -> (i32, Record) {
    let ptr = sluice_alloc(doc.len());
    // SAFETY: ptr is a fresh block of doc.len() bytes, freed with that size.
    let status = unsafe {
        std::ptr::copy_nonoverlapping(doc.as_ptr(), ptr, doc.len());
        let status = export(ptr, doc.len());
        sluice_free(ptr, doc.len());
        status
    };
    (status, take())
}

fn only_error(record: &Record) -> (&str, &str) {
    assert!(record.outputs.is_empty());
    assert_eq!(record.errors.len(), 1);
    (&record.errors[0].0, &record.errors[0].1)
}

// One test, because the instance is per thread and the steps depend on
// each other.
#[test]
fn configuration_lifecycle() {
    let (status, record) = call(sluice_execute, r#"{"name": "a", "value": 1}"#);
    assert_eq!(status, 1);
    assert_eq!(only_error(&record).0, "not_initialized");

    let (status, record) = call(sluice_init, r#"{"factor": "x"}"#);
    assert_eq!(status, 1);
    let (kind, message) = only_error(&record);
    assert_eq!(kind, "invalid_config");
    assert!(message.starts_with(
        "the configuration does not match the function's config type: invalid type: string"
    ));

    let (status, record) = call(sluice_init, r#"{"factor": 0}"#);
    assert_eq!(
        (status, only_error(&record)),
        (1, ("invalid_config", "factor must not be 0"))
    );

    assert_eq!(call(sluice_init, "{}"), (0, Record::default()));
    let (status, record) = call(sluice_execute, r#"{"name": "a", "value": 21}"#);
    assert_eq!(
        (status, record.outputs),
        (0, vec![br#"{"name":"a","value":42}"#.to_vec()])
    );

    assert_eq!(call(sluice_init, r#"{"factor": 3, "other": true}"#).0, 0);
    let (status, record) = call(sluice_execute, r#"{"name": "b", "value": 2}"#);
    assert_eq!(
        (status, record.outputs),
        (0, vec![br#"{"name":"b","value":6}"#.to_vec()])
    );

    let (status, record) = call(sluice_execute, r#"{"name": "c", "value": -1}"#);
    assert_eq!(status, 1);
    assert_eq!(
        only_error(&record),
        (
            "invalid_output",
            "the output cannot be written as JSON: negative values cannot be written"
        )
    );
}
