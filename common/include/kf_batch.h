/*  kf_batch — the batch writer: many rows, one statement, one commit.

    Rows are collected column by column into PostgreSQL binary arrays, which
    a prepared statement unnests side by side in its select list:

        INSERT INTO messages (shop_id, body, ...)
        SELECT * FROM (SELECT unnest ($1::text[]) AS shop_id,
                              unnest ($2::text[]) AS body, ...) AS t

    One round trip and one statement for the whole batch, no per-row
    parsing, and no escaping anywhere: each value is an array element in
    binary form. The caller runs the statement(s) inside one transaction and
    commits once.

    Why not FROM unnest ($1, $2, ...) AS t (a, b, ...): PostgreSQL turns that
    into one function scan per array, each materialised into a tuplestore
    whose first 8 kB block is malloc'd and freed on every execution (glibc
    gives the memory back and takes page faults to get it again): a cost
    paid per array on every execution, before any row is written.
    Set-returning functions in the select list run in lockstep, one value
    at a time, and a shorter array gives NULLs just as the FROM form does.

    Times travel as epoch milliseconds (int8) and become timestamps with
    to_timestamp (ms / 1000.0::float8): the plain literal 1000.0 is numeric,
    and numeric -> float8 goes through a decimal string for every value;
    the float8 division gives the same timestamps. */
#ifndef KF_BATCH_H
#define KF_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kf_store.h"

typedef enum {
    KF_COL_TEXT,  //  text (UTF-8 already validated)
    KF_COL_BYTEA, //  bytea
    KF_COL_INT8,  //  bigint
    KF_COL_INT4,  //  integer
    KF_COL_INT2,  //  smallint
    KF_COL_BOOL,  //  boolean
} kf_col_type_t;

typedef struct _kf_batch_t kf_batch_t;

//  A batch with ncols columns of the given types (array copied). Caller owns.
kf_batch_t *kf_batch_new (int ncols, const kf_col_type_t *types);
void kf_batch_destroy (kf_batch_t **self_p);

//  Append one value to column col. Every row must give every column a value.
void kf_batch_text (kf_batch_t *self, int col, const void *data, size_t len);
void kf_batch_str (kf_batch_t *self, int col, const char *s); //  NUL-terminated text
void kf_batch_int (kf_batch_t *self, int col, int64_t v);
void kf_batch_bool (kf_batch_t *self, int col, bool v);
void kf_batch_null (kf_batch_t *self, int col);

//  Rows complete in every column.
int kf_batch_rows (const kf_batch_t *self);

//  Append the columns as ncols binary array parameters. The parameters
//  borrow the batch's buffers: valid until the batch is changed or reset.
void kf_batch_params (kf_batch_t *self, kf_params_t *params);

//  Queue the batch's rows as one statement (its columns as $1..$ncols) in
//  the store's open pipeline (parameters are copied), nothing when it has
//  no rows; destroys the batch.
void kf_batch_pipeline_add (kf_batch_t **self_p, kf_store_t *store, const char *stmt);

//  Empty the batch, keeping its buffers.
void kf_batch_reset (kf_batch_t *self);

#endif
