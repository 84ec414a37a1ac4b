//! Native stand-in for the host, to test the exports that
//! [`register!`](crate::register) generates with plain `cargo test`.
//!
//! Outside wasm32, the host imports record what the guest sends; call the
//! generated `sluice_init`/`sluice_execute` functions, then [`take`] the
//! record. Everything is per thread, like the tests that use it.

use crate::Level;
use std::cell::RefCell;

/// What the guest sent to the host since the last [`take`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Record {
    /// Each `sluice_output` document, as bytes.
    pub outputs: Vec<Vec<u8>>,
    /// Each `sluice_error`, as (kind, message); the kind may be empty.
    pub errors: Vec<(String, String)>,
    /// Each `sluice_log` line, with its level.
    pub logs: Vec<(Level, String)>,
}

thread_local! {
    static RECORD: RefCell<Record> = RefCell::new(Record::default());
}

/// Returns what was recorded on this thread and starts a new record.
pub fn take() -> Record {
    RECORD.with(|record| record.take())
}

pub(crate) fn record_output(doc: &[u8]) {
    RECORD.with(|record| record.borrow_mut().outputs.push(doc.to_vec()));
}

pub(crate) fn record_error(kind: &str, message: &str) {
    RECORD.with(|record| {
        record
            .borrow_mut()
            .errors
            .push((kind.to_owned(), message.to_owned()))
    });
}

pub(crate) fn record_log(level: Level, line: &str) {
    RECORD.with(|record| record.borrow_mut().logs.push((level, line.to_owned())));
}
