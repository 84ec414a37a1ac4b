/*
** test_decode.c: unit tests of the module decoder (decode.c), of function
** type interning (types.c) and of the error helpers (errors.c).
**
** Modules are assembled by hand, byte by byte, so each test shows exactly
** which encoding it exercises; error tests check the kind, the message and
** the offset of the offending byte.
*/
#include "internal.h"
#include "unit.h"

#include <pthread.h>
#include <stdlib.h>

#define HEADER 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00

/* Decodes a copy of bytes (the decoder may keep pointers into it, so the
   copy lives in m->bytes and is freed by release()). */
static int decode(const uint8_t *bytes, size_t len, sw_module *m, sw_error *err)
{
    memset(m, 0, sizeof *m);
    memset(err, 0, sizeof *err);
    m->bytes = malloc(len ? len : 1);
    if (len) memcpy(m->bytes, bytes, len);
    m->len = len;
    return decode_module(m, err);
}

static void release(sw_module *m)
{
    module_release(m);
    free(m->bytes);
}

#define DECODE_OK(m, ...)                                                  \
    do {                                                                   \
        static const uint8_t bytes_[] = { HEADER, __VA_ARGS__ };          \
        sw_error err_;                                                     \
        int rc_ = decode(bytes_, sizeof bytes_, &(m), &err_);              \
        if (rc_ != 0) fprintf(stderr, "unexpected error: %s at %zu\n",     \
                              err_.message, err_.offset);                  \
        CHECK_EQ_INT(rc_, 0);                                              \
        if (rc_ != 0) return;                                              \
    } while (0)

/* Expects decoding to fail with the given kind, message prefix and offset. */
static void expect_error(const uint8_t *bytes, size_t len, sw_errkind kind,
                         const char *message, size_t offset, int line)
{
    sw_module m;
    sw_error err;
    int rc = decode(bytes, len, &m, &err);
    bool ok = rc == -1 && err.kind == kind &&
              strncmp(err.message, message, strlen(message)) == 0 &&
              err.offset == offset;
    if (!ok) {
        fprintf(stderr, "%s:%d: got rc %d kind %d '%s' at %zu, expected "
                "kind %d '%s' at %zu\n", __FILE__, line, rc, err.kind,
                err.message, err.offset, kind, message, offset);
        unit_failed_checks++;
    }
    release(&m);
}

#define EXPECT_ERROR(kind, message, offset, ...)                           \
    do {                                                                   \
        static const uint8_t bytes_[] = { __VA_ARGS__ };                   \
        expect_error(bytes_, sizeof bytes_, kind, message, offset,         \
                     __LINE__);                                            \
    } while (0)

#define MALFORMED(message, offset, ...) \
    EXPECT_ERROR(SW_ERR_MALFORMED, message, offset, __VA_ARGS__)
#define INVALID(message, offset, ...) \
    EXPECT_ERROR(SW_ERR_INVALID, message, offset, __VA_ARGS__)

/* ---- errors.c and types.c ---------------------------------------------- */

TEST(fail_fills_error)
{
    sw_error err;
    CHECK_EQ_INT(sw_fail(&err, SW_ERR_INVALID, 42, "unknown %s %d", "global", 7), -1);
    CHECK_EQ_INT(err.kind, SW_ERR_INVALID);
    CHECK_EQ_INT(err.offset, 42);
    CHECK(strcmp(err.message, "unknown global 7") == 0);
    CHECK_EQ_INT(sw_fail(NULL, SW_ERR_ARG, 0, "ignored"), -1);
}

