;; echo.wat: a well-behaved Sluice function written directly against ABI v1,
;; with a real allocator, used by the e2e tests and by the million-call soak
;; test (tests/unit/test_fn.c).
;;
;; sluice_init keeps a copy of the configuration below the heap; it rejects
;; a configuration that is not an object with an `error` of kind "config".
;; sluice_execute answers {"input":INPUT,"config":CONFIG} and logs one line
;; at debug level. An empty input is reported as an error of kind "input".
;;
;; The allocator is a bump allocator that starts over when every block has
;; been freed: a host that forgets one sluice_free makes the heap, and
;; eventually the memory, grow, which the soak test would notice.
(module
  (import "sluice" "sluice_output" (func $output (param i32 i32)))
  (import "sluice" "sluice_error" (func $error (param i32 i32 i32 i32)))
  (import "sluice" "sluice_log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)

  (data (i32.const 16) "{\22input\22:")      ;; 9 bytes at 16
  (data (i32.const 32) ",\22config\22:")     ;; 10 bytes at 32
  (data (i32.const 48) "config")            ;; 6 bytes at 48
  (data (i32.const 64) "the configuration must be a JSON object") ;; 39
  (data (i32.const 112) "input")            ;; 5
  (data (i32.const 128) "empty input")      ;; 11
  (data (i32.const 144) "echo called")      ;; 11

  (global $config (mut i32) (i32.const 1024))   ;; the kept configuration
  (global $config_len (mut i32) (i32.const 2))
  (global $heap (mut i32) (i32.const 1024))     ;; start of the heap
  (global $top (mut i32) (i32.const 1024))      ;; next free byte
  (global $live (mut i32) (i32.const 0))        ;; blocks not yet freed

  (func (export "sluice_abi_version") (result i32) (i32.const 1))

  (func $alloc (export "sluice_alloc") (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $pages i32)
    (local.set $ptr (i32.and (i32.add (global.get $top) (i32.const 7))
                             (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then (return (i32.const 0))))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (local.set $pages
          (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535))
                              (i32.const 16))
                   (memory.size)))
        (if (i32.eq (memory.grow (local.get $pages)) (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $top (local.get $end))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $ptr))

  (func $free (export "sluice_free") (param $ptr i32) (param $size i32)
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (if (i32.eqz (global.get $live))
      (then (global.set $top (global.get $heap)))))

  (func $copy (param $dst i32) (param $src i32) (param $len i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len))
    (i32.add (local.get $dst) (local.get $len)))

  ;; Keeps the configuration at 1024 and moves the heap above it.
  (func (export "sluice_init") (param $ptr i32) (param $len i32) (result i32)
    (if (i32.or (i32.eqz (local.get $len))
                (i32.ne (i32.load8_u (local.get $ptr)) (i32.const 123)))
      (then
        (call $error (i32.const 48) (i32.const 6) (i32.const 64) (i32.const 39))
        (return (i32.const 1))))
    (memory.copy (i32.const 1024) (local.get $ptr) (local.get $len))
    (global.set $config_len (local.get $len))
    (global.set $heap (i32.add (i32.const 1024) (local.get $len)))
    (global.set $top (global.get $heap))
    (i32.const 0))

  (func (export "sluice_execute") (param $ptr i32) (param $len i32) (result i32)
    (local $out i32) (local $end i32) (local $size i32)
    (if (i32.eqz (local.get $len))
      (then
        (call $error (i32.const 112) (i32.const 5) (i32.const 128) (i32.const 11))
        (return (i32.const 1))))
    (call $log (i32.const 0) (i32.const 144) (i32.const 11))
    (local.set $size (i32.add (i32.add (local.get $len) (global.get $config_len))
                              (i32.const 20)))
    (local.set $out (call $alloc (local.get $size)))
    (if (i32.eqz (local.get $out)) (then (unreachable)))
    (local.set $end (call $copy (local.get $out) (i32.const 16) (i32.const 9)))
    (local.set $end (call $copy (local.get $end) (local.get $ptr) (local.get $len)))
    (local.set $end (call $copy (local.get $end) (i32.const 32) (i32.const 10)))
    (local.set $end (call $copy (local.get $end) (global.get $config)
                                (global.get $config_len)))
    (i32.store8 (local.get $end) (i32.const 125))
    (call $output (local.get $out)
                  (i32.add (i32.sub (local.get $end) (local.get $out)) (i32.const 1)))
    (call $free (local.get $out) (local.get $size))
    (i32.const 0)))
