;; startloop.wat: its start function never returns, so instantiation must be
;; bounded by the fuel and time limits too.
(module
  (import "sluice" "sluice_output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (func $forever (loop $again (br $again)))
  (start $forever)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 16))
  (func (export "sluice_free") (param i32 i32))
  (func (export "sluice_execute") (param i32 i32) (result i32) (i32.const 0)))