TEST(trap_messages_use_spec_wording)
{
    static const struct { sw_trap trap; const char *message; } expected[] = {
        { SW_TRAP_UNREACHABLE, "unreachable" },
        { SW_TRAP_MEMORY_OOB, "out of bounds memory access" },
        { SW_TRAP_TABLE_OOB, "out of bounds table access" },
        { SW_TRAP_DIV_ZERO, "integer divide by zero" },
        { SW_TRAP_INT_OVERFLOW, "integer overflow" },
        { SW_TRAP_BAD_CONVERSION, "invalid conversion to integer" },
        { SW_TRAP_INDIRECT_MISMATCH, "indirect call type mismatch" },
        { SW_TRAP_UNDEFINED_ELEMENT, "undefined element" },
        { SW_TRAP_UNINITIALIZED_ELEMENT, "uninitialized element" },
        { SW_TRAP_NULL_REFERENCE, "null reference" },
        { SW_TRAP_STACK_EXHAUSTED, "call stack exhausted" },
        { SW_TRAP_FUEL, "fuel exhausted" },
        { SW_TRAP_DEADLINE, "deadline exceeded" },
        { SW_TRAP_INTERRUPTED, "interrupted" },
        { SW_TRAP_HOST, "host function error" },
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        CHECK(strcmp(sw_trap_message(expected[i].trap), expected[i].message) == 0);
}

TEST(interning_gives_one_pointer_per_type)
{
    static const uint8_t i32_i64[] = { SW_I32, SW_I64 };
    static const uint8_t f32[] = { SW_F32 };
    const FuncType *a = functype_intern(i32_i64, 2, f32, 1);
    const FuncType *b = functype_intern(i32_i64, 2, f32, 1);
    const FuncType *c = functype_intern(i32_i64, 1, f32, 1);
    const FuncType *d = functype_intern(i32_i64, 2, NULL, 0);
    CHECK(a && a == b);
    CHECK(c && c != a && d && d != a && d != c);
    CHECK_EQ_INT(a->nparams, 2);
    CHECK_EQ_INT(a->nresults, 1);
    CHECK_EQ_INT(a->types[2], SW_F32);
    CHECK_EQ_INT(a->public_type.nparams, 2);
    CHECK_EQ_INT(a->public_type.params[1], SW_I64);
    CHECK_EQ_INT(a->public_type.results[0], SW_F32);
    /* () -> (i32) differs from (i32) -> () */
    CHECK(functype_intern(NULL, 0, i32_i64, 1) != functype_intern(i32_i64, 1, NULL, 0));
}

/* Each thread interns the same 300 types; all must agree on the pointers. */
static void *intern_many(void *out)
{
    const FuncType **types = out;
    for (unsigned i = 0; i < 300; i++) {
        uint8_t params[3] = { SW_I32, (uint8_t)(SW_I64 - i % 4), SW_F64 };
        uint8_t results[1] = { (uint8_t)(SW_F64 + i % 4) };
        types[i] = functype_intern(params, 1 + i / 100, results, i % 2);
    }
    return NULL;
}

TEST(interning_is_thread_safe)
{
    enum { THREADS = 4 };
    static const FuncType *seen[THREADS][300];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&threads[t], NULL, intern_many, seen[t]);
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    for (int t = 1; t < THREADS; t++)
        for (int i = 0; i < 300; i++) CHECK(seen[t][i] == seen[0][i]);
}

/* ---- Valid modules ------------------------------------------------------- */

TEST(empty_module)
{
    sw_module m;
    DECODE_OK(m);
    CHECK_EQ_INT(m.ntypes + m.nimports + m.nfuncs + m.nexports, 0);
    CHECK(!m.has_start && !m.has_datacount);
    release(&m);
}

TEST(types_are_interned)
{
    sw_module m;
    DECODE_OK(m, 0x01, 0x10, 0x03,
              0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7d,  /* (i32 i64) -> f32 */
              0x60, 0x00, 0x00,                    /* () -> () */
              0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7d); /* same as type 0 */
    CHECK_EQ_INT(m.ntypes, 3);
    CHECK(m.types[0] == m.types[2]);
    CHECK(m.types[1]->nparams == 0 && m.types[1]->nresults == 0);
    static const uint8_t params[] = { SW_I32, SW_I64 }, results[] = { SW_F32 };
    CHECK(m.types[0] == functype_intern(params, 2, results, 1));
    release(&m);
}

TEST(imports_of_every_kind)
{
    sw_module m;
    DECODE_OK(m, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
              0x02, 0x1f, 0x04,
              0x01, 'm', 0x01, 'f', 0x00, 0x00,              /* func type 0 */
              0x01, 'm', 0x01, 't', 0x01, 0x6f, 0x01, 0x01, 0x02, /* table */
              0x01, 'm', 0x01, 'r', 0x02, 0x00, 0x03,        /* memory 3 */
              0x01, 'm', 0x02, 'g', 'g', 0x03, 0x7e, 0x01);  /* mut i64 */
    CHECK_EQ_INT(m.nimports, 4);
    CHECK_EQ_INT(m.nfuncs, 1);
    CHECK_EQ_INT(m.nimported_funcs, 1);
    CHECK_EQ_INT(m.func_types[0], 0);
    CHECK_EQ_INT(m.ntables, 1);
    CHECK_EQ_INT(m.tables[0].elem, SW_EXTERNREF);
    CHECK(m.tables[0].limits.has_max && m.tables[0].limits.min == 1 &&
          m.tables[0].limits.max == 2);
    CHECK_EQ_INT(m.nmemories, 1);
    CHECK_EQ_INT(m.memories[0].min, 3);
    CHECK(!m.memories[0].has_max);
    CHECK_EQ_INT(m.nimported_globals, 1);
    CHECK(m.globals[0].type.type == SW_I64 && m.globals[0].type.mutable_);
    CHECK_EQ_INT(m.imports[3].kind, SW_EXTERN_GLOBAL);
    CHECK(m.imports[3].name.len == 2 && memcmp(m.imports[3].name.ptr, "gg", 2) == 0);
    CHECK(m.imports[2].module.len == 1 && m.imports[2].module.ptr[0] == 'm');
    release(&m);
}

