/*
** test_api.c: unit tests of the public engine API (include/sluice_wasm.h):
** loading errors, linking, host functions, checked calls, memories,
** tables and globals, fuel, deadlines, interruption, stack exhaustion and
** the threading rule (one module, many stores on many threads).
**
** The modules are hand-written WAT, assembled with wat2wasm and embedded
** as bytes; each array is preceded by its source.
*/
#include "sluice_wasm.h"
#include "unit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/*
** (module
**   (func (export "add") (param i32 i32) (result i32)
**     local.get 0 local.get 1 i32.add)
**   (func (export "id_f32") (param f32) (result f32) local.get 0)
**   (func (export "id_f64") (param f64) (result f64) local.get 0)
**   (func (export "mix") (param i64 f32 f64) (result i64 f32 f64)
**     local.get 0 local.get 1 local.get 2))
*/
static const uint8_t add_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x1a, 0x04, 0x60,
    0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7d, 0x01, 0x7d, 0x60, 0x01,
    0x7c, 0x01, 0x7c, 0x60, 0x03, 0x7e, 0x7d, 0x7c, 0x03, 0x7e, 0x7d, 0x7c,
    0x03, 0x05, 0x04, 0x00, 0x01, 0x02, 0x03, 0x07, 0x1f, 0x04, 0x03, 0x61,
    0x64, 0x64, 0x00, 0x00, 0x06, 0x69, 0x64, 0x5f, 0x66, 0x33, 0x32, 0x00,
    0x01, 0x06, 0x69, 0x64, 0x5f, 0x66, 0x36, 0x34, 0x00, 0x02, 0x03, 0x6d,
    0x69, 0x78, 0x00, 0x03, 0x0a, 0x1c, 0x04, 0x07, 0x00, 0x20, 0x00, 0x20,
    0x01, 0x6a, 0x0b, 0x04, 0x00, 0x20, 0x00, 0x0b, 0x04, 0x00, 0x20, 0x00,
    0x0b, 0x08, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0x0b,
};

/*
** (module
**   (import "env" "f" (func $f (param i32) (result i32)))
**   (import "env" "mem" (memory 1 2))
**   (import "env" "tab" (table 2 funcref))
**   (import "env" "g" (global i32))
**   (export "f" (func $f))
**   (export "mem" (memory 0))
**   (export "tab" (table 0))
**   (func (export "call_f") (param i32) (result i32)
**     local.get 0 call $f))
*/
static const uint8_t imports_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60,
    0x01, 0x7f, 0x01, 0x7f, 0x02, 0x2a, 0x04, 0x03, 0x65, 0x6e, 0x76, 0x01,
    0x66, 0x00, 0x00, 0x03, 0x65, 0x6e, 0x76, 0x03, 0x6d, 0x65, 0x6d, 0x02,
    0x01, 0x01, 0x02, 0x03, 0x65, 0x6e, 0x76, 0x03, 0x74, 0x61, 0x62, 0x01,
    0x70, 0x00, 0x02, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x67, 0x03, 0x7f, 0x00,
    0x03, 0x02, 0x01, 0x00, 0x07, 0x1a, 0x04, 0x01, 0x66, 0x00, 0x00, 0x03,
    0x6d, 0x65, 0x6d, 0x02, 0x00, 0x03, 0x74, 0x61, 0x62, 0x01, 0x00, 0x06,
    0x63, 0x61, 0x6c, 0x6c, 0x5f, 0x66, 0x00, 0x01, 0x0a, 0x08, 0x01, 0x06,
    0x00, 0x20, 0x00, 0x10, 0x00, 0x0b,
};

/*
** (module
**   (import "env" "combine" (func $combine (param i32 i64 f64) (result f64)))
**   (import "env" "fail" (func $fail (param i32)))
**   (import "env" "exit" (func $exit (param i32)))
**   (import "env" "callback" (func $callback (param i32) (result i32)))
**   (memory (export "mem") 1)
**   (func (export "combine") (param i32 i64 f64) (result f64)
**     local.get 0 local.get 1 local.get 2 call $combine)
**   (func (export "fail") (param i32) local.get 0 call $fail)
**   (func (export "exit") (param i32) local.get 0 call $exit)
**   (func (export "double") (param i32) (result i32)
**     local.get 0 i32.const 2 i32.mul)
**   (func (export "callback") (param i32) (result i32)
**     local.get 0 call $callback i32.const 1 i32.add))
*/
static const uint8_t host_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x11, 0x03, 0x60,
    0x03, 0x7f, 0x7e, 0x7c, 0x01, 0x7c, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x01,
    0x7f, 0x01, 0x7f, 0x02, 0x34, 0x04, 0x03, 0x65, 0x6e, 0x76, 0x07, 0x63,
    0x6f, 0x6d, 0x62, 0x69, 0x6e, 0x65, 0x00, 0x00, 0x03, 0x65, 0x6e, 0x76,
    0x04, 0x66, 0x61, 0x69, 0x6c, 0x00, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x04,
    0x65, 0x78, 0x69, 0x74, 0x00, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x08, 0x63,
    0x61, 0x6c, 0x6c, 0x62, 0x61, 0x63, 0x6b, 0x00, 0x02, 0x03, 0x06, 0x05,
    0x00, 0x01, 0x01, 0x02, 0x02, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x33,
    0x06, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x07, 0x63, 0x6f, 0x6d, 0x62,
    0x69, 0x6e, 0x65, 0x00, 0x04, 0x04, 0x66, 0x61, 0x69, 0x6c, 0x00, 0x05,
    0x04, 0x65, 0x78, 0x69, 0x74, 0x00, 0x06, 0x06, 0x64, 0x6f, 0x75, 0x62,
    0x6c, 0x65, 0x00, 0x07, 0x08, 0x63, 0x61, 0x6c, 0x6c, 0x62, 0x61, 0x63,
    0x6b, 0x00, 0x08, 0x0a, 0x2c, 0x05, 0x0a, 0x00, 0x20, 0x00, 0x20, 0x01,
    0x20, 0x02, 0x10, 0x00, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x10, 0x01, 0x0b,
    0x06, 0x00, 0x20, 0x00, 0x10, 0x02, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x41,
    0x02, 0x6c, 0x0b, 0x09, 0x00, 0x20, 0x00, 0x10, 0x03, 0x41, 0x01, 0x6a,
    0x0b,
};

