;; traps.wat: functions that never return normally.
(module
  (memory 1 1)
  (func (export "spin") (loop $again (br $again)))
  (func (export "unreachable") unreachable)
  (func (export "load_oob") (result i32)
    (i32.load (i32.const 65535)))
  (func (export "div_zero") (param i32) (result i32)
    (i32.div_u (i32.const 1) (local.get 0)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (i32.const 1) (call $recurse (local.get 0)))))
