;; noexecute.wat: a module that decodes and validates but lacks the ABI v1
;; export sluice_execute; the registry must refuse it at upload.
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_version") (result i32) (i32.const 1))
  (func (export "sluice_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "sluice_free") (param i32 i32)))