/*
** (module
**   (memory (export "mem") 1 4)
**   (data (i32.const 16) "hello")
**   (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
**   (func (export "size") (result i32) memory.size)
**   (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u))
*/
static const uint8_t memory_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x02, 0x60,
    0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x04, 0x03, 0x00,
    0x01, 0x00, 0x05, 0x04, 0x01, 0x01, 0x01, 0x04, 0x07, 0x1c, 0x04, 0x03,
    0x6d, 0x65, 0x6d, 0x02, 0x00, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x00,
    0x04, 0x73, 0x69, 0x7a, 0x65, 0x00, 0x01, 0x04, 0x6c, 0x6f, 0x61, 0x64,
    0x00, 0x02, 0x0a, 0x15, 0x03, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b,
    0x04, 0x00, 0x3f, 0x00, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x2d, 0x00, 0x00,
    0x0b, 0x0b, 0x0b, 0x01, 0x00, 0x41, 0x10, 0x0b, 0x05, 0x68, 0x65, 0x6c,
    0x6c, 0x6f,
};

/*
** (module
**   (func (export "spin") (loop $l br $l))
**   (func (export "count") (param i32) (result i32) (local i32)
**     (loop $l
**       local.get 1 i32.const 1 i32.add local.set 1
**       local.get 1 local.get 0 i32.lt_u br_if $l)
**     local.get 1)
**   (func $rec (export "rec") (param i32) (result i32)
**     local.get 0 i32.const 1 i32.add call $rec))
*/
static const uint8_t loops_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x09, 0x02, 0x60,
    0x00, 0x00, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x03, 0x04, 0x03, 0x00, 0x01,
    0x01, 0x07, 0x16, 0x03, 0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x00, 0x05,
    0x63, 0x6f, 0x75, 0x6e, 0x74, 0x00, 0x01, 0x03, 0x72, 0x65, 0x63, 0x00,
    0x02, 0x0a, 0x2b, 0x03, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b,
    0x17, 0x01, 0x01, 0x7f, 0x03, 0x40, 0x20, 0x01, 0x41, 0x01, 0x6a, 0x21,
    0x01, 0x20, 0x01, 0x20, 0x00, 0x49, 0x0d, 0x00, 0x0b, 0x20, 0x01, 0x0b,
    0x09, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x10, 0x02, 0x0b,
};

/*
** (module
**   (import "env" "mem" (memory 1))
**   (data (i32.const 0) "ok")
**   (data (i32.const 65535) "xx"))
*/
static const uint8_t segments_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x02, 0x0c, 0x01, 0x03,
    0x65, 0x6e, 0x76, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x01, 0x0b, 0x11,
    0x02, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x6f, 0x6b, 0x00, 0x41, 0xff, 0xff,
    0x03, 0x0b, 0x02, 0x78, 0x78,
};

/*
** (module
**   (import "env" "tab" (table 2 funcref))
**   (func $a)
**   (elem (i32.const 0) $a)
**   (elem (i32.const 2) $a))
*/
static const uint8_t elems_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
    0x00, 0x00, 0x02, 0x0d, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x03, 0x74, 0x61,
    0x62, 0x01, 0x70, 0x00, 0x02, 0x03, 0x02, 0x01, 0x00, 0x09, 0x0d, 0x02,
    0x00, 0x41, 0x00, 0x0b, 0x01, 0x00, 0x00, 0x41, 0x02, 0x0b, 0x01, 0x00,
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
};

/*
** (module
**   (global $g (export "g") (mut i32) (i32.const 0))
**   (func $start i32.const 7 global.set $g)
**   (start $start))
*/
static const uint8_t start_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
    0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x06, 0x06, 0x01, 0x7f, 0x01, 0x41,
    0x00, 0x0b, 0x07, 0x05, 0x01, 0x01, 0x67, 0x03, 0x00, 0x08, 0x01, 0x00,
    0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x07, 0x24, 0x00, 0x0b,
};

/*
** (module (memory 20))
*/
static const uint8_t bigmem_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00,
    0x14,
};

/*
** (module (table 100 funcref))
*/
static const uint8_t bigtable_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x04, 0x04, 0x01, 0x70,
    0x00, 0x64,
};

/*
** (module (func (result i32) i64.const 1))
*/
static const uint8_t invalid_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
    0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00,
    0x42, 0x01, 0x0b,
};

/* ---- Helpers ------------------------------------------------------------ */

#define LOAD(array) load_module((array), sizeof (array))

static sw_module *load_module(const uint8_t *bytes, size_t len)
{
    sw_error err;
    sw_module *m = sw_module_load(bytes, len, &err);
    if (!m) fprintf(stderr, "load failed at byte %zu: %s\n", err.offset, err.message);
    return m;
}

static sw_value i32v(int32_t v) { return (sw_value){ SW_I32, { .i32 = v } }; }
static sw_value i64v(int64_t v) { return (sw_value){ SW_I64, { .i64 = v } }; }
static sw_value f32v(float v) { return (sw_value){ SW_F32, { .f32 = v } }; }
static sw_value f64v(double v) { return (sw_value){ SW_F64, { .f64 = v } }; }

