//! Seasonal anomaly detection (S-H-ESD) over a window of air-quality
//! readings: the Rust twin of `../anomaly-c`, in the shape of the seed's
//! function (a `Function` over typed input and output, `register!`).
//!
//! The detector is the C library `lib/anomaly`, compiled by `build.rs` and
//! linked into this crate, so that both twins run the same arithmetic and
//! give the same results (see docs/anomaly.md).
//!
//! Input: the readings and their timestamps (strings or integers), columns
//! of equal lengths; a reading may be null (missing), which the detector
//! refuses:
//!
//! ```json
//! {"air_quality": [12.5, 13.0, 80.2, ...], "timestamp": ["2024-01-01T00:00:00Z", ...]}
//! ```
//!
//! Output: the same two columns plus `is_anomaly`, one boolean per reading.
//!
//! Configuration: `{"period": 24, "alpha": 0.05, "max_anoms": 0.1,
//! "direction": "both"}`; `period` (observations per season, an integer of
//! at least 2) is required, the others have these defaults.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_fn::*;

mod shesd;

/// A timestamp as given by the source: kept as is.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Timestamp {
    Integer(i64),
    Text(String),
}

#[derive(Deserialize)]
pub struct InputValue {
    air_quality: Vec<Option<f32>>,
    timestamp: Vec<Timestamp>,
}

#[derive(Serialize)]
pub struct OutputValue {
    air_quality: Vec<f32>,
    timestamp: Vec<Timestamp>,
    is_anomaly: Vec<bool>,
}

pub struct AnomalyDetection {
    params: shesd::Params,
}

fn config_error(message: String) -> Box<Error> {
    Box::new(Error::with_kind("invalid_config", message))
}

/// An optional number of the configuration, as a float.
fn number(config: &Value, key: &str, default: f32) -> Result<f32, Box<Error>> {
    match config.get(key) {
        None => Ok(default),
        Some(v) => match v.as_f64().map(|x| x as f32) {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(config_error(format!("{} must be a number", key))),
        },
    }
}

impl AnomalyDetection {
    /// Builds the detector from the node's configuration, `{"period": 24,
    /// "alpha": 0.05, "max_anoms": 0.1, "direction": "both"}`. It is read
    /// as a JSON value and checked by hand, so that every refusal is the C
    /// twin's (a null is not an absent key, for instance).
    pub fn new(config: Value) -> Result<Self, Box<Error>> {
        let defaults = shesd::Params::default();
        let period = match config.get("period").and_then(Value::as_f64) {
            Some(p) if p >= 2.0 && p <= 1e9 && p == p.floor() => p as usize,
            _ => return Err(config_error("period must be an integer of at least 2".to_string())),
        };
        let direction = match config.get("direction") {
            None => defaults.direction,
            Some(Value::String(name)) => shesd::parse_direction(name).map_err(config_error)?,
            Some(_) => return Err(config_error("direction must be pos, neg, or both".to_string())),
        };
        Ok(AnomalyDetection {
            params: shesd::Params {
                period,
                alpha: number(&config, "alpha", defaults.alpha)?,
                max_anoms: number(&config, "max_anoms", defaults.max_anoms)?,
                direction,
            },
        })
    }
}

impl Function<'_, InputValue, OutputValue> for AnomalyDetection {
    fn execute(&self, input: InputValue) -> Result<Box<OutputValue>, Box<Error>> {
        let InputValue { air_quality, timestamp } = input;
        if air_quality.len() != timestamp.len() {
            return Err(Box::new(Error::with_kind(
                "invalid_input",
                format!("air_quality has {} values but timestamp has {}", air_quality.len(), timestamp.len()),
            )));
        }
        // A missing reading is a NaN, which the detector refuses.
        let series: Vec<f32> = air_quality.iter().map(|x| x.unwrap_or(f32::NAN)).collect();
        let anomalies = shesd::detect(&series, &self.params).map_err(|e| Box::new(Error::with_kind(e.kind, e.message)))?;
        let mut is_anomaly = vec![false; series.len()];
        for &i in &anomalies {
            is_anomaly[i] = true;
        }
        debug!("{} of {} readings are anomalies", anomalies.len(), series.len());
        Ok(Box::new(OutputValue { air_quality: series, timestamp, is_anomaly }))
    }
}

register!(AnomalyDetection, AnomalyDetection::new);

#[cfg(test)]
mod tests {
    use super::*;

    const SERIES: [f32; 30] = [
        5.0, 9.0, 2.0, 9.0, 0.0, 6.0, 3.0, 8.0, 5.0, 18.0, 7.0, 8.0, 8.0, 0.0, 2.0, -5.0, 0.0, 5.0, 6.0, 7.0, 3.0,
        6.0, 1.0, 4.0, 4.0, 4.0, 30.0, 7.0, 5.0, 8.0,
    ];

    fn params(alpha: f32, max_anoms: f32, direction: shesd::Direction) -> shesd::Params {
        shesd::Params { period: 7, alpha, max_anoms, direction }
    }

    #[test]
    fn upstream_test_works() {
        let found = shesd::detect(&SERIES, &params(0.05, 0.2, shesd::Direction::Both)).unwrap();
        assert_eq!(found, [9, 15, 26]);
    }

    #[test]
    fn upstream_directions() {
        assert_eq!(shesd::detect(&SERIES, &params(0.05, 0.2, shesd::Direction::Pos)).unwrap(), [9, 26]);
        assert_eq!(shesd::detect(&SERIES, &params(0.05, 0.2, shesd::Direction::Neg)).unwrap(), [15]);
    }

    #[test]
    fn seed_parameters_work() {
        assert!(shesd::detect(&SERIES, &params(1.0, 0.5, shesd::Direction::Both)).is_ok());
    }

    #[test]
    fn invalid_input_is_an_error() {
        let short = shesd::detect(&SERIES[..13], &params(0.05, 0.1, shesd::Direction::Both)).unwrap_err();
        assert_eq!((short.kind, short.message.as_str()), ("invalid_input", "series must contain at least 2 periods"));
        let mut with_nan = SERIES;
        with_nan[3] = f32::NAN;
        let nan = shesd::detect(&with_nan, &params(0.05, 0.1, shesd::Direction::Both)).unwrap_err();
        assert_eq!(nan.message, "series contains NANs");
    }

    #[test]
    fn bad_config_is_refused() {
        for config in [r#"{"period": 1}"#, r#"{"period": 7, "max_anoms": null}"#, r#"{"period": 7, "direction": "up"}"#] {
            let error = AnomalyDetection::new(serde_json::from_str(config).unwrap()).err().unwrap();
            assert_eq!(error.kind(), Some("invalid_config"), "{}", config);
        }
    }
}
