//! ABI v2 natively: batches read and written by sluice_fn's Batch and
//! Output, malformed batches refused without a panic, and the exports that
//! `register_batch!(Flag, Flag::new)` generated in this crate.

use sluice_fn::testing::take;
use sluice_fn::*;
use sluice_fn_tests_v2::{sluice_abi_version, sluice_alloc, sluice_execute, sluice_free, sluice_init};

/// The 48-byte example of docs/abi.md: one bool column `ok`, true, false.
const EXAMPLE: [u8; 48] = [
    0x53, 0x4c, 0x43, 0x42, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, //
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, //
    0x6f, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

fn every_type(rows: usize) -> Output {
    let mut out = Output::new_rows(rows);
    out.add_bool("b", (0..rows).map(|r| if r % 3 == 2 { None } else { Some(r % 2 == 0) }))
        .unwrap()
        .add_i64("i", (0..rows).map(|r| Some(r as i64 - 5)))
        .unwrap()
        .add_f64("f", (0..rows).map(|r| if r == 1 { None } else { Some(r as f64 / 4.0) }))
        .unwrap()
        .add_str("s", (0..rows).map(|r| if r == 0 { None } else { Some("é".repeat(r)) }))
        .unwrap()
        .add_timestamp("t", (0..rows).map(|r| Some(-(r as i64))))
        .unwrap()
        .add_json("j", (0..rows).map(|r| Some(format!("[{}]", r))))
        .unwrap()
        .add_null("n")
        .unwrap();
    out
}

#[test]
fn writes_the_example_of_abi_md() {
    let input = Batch::parse(&EXAMPLE).unwrap();
    let mut out = Output::update(&input);
    out.add_bool("ok", [Some(true), Some(false)]).unwrap();
    assert_eq!(out.encode().unwrap(), EXAMPLE.to_vec());
    let ok = input.column("ok").unwrap();
    assert_eq!(ok.ty(), ColumnType::Bool);
    assert_eq!(ok.bools().collect::<Vec<_>>(), [Some(true), Some(false)]);
    assert!(!input.is_new_rows());
}

#[test]
fn reads_what_it_writes() {
    for rows in [0usize, 1, 2, 7, 8, 9, 17] {
        let bytes = every_type(rows).encode().unwrap();
        assert_eq!(bytes.len() % 8, 0);
        let batch = Batch::parse(&bytes).unwrap();
        assert_eq!(batch.rows(), rows);
        assert!(batch.is_new_rows());
        let names: Vec<&str> = batch.columns().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["b", "i", "f", "s", "t", "j", "n"]);
        let b = batch.column("b").unwrap();
        let i = batch.require("i", &[ColumnType::I64]).unwrap();
        let f = batch.column("f").unwrap();
        let s = batch.column("s").unwrap();
        let t = batch.column("t").unwrap();
        let j = batch.column("j").unwrap();
        let n = batch.column("n").unwrap();
        for r in 0..rows {
            assert_eq!(b.bool(r), if r % 3 == 2 { None } else { Some(r % 2 == 0) });
            assert_eq!(i.i64(r), Some(r as i64 - 5));
            assert_eq!(i.number(r), Some(r as f64 - 5.0));
            assert_eq!(f.f64(r), if r == 1 { None } else { Some(r as f64 / 4.0) });
            assert_eq!(s.str(r).map(str::to_owned), if r == 0 { None } else { Some("é".repeat(r)) });
            assert_eq!(t.timestamp(r), Some(-(r as i64)));
            assert_eq!(j.json(r).map(str::to_owned), Some(format!("[{}]", r)));
            assert!(n.is_null(r));
            // Another type's accessor, or a row past the end: None.
            assert_eq!(i.f64(r), None);
            assert_eq!(s.json(r), None);
            assert_eq!(t.i64(r), None);
        }
        assert_eq!(i.i64(rows), None);
        assert_eq!(s.str(rows), None);
        assert!(batch.column("missing").is_none());
        assert_eq!(
            batch.require("s", &[ColumnType::I64, ColumnType::F64]).unwrap_err().to_string(),
            "invalid_input: column 's' is string, not i64 or f64"
        );
    }
}

#[test]
fn refuses_bad_outputs() {
    let mut out = Output::new_rows(2);
    let err = out.add_i64("a", [Some(1)]).unwrap_err();
    assert_eq!(err.to_string(), "invalid_output: column 'a' has 1 rows, not 2");
    let err = out.add_i64("a", [Some(1), None, Some(3)]).unwrap_err();
    assert_eq!(err.to_string(), "invalid_output: column 'a' has more than 2 rows");
    out.add_i64("a", [Some(1), None]).unwrap();
    let err = out.add_str("a", [Some("x"), None]).unwrap_err();
    assert_eq!(err.kind(), Some("invalid_output"));
}