/* Calls an exported (i32) -> i32 function; -1 on error, err filled. */
static int call_i32(sw_instance *inst, const char *name, int32_t arg,
                    int32_t *result, sw_error *err)
{
    sw_func *f = sw_instance_func(inst, name);
    if (!f) return -1;
    sw_value in = i32v(arg), out;
    if (sw_call(f, &in, 1, &out, 1, err) != 0) return -1;
    *result = out.of.i32;
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- Loading ------------------------------------------------------------ */

TEST(load_reports_kind_and_offset)
{
    sw_error err;
    static const uint8_t bad_magic[] = { 0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0 };
    CHECK(sw_module_load(bad_magic, sizeof bad_magic, &err) == NULL);
    CHECK_EQ_INT(err.kind, SW_ERR_MALFORMED);
    CHECK(err.message[0] != '\0');

    /* the add module cut inside its code section */
    CHECK(sw_module_load(add_wasm, sizeof add_wasm - 3, &err) == NULL);
    CHECK_EQ_INT(err.kind, SW_ERR_MALFORMED);
    CHECK(err.offset > 8 && err.offset <= sizeof add_wasm);

    CHECK(sw_module_load(invalid_wasm, sizeof invalid_wasm, &err) == NULL);
    CHECK_EQ_INT(err.kind, SW_ERR_INVALID);
    CHECK(err.offset >= 20 && err.offset < sizeof invalid_wasm);
}

TEST(module_introspection)
{
    sw_module *m = LOAD(imports_wasm);
    CHECK(m != NULL);
    if (!m) return;
    CHECK_EQ_INT(sw_module_import_count(m), 4);
    sw_import_desc d = sw_module_import(m, 1);
    CHECK(d.module.len == 3 && memcmp(d.module.ptr, "env", 3) == 0);
    CHECK(d.name.len == 3 && memcmp(d.name.ptr, "mem", 3) == 0);
    CHECK_EQ_INT(d.kind, SW_EXTERN_MEMORY);
    CHECK_EQ_INT(sw_module_export_count(m), 4);
    sw_export_desc e = sw_module_export(m, 2);
    CHECK(e.name.len == 3 && memcmp(e.name.ptr, "tab", 3) == 0);
    CHECK_EQ_INT(e.kind, SW_EXTERN_TABLE);
    sw_module_free(m);
}

/* ---- Calls ---------------------------------------------------------------- */

TEST(call_checks_arguments)
{
    sw_module *m = LOAD(add_wasm);
    sw_store *s = sw_store_new(NULL);
    sw_error err;
    sw_instance *inst = m ? sw_instantiate(s, m, NULL, 0, &err) : NULL;
    CHECK(inst != NULL);
    if (!inst) goto done;
    sw_func *add = sw_instance_func(inst, "add");
    CHECK(add != NULL);
    CHECK(sw_instance_func(inst, "nope") == NULL);
    sw_value args[2] = { i32v(2), i32v(40) }, r;
    CHECK_EQ_INT(sw_call(add, args, 2, &r, 1, &err), 0);
    CHECK_EQ_INT(r.of.i32, 42);
    CHECK_EQ_INT(r.type, SW_I32);

    CHECK_EQ_INT(sw_call(add, args, 1, &r, 1, &err), -1);
    CHECK_EQ_INT(err.kind, SW_ERR_ARG);
    CHECK_EQ_INT(sw_call(add, args, 2, &r, 0, &err), -1);
    CHECK_EQ_INT(err.kind, SW_ERR_ARG);
    args[1] = i64v(40);
    CHECK_EQ_INT(sw_call(add, args, 2, &r, 1, &err), -1);
    CHECK_EQ_INT(err.kind, SW_ERR_ARG);
    CHECK(strstr(err.message, "argument 1") != NULL);
    CHECK(strstr(err.message, "i64") != NULL);

    const sw_functype *t = sw_func_type(add);
    CHECK(t->nparams == 2 && t->nresults == 1 && t->params[1] == SW_I32);

    sw_slot raw[2] = { 5, 7 };
    CHECK_EQ_INT(sw_call_raw(add, raw, &err), 0);
    CHECK_EQ_INT((int32_t)raw[0], 12);
done:
    sw_store_free(s);
    sw_module_free(m);
}

TEST(call_preserves_float_bits_and_multi_value)
{
    sw_module *m = LOAD(add_wasm);
    sw_store *s = sw_store_new(NULL);
    sw_error err;
    sw_instance *inst = m ? sw_instantiate(s, m, NULL, 0, &err) : NULL;
    CHECK(inst != NULL);
    if (!inst) goto done;
    uint32_t nan32 = 0x7fa00001u;
    sw_value a = { SW_F32, { .i64 = 0 } }, r;
    memcpy(&a.of.f32, &nan32, 4);
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "id_f32"), &a, 1, &r, 1, &err), 0);
    uint32_t got32;
    memcpy(&got32, &r.of.f32, 4);
    CHECK_EQ_INT(got32, nan32);

    uint64_t nan64 = 0xfff0000000000123u, got64;
    a.type = SW_F64;
    memcpy(&a.of.f64, &nan64, 8);
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "id_f64"), &a, 1, &r, 1, &err), 0);
    memcpy(&got64, &r.of.f64, 8);
    CHECK(got64 == nan64);

    sw_value in[3] = { i64v(-5000000000), f32v(1.5f), f64v(-2.25) }, out[3];
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "mix"), in, 3, out, 3, &err), 0);
    CHECK(out[0].type == SW_I64 && out[0].of.i64 == -5000000000);
    CHECK(out[1].type == SW_F32 && out[1].of.f32 == 1.5f);
    CHECK(out[2].type == SW_F64 && out[2].of.f64 == -2.25);
