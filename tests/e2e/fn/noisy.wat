;; noisy.wat: logs a warning and reports an error whose texts hold a newline
;; and a terminal escape sequence, which the host must show escaped.
(module
  (import "sluice" "sluice_error" (func $error (param i32 i32 i32 i32)))
  (import "sluice" "sluice_log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 4096))
  (data (i32.const 16) "line one\0aline two \1b[31mred")   ;; 26 bytes
  (data (i32.const 64) "bad\00kind")                       ;; 8 bytes
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param $n i32) (result i32)
    (global.get $top)
    (global.set $top (i32.add (global.get $top) (local.get $n))))
  (func (export "sluice_free") (param i32 i32))
  (func (export "sluice_execute") (param i32 i32) (result i32)
    (call $log (i32.const 2) (i32.const 16) (i32.const 26))
    (call $error (i32.const 64) (i32.const 8) (i32.const 16) (i32.const 26))
    (i32.const 1)))
