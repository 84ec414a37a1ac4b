;; bomb.wat: grows its memory one page at a time until refused, then
;; returns the size it reached in pages. The memory declares no maximum, so
;; only the host's limit stops it.
(module
  (memory 1)
  (func (export "grow_forever") (result i32)
    (block $refused
      (loop $more
        (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (memory.size))
  (func (export "grow_at_once") (param i32) (result i32)
    (memory.grow (local.get 0))))