done:
    sw_store_free(s);
    sw_module_free(m);
}

/* ---- Linking ------------------------------------------------------------- */

static int return_arg_plus_one(sw_caller *c, void *user, const sw_slot *args,
                               sw_slot *results)
{
    (void)c; (void)user;
    results[0] = (uint32_t)((int32_t)args[0] + 1);
    return 0;
}

static const sw_valtype I32[] = { SW_I32 };

typedef struct Env {
    sw_store *store;
    sw_import imports[4];
} Env;

/* Imports that satisfy imports.wat. */
static void good_env(Env *env)
{
    const sw_functype ft = { 1, 1, I32, I32 };
    sw_store *s = env->store;
    env->imports[0] = (sw_import){ SW_NAME("env"), SW_NAME("f"),
        { SW_EXTERN_FUNC, { .func = sw_func_new_host(s, &ft, return_arg_plus_one, NULL) } } };
    env->imports[1] = (sw_import){ SW_NAME("env"), SW_NAME("mem"),
        { SW_EXTERN_MEMORY, { .memory = sw_memory_new(s, 1, 2) } } };
    env->imports[2] = (sw_import){ SW_NAME("env"), SW_NAME("tab"),
        { SW_EXTERN_TABLE, { .table = sw_table_new(s, SW_FUNCREF, 2, SW_NO_MAX, NULL) } } };
    env->imports[3] = (sw_import){ SW_NAME("env"), SW_NAME("g"),
        { SW_EXTERN_GLOBAL, { .global = sw_global_new(s, SW_I32, false, 9) } } };
}

/* Instantiates imports.wat with env; returns the error kind. */
static sw_errkind link_with(sw_module *m, Env *env, sw_error *err)
{
    sw_instance *inst = sw_instantiate(env->store, m, env->imports, 4, err);
    return inst ? SW_OK : err->kind;
}

TEST(link_resolves_imports_and_keeps_identity)
{
    sw_module *m = LOAD(imports_wasm);
    Env env = { .store = sw_store_new(NULL) };
    good_env(&env);
    sw_error err;
    sw_instance *inst = m ? sw_instantiate(env.store, m, env.imports, 4, &err) : NULL;
    CHECK(inst != NULL);
    if (!inst) goto done;
    int32_t r = 0;
    CHECK_EQ_INT(call_i32(inst, "call_f", 41, &r, &err), 0);
    CHECK_EQ_INT(r, 42);
    sw_extern ext;
    CHECK(sw_instance_export(inst, SW_NAME("f"), &ext) && ext.kind == SW_EXTERN_FUNC);
    CHECK(ext.of.func == env.imports[0].value.of.func);
    CHECK(sw_instance_export(inst, SW_NAME("mem"), &ext) && ext.kind == SW_EXTERN_MEMORY);
    CHECK(ext.of.memory == env.imports[1].value.of.memory);
    CHECK(sw_instance_memory(inst) == env.imports[1].value.of.memory);
    CHECK(sw_instance_export(inst, SW_NAME("tab"), &ext) && ext.kind == SW_EXTERN_TABLE);
    CHECK(ext.of.table == env.imports[2].value.of.table);
    CHECK(!sw_instance_export(inst, SW_NAME("g"), &ext));
done:
    sw_store_free(env.store);
    sw_module_free(m);
}

TEST(link_errors)
{
    sw_module *m = LOAD(imports_wasm);
    if (!m) { CHECK(m != NULL); return; }
    sw_store *s = sw_store_new(NULL);
    Env env = { .store = s };
    sw_error err;

    good_env(&env);
    env.imports[3].name = SW_NAME("h");
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    CHECK(strstr(err.message, "unknown import") && strstr(err.message, "env") &&
          strstr(err.message, "g"));

    good_env(&env); /* a memory where a function is expected */
    env.imports[0].value = env.imports[1].value;
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    CHECK(strstr(err.message, "incompatible import type") != NULL);

    good_env(&env); /* function type (i32) -> () */
    const sw_functype wrong = { 1, 0, I32, NULL };
    env.imports[0].value.of.func = sw_func_new_host(s, &wrong, return_arg_plus_one, NULL);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    CHECK(strstr(err.message, "incompatible import type") != NULL);

    good_env(&env); /* memory too small */
    env.imports[1].value.of.memory = sw_memory_new(s, 0, 2);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    good_env(&env); /* memory without the required maximum */
    env.imports[1].value.of.memory = sw_memory_new(s, 1, SW_NO_MAX);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    good_env(&env); /* memory maximum above the declared one */
    env.imports[1].value.of.memory = sw_memory_new(s, 1, 3);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    good_env(&env); /* a smaller maximum is fine */
    env.imports[1].value.of.memory = sw_memory_new(s, 1, 1);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_OK);

    good_env(&env); /* table too small */
    env.imports[2].value.of.table = sw_table_new(s, SW_FUNCREF, 1, 10, NULL);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    good_env(&env); /* wrong element type */
    env.imports[2].value.of.table = sw_table_new(s, SW_EXTERNREF, 2, 10, NULL);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);

    good_env(&env); /* global of another type, then mutable */
    env.imports[3].value.of.global = sw_global_new(s, SW_I64, false, 0);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    env.imports[3].value.of.global = sw_global_new(s, SW_I32, true, 0);
    CHECK_EQ_INT(link_with(m, &env, &err), SW_ERR_LINK);
    CHECK(strstr(err.message, "incompatible import type") != NULL);

    sw_store_free(s);
    sw_module_free(m);
}

