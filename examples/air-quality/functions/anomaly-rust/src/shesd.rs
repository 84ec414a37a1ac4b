//! The binding to the C detector of lib/anomaly (shesd.h), compiled and
//! linked by build.rs: a safe `detect` over a slice.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};

/// Which deviations count (shesd.h: ShesdDirection).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // the variants are made by C (shesd_parse_direction)
pub enum Direction {
    Both = 0,
    Pos = 1,
    Neg = 2,
}

/// The detector's parameters (shesd.h: ShesdParams).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub period: usize,
    pub alpha: f32,
    pub max_anoms: f32,
    pub direction: Direction,
}

#[repr(C)]
struct ShesdError {
    status: c_int,
    message: *const c_char,
}

const SHESD_OK: c_int = 0;
const SHESD_INVALID_PARAMS: c_int = 1;

extern "C" {
    fn shesd_defaults(period: usize) -> Params;
    fn shesd_parse_direction(name: *const c_char, len: usize, out: *mut Direction, err: *mut ShesdError) -> c_int;
    fn shesd_work_bytes(n: usize, period: usize) -> usize;
    fn shesd_detect(
        x: *const f32,
        n: usize,
        params: *const Params,
        work: *mut c_void,
        anomalies: *mut usize,
        count: *mut usize,
        err: *mut ShesdError,
    ) -> c_int;
}

/// An error of the detector, with the function error kind it maps to.
#[derive(Debug)]
pub struct DetectError {
    pub kind: &'static str,
    pub message: String,
}

impl Default for Params {
    fn default() -> Self {
        // SAFETY: a pure function of its argument.
        unsafe { shesd_defaults(0) }
    }
}

fn no_error() -> ShesdError {
    ShesdError { status: SHESD_OK, message: std::ptr::null() }
}

fn message(err: &ShesdError) -> String {
    // SAFETY: on failure the detector sets a static NUL-terminated string.
    unsafe { CStr::from_ptr(err.message) }.to_string_lossy().into_owned()
}

/// Reads "both", "pos" or "neg".
pub fn parse_direction(name: &str) -> Result<Direction, String> {
    let mut direction = Direction::Both;
    let mut err = no_error();
    // SAFETY: name is valid for its length; out and err are valid.
    let status = unsafe { shesd_parse_direction(name.as_ptr().cast(), name.len(), &mut direction, &mut err) };
    if status == SHESD_OK {
        Ok(direction)
    } else {
        Err(message(&err))
    }
}

/// The indices of the anomalies of `series`, ascending.
pub fn detect(series: &[f32], params: &Params) -> Result<Vec<usize>, DetectError> {
    let n = series.len();
    // SAFETY: a pure function of its arguments.
    let bytes = unsafe { shesd_work_bytes(n, params.period) };
    if bytes == 0 {
        return Err(DetectError { kind: "invalid_input", message: "series is too long".to_string() });
    }
    let mut work = vec![0u64; (bytes + 7) / 8]; // aligned for a double
    let mut anomalies = vec![0usize; n.max(1)];
    let mut count = 0usize;
    let mut err = no_error();
    // SAFETY: every pointer is valid for the sizes shesd.h asks for.
    let status = unsafe {
        shesd_detect(
            series.as_ptr(),
            n,
            params,
            work.as_mut_ptr().cast(),
            anomalies.as_mut_ptr(),
            &mut count,
            &mut err,
        )
    };
    if status != SHESD_OK {
        let kind = if status == SHESD_INVALID_PARAMS { "invalid_config" } else { "invalid_input" };
        return Err(DetectError { kind, message: message(&err) });
    }
    anomalies.truncate(count);
    Ok(anomalies)
}
