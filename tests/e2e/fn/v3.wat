;; v3.wat: claims ABI version 3, which no host knows yet.
(module
  (import "sluice" "sluice_output" (func $output (param i32 i32)))
  (import "sluice" "sluice_error" (func $error (param i32 i32 i32 i32)))
  (import "sluice" "sluice_log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 4096))
  (func (export "sluice_abi_version") (result i32) (i32.const 3))
  ;; a bump allocator: these guests run once
  (func (export "sluice_alloc") (param $n i32) (result i32)
    (global.get $top)
    (global.set $top (i32.add (global.get $top) (local.get $n))))
  (func (export "sluice_free") (param i32 i32))
  (func (export "sluice_execute") (param i32 i32) (result i32)
    (i32.const 0)))