TEST(functions_and_bodies)
{
    sw_module m;
    DECODE_OK(m, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,
              0x03, 0x03, 0x02, 0x00, 0x00,
              0x0a, 0x0b, 0x02,
              0x04, 0x00, 0x41, 0x07, 0x0b,          /* i32.const 7 */
              0x04, 0x00, 0x41, 0x08, 0x0b);         /* i32.const 8 */
    CHECK_EQ_INT(m.nfuncs, 2);
    CHECK_EQ_INT(m.nimported_funcs, 0);
    CHECK_EQ_INT(m.funcs[1].type, 0);
    CHECK_EQ_INT(m.funcs[0].body_len, 4);
    CHECK_EQ_INT(m.funcs[0].body_offset, 24);
    CHECK_EQ_INT(m.funcs[1].body_offset, 29);
    CHECK(m.funcs[1].body == m.bytes + 29);
    CHECK_EQ_INT(m.funcs[1].body[2], 0x08);
    release(&m);
}

TEST(globals_with_constant_expressions)
{
    sw_module m;
    DECODE_OK(m, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
              0x02, 0x08, 0x01, 0x01, 'm', 0x01, 'g', 0x03, 0x7f, 0x00,
              0x03, 0x02, 0x01, 0x00,
              0x06, 0x1e, 0x05,
              0x7f, 0x01, 0x41, 0x7f, 0x0b,                  /* i32.const -1 */
              0x7e, 0x00, 0x42, 0x80, 0x01, 0x0b,            /* i64.const 128 */
              0x7d, 0x00, 0x43, 0x00, 0x00, 0x80, 0x3f, 0x0b, /* f32.const 1 */
              0x70, 0x00, 0xd2, 0x00, 0x0b,                  /* ref.func 0 */
              0x7f, 0x00, 0x23, 0x00, 0x0b,                  /* global.get 0 */
              0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b);
    CHECK_EQ_INT(m.nglobals, 6);
    CHECK_EQ_INT(m.globals[1].init.op, 0x41);
    CHECK_EQ_INT(m.globals[1].init.imm, 0xffffffffu);
    CHECK(m.globals[1].type.mutable_);
    CHECK_EQ_INT(m.globals[2].init.imm, 128);
    CHECK_EQ_INT(m.globals[3].init.imm, 0x3f800000);
    CHECK_EQ_INT(m.globals[4].init.op, 0xd2);
    CHECK_EQ_INT(m.globals[5].init.op, 0x23);
    CHECK(m.declared_funcs[0] & 1);
    release(&m);
}

TEST(exports_start_and_declared_functions)
{
    sw_module m;
    DECODE_OK(m, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
              0x03, 0x04, 0x03, 0x00, 0x00, 0x00,
              0x05, 0x03, 0x01, 0x00, 0x01,
              0x07, 0x0e, 0x03,
              0x01, 'a', 0x00, 0x02,        /* func 2 */
              0x01, 'b', 0x02, 0x00,        /* memory 0 */
              0x02, 0xc3, 0xa9, 0x00, 0x02, /* "é" names func 2 again */
              0x08, 0x01, 0x01,
              0x0a, 0x0a, 0x03, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b,
              0x02, 0x00, 0x0b);
    CHECK_EQ_INT(m.nexports, 3);
    CHECK_EQ_INT(m.exports[1].kind, SW_EXTERN_MEMORY);
    CHECK_EQ_INT(m.exports[2].name.len, 2);
    CHECK(m.has_start && m.start == 1);
    CHECK_EQ_INT(m.declared_funcs[0], 0x04); /* only function 2 */
    release(&m);
}

