//! The runtime behind [`register!`](crate::register): allocation, JSON
//! conversion and error reporting. Not a public API: only the code that the
//! macro generates calls it.

use crate::{host, Batch, BatchFunction, Error, Function};
use serde::{Deserialize, Serialize};
use std::alloc::{self, Layout};
use std::cell::RefCell;

/// Layout of a `sluice_alloc` block. A zero-sized request gets one byte, so
/// that the host always receives a valid, non-null pointer.
fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.max(1), 1).ok()
}

/// `sluice_alloc`: `size` bytes, or null when memory is exhausted.
pub fn alloc(size: usize) -> *mut u8 {
    match layout(size) {
        // SAFETY: the layout has a non-zero size.
        Some(layout) => unsafe { alloc::alloc(layout) },
        None => std::ptr::null_mut(),
    }
}

/// `sluice_free`.
///
/// # Safety
/// `ptr` must come from [`alloc()`] with the same `size`, and not be freed yet.
pub unsafe fn free(ptr: *mut u8, size: usize) {
    if let (false, Some(layout)) = (ptr.is_null(), layout(size)) {
        alloc::dealloc(ptr, layout);
    }
}

/// The `len` bytes at `ptr`, as passed by the host.
///
/// # Safety
/// `ptr..ptr + len` must be readable for the lifetime `'a` (the call).
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len)
    }
}

/// Runs `function` on the JSON `input` and reports the result to the host;
/// returns the ABI status.
pub fn execute<'a, F, I, O>(function: &F, input: &'a [u8]) -> i32
where
    F: Function<'a, I, O>,
    I: Deserialize<'a>,
    O: Serialize,
{
    install_panic_hook();
    let output = serde_json::from_slice::<I>(input)
        .map_err(|err| {
            Box::new(Error::with_kind(
                "invalid_input",
                format!(
                    "the input does not match the function's input type: {}",
                    err
                ),
            ))
        })
        .and_then(|input| function.execute(input))
        .and_then(|output| {
            serde_json::to_vec(&*output).map_err(|err| {
                Box::new(Error::with_kind(
                    "invalid_output",
                    format!("the output cannot be written as JSON: {}", err),
                ))
            })
        });
    report(output)
}

/// Sends a result to the host: the output document, or the error.
fn report(result: Result<Vec<u8>, Box<Error>>) -> i32 {
    match result {
        Ok(doc) => {
            host::output(&doc);
            0
        }
        Err(err) => {
            host::error(err.kind().unwrap_or(""), err.message());
            1
        }
    }
}

/// The function of a module registered with a constructor: built by
/// `sluice_init`, used by every `sluice_execute` of the instance.
pub struct Instance<T> {
    function: RefCell<Option<T>>,
}

impl<T> Default for Instance<T> {
    /// Not built yet.
    fn default() -> Self {
        Instance {
            function: RefCell::new(None),
        }
    }
}

impl<T> Instance<T> {
    /// `sluice_init`: reads the configuration and builds the function.
    pub fn init<'c, C, N>(&self, constructor: N, config: &'c [u8]) -> i32
    where
        C: Deserialize<'c>,
        N: FnOnce(C) -> Result<T, Box<Error>>,
    {
        install_panic_hook();
        let built = serde_json::from_slice::<C>(config)
            .map_err(|err| {
                Box::new(Error::with_kind(
                    "invalid_config",
                    format!(
                        "the configuration does not match the function's config type: {}",
                        err
                    ),
                ))
            })
            .and_then(constructor);
        match built {
            Ok(function) => {
                *self.function.borrow_mut() = Some(function);
                0
            }
            Err(err) => report(Err(err)),
        }
    }

    /// `sluice_execute`: runs the function built by [`Instance::init`].
    pub fn execute<'a, I, O>(&self, input: &'a [u8]) -> i32
    where
        T: Function<'a, I, O>,
        I: Deserialize<'a>,
        O: Serialize,
    {
        match &*self.function.borrow() {
            Some(function) => execute(function, input),
            None => report(Err(Box::new(Error::with_kind(
                "not_initialized",
                "sluice_execute was called before a successful sluice_init",
            )))),
        }
    }
}

