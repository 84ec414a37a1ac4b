;; wasi.wat: a WASI guest. It writes to WASI stdout, which must reach the
;; host's stderr and never its stdout, then echoes its input; when the input
;; is "exit" it calls proc_exit(3) instead, which breaks the ABI.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "sluice" "sluice_output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 4096))
  (data (i32.const 16) "hello from wasi stdout\n")
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param $n i32) (result i32)
    (global.get $top)
    (global.set $top (i32.add (global.get $top) (local.get $n))))
  (func (export "sluice_free") (param i32 i32))
  (func (export "sluice_execute") (param $p i32) (param $n i32) (result i32)
    (i32.store (i32.const 64) (i32.const 16))
    (i32.store (i32.const 68) (i32.const 23))
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72)))
    ;; "exit" in JSON: the byte after the quote is 'e'
    (if (i32.eq (i32.load8_u (i32.add (local.get $p) (i32.const 1))) (i32.const 101))
      (then (call $proc_exit (i32.const 3))))
    (call $output (local.get $p) (local.get $n))
    (i32.const 0)))