TEST(element_segments_in_all_encodings)
{
    sw_module m;
    DECODE_OK(m, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
              0x03, 0x02, 0x01, 0x00,
              0x04, 0x07, 0x02, 0x70, 0x00, 0x02, 0x6f, 0x00, 0x01,
              0x09, 0x31, 0x08,
              0x00, 0x41, 0x00, 0x0b, 0x01, 0x00,                /* 0 */
              0x01, 0x00, 0x01, 0x00,                            /* 1 */
              0x02, 0x00, 0x41, 0x01, 0x0b, 0x00, 0x01, 0x00,    /* 2 */
              0x03, 0x00, 0x00,                                  /* 3 */
              0x04, 0x41, 0x00, 0x0b, 0x01, 0xd0, 0x70, 0x0b,    /* 4 */
              0x05, 0x70, 0x01, 0xd2, 0x00, 0x0b,                /* 5 */
              0x06, 0x01, 0x41, 0x00, 0x0b, 0x6f, 0x01, 0xd0, 0x6f, 0x0b, /* 6 */
              0x07, 0x70, 0x00,                                  /* 7 */
              0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b);
    CHECK_EQ_INT(m.nelems, 8);
    CHECK_EQ_INT(m.elems[0].mode, SEG_ACTIVE);
    CHECK_EQ_INT(m.elems[0].count, 1);
    CHECK_EQ_INT(m.elems[0].items[0].op, 0xd2);
    CHECK_EQ_INT(m.elems[1].mode, SEG_PASSIVE);
    CHECK_EQ_INT(m.elems[2].offset.imm, 1);
    CHECK_EQ_INT(m.elems[3].mode, SEG_DECLARATIVE);
    CHECK_EQ_INT(m.elems[3].count, 0);
    CHECK_EQ_INT(m.elems[4].items[0].op, 0xd0);
    CHECK_EQ_INT(m.elems[5].mode, SEG_PASSIVE);
    CHECK(m.elems[6].table == 1 && m.elems[6].type == SW_EXTERNREF);
    CHECK_EQ_INT(m.elems[7].mode, SEG_DECLARATIVE);
    CHECK(m.declared_funcs[0] & 1);
    release(&m);
}

TEST(data_segments_and_data_count)
{
    sw_module m;
    DECODE_OK(m, 0x05, 0x03, 0x01, 0x00, 0x01,
              0x0c, 0x01, 0x03,
              0x0b, 0x14, 0x03,
              0x00, 0x41, 0x10, 0x0b, 0x02, 'h', 'i',   /* active, memory 0 */
              0x01, 0x01, 'x',                          /* passive */
              0x02, 0x00, 0x41, 0x00, 0x0b, 0x03, 'a', 'b', 'c');
    CHECK(m.has_datacount && m.datacount == 3);
    CHECK_EQ_INT(m.ndatas, 3);
    CHECK_EQ_INT(m.datas[0].offset.imm, 16);
    CHECK(m.datas[0].len == 2 && memcmp(m.datas[0].bytes, "hi", 2) == 0);
    CHECK_EQ_INT(m.datas[1].mode, SEG_PASSIVE);
    CHECK_EQ_INT(m.datas[2].len, 3);
    release(&m);
}

TEST(custom_sections_anywhere)
{
    sw_module m;
    DECODE_OK(m, 0x00, 0x04, 0x03, 'a', 'b', 'c',
              0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
              0x00, 0x05, 0x00, 0xff, 0xfe, 0x00, 0x01,  /* empty name, junk */
              0x03, 0x02, 0x01, 0x00,
              0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
              0x00, 0x02, 0x01, 'z');
    CHECK_EQ_INT(m.nfuncs, 1);
    release(&m);
}

/* ---- Malformed modules -------------------------------------------------- */

TEST(header_errors)
{
    MALFORMED("unexpected end", 0, 0x00, 0x61);
    MALFORMED("magic header not detected", 0, 0x00, 0x61, 0x73, 0x6e, 0x01, 0, 0, 0);
    MALFORMED("unknown binary version", 4, 0x00, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0);
    MALFORMED("unexpected end", 4, 0x00, 0x61, 0x73, 0x6d, 0x01, 0);
}

