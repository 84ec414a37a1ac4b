//! Air-quality anomaly detection, the Rust twin of `../air-quality-c`.
//!
//! Input: a column of air-quality readings and the column of their
//! timestamps (strings or integers), of equal lengths:
//!
//! ```json
//! {"air_quality": [12.5, 13.0, 80.2], "timestamp": ["2024-01-01T00:00:00Z", ...]}
//! ```
//!
//! Output: the same two columns plus `is_anomaly`, one boolean per reading.
//!
//! The rule (the seasonal S-H-ESD detector comes later): a reading is an
//! anomaly when its modified z-score exceeds `threshold` (config, default
//! 3.5; Iglewicz and Hoaglin). With `m` the median of the window and `MAD`
//! the median of the absolute deviations `|x - m|`:
//!
//! - `z = 0.6745 (x - m) / MAD` when `MAD > 0`;
//! - otherwise `z = (x - m) / (1.253314 MeanAD)`, with `MeanAD` the mean of
//!   the absolute deviations, when that is > 0;
//! - otherwise all readings are equal and none is an anomaly.
//!
//! The readings are single-precision numbers; the statistics are computed in
//! double precision, in the same order as in the C twin, so that both flag
//! exactly the same readings.

use serde::{Deserialize, Serialize};
use sluice_fn::*;

/// A timestamp as given by the source: kept as is.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Timestamp {
    Integer(i64),
    Text(String),
}

#[derive(Deserialize)]
pub struct InputValue {
    air_quality: Vec<f32>,
    timestamp: Vec<Timestamp>,
}

#[derive(Serialize)]
pub struct OutputValue {
    air_quality: Vec<f32>,
    timestamp: Vec<Timestamp>,
    is_anomaly: Vec<bool>,
}

/// The node's configuration.
#[derive(Deserialize)]
#[serde(default)]
pub struct Config {
    /// Modified z-score above which a reading is an anomaly.
    threshold: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { threshold: 3.5 }
    }
}

pub struct AnomalyDetection {
    threshold: f64,
}

impl AnomalyDetection {
    /// Builds the detector from the node's configuration.
    pub fn new(config: Config) -> Result<Self, Box<Error>> {
        if !(config.threshold.is_finite() && config.threshold > 0.0) {
            return Err(Box::new(Error::with_kind(
                "invalid_config",
                "threshold must be a positive number",
            )));
        }
        Ok(AnomalyDetection {
            threshold: config.threshold,
        })
    }
}

impl Function<'_, InputValue, OutputValue> for AnomalyDetection {
    fn execute(&self, input: InputValue) -> Result<Box<OutputValue>, Box<Error>> {
        let InputValue {
            air_quality,
            timestamp,
        } = input;
        if air_quality.len() != timestamp.len() {
            return Err(Box::new(Error::with_kind(
                "invalid_input",
                format!(
                    "air_quality has {} values but timestamp has {}",
                    air_quality.len(),
                    timestamp.len()
                ),
            )));
        }
        if let Some(i) = air_quality.iter().position(|x| !x.is_finite()) {
            return Err(Box::new(Error::with_kind(
                "invalid_input",
                format!("air_quality[{}] is not a finite number", i),
            )));
        }
        let is_anomaly = flag_anomalies(&air_quality, self.threshold);
        let count = is_anomaly.iter().filter(|&&a| a).count();
        debug!("{} of {} readings are anomalies", count, air_quality.len());
        Ok(Box::new(OutputValue {
            air_quality,
            timestamp,
            is_anomaly,
        }))
    }
}

register!(AnomalyDetection, AnomalyDetection::new);

/// The median of `values`, which it sorts; `values` is not empty.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).expect("the values are finite"));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// One flag per reading: is its modified z-score above `threshold`?
fn flag_anomalies(readings: &[f32], threshold: f64) -> Vec<bool> {
    if readings.is_empty() {
        return Vec::new();
    }
    let values: Vec<f64> = readings.iter().map(|&x| f64::from(x)).collect();
    let m = median(&mut values.clone());
    let deviations: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    let mad = median(&mut deviations.clone());
    let mean_ad = deviations.iter().sum::<f64>() / deviations.len() as f64;
    values
        .iter()
        .map(|x| {
            let z = if mad > 0.0 {
                0.6745 * (x - m) / mad
            } else if mean_ad > 0.0 {
                (x - m) / (1.253314 * mean_ad)
            } else {
                0.0
            };
            z.abs() > threshold
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_the_spike() {
        let flags = flag_anomalies(&[10.0, 11.0, 10.5, 95.0, 10.2], 3.5);
        assert_eq!(flags, [false, false, false, true, false]);
    }

    #[test]
    fn constant_readings_have_no_anomaly() {
        assert_eq!(flag_anomalies(&[4.0, 4.0, 4.0], 3.5), [false, false, false]);
    }

    #[test]
    fn zero_mad_falls_back_to_mean_deviation() {
        assert_eq!(
            flag_anomalies(&[4.0, 4.0, 4.0, 4.0, 9.0], 3.5),
            [false, false, false, false, true]
        );
    }
}
