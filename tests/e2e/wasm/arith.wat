;; arith.wat: functions for `sluice wasm invoke` argument parsing and result
;; printing, over every number type and with several results.
(module
  (func (export "add_i32") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "add_i64") (param i64 i64) (result i64)
    (i64.add (local.get 0) (local.get 1)))
  (func (export "mul_f32") (param f32 f32) (result f32)
    (f32.mul (local.get 0) (local.get 1)))
  (func (export "div_f64") (param f64 f64) (result f64)
    (f64.div (local.get 0) (local.get 1)))
  ;; quotient and remainder
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_s (local.get 0) (local.get 1))
    (i32.rem_s (local.get 0) (local.get 1)))
  ;; one result of each type
  (func (export "spread") (param i64) (result i32 i64 f32 f64)
    (i32.wrap_i64 (local.get 0))
    (local.get 0)
    (f32.convert_i64_s (local.get 0))
    (f64.convert_i64_s (local.get 0)))
  (func (export "nothing"))
  (memory (export "memory") 1)
  (global (export "counter") (mut i32) (i32.const 0)))