/// On wasm32 a panic aborts (traps) without a word: send its message to the
/// host's log first, so that the trap can be explained.
fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                crate::log(crate::Level::Error, &format!("panic: {}", info))
            }))
        });
    }
}

/// Layout of a `sluice_alloc` block of ABI v2: 8-byte aligned, so that a
/// batch's arrays are aligned in memory.
fn layout8(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.max(1), 8).ok()
}

/// `sluice_alloc` of ABI v2: `size` bytes, 8-byte aligned, or null.
pub fn alloc8(size: usize) -> *mut u8 {
    match layout8(size) {
        // SAFETY: the layout has a non-zero size.
        Some(layout) => unsafe { alloc::alloc(layout) },
        None => std::ptr::null_mut(),
    }
}

/// `sluice_free` of ABI v2.
///
/// # Safety
/// `ptr` must come from [`alloc8()`] with the same `size`, and not be freed yet.
pub unsafe fn free8(ptr: *mut u8, size: usize) {
    if let (false, Some(layout)) = (ptr.is_null(), layout8(size)) {
        alloc::dealloc(ptr, layout);
    }
}

/// The configuration of a function registered without a constructor:
/// anything is accepted and ignored.
pub struct NoConfig;

impl<'de> Deserialize<'de> for NoConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| NoConfig)
    }
}

/// The function of a module of ABI v2, built by `sluice_init`.
pub struct BatchInstance<T> {
    function: RefCell<Option<T>>,
}

impl<T> Default for BatchInstance<T> {
    fn default() -> Self {
        BatchInstance {
            function: RefCell::new(None),
        }
    }
}

impl<T: BatchFunction> BatchInstance<T> {
    /// `sluice_init`: reads the configuration and builds the function.
    pub fn init<'c, C, N, E>(&self, constructor: N, config: &'c [u8]) -> i32
    where
        C: Deserialize<'c>,
        N: FnOnce(C) -> Result<T, E>,
        Box<Error>: From<E>,
    {
        install_panic_hook();
        self.init_with(|| {
            let config = serde_json::from_slice::<C>(config).map_err(|err| {
                Box::new(Error::with_kind(
                    "invalid_config",
                    format!(
                        "the configuration does not match the function's config type: {}",
                        err
                    ),
                ))
            })?;
            constructor(config).map_err(Box::<Error>::from)
        })
    }

    fn init_with(&self, build: impl FnOnce() -> Result<T, Box<Error>>) -> i32 {
        match build() {
            Ok(function) => {
                *self.function.borrow_mut() = Some(function);
                0
            }
            Err(err) => report(Err(err)),
        }
    }

    /// `sluice_execute`: reads the batch, runs the function, sends the
    /// output batch. Without `sluice_init` (a unit struct whose host skipped
    /// it cannot happen: the host always calls it when it is exported), the
    /// call fails with kind `not_initialized`.
    pub fn execute(&self, input: &[u8]) -> i32 {
        install_panic_hook();
        let mut function = self.function.borrow_mut();
        let function = match &mut *function {
            Some(function) => function,
            None => {
                return report(Err(Box::new(Error::with_kind(
                    "not_initialized",
                    "sluice_execute was called before a successful sluice_init",
                ))))
            }
        };
        let result = Batch::parse(input)
            .map_err(|err| {
                Error::with_kind(
                    "invalid_input",
                    format!("the input is not a valid batch of ABI v2: {}", err.message()),
                )
            })
            .and_then(|batch| {
                let output = function.execute(&batch)?;
                if !output.is_new_rows() && output.rows() != batch.rows() {
                    return Err(Error::with_kind(
                        "invalid_output",
                        format!(
                            "an update has {} rows, the input {}",
                            output.rows(),
                            batch.rows()
                        ),
                    ));
                }
                output.encode()
            })
            .map_err(Box::new);
        report(result)
    }
}