/* ---- Host functions -------------------------------------------------------- */

typedef struct HostState {
    int calls;
    sw_instance *inst; /* for the callback */
} HostState;

static int host_combine(sw_caller *c, void *user, const sw_slot *args,
                        sw_slot *results)
{
    HostState *st = user;
    st->calls++;
    double x;
    memcpy(&x, &args[2], 8);
    double r = (double)(int32_t)args[0] + (double)(int64_t)args[1] + x;
    sw_memory *mem = sw_caller_memory(c);
    if (mem) sw_memory_write(mem, 0, "host", 4);
    memcpy(&results[0], &r, 8);
    return 0;
}

static int host_fail(sw_caller *c, void *user, const sw_slot *args, sw_slot *results)
{
    (void)user; (void)results;
    return sw_caller_trap(c, "bad record %d", (int32_t)args[0]);
}

static int host_exit(sw_caller *c, void *user, const sw_slot *args, sw_slot *results)
{
    (void)user; (void)results;
    return sw_caller_exit(c, (int32_t)args[0]);
}

/* Calls back into the guest: host functions may re-enter the store. */
static int host_callback(sw_caller *c, void *user, const sw_slot *args,
                         sw_slot *results)
{
    HostState *st = user;
    sw_error err;
    int32_t doubled;
    if (sw_caller_store(c) == NULL || !st->inst) return sw_caller_trap(c, "no store");
    if (call_i32(st->inst, "double", (int32_t)args[0], &doubled, &err) != 0)
        return sw_caller_trap(c, "nested call failed: %s", err.message);
    results[0] = (uint32_t)doubled;
    return 0;
}

/* Returns failure without saying why. */
static int host_silent_failure(sw_caller *c, void *user, const sw_slot *args,
                               sw_slot *results)
{
    (void)c; (void)user; (void)args; (void)results;
    return 1;
}

/* Links host.wat, with fail_fn behind its import "fail". */
static sw_instance *host_instance(sw_store *s, sw_module *m, HostState *st,
                                  sw_host_fn fail_fn)
{
    static const sw_valtype combine_params[] = { SW_I32, SW_I64, SW_F64 };
    static const sw_valtype f64_result[] = { SW_F64 };
    const sw_functype combine = { 3, 1, combine_params, f64_result };
    const sw_functype sink = { 1, 0, I32, NULL };
    const sw_functype unary = { 1, 1, I32, I32 };
    sw_import imports[] = {
        { SW_NAME("env"), SW_NAME("combine"),
          { SW_EXTERN_FUNC, { .func = sw_func_new_host(s, &combine, host_combine, st) } } },
        { SW_NAME("env"), SW_NAME("fail"),
          { SW_EXTERN_FUNC, { .func = sw_func_new_host(s, &sink, fail_fn, st) } } },
        { SW_NAME("env"), SW_NAME("exit"),
          { SW_EXTERN_FUNC, { .func = sw_func_new_host(s, &sink, host_exit, st) } } },
        { SW_NAME("env"), SW_NAME("callback"),
          { SW_EXTERN_FUNC, { .func = sw_func_new_host(s, &unary, host_callback, st) } } },
    };
    sw_error err;
    sw_instance *inst = sw_instantiate(s, m, imports, 4, &err);
    if (!inst) fprintf(stderr, "instantiate: %s\n", err.message);
    st->inst = inst;
    return inst;
}

TEST(host_functions)
{
    sw_module *m = LOAD(host_wasm);
    sw_store *s = sw_store_new(NULL);
    HostState st = { 0, NULL };
    sw_instance *inst = m ? host_instance(s, m, &st, host_fail) : NULL;
    CHECK(inst != NULL);
    if (!inst) goto done;
    sw_error err;
    sw_value args[3] = { i32v(-2), i64v(10000000000), f64v(0.5) }, r;
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "combine"), args, 3, &r, 1, &err), 0);
    CHECK(r.of.f64 == 9999999998.5);
    CHECK_EQ_INT(st.calls, 1);
    char word[5] = { 0 };
    CHECK_EQ_INT(sw_memory_read(sw_instance_memory(inst), 0, word, 4), 0);
    CHECK(strcmp(word, "host") == 0);

    int32_t out;
    CHECK_EQ_INT(call_i32(inst, "callback", 20, &out, &err), 0);
    CHECK_EQ_INT(out, 41);

    sw_value a = i32v(7);
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "fail"), &a, 1, NULL, 0, &err), -1);
    CHECK_EQ_INT(err.kind, SW_ERR_TRAP);
    CHECK_EQ_INT(err.trap, SW_TRAP_HOST);
    CHECK(strcmp(err.message, "bad record 7") == 0);

    a = i32v(3);
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "exit"), &a, 1, NULL, 0, &err), -1);
    CHECK_EQ_INT(err.kind, SW_ERR_EXIT);
    CHECK_EQ_INT(err.exit_code, 3);

    /* the store still works after a trap and an exit */
    CHECK_EQ_INT(call_i32(inst, "double", 21, &out, &err), 0);
    CHECK_EQ_INT(out, 42);
done:
    sw_store_free(s);
    sw_module_free(m);
}

TEST(host_failure_without_message)
{
    sw_module *m = LOAD(host_wasm);
    sw_store *s = sw_store_new(NULL);
    HostState st = { 0, NULL };
    sw_instance *inst = m ? host_instance(s, m, &st, host_silent_failure) : NULL;
    CHECK(inst != NULL);
    if (!inst) goto done;
    sw_error err;
    sw_value a = i32v(1);
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "fail"), &a, 1, NULL, 0, &err), -1);
    CHECK_EQ_INT(err.kind, SW_ERR_TRAP);
    CHECK_EQ_INT(err.trap, SW_TRAP_HOST);
    CHECK(err.message[0] != '\0');
