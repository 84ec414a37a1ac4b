/*
** test_interp.c: unit tests of the compiler and the interpreter through the
** public API: lazy operands and retargeting, multi-value moves, if with
** params, traps, fuel, stack exhaustion and re-entry from a host function.
**
** The module, built with wat2wasm from:
**
    (module
      (import "env" "reenter" (func $reenter (param i32) (result i32)))
      (func $sum (export "sum") (param $n i32) (result i64)
        (local $i i32) (local $acc i64)
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (local.get $acc))
      (func (export "swap") (param i32 i32) (result i32 i32)
        (local.get 1) (local.get 0))
      (func (export "spin") (loop $l (br $l)))
      (func $deep (export "deep") (param i32) (result i32)
        (i32.add (call $deep (local.get 0)) (i32.const 1)))
      (func (export "pick") (param i32 i32 i32) (result i32)
        (local.get 1) (local.get 2)
        (if (param i32 i32) (result i32) (local.get 0)
          (then (i32.sub))
          (else (i32.mul))))
      (func (export "outer") (param i32) (result i32)
        (local $keep i32)
        (local.set $keep (i32.mul (local.get 0) (i32.const 10)))
        (i32.add (local.get $keep) (call $reenter (local.get 0))))
      (func (export "div") (param i32 i32) (result i32)
        (i32.div_s (local.get 0) (local.get 1)))
      (func (export "tee") (param i32) (result i32)
        (local $x i32)
        (local.get 0)
        (local.set 0 (i32.const 5))
        (local.tee $x (i32.add (local.get 0) (i32.const 1)))
        (i32.add)
        (local.get $x)
        (i32.mul))
    )
*/
#include "sluice_wasm.h"
#include "unit.h"

#include <stdint.h>

static const uint8_t module_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x22, 0x06, 0x60,
    0x01, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7e, 0x60, 0x02, 0x7f,
    0x7f, 0x02, 0x7f, 0x7f, 0x60, 0x00, 0x00, 0x60, 0x03, 0x7f, 0x7f, 0x7f,
    0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x02, 0x0f, 0x01, 0x03,
    0x65, 0x6e, 0x76, 0x07, 0x72, 0x65, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x00,
    0x00, 0x03, 0x09, 0x08, 0x01, 0x02, 0x03, 0x00, 0x04, 0x00, 0x05, 0x00,
    0x07, 0x37, 0x08, 0x03, 0x73, 0x75, 0x6d, 0x00, 0x01, 0x04, 0x73, 0x77,
    0x61, 0x70, 0x00, 0x02, 0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x03, 0x04,
    0x64, 0x65, 0x65, 0x70, 0x00, 0x04, 0x04, 0x70, 0x69, 0x63, 0x6b, 0x00,
    0x05, 0x05, 0x6f, 0x75, 0x74, 0x65, 0x72, 0x00, 0x06, 0x03, 0x64, 0x69,
    0x76, 0x00, 0x07, 0x03, 0x74, 0x65, 0x65, 0x00, 0x08, 0x0a, 0x81, 0x01,
    0x08, 0x26, 0x02, 0x01, 0x7f, 0x01, 0x7e, 0x02, 0x40, 0x03, 0x40, 0x20,
    0x01, 0x20, 0x00, 0x4f, 0x0d, 0x01, 0x20, 0x02, 0x20, 0x01, 0xad, 0x7c,
    0x21, 0x02, 0x20, 0x01, 0x41, 0x01, 0x6a, 0x21, 0x01, 0x0c, 0x00, 0x0b,
    0x0b, 0x20, 0x02, 0x0b, 0x06, 0x00, 0x20, 0x01, 0x20, 0x00, 0x0b, 0x07,
    0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, 0x09, 0x00, 0x20, 0x00, 0x10,
    0x04, 0x41, 0x01, 0x6a, 0x0b, 0x0e, 0x00, 0x20, 0x01, 0x20, 0x02, 0x20,
    0x00, 0x04, 0x05, 0x6b, 0x05, 0x6c, 0x0b, 0x0b, 0x12, 0x01, 0x01, 0x7f,
    0x20, 0x00, 0x41, 0x0a, 0x6c, 0x21, 0x01, 0x20, 0x01, 0x20, 0x00, 0x10,
    0x00, 0x6a, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6d, 0x0b, 0x15,
    0x01, 0x01, 0x7f, 0x20, 0x00, 0x41, 0x05, 0x21, 0x00, 0x20, 0x00, 0x41,
    0x01, 0x6a, 0x22, 0x01, 0x6a, 0x20, 0x01, 0x6c, 0x0b,
};

/* (func (result i32) (i64.const 1)): the body leaves an i64. */
static const uint8_t bad_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
    0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00,
    0x42, 0x01, 0x0b,
};

static sw_module *module;
static sw_store *store;
static sw_instance *instance;

