//! A function in the exact shape of a Punch `punch_api` function: a unit
//! struct, `Function<'_, InputValue, OutputValue>`, `register!(Type)`. Built
//! for wasm32 it is tested with `sluice fn test` (../punch_cases.yaml);
//! natively, `tests/unit_struct.rs` calls the exports that `register!`
//! generated.
//!
//! Input `{"values": [f32...], "fail": KIND, "panic": true}` (`fail`
//! optional: fail with that error kind, none when empty; `panic` optional);
//! output `{"mean": f32, "count": n}`.

use serde::{Deserialize, Serialize};
use sluice_fn::*;

#[derive(Deserialize)]
pub struct InputValue {
    values: Vec<f32>,
    #[serde(default)]
    fail: Option<String>,
    #[serde(default)]
    panic: bool,
}

#[derive(Serialize)]
pub struct OutputValue {
    mean: f32,
    count: usize,
}

pub struct Mean;

impl Function<'_, InputValue, OutputValue> for Mean {
    fn execute(&self, input: InputValue) -> Result<Box<OutputValue>, Box<Error>> {
        match input.fail.as_deref() {
            Some("") => return Err(Box::new(Error::new("asked to fail"))),
            Some(kind) => return Err(Box::new(Error::with_kind(kind, "asked to fail"))),
            None => {}
        }
        if input.panic {
            panic!("asked to panic");
        }
        if input.values.is_empty() {
            return Err(Box::new(Error::with_kind("invalid_input", "no values")));
        }
        info!("mean of {} values", input.values.len());
        let sum: f32 = input.values.iter().sum();
        Ok(Box::new(OutputValue {
            mean: sum / input.values.len() as f32,
            count: input.values.len(),
        }))
    }
}

register!(Mean);