done:
    sw_store_free(s);
    sw_module_free(m);
}

TEST(host_function_called_directly)
{
    sw_store *s = sw_store_new(NULL);
    const sw_functype unary = { 1, 1, I32, I32 };
    sw_func *f = sw_func_new_host(s, &unary, return_arg_plus_one, NULL);
    CHECK(f != NULL);
    sw_value a = i32v(1), r;
    sw_error err;
    CHECK_EQ_INT(sw_call(f, &a, 1, &r, 1, &err), 0);
    CHECK_EQ_INT(r.of.i32, 2);
    sw_func *g = sw_func_new_host(s, &unary, host_fail, NULL);
    CHECK_EQ_INT(sw_call(g, &a, 1, &r, 1, &err), -1);
    CHECK_EQ_INT(err.trap, SW_TRAP_HOST);
    CHECK(strcmp(err.message, "bad record 1") == 0);
    const sw_valtype bogus[] = { (sw_valtype)0x42 };
    const sw_functype bad = { 1, 0, bogus, NULL };
    CHECK(sw_func_new_host(s, &bad, return_arg_plus_one, NULL) == NULL);
    sw_store_free(s);
}

/* ---- Memories, tables, globals --------------------------------------------- */

TEST(memory_access_and_growth)
{
    sw_module *m = LOAD(memory_wasm);
    const sw_limits limits = { .max_memory_pages = 3 };
    sw_store *s = sw_store_new(&limits);
    sw_error err;
    sw_instance *inst = m ? sw_instantiate(s, m, NULL, 0, &err) : NULL;
    CHECK(inst != NULL);
    if (!inst) goto done;
    sw_memory *mem = sw_instance_memory(inst);
    CHECK_EQ_INT(sw_memory_size(mem), 65536);
    char buf[8] = { 0 };
    CHECK_EQ_INT(sw_memory_read(mem, 16, buf, 5), 0);
    CHECK(strcmp(buf, "hello") == 0);
    CHECK_EQ_INT(sw_memory_read(mem, 65532, buf, 4), 0);
    CHECK_EQ_INT(sw_memory_read(mem, 65533, buf, 4), -1);
    CHECK_EQ_INT(sw_memory_read(mem, UINT64_MAX - 1, buf, 4), -1);
    CHECK_EQ_INT(sw_memory_write(mem, 65536, buf, 1), -1);
    CHECK_EQ_INT(sw_memory_write(mem, 100, "A", 1), 0);
    int32_t r;
    CHECK_EQ_INT(call_i32(inst, "load", 100, &r, &err), 0);
    CHECK_EQ_INT(r, 'A');

    /* declared max 4, store limit 3 */
    CHECK_EQ_INT(call_i32(inst, "grow", 1, &r, &err), 0);
    CHECK_EQ_INT(r, 1);
    CHECK_EQ_INT(sw_memory_grow(mem, 1), 2);
    CHECK_EQ_INT(call_i32(inst, "grow", 1, &r, &err), 0);
    CHECK_EQ_INT(r, -1);
    CHECK_EQ_INT(sw_memory_grow(mem, 1), -1);
    CHECK_EQ_INT(sw_memory_size(mem), 3 * 65536);
    CHECK_EQ_INT(call_i32(inst, "load", 3 * 65536 - 1, &r, &err), 0);
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(call_i32(inst, "load", 3 * 65536, &r, &err), -1);
    CHECK_EQ_INT(err.trap, SW_TRAP_MEMORY_OOB);
    CHECK(sw_memory_new(s, 4, 8) == NULL); /* above the store limit */
done:
    sw_store_free(s);
    sw_module_free(m);
}

TEST(declared_sizes_above_store_limits)
{
    sw_module *mem = LOAD(bigmem_wasm), *tab = LOAD(bigtable_wasm);
    const sw_limits limits = { .max_memory_pages = 10, .max_table_size = 50 };
    sw_store *s = sw_store_new(&limits);
    sw_error err;
    CHECK(mem && sw_instantiate(s, mem, NULL, 0, &err) == NULL);
    CHECK_EQ_INT(err.kind, SW_ERR_LINK);
    CHECK(strstr(err.message, "20 pages") != NULL);
    CHECK(tab && sw_instantiate(s, tab, NULL, 0, &err) == NULL);
    CHECK_EQ_INT(err.kind, SW_ERR_LINK);
    CHECK(strstr(err.message, "100 elements") != NULL);
    CHECK(sw_table_new(s, SW_FUNCREF, 51, SW_NO_MAX, NULL) == NULL);
    CHECK(sw_store_limits(s)->max_table_size == 50);
    CHECK(sw_store_limits(s)->max_call_depth == 10000); /* a default */
    sw_store_free(s);
    sw_module_free(mem);
    sw_module_free(tab);
}

