//! Write Sluice data-processing functions in Rust.
//!
//! A function turns one input document into one output document. Both are
//! plain Rust types that serde can read and write; the SDK does the JSON and
//! the WebAssembly ABI (`docs/abi.md`, version 1) for you:
//!
//! ```ignore
//! use serde::{Deserialize, Serialize};
//! use sluice_fn::*;
//!
//! #[derive(Deserialize)]
//! pub struct InputValue { values: Vec<f32> }
//!
//! #[derive(Serialize)]
//! pub struct OutputValue { total: f32 }
//!
//! pub struct Sum;
//!
//! impl Function<'_, InputValue, OutputValue> for Sum {
//!     fn execute(&self, input: InputValue) -> Result<Box<OutputValue>, Box<Error>> {
//!         info!("summing {} values", input.values.len());
//!         Ok(Box::new(OutputValue { total: input.values.iter().sum() }))
//!     }
//! }
//!
//! register!(Sum);
//! ```
//!
//! Build it as a `cdylib` with
//! `cargo build --release --target wasm32-unknown-unknown`. A function that
//! needs the pipeline's configuration is built from it by a constructor:
//! `register!(Detector, Detector::new)`, see [`register!`]. The user guide is
//! `docs/sdk.md`.
//!
//! ABI v2 (binary columnar batches read in place, for speed): implement
//! [`BatchFunction`] over a [`Batch`], return an [`Output`], and register it
//! with [`register_batch!`] instead of [`register!`].

mod batch;
mod error;
mod host;
#[doc(hidden)]
pub mod private;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use batch::{Batch, Column, ColumnType, Output};
pub use error::Error;

use serde::{Deserialize, Serialize};

/// The version of the Sluice function ABI this SDK implements.
pub const ABI_VERSION: i32 = 1;

/// A data-processing function: one input document in, one output document
/// out.
///
/// `I` is read from the input JSON and `O` written as the output JSON. An
/// input that does not match `I` is reported by the SDK as an error of kind
/// `invalid_input` without calling `execute`.
pub trait Function<'a, I: Deserialize<'a>, O: Serialize> {
    /// Computes the output for one input, or fails with an [`Error`].
    fn execute(&self, input: I) -> Result<Box<O>, Box<Error>>;
}

/// The ABI version of modules registered with [`register_batch!`].
pub const BATCH_ABI_VERSION: i32 = 2;

/// A function of ABI v2: a window of records in as typed columns read in
/// place ([`Batch`]), the columns it adds or changes, or new rows, out
/// ([`Output`]). Register it with [`register_batch!`].
pub trait BatchFunction {
    /// Computes the output for one window, or fails with an [`Error`].
    fn execute(&mut self, input: &Batch<'_>) -> Result<Output, Error>;
}

/// The level of a log line sent with [`log`] or the logging macros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// Sends one log line to the host, which adds it to Sluice's log with the
/// function's name.
pub fn log(level: Level, message: &str) {
    host::log(level, message);
}

/// Logs a `format!`-style message at debug level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log($crate::Level::Debug, &::std::format!($($arg)+)) };
}

/// Logs a `format!`-style message at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log($crate::Level::Info, &::std::format!($($arg)+)) };
}

/// Logs a `format!`-style message at warning level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log($crate::Level::Warn, &::std::format!($($arg)+)) };
}

/// Logs a `format!`-style message at error level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log($crate::Level::Error, &::std::format!($($arg)+)) };
}

/// Generates the WebAssembly exports of ABI v1 for a [`Function`].
///
/// Use it once per module, at the top level of the `cdylib` crate.
///
/// - `register!(Type)`: `Type` is a unit struct (`pub struct Type;`). The
///   module has no `sluice_init`: the function takes no configuration.
/// - `register!(Type, constructor)`: `constructor` is a function
///   `fn(C) -> Result<Type, Box<Error>>` where `C` is any `Deserialize` type,
///   read from the node's `config` object (`{}` when the pipeline gives none,
///   so give `C` serde defaults). It runs once per instance, in
///   `sluice_init`; a config that does not match `C` is an error of kind
///   `invalid_config`, and an error from the constructor is reported as is.
#[macro_export]
macro_rules! register {
    ($function:path) => {
        $crate::__register_common!();

        /// ABI v1: runs the function on the input document at `ptr`.
        ///
        /// # Safety
        /// `ptr..ptr + len` must be readable (the host passes a block from
        /// `sluice_alloc`).
        #[no_mangle]
        pub unsafe extern "C" fn sluice_execute(ptr: *const u8, len: usize) -> i32 {
            $crate::private::execute(&$function, $crate::private::bytes(ptr, len))
        }
    };
    ($function:ty, $constructor:expr) => {
        $crate::__register_common!();

        ::std::thread_local! {
            static SLUICE_INSTANCE: $crate::private::Instance<$function> =
                ::std::default::Default::default();
        }

        /// ABI v1: builds the function from the configuration at `ptr`.
        ///
        /// # Safety
        /// As for `sluice_execute`.
        #[no_mangle]
        pub unsafe extern "C" fn sluice_init(ptr: *const u8, len: usize) -> i32 {
            let config = $crate::private::bytes(ptr, len);
            SLUICE_INSTANCE.with(|instance| instance.init($constructor, config))
        }

        /// ABI v1: runs the function on the input document at `ptr`.
        ///
        /// # Safety
        /// `ptr..ptr + len` must be readable (the host passes a block from
        /// `sluice_alloc`).
        #[no_mangle]
        pub unsafe extern "C" fn sluice_execute(ptr: *const u8, len: usize) -> i32 {
            let input = $crate::private::bytes(ptr, len);
            SLUICE_INSTANCE.with(|instance| instance.execute(input))
        }
    };
}

