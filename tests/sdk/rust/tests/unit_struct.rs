//! The exports that `register!(Type)` generates, called natively as the host
//! would call them, with `sluice_fn::testing` recording the host imports.

use sluice_fn::testing::{take, Record};
use sluice_fn::{Error, Level};
use sluice_fn_tests::{sluice_abi_version, sluice_alloc, sluice_execute, sluice_free};

/// Copies `input` into a `sluice_alloc` block, runs `sluice_execute`, frees
/// the block; returns the status and what the host received.
fn call(input: &str) -> (i32, Record) {
    let len = input.len();
    let ptr = sluice_alloc(len);
    assert!(!ptr.is_null());
    // SAFETY: ptr is a fresh block of len bytes, freed with the same size.
    let status = unsafe {
        std::ptr::copy_nonoverlapping(input.as_ptr(), ptr, len);
        let status = sluice_execute(ptr, len);
        sluice_free(ptr, len);
        status
    };
    (status, take())
}

fn errors(kind: &str, message: &str) -> Vec<(String, String)> {
    vec![(kind.to_owned(), message.to_owned())]
}

#[test]
fn abi_version_is_1() {
    assert_eq!(sluice_abi_version(), 1);
}

#[test]
fn alloc_gives_valid_blocks_even_empty() {
    for size in [0, 1, 7, 4096] {
        let ptr = sluice_alloc(size);
        assert!(!ptr.is_null());
        // SAFETY: the block is live and has that size.
        unsafe { sluice_free(ptr, size) };
    }
}

#[test]
fn output_and_log() {
    let (status, record) = call(r#"{"values": [1.5, 2.5, 5.0]}"#);
    assert_eq!(status, 0);
    assert_eq!(record.outputs, vec![br#"{"mean":3.0,"count":3}"#.to_vec()]);
    assert!(record.errors.is_empty());
    assert_eq!(
        record.logs,
        vec![(Level::Info, "mean of 3 values".to_owned())]
    );
}

#[test]
fn errors_of_the_function_keep_their_kind() {
    let (status, record) = call(r#"{"values": []}"#);
    assert_eq!((status, record.outputs.len()), (1, 0));
    assert_eq!(record.errors, errors("invalid_input", "no values"));
    assert_eq!(
        call(r#"{"values": [], "fail": "busy"}"#).1.errors,
        errors("busy", "asked to fail")
    );
    assert_eq!(
        call(r#"{"values": [], "fail": ""}"#).1.errors,
        errors("", "asked to fail")
    );
}

#[test]
fn bad_input_is_invalid_input() {
    for input in ["", "{", r#"{"values": "x"}"#, r#"{"values": [null]}"#, "[]"] {
        let (status, record) = call(input);
        assert_eq!(status, 1, "{}", input);
        assert!(record.outputs.is_empty());
        assert_eq!(record.errors.len(), 1);
        assert_eq!(record.errors[0].0, "invalid_input");
        assert!(record.errors[0]
            .1
            .starts_with("the input does not match the function's input type: "));
    }
}

#[test]
fn error_type() {
    let plain = Error::new("boom");
    assert_eq!(
        (plain.kind(), plain.message(), plain.to_string()),
        (None, "boom", "boom".to_owned())
    );
    let kinded = Error::with_kind("limit", "too big");
    assert_eq!(
        (kinded.kind(), kinded.to_string()),
        (Some("limit"), "limit: too big".to_owned())
    );

    // `?` turns a serde_json error into the Box<Error> of `execute`.
    fn parse(text: &str) -> Result<u32, Box<Error>> {
        Ok(serde_json::from_str(text)?)
    }
    let err = parse("").unwrap_err();
    assert_eq!(err.kind(), Some("json"));
    assert!(err.message().contains("EOF"), "{}", err);
}