TEST(tables_and_globals)
{
    sw_store *s = sw_store_new(NULL);
    int a, b;
    sw_table *t = sw_table_new(s, SW_EXTERNREF, 2, 3, &a);
    void *ref = NULL;
    CHECK(t != NULL);
    if (!t) goto done;
    CHECK_EQ_INT(sw_table_size(t), 2);
    CHECK(sw_table_get(t, 1, &ref) == 0 && ref == &a);
    CHECK_EQ_INT(sw_table_set(t, 0, &b), 0);
    CHECK(sw_table_get(t, 0, &ref) == 0 && ref == &b);
    CHECK_EQ_INT(sw_table_get(t, 2, &ref), -1);
    CHECK_EQ_INT(sw_table_set(t, 2, &b), -1);
    CHECK(sw_table_new(s, SW_I32, 1, 1, NULL) == NULL);
    CHECK(sw_table_new(s, SW_FUNCREF, 2, 1, NULL) == NULL);

    sw_global *g = sw_global_new(s, SW_I64, true, 5);
    CHECK(g && sw_global_type(g) == SW_I64 && sw_global_get(g) == 5);
    sw_global_set(g, 6);
    CHECK(sw_global_get(g) == 6);
done:
    sw_store_free(s);
}

/* ---- Instantiation ------------------------------------------------------- */

TEST(start_function_runs)
{
    sw_module *m = LOAD(start_wasm);
    sw_store *s = sw_store_new(NULL);
    sw_error err;
    sw_instance *inst = m ? sw_instantiate(s, m, NULL, 0, &err) : NULL;
    sw_extern g;
    CHECK(inst && sw_instance_export(inst, SW_NAME("g"), &g));
    if (inst) CHECK(g.kind == SW_EXTERN_GLOBAL && sw_global_get(g.of.global) == 7);
    sw_store_free(s);
    sw_module_free(m);
}

TEST(segment_traps_keep_earlier_effects)
{
    sw_module *data = LOAD(segments_wasm), *elems = LOAD(elems_wasm);
    sw_store *s = sw_store_new(NULL);
    sw_error err;
    sw_memory *mem = sw_memory_new(s, 1, SW_NO_MAX);
    sw_import mi = { SW_NAME("env"), SW_NAME("mem"), { SW_EXTERN_MEMORY, { .memory = mem } } };
    CHECK(data && sw_instantiate(s, data, &mi, 1, &err) == NULL);
    CHECK_EQ_INT(err.kind, SW_ERR_TRAP);
    CHECK_EQ_INT(err.trap, SW_TRAP_MEMORY_OOB);
    CHECK(memcmp(sw_memory_data(mem), "ok", 2) == 0);

    sw_table *tab = sw_table_new(s, SW_FUNCREF, 2, SW_NO_MAX, NULL);
    sw_import ti = { SW_NAME("env"), SW_NAME("tab"), { SW_EXTERN_TABLE, { .table = tab } } };
    CHECK(elems && sw_instantiate(s, elems, &ti, 1, &err) == NULL);
    CHECK_EQ_INT(err.kind, SW_ERR_TRAP);
    CHECK_EQ_INT(err.trap, SW_TRAP_TABLE_OOB);
    void *ref = NULL;
    CHECK(sw_table_get(tab, 0, &ref) == 0 && ref != NULL);
    /* the function left in the table belongs to the failed instance and
       can still be called */
    sw_error call_err;
    if (ref) CHECK_EQ_INT(sw_call(ref, NULL, 0, NULL, 0, &call_err), 0);
    CHECK(sw_table_get(tab, 1, &ref) == 0 && ref == NULL);
    sw_store_free(s);
    sw_module_free(data);
    sw_module_free(elems);
}

TEST(many_instances_of_one_module)
{
    sw_module *m = LOAD(memory_wasm);
    sw_store *s = sw_store_new(NULL);
    sw_error err;
    enum { N = 200 };
    sw_instance *insts[N];
    for (int i = 0; m && i < N; i++) {
        insts[i] = sw_instantiate(s, m, NULL, 0, &err);
        CHECK(insts[i] != NULL);
        if (insts[i]) sw_memory_write(sw_instance_memory(insts[i]), 0, &i, sizeof i);
    }
    for (int i = 0; m && i < N; i++) {
        int32_t r;
        if (!insts[i]) continue;
        CHECK_EQ_INT(call_i32(insts[i], "load", 0, &r, &err), 0);
        CHECK_EQ_INT(r, i & 0xff);
    }
    sw_store_free(s);

    /* store + instance creation must stay cheap */
    uint64_t t0 = now_ns();
    enum { ROUNDS = 2000 };
    for (int i = 0; m && i < ROUNDS; i++) {
        sw_store *fresh = sw_store_new(NULL);
        CHECK(sw_instantiate(fresh, m, NULL, 0, &err) != NULL);
        sw_store_free(fresh);
    }
    printf("# store + instance + free: %.2f us\n", (double)(now_ns() - t0) / ROUNDS / 1000);
    sw_module_free(m);
}

/* ---- Fuel, deadlines, interruption, stack ----------------------------------- */

static sw_instance *loops_instance(sw_store *s, sw_module *m)
{
    sw_error err;
    sw_instance *inst = m ? sw_instantiate(s, m, NULL, 0, &err) : NULL;
    CHECK(inst != NULL);
    return inst;
}

TEST(fuel_exhaustion)
{
    sw_module *m = LOAD(loops_wasm);
    const sw_limits limits = { .fuel = 100000 };
    sw_store *s = sw_store_new(&limits);
    sw_instance *inst = loops_instance(s, m);
    if (!inst) goto done;
    sw_error err;
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "spin"), NULL, 0, NULL, 0, &err), -1);
    CHECK_EQ_INT(err.kind, SW_ERR_TRAP);
    CHECK_EQ_INT(err.trap, SW_TRAP_FUEL);
    CHECK_EQ_INT(sw_store_fuel_used(s), 100000);

    int32_t r;
    CHECK_EQ_INT(call_i32(inst, "count", 10, &r, &err), 0);
    CHECK_EQ_INT(r, 10);
    uint64_t small = sw_store_fuel_used(s);
    CHECK_EQ_INT(call_i32(inst, "count", 1000, &r, &err), 0);
    uint64_t large = sw_store_fuel_used(s);
    CHECK(small > 0 && large > small && large < 100000);

    sw_store_set_fuel(s, 0); /* unlimited */
    CHECK_EQ_INT(call_i32(inst, "count", 1000000, &r, &err), 0);
    CHECK_EQ_INT(r, 1000000);
    CHECK(sw_store_fuel_used(s) >= 1000000);