/// The exports that do not depend on the function (an implementation detail
/// of [`register!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __register_common {
    () => {
        /// ABI v1: the ABI version this module implements.
        #[no_mangle]
        pub extern "C" fn sluice_abi_version() -> i32 {
            $crate::ABI_VERSION
        }

        /// ABI v1: allocates `size` bytes for the host; 0 on failure.
        #[no_mangle]
        pub extern "C" fn sluice_alloc(size: usize) -> *mut u8 {
            $crate::private::alloc(size)
        }

        /// ABI v1: frees a block from `sluice_alloc`.
        ///
        /// # Safety
        /// `ptr` and `size` must be those of one live `sluice_alloc` block.
        #[no_mangle]
        pub unsafe extern "C" fn sluice_free(ptr: *mut u8, size: usize) {
            $crate::private::free(ptr, size)
        }
    };
}

/// Generates the WebAssembly exports of ABI v2 for a [`BatchFunction`]:
/// `sluice_abi_version` (2), `sluice_alloc` (8-byte aligned blocks),
/// `sluice_free`, `sluice_execute` and, with a constructor, `sluice_init`.
///
/// - `register_batch!(Type)`: `Type` is a unit struct; no configuration.
/// - `register_batch!(Type, constructor)`: `constructor` is a function
///   `fn(C) -> Result<Type, E>` where `C` is any `Deserialize` type read from
///   the node's `config` object (`{}` when there is none) and `E` is
///   [`Error`] or `Box<Error>`; it runs once per instance, in `sluice_init`.
///
/// An input that is not a valid batch is refused with kind `invalid_input`
/// without calling `execute`. Use it once per module, instead of
/// [`register!`].
#[macro_export]
macro_rules! register_batch {
    ($function:path) => {
        $crate::register_batch!($function, |_: $crate::private::NoConfig| {
            ::std::result::Result::Ok::<_, $crate::Error>($function)
        });
    };
    ($function:ty, $constructor:expr) => {
        ::std::thread_local! {
            static SLUICE_BATCH_INSTANCE: $crate::private::BatchInstance<$function> =
                ::std::default::Default::default();
        }

        /// ABI v2: the ABI version this module implements.
        #[no_mangle]
        pub extern "C" fn sluice_abi_version() -> i32 {
            $crate::BATCH_ABI_VERSION
        }

        /// ABI v2: allocates `size` bytes (8-byte aligned) for the host; 0
        /// on failure.
        #[no_mangle]
        pub extern "C" fn sluice_alloc(size: usize) -> *mut u8 {
            $crate::private::alloc8(size)
        }

        /// ABI v2: frees a block from `sluice_alloc`.
        ///
        /// # Safety
        /// `ptr` and `size` must be those of one live `sluice_alloc` block.
        #[no_mangle]
        pub unsafe extern "C" fn sluice_free(ptr: *mut u8, size: usize) {
            $crate::private::free8(ptr, size)
        }

        /// ABI v2: builds the function from the configuration at `ptr`.
        ///
        /// # Safety
        /// `ptr..ptr + len` must be readable.
        #[no_mangle]
        pub unsafe extern "C" fn sluice_init(ptr: *const u8, len: usize) -> i32 {
            let config = $crate::private::bytes(ptr, len);
            SLUICE_BATCH_INSTANCE.with(|instance| instance.init($constructor, config))
        }

        /// ABI v2: runs the function on the input batch at `ptr`.
        ///
        /// # Safety
        /// `ptr..ptr + len` must be readable (the host passes a block from
        /// `sluice_alloc`).
        #[no_mangle]
        pub unsafe extern "C" fn sluice_execute(ptr: *const u8, len: usize) -> i32 {
            let input = $crate::private::bytes(ptr, len);
            SLUICE_BATCH_INSTANCE.with(|instance| instance.execute(input))
        }
    };
}
