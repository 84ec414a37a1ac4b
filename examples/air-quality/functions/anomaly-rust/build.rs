//! Compiles the detector, lib/anomaly (C17), with clang-19 into a static
//! library that the crate links: the Rust function runs the same code as its
//! C twin, so both give the same results.
//!
//! -ffp-contract=off and no fast-math keep the reference's float arithmetic.
//! For wasm32 the math functions (pow, exp, log, cos, sin) come from
//! wasi-libc's libc.a, as in the C twin: Rust's own (compiler_builtins) could
//! round differently in the last bit and change a borderline test.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCES: [&str; 4] = ["sort.c", "stl.c", "tquantile.c", "shesd.c"];
const WASI_SYSROOT: &str = "/usr";

/// The archiver: one that indexes wasm32 objects (llvm-ar; Debian llvm-19),
/// or $ANOMALY_AR.
fn archiver() -> String {
    println!("cargo:rerun-if-env-changed=ANOMALY_AR");
    env::var("ANOMALY_AR").unwrap_or_else(|_| "llvm-ar-19".to_string())
}

fn run(command: &mut Command) {
    let status = command.status().unwrap_or_else(|e| panic!("cannot run {:?}: {}", command, e));
    assert!(status.success(), "{:?} failed: {}", command, status);
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let lib = manifest.join("../../../../lib/anomaly");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let wasm = env::var("TARGET").unwrap().starts_with("wasm32");
    let cc = env::var("ANOMALY_CC").unwrap_or_else(|_| "clang-19".to_string());
    let ar = archiver();

    let mut objects = Vec::new();
    for source in SOURCES {
        let object = out.join(source.replace(".c", ".o"));
        let mut clang = Command::new(&cc);
        clang.args(["-std=c17", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fno-fast-math"]);
        if wasm {
            clang.args(["--target=wasm32-wasi", &format!("--sysroot={}", WASI_SYSROOT)]);
        } else {
            clang.arg("-fPIC");
        }
        run(clang.arg("-c").arg(lib.join(source)).arg("-o").arg(&object));
        objects.push(object);
        println!("cargo:rerun-if-changed={}", lib.join(source).display());
        println!("cargo:rerun-if-changed={}", lib.join(source.replace(".c", ".h")).display());
    }
    let archive = out.join("libanomaly.a");
    let _ = std::fs::remove_file(&archive);
    run(Command::new(&ar).arg("rcs").arg(&archive).args(&objects));
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=anomaly");
    if wasm {
        link_wasi_math(&out, &ar);
    } else {
        println!("cargo:rustc-link-lib=m");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// Links the math functions of wasi-libc (and only those: the rest of
/// libc.a is not wanted in a wasm32-unknown-unknown module).
fn link_wasi_math(out: &Path, ar: &str) {
    let libc = Path::new(WASI_SYSROOT).join("lib/wasm32-wasi/libc.a");
    let dir = out.join("wasi-math");
    std::fs::create_dir_all(&dir).unwrap();
    let members = [
        "pow.o", "pow_data.o", "exp.o", "exp_data.o", "log.o", "log_data.o", "cos.o", "sin.o",
        "__cos.o", "__sin.o", "__rem_pio2.o", "__rem_pio2_large.o", "__math_oflow.o",
        "__math_uflow.o", "__math_xflow.o", "__math_invalid.o", "__math_divzero.o", "scalbn.o",
    ];
    run(Command::new(ar).arg("x").arg(&libc).args(members).current_dir(&dir));
    let archive = out.join("libwasimath.a");
    let _ = std::fs::remove_file(&archive);
    run(Command::new(ar).arg("rcs").arg(&archive).args(members.iter().map(|m| dir.join(m))));
    println!("cargo:rustc-link-lib=static=wasimath");
}