done:
    sw_store_free(s);
    sw_module_free(m);
}

TEST(timeout)
{
    sw_module *m = LOAD(loops_wasm);
    sw_store *s = sw_store_new(NULL);
    sw_instance *inst = loops_instance(s, m);
    if (!inst) goto done;
    sw_store_set_timeout(s, 20 * 1000000u);
    sw_error err;
    uint64_t t0 = now_ns();
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "spin"), NULL, 0, NULL, 0, &err), -1);
    uint64_t took = now_ns() - t0;
    CHECK_EQ_INT(err.trap, SW_TRAP_DEADLINE);
    CHECK(took >= 20 * 1000000u && took < 2000 * 1000000u);
    int32_t r;
    CHECK_EQ_INT(call_i32(inst, "count", 5, &r, &err), 0); /* fresh deadline */
    CHECK_EQ_INT(r, 5);
done:
    sw_store_free(s);
    sw_module_free(m);
}

static void *interrupt_later(void *store)
{
    struct timespec pause = { 0, 20 * 1000000 };
    nanosleep(&pause, NULL);
    sw_store_interrupt(store);
    return NULL;
}

TEST(interrupt_from_another_thread)
{
    sw_module *m = LOAD(loops_wasm);
    sw_store *s = sw_store_new(NULL);
    sw_instance *inst = loops_instance(s, m);
    if (!inst) goto done;
    sw_store_set_timeout(s, 10ull * 1000000000u); /* safety net */
    pthread_t thread;
    pthread_create(&thread, NULL, interrupt_later, s);
    sw_error err;
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "spin"), NULL, 0, NULL, 0, &err), -1);
    pthread_join(thread, NULL);
    CHECK_EQ_INT(err.trap, SW_TRAP_INTERRUPTED);
    int32_t r;
    CHECK_EQ_INT(call_i32(inst, "count", 5, &r, &err), 0); /* consumed */
    CHECK_EQ_INT(r, 5);
    sw_store_interrupt(s); /* with no call running: the next one stops */
    CHECK_EQ_INT(sw_call(sw_instance_func(inst, "spin"), NULL, 0, NULL, 0, &err), -1);
    CHECK_EQ_INT(err.trap, SW_TRAP_INTERRUPTED);
done:
    sw_store_free(s);
    sw_module_free(m);
}

static void exhaust_stack(const sw_limits *limits)
{
    sw_module *m = LOAD(loops_wasm);
    sw_store *s = sw_store_new(limits);
    sw_instance *inst = loops_instance(s, m);
    if (!inst) goto done;
    sw_error err;
    int32_t r;
    for (int round = 0; round < 3; round++) {
        CHECK_EQ_INT(call_i32(inst, "rec", 0, &r, &err), -1);
        CHECK_EQ_INT(err.kind, SW_ERR_TRAP);
        CHECK_EQ_INT(err.trap, SW_TRAP_STACK_EXHAUSTED);
        CHECK_EQ_INT(call_i32(inst, "count", 3, &r, &err), 0);
        CHECK_EQ_INT(r, 3);
    }
done:
    sw_store_free(s);
    sw_module_free(m);
}

TEST(stack_exhaustion_then_reuse)
{
    exhaust_stack(NULL);
    const sw_limits shallow = { .max_call_depth = 50 };
    exhaust_stack(&shallow);
    const sw_limits small_stack = { .stack_slots = 1000 };
    exhaust_stack(&small_stack);
}

/* ---- Threads -------------------------------------------------------------- */

typedef struct Worker {
    const sw_module *module;
    int failures;
} Worker;

static void *work(void *arg)
{
    Worker *w = arg;
    for (int i = 0; i < 50; i++) {
        sw_store *s = sw_store_new(NULL);
        sw_error err;
        sw_instance *inst = sw_instantiate(s, w->module, NULL, 0, &err);
        int32_t r = 0;
        if (!inst || call_i32(inst, "count", 1000 + i, &r, &err) != 0 || r != 1000 + i)
            w->failures++;
        sw_store_free(s);
    }
    return NULL;
}

TEST(module_shared_by_threads)
{
    sw_module *m = LOAD(loops_wasm);
    if (!m) { CHECK(m != NULL); return; }
    Worker workers[2] = { { m, 0 }, { m, 0 } };
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, work, &workers[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    CHECK_EQ_INT(workers[0].failures + workers[1].failures, 0);
    sw_module_free(m);
}

int main(void)
{
    RUN(load_reports_kind_and_offset);
    RUN(module_introspection);
    RUN(call_checks_arguments);
    RUN(call_preserves_float_bits_and_multi_value);
    RUN(link_resolves_imports_and_keeps_identity);
    RUN(link_errors);
    RUN(host_functions);
    RUN(host_failure_without_message);
    RUN(host_function_called_directly);
    RUN(memory_access_and_growth);
    RUN(declared_sizes_above_store_limits);
    RUN(tables_and_globals);
    RUN(start_function_runs);
    RUN(segment_traps_keep_earlier_effects);
    RUN(many_instances_of_one_module);
    RUN(fuel_exhaustion);
    RUN(timeout);
    RUN(interrupt_from_another_thread);
    RUN(stack_exhaustion_then_reuse);
    RUN(module_shared_by_threads);
    return unit_summary();
}
