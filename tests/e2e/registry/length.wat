;; length.wat: a complete ABI v1 guest (the one of docs/abi.md) that answers
;; {"length":N}; the artifact the registry tests package, push and pull.
(module
  (import "sluice" "sluice_output" (func $output (param i32 i32)))
  (import "sluice" "sluice_error" (func $error (param i32 i32 i32 i32)))
  (import "sluice" "sluice_log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)

  (data (i32.const 0) "null_input")          ;; 10 bytes
  (data (i32.const 16) "the input is null")  ;; 17 bytes
  (data (i32.const 48) "measuring")          ;; 9 bytes
  (data (i32.const 64) "{\22length\22:")       ;; 10 bytes

  ;; The heap: from 1024 up; it starts over when no block is live.
  (global $top (mut i32) (i32.const 1024))
  (global $live (mut i32) (i32.const 0))

  (func (export "sluice_abi_version") (result i32) (i32.const 1))

  (func (export "sluice_alloc") (param $size i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (i32.and (i32.add (global.get $top) (i32.const 7))
                             (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.lt_u (local.get $end) (local.get $ptr))     ;; wrapped around
      (then (return (i32.const 0))))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow
                      (i32.sub (i32.shr_u (i32.add (local.get $end)
                                                   (i32.const 65535))
                                          (i32.const 16))
                               (memory.size)))
                    (i32.const -1))
          (then (return (i32.const 0))))))              ;; out of memory
    (global.set $top (local.get $end))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $ptr))

  (func (export "sluice_free") (param $ptr i32) (param $size i32)
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (if (i32.eqz (global.get $live))
      (then (global.set $top (i32.const 1024)))))

  (func (export "sluice_execute") (param $ptr i32) (param $len i32) (result i32)
    (local $n i32) (local $digits i32) (local $start i32)
    (call $log (i32.const 0) (i32.const 48) (i32.const 9))        ;; debug
    (if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 110))   ;; 'n'
      (then
        (call $error (i32.const 0) (i32.const 10) (i32.const 16) (i32.const 17))
        (return (i32.const 1))))
    ;; The decimal digits of $len, right to left, ending before 96.
    (local.set $n (local.get $len))
    (local.set $digits (i32.const 96))
    (loop $next
      (local.set $digits (i32.sub (local.get $digits) (i32.const 1)))
      (i32.store8 (local.get $digits)
                  (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $next (local.get $n)))
    ;; {"length": before the digits, } after them; the host copies the
    ;; bytes during the call, so a static buffer is fine.
    (local.set $start (i32.sub (local.get $digits) (i32.const 10)))
    (memory.copy (local.get $start) (i32.const 64) (i32.const 10))
    (i32.store8 (i32.const 96) (i32.const 125))
    (call $output (local.get $start) (i32.sub (i32.const 97) (local.get $start)))
    (i32.const 0)))