/* env.reenter calls back into the guest's "sum", which exists only once
   the instance does. */
static sw_func *sum_func;

static int reenter(sw_caller *caller, void *user, const sw_slot *args,
                   sw_slot *results)
{
    (void)caller;
    (void)user;
    sw_slot slots[1] = { args[0] };
    sw_error err;
    if (sw_call_raw(sum_func, slots, &err) != 0) return -1;
    results[0] = slots[0];
    return 0;
}

static void setup(void)
{
    sw_error err;
    module = sw_module_load(module_wasm, sizeof module_wasm, &err);
    if (!module) {
        fprintf(stderr, "load: %s\n", err.message);
        return;
    }
    store = sw_store_new(NULL);
    static const sw_valtype i32[] = { SW_I32 };
    sw_functype t = { 1, 1, i32, i32 };
    sw_import imp = { SW_NAME("env"), SW_NAME("reenter"),
                      { SW_EXTERN_FUNC,
                        { .func = sw_func_new_host(store, &t,
                                                   reenter, NULL) } } };
    instance = sw_instantiate(store, module, &imp, 1, &err);
    if (!instance) fprintf(stderr, "instantiate: %s\n", err.message);
    else sum_func = sw_instance_func(instance, "sum");
}

static int call(const char *name, sw_slot *slots, sw_error *err)
{
    return sw_call_raw(sw_instance_func(instance, name), slots, err);
}

TEST(loop_sum)
{
    sw_slot s[1] = { 1000 };
    sw_error err;
    CHECK_EQ_INT(call("sum", s, &err), 0);
    CHECK_EQ_INT(s[0], 499500);
}

TEST(multi_value_swap)
{
    sw_slot s[2] = { 7, 9 };
    sw_error err;
    CHECK_EQ_INT(call("swap", s, &err), 0);
    CHECK_EQ_INT((uint32_t)s[0], 9);
    CHECK_EQ_INT((uint32_t)s[1], 7);
}

TEST(if_with_params)
{
    sw_slot s[3] = { 1, 10, 3 };
    sw_error err;
    CHECK_EQ_INT(call("pick", s, &err), 0);
    CHECK_EQ_INT((uint32_t)s[0], 7);
    sw_slot t[3] = { 0, 10, 3 };
    CHECK_EQ_INT(call("pick", t, &err), 0);
    CHECK_EQ_INT((uint32_t)t[0], 30);
}

TEST(lazy_local_overwritten)
{
    sw_slot s[1] = { 3 };
    sw_error err;
    CHECK_EQ_INT(call("tee", s, &err), 0);
    CHECK_EQ_INT((uint32_t)s[0], 54);
}

TEST(reentry_from_host)
{
    sw_slot s[1] = { 5 };
    sw_error err;
    CHECK_EQ_INT(call("outer", s, &err), 0);
    CHECK_EQ_INT((uint32_t)s[0], 60);
}

TEST(traps)
{
    sw_slot s[2] = { 1, 0 };
    sw_error err;
    CHECK_EQ_INT(call("div", s, &err), -1);
    CHECK_EQ_INT(err.trap, SW_TRAP_DIV_ZERO);
    sw_slot t[2] = { 0x80000000u, 0xffffffffu };
    CHECK_EQ_INT(call("div", t, &err), -1);
    CHECK_EQ_INT(err.trap, SW_TRAP_INT_OVERFLOW);
    sw_slot d[1] = { 0 };
    CHECK_EQ_INT(call("deep", d, &err), -1);
    CHECK_EQ_INT(err.trap, SW_TRAP_STACK_EXHAUSTED);
    /* the store is usable again after unwinding */
    sw_slot u[2] = { 10, 3 };
    CHECK_EQ_INT(call("div", u, &err), 0);
    CHECK_EQ_INT((uint32_t)u[0], 3);
}

TEST(fuel_stops_infinite_loop)
{
    sw_store_set_fuel(store, 100000);
    sw_error err;
    sw_slot s[1] = { 0 };
    CHECK_EQ_INT(call("spin", s, &err), -1);
    CHECK_EQ_INT(err.trap, SW_TRAP_FUEL);
    sw_store_set_fuel(store, 0);
}

TEST(invalid_body)
{
    sw_error err;
    CHECK(sw_module_load(bad_wasm, sizeof bad_wasm, &err) == NULL);
    CHECK_EQ_INT(err.kind, SW_ERR_INVALID);
    CHECK(strcmp(err.message, "type mismatch") == 0);
}

int main(void)
{
    setup();
    if (!instance) return 1;
    RUN(loop_sum);
    RUN(multi_value_swap);
    RUN(if_with_params);
    RUN(lazy_local_overwritten);
    RUN(reentry_from_host);
    RUN(traps);
    RUN(fuel_stops_infinite_loop);
    RUN(invalid_body);
    sw_store_free(store);
    sw_module_free(module);
    return unit_summary();
}
