;; badimport.wat: imports a function the host does not provide.
(module
  (import "env" "get_secret" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 16))
  (func (export "sluice_free") (param i32 i32))
  (func (export "sluice_execute") (param i32 i32) (result i32) (i32.const 0)))