#[test]
fn refuses_malformed_batches_without_panicking() {
    let good = every_type(9).encode().unwrap();
    // Every truncation, and the batch with bytes after it.
    for len in 0..good.len() {
        assert!(Batch::parse(&good[..len]).is_err(), "{} bytes", len);
    }
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 8]);
    assert!(Batch::parse(&longer).unwrap_err().message().contains("follow the last column"));
    // Every byte changed, three ways: an error or a batch, never a panic;
    // and whatever is read, the accessors stay in bounds.
    for at in 0..good.len() {
        for v in [0u8, 0xff, good[at] ^ 0x10] {
            let mut bad = good.clone();
            bad[at] = v;
            if let Ok(batch) = Batch::parse(&bad) {
                for c in batch.columns() {
                    for r in 0..batch.rows() + 1 {
                        let _ = (c.bool(r), c.number(r), c.timestamp(r), c.str(r), c.json(r));
                    }
                }
            }
        }
    }
    let mut bad = EXAMPLE;
    bad[0] = b'X';
    assert!(Batch::parse(&bad).unwrap_err().message().contains("SLCB"));
    let mut bad = EXAMPLE;
    bad[6] = 2;
    assert!(Batch::parse(&bad).unwrap_err().message().contains("flags"));
    let mut bad = EXAMPLE;
    bad[20] = 7;
    assert!(Batch::parse(&bad).unwrap_err().message().contains("type tag 7"));
    let mut bad = EXAMPLE;
    bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(Batch::parse(&bad).is_err());
    let mut bad = EXAMPLE;
    bad[12..16].copy_from_slice(&5000u32.to_le_bytes());
    assert!(Batch::parse(&bad).unwrap_err().message().contains("5000 columns"));
    // Decreasing offsets in a string column.
    let mut out = Output::new_rows(2);
    out.add_str("s", [Some("ab"), Some("c")]).unwrap();
    let mut bad = out.encode().unwrap();
    // header 16, column head 8, name 8, bitmap 8: offsets at 40.
    bad[44..48].copy_from_slice(&4u32.to_le_bytes());
    assert!(Batch::parse(&bad).unwrap_err().message().contains("offset"));
}

/// Runs the exports on `input` like the host does.
fn call(input: &[u8]) -> i32 {
    let p = sluice_alloc(input.len());
    assert!(!p.is_null());
    assert_eq!(p as usize % 8, 0, "sluice_alloc is 8-byte aligned");
    unsafe {
        std::ptr::copy_nonoverlapping(input.as_ptr(), p, input.len());
        let status = sluice_execute(p, input.len());
        sluice_free(p, input.len());
        status
    }
}

#[test]
fn the_exports_of_register_batch() {
    assert_eq!(sluice_abi_version(), 2);
    let config = br#"{"threshold": 1.5}"#;
    assert_eq!(unsafe { sluice_init(config.as_ptr(), config.len()) }, 0);
    let mut input = Output::new_rows(3);
    input.add_f64("value", [Some(1.0), None, Some(2.0)]).unwrap();
    assert_eq!(call(&input.encode().unwrap()), 0);
    let record = take();
    assert!(record.errors.is_empty(), "{:?}", record.errors);
    assert_eq!(record.outputs.len(), 1);
    let out = Batch::parse(&record.outputs[0]).unwrap();
    assert!(!out.is_new_rows());
    assert_eq!(out.rows(), 3);
    let names: Vec<&str> = out.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["is_anomaly", "double", "label", "index", "extra"]);
    let anomaly: Vec<_> = out.column("is_anomaly").unwrap().bools().collect();
    assert_eq!(anomaly, [Some(false), Some(false), Some(true)]);
    let double: Vec<_> = out.column("double").unwrap().f64s().collect();
    assert_eq!(double, [Some(2.0), None, Some(4.0)]);
    let label: Vec<_> = out.column("label").unwrap().strs().collect();
    assert_eq!(label, [None, None, Some("high")]);

    // A malformed input batch, an error of the function, a bad config.
    assert_eq!(call(b"not a batch"), 1);
    let record = take();
    assert!(record.outputs.is_empty());
    assert_eq!(record.errors.len(), 1);
    assert_eq!(record.errors[0].0, "invalid_input");
    assert!(record.errors[0].1.starts_with("the input is not a valid batch of ABI v2: "));
    let mut input = Output::new_rows(1);
    input.add_i64("value", [Some(666)]).unwrap();
    assert_eq!(call(&input.encode().unwrap()), 1);
    assert_eq!(take().errors, [("bad_value".to_owned(), "row 0 holds 666".to_owned())]);
    let config = br#"{"threshold": "high"}"#;
    assert_eq!(unsafe { sluice_init(config.as_ptr(), config.len()) }, 1);
    assert_eq!(take().errors[0].0, "invalid_config");
    // An empty allocation is still a valid pointer.
    let p = sluice_alloc(0);
    assert!(!p.is_null());
    unsafe { sluice_free(p, 0) };
}
