/*
** columns.h: the column planning that the table sinks (sqlite, postgres)
** share. Each field of a record is a column of one table; this module keeps
** the table's columns, plans a new column for a field seen for the first
** time (its type from the field's first non-null value), checks that every
** other value fits its column, and makes the planned columns in the
** database through the sink's DDL, keeping track of which exist.
**
** What differs between databases is data, in SlColumnRules: the column
** types and the values each takes, how names compare, how long they may
** be, plus a hook for values no column can store. Writing SQL (type names
** aside), quoting and talking to the database stay in the sinks.
**
** Planning is all or nothing per record: a rejected record plans no column.
*/
#ifndef SLUICE_SINKS_COLUMNS_H
#define SLUICE_SINKS_COLUMNS_H

#include "../pipeline/component.h"

enum {
    SL_NO_COLUMN = UINT32_MAX,      /* what sl_columns_find returns for no match */
    SL_NO_COLUMN_TYPE = -1,         /* in new_type: the value makes no column (null) */
    SL_COLUMN_WHY_MAX = 256         /* room for a rejection's reason */
};

/* A column type of one database. */
typedef struct SlColumnType {
    const char *sql;                /* as DDL and messages write it */
    /* Bits (1u << SlType) of the value types it takes besides those that
    ** would make a column of this type (a BIGINT fits in DOUBLE PRECISION). */
    uint32_t also_takes;
} SlColumnType;

/* All value types: for a column that takes anything (TEXT holding JSON). */
#define SL_TAKES_ANY UINT32_MAX
#define SL_TAKES(type) (1u << (type))

typedef struct SlColumnRules {
    const char *db;                 /* the database, as messages name it */
    const SlColumnType *types;      /* indexed by a column's type */
    /* Per value type: the type of the column it makes, or SL_NO_COLUMN_TYPE. */
    int8_t new_type[SL_MAP + 1];
    bool ignore_case;               /* names match without regard to ASCII case */
    uint32_t max_name;              /* the longest column name in bytes; 0: any */
    char quote;                     /* around a column's name in messages */
    /* Optional: false, with the reason in `why`, for a value that no
    ** column can store (a NUL byte in PostgreSQL text). */
    bool (*storable)(const SlField *f, char *why, size_t size);
} SlColumnRules;

typedef struct SlColumn {
    char *name;                     /* NUL-terminated */
    size_t len;
    uint8_t type;                   /* an index into the rules' types */
} SlColumn;

typedef struct SlColumns {
    const SlColumnRules *rules;
    SlColumn *cols;                 /* in table order */
    uint32_t count, cap;
    uint32_t made;                  /* the prefix of cols that exists in the table */
    bool table_exists;
    const SlValue **row;            /* per column: the value of the record at hand */
    uint64_t *seen;                 /* per column: the record that used it last */
    uint64_t stamp;                 /* the record being planned */
} SlColumns;

/* What exists in the database, to be restored when the transaction that
** made columns rolls back. */
typedef struct SlColumnsMark {
    uint32_t made;
    bool table_exists;
} SlColumnsMark;

/* The sink's DDL, run by sl_columns_make: each returns 0 when done, or the
** sink's own nonzero failure code, which sl_columns_make passes on. */
typedef int (*SlCreateTable)(void *sink, const SlColumns *c);
typedef int (*SlAddColumn)(void *sink, const SlColumn *col);

void sl_columns_init(SlColumns *c, const SlColumnRules *rules);
void sl_columns_free(SlColumns *c);

/* The column named `name`; SL_NO_COLUMN if none. Records mostly carry
** their fields in the order of the columns, which were made from such
** records, so the column at `hint` (the field's index) is tried first. */
uint32_t sl_columns_find(const SlColumns *c, const char *name, size_t len, uint32_t hint);

/* A column read from the table as it exists in the database. */
void sl_columns_load(SlColumns *c, const char *name, size_t len, uint8_t type);

/* Checks that every field of `r` fits its column, planning a column for
** each new field with a value; false with the reason in `why` (and nothing
** planned) if the record cannot be stored. */
bool sl_columns_plan(SlColumns *c, const SlRecord *r, char *why, size_t size);

/* Plans every record of `b`, keeping those that can be stored and
** rejecting the others with the reason. */
void sl_columns_plan_batch(SlCtx *ctx, SlColumns *c, SlBatch *b);

/* Makes the planned columns: creates the table with every column if it
** does not exist, else adds each column not made yet. */
int sl_columns_make(SlColumns *c, SlCreateTable create, SlAddColumn add, void *sink);

SlColumnsMark sl_columns_mark(const SlColumns *c);
/* After a rollback: what was made since `m` does not exist; those columns
** stay planned, to be made again. */
void sl_columns_rolled_back(SlColumns *c, SlColumnsMark m);
/* Forgets the columns planned but not made. */
void sl_columns_drop_planned(SlColumns *c);
/* Forgets every column and the table, to read them from the database again. */
void sl_columns_clear(SlColumns *c);

/* Per column, the value `r` gives it, or NULL (absent, or a null that never
** made a column): valid until the next call. */
const SlValue *const *sl_columns_row(SlColumns *c, const SlRecord *r);

/* The SQL name of a column's type. */
const char *sl_column_type_sql(const SlColumns *c, const SlColumn *col);

#endif