TEST(section_framing_errors)
{
    MALFORMED("malformed section id", 8, HEADER, 0x0d, 0x00);
    MALFORMED("length out of bounds", 9, HEADER, 0x01, 0x07, 0x01, 0x60, 0x00, 0x00);
    MALFORMED("section size mismatch", 10, HEADER,
              0x01, 0x07, 0x01, 0x60, 0x00, 0x00, 0x60, 0x00, 0x00);
    MALFORMED("unexpected content after last section", 11, HEADER,
              0x05, 0x01, 0x00, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00);
    MALFORMED("unexpected content after last section", 11, HEADER,
              0x0a, 0x01, 0x00, 0x0c, 0x01, 0x00);
    MALFORMED("unexpected end of section or function", 11, HEADER,
              0x05, 0x01, 0x01);
    MALFORMED("integer representation too long", 15, HEADER,
              0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    MALFORMED("integer too large", 15, HEADER,
              0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x70, 0x00);
}

TEST(huge_counts_fail_without_allocating)
{
    MALFORMED("unexpected end", 15, HEADER, 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f);
    MALFORMED("unexpected end", 15, HEADER, 0x09, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f);
    MALFORMED("unexpected end", 16, HEADER,
              0x0b, 0x06, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00);
    MALFORMED("length out of bounds", 13, HEADER,
              0x02, 0x08, 0x01, 0x01, 'm', 0xff, 0xff, 0xff, 0xff, 0x0f);
}

TEST(type_and_import_encoding_errors)
{
    MALFORMED("malformed function type", 11, HEADER,
              0x01, 0x04, 0x01, 0x61, 0x00, 0x00);
    MALFORMED("integer representation too long", 12, HEADER,
              0x01, 0x05, 0x01, 0xe0, 0x7f, 0x00, 0x00);
    MALFORMED("malformed value type", 13, HEADER,
              0x01, 0x05, 0x01, 0x60, 0x01, 0x7b, 0x00);
    MALFORMED("malformed import kind", 15, HEADER,
              0x02, 0x06, 0x01, 0x01, 'm', 0x01, 'f', 0x04, 0x00);
    MALFORMED("malformed UTF-8 encoding", 14, HEADER,
              0x02, 0x08, 0x01, 0x01, 'm', 0x02, 0xc0, 0x80, 0x00, 0x00);
    MALFORMED("malformed UTF-8 encoding", 11, HEADER,   /* surrogate */
              0x00, 0x04, 0x03, 0xed, 0xa0, 0x80);
    MALFORMED("malformed reference type", 11, HEADER,
              0x04, 0x04, 0x01, 0x7f, 0x00, 0x00);
    MALFORMED("integer too large", 12, HEADER, 0x05, 0x03, 0x01, 0x02, 0x00);
    MALFORMED("malformed mutability", 12, HEADER, 0x06, 0x06, 0x01, 0x7f, 0x02,
              0x41, 0x00, 0x0b);
}

TEST(segment_encoding_errors)
{
    MALFORMED("malformed elements segment kind", 11, HEADER,
              0x09, 0x03, 0x01, 0x08, 0x00);
    MALFORMED("malformed elements segment kind", 12, HEADER,
              0x09, 0x04, 0x01, 0x01, 0x01, 0x00);
    MALFORMED("malformed data segment kind", 11, HEADER, 0x0b, 0x03, 0x01, 0x03, 0x00);
    MALFORMED("illegal opcode", 17, HEADER, 0x05, 0x03, 0x01, 0x00, 0x01,
              0x0b, 0x05, 0x01, 0x00, 0xff, 0x0b, 0x00);
}

TEST(paired_section_errors)
{
    MALFORMED("function and code section have inconsistent lengths", 18, HEADER,
              0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00);
    MALFORMED("function and code section have inconsistent lengths", 20, HEADER,
              0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00,
              0x0a, 0x01, 0x00);
    MALFORMED("data count and data section have inconsistent lengths", 11, HEADER,
              0x0c, 0x01, 0x01);
    MALFORMED("data count and data section have inconsistent lengths", 13, HEADER,
              0x0c, 0x01, 0x01, 0x0b, 0x01, 0x00);
}

/* ---- Invalid modules ------------------------------------------------------ */

TEST(index_errors)
{
    INVALID("unknown type 1", 17, HEADER, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
            0x03, 0x02, 0x01, 0x01, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b);
    INVALID("unknown function 0", 13, HEADER, 0x07, 0x05, 0x01, 0x01, 'f', 0x00, 0x00);
    INVALID("unknown memory 0", 13, HEADER, 0x07, 0x05, 0x01, 0x01, 'm', 0x02, 0x00);
    INVALID("unknown global 0", 13, HEADER, 0x07, 0x05, 0x01, 0x01, 'g', 0x03, 0x00);
    INVALID("unknown table 0", 12, HEADER,
            0x09, 0x06, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00);
    INVALID("unknown memory 0", 12, HEADER,
            0x0b, 0x06, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00);
    INVALID("unknown function 0", 10, HEADER, 0x08, 0x01, 0x00);
}

TEST(limits_errors)
{
    INVALID("memory size must be at most 65536 pages (4GiB)", 11, HEADER,
            0x05, 0x05, 0x01, 0x00, 0x81, 0x80, 0x04);
    INVALID("size minimum must not be greater than maximum", 11, HEADER,
            0x05, 0x04, 0x01, 0x01, 0x02, 0x01);
    INVALID("size minimum must not be greater than maximum", 12, HEADER,
            0x04, 0x05, 0x01, 0x70, 0x01, 0x02, 0x01);
    INVALID("multiple memories", 10, HEADER, 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00);
    INVALID("multiple memories", 20, HEADER,
            0x02, 0x08, 0x01, 0x01, 'm', 0x01, 'm', 0x02, 0x00, 0x00,
            0x05, 0x03, 0x01, 0x00, 0x00);
}

TEST(constant_expression_errors)
{
    /* i32.const 0; nop */
    INVALID("constant expression required", 15, HEADER,
            0x06, 0x07, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x01, 0x0b);
    /* empty, and two values */
    INVALID("type mismatch", 13, HEADER, 0x06, 0x04, 0x01, 0x7f, 0x00, 0x0b);
    INVALID("type mismatch", 13, HEADER,
            0x06, 0x08, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x41, 0x00, 0x0b);
    /* i64 initialiser for an i32 global */
    INVALID("type mismatch", 13, HEADER,
            0x06, 0x06, 0x01, 0x7f, 0x00, 0x42, 0x00, 0x0b);
    /* global.get of a defined global, then of a mutable import */
    INVALID("unknown global 0", 19, HEADER,
            0x06, 0x0b, 0x02, 0x7f, 0x00, 0x41,
            0x00, 0x0b, 0x7f, 0x00, 0x23, 0x00, 0x0b);
    INVALID("constant expression required", 24, HEADER,
            0x02, 0x08, 0x01, 0x01, 'm', 0x01, 'g', 0x03, 0x7f, 0x01,
            0x06, 0x06, 0x01, 0x7f, 0x00, 0x23, 0x00, 0x0b);
    INVALID("unknown function 3", 14, HEADER,
            0x06, 0x06, 0x01, 0x70, 0x00, 0xd2, 0x03, 0x0b);
    /* externref table with a funcref segment */
    INVALID("type mismatch", 18, HEADER, 0x04, 0x04, 0x01, 0x6f, 0x00, 0x00,
            0x09, 0x06, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00);
}

TEST(export_and_start_errors)
{
    INVALID("duplicate export name", 15, HEADER, 0x05, 0x03, 0x01, 0x00, 0x00,
            0x07, 0x09, 0x02, 0x01, 'x', 0x02, 0x00, 0x01, 'x', 0x02, 0x00);
    INVALID("start function", 21, HEADER, 0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00,
            0x03, 0x02, 0x01, 0x00, 0x08, 0x01, 0x00,
            0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b);
}

TEST(malformed_wins_over_invalid)
{
    /* an unknown export index, then a truncated section */
    MALFORMED("unexpected end", 18, HEADER, 0x07, 0x05, 0x01, 0x01, 'f', 0x00, 0x00,
              0x0b, 0x01, 0x01);
}

int main(void)
{
    RUN(fail_fills_error);
    RUN(trap_messages_use_spec_wording);
    RUN(interning_gives_one_pointer_per_type);
    RUN(interning_is_thread_safe);
    RUN(empty_module);
    RUN(types_are_interned);
    RUN(imports_of_every_kind);
    RUN(functions_and_bodies);
    RUN(globals_with_constant_expressions);
    RUN(exports_start_and_declared_functions);
    RUN(element_segments_in_all_encodings);
    RUN(data_segments_and_data_count);
    RUN(custom_sections_anywhere);
    RUN(header_errors);
    RUN(section_framing_errors);
    RUN(huge_counts_fail_without_allocating);
    RUN(type_and_import_encoding_errors);
    RUN(segment_encoding_errors);
    RUN(paired_section_errors);
    RUN(index_errors);
    RUN(limits_errors);
    RUN(constant_expression_errors);
    RUN(export_and_start_errors);
    RUN(malformed_wins_over_invalid);
    return unit_summary();
}
