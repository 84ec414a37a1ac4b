;; needs_env.wat: imports a function nobody provides, to test link errors.
(module
  (import "env" "missing_function" (func (param i32)))
  (func (export "_start")))
