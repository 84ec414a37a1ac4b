;; wasi_raw.wat: a command that calls WASI with hand-made arguments and
;; exits with the errno it got, to show what the host does with hostile or
;; unsupported requests. argv[1] picks the request (its first byte):
;;   f  fd_write with an iovec pointing past the end of memory  -> 21 FAULT
;;   r  args_get into a buffer that ends beyond memory          -> 21 FAULT
;;   s  sock_accept, which the host does not offer              -> 52 NOSYS
;;   b  fd_write on a descriptor that is not open               -> 8 BADF
;;   w  fd_write of "raw ok\n" to stdout                        -> 0
(module
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept"
    (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: iovec {16, 7}; 8: iovec {65530, 100}; 16: text; 1024..: argv
  (data (i32.const 0) "\10\00\00\00\07\00\00\00\fa\ff\00\00\64\00\00\00")
  (data (i32.const 16) "raw ok\n")
  (func $request (result i32)
    (drop (call $args_sizes_get (i32.const 900) (i32.const 904)))
    (drop (call $args_get (i32.const 1024) (i32.const 2048)))
    ;; first byte of argv[1]
    (i32.load8_u (i32.load (i32.const 1028))))
  (func (export "_start")
    (local $r i32)
    (local.set $r (call $request))
    (if (i32.eq (local.get $r) (i32.const 0x66))
      (then (call $proc_exit (call $fd_write (i32.const 1) (i32.const 8)
                                             (i32.const 1) (i32.const 800)))))
    (if (i32.eq (local.get $r) (i32.const 0x72))
      (then (call $proc_exit (call $args_get (i32.const 1024)
                                             (i32.const 65534)))))
    (if (i32.eq (local.get $r) (i32.const 0x73))
      (then (call $proc_exit (call $sock_accept (i32.const 3) (i32.const 0)
                                                (i32.const 800)))))
    (if (i32.eq (local.get $r) (i32.const 0x62))
      (then (call $proc_exit (call $fd_write (i32.const 77) (i32.const 0)
                                             (i32.const 1) (i32.const 800)))))
    (call $proc_exit (call $fd_write (i32.const 1) (i32.const 0)
                                     (i32.const 1) (i32.const 800)))))
