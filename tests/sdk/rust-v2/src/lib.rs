//! Two functions of ABI v2 (`register_batch!`), the Rust twins of the C
//! guests tests/e2e/abi2/flag.c and count.c: `sluice fn test` and `sluice
//! fn run` must give the same results for both (tests/sdk/run.sh).
//!
//! - `flag` (default build): reads the `value` column (i64 or f64) and
//!   returns one column of each type, merged into the input records:
//!   `is_anomaly` (value > threshold, from the config, default 100),
//!   `double` (value * 2, null where value is null), `label` ("high" for
//!   anomalies), `index` (the row), `time` (the input's timestamp plus one
//!   second, when there is such a column) and `extra` (json `{"row":N}`).
//!   A value of 666 fails the call (kind bad_value); 777 panics (a trap).
//! - `count` (feature `count`): new rows, one per window: `n` the window's
//!   length and `total` the sum of its `value` column.

use serde::Deserialize;
use sluice_fn::*;

#[derive(Deserialize)]
#[serde(default)]
pub struct Config {
    threshold: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { threshold: 100.0 }
    }
}

pub struct Flag {
    threshold: f64,
}

impl Flag {
    pub fn new(config: Config) -> Result<Flag, Error> {
        Ok(Flag {
            threshold: config.threshold,
        })
    }
}

impl BatchFunction for Flag {
    fn execute(&mut self, input: &Batch<'_>) -> Result<Output, Error> {
        let value = input
            .require("value", &[ColumnType::I64, ColumnType::F64])
            .map_err(|_| Error::with_kind("invalid_input", "value must be a column of numbers"))?;
        let values: Vec<Option<f64>> = value.numbers().collect();
        for (row, v) in values.iter().enumerate() {
            match v {
                Some(v) if *v == 666.0 => {
                    return Err(Error::with_kind("bad_value", format!("row {} holds 666", row)))
                }
                Some(v) if *v == 777.0 => panic!("row {} holds 777", row),
                _ => {}
            }
        }
        let anomaly: Vec<bool> = values
            .iter()
            .map(|v| matches!(v, Some(v) if *v > self.threshold))
            .collect();
        let mut out = Output::update(input);
        out.add_bool("is_anomaly", anomaly.iter().map(|&a| Some(a)))?
            .add_f64("double", values.iter().map(|v| v.map(|v| v * 2.0)))?
            .add_str("label", anomaly.iter().map(|&a| if a { Some("high") } else { None }))?
            .add_i64("index", (0..input.rows() as i64).map(Some))?;
        if let Some(time) = input.column("time").filter(|c| c.ty() == ColumnType::Timestamp) {
            out.add_timestamp("time", time.timestamps().map(|t| t.map(|t| t + 1_000_000_000)))?;
        }
        out.add_json("extra", (0..input.rows()).map(|r| Some(format!("{{\"row\":{}}}", r))))?;
        Ok(out)
    }
}

pub struct Count;

impl BatchFunction for Count {
    fn execute(&mut self, input: &Batch<'_>) -> Result<Output, Error> {
        let total: f64 = input
            .column("value")
            .map(|c| c.numbers().flatten().sum())
            .unwrap_or(0.0);
        debug!("{} rows", input.rows());
        let mut out = Output::new_rows(1);
        out.add_i64("n", [Some(input.rows() as i64)])?
            .add_f64("total", [Some(total)])?;
        Ok(out)
    }
}

#[cfg(not(feature = "count"))]
register_batch!(Flag, Flag::new);

#[cfg(feature = "count")]
register_batch!(Count);
