/*  kf_store — the PostgreSQL connection driver every service uses.

    One connection, used from one thread. It connects with backoff and
    reconnects after a loss; each module registers a table of named
    statements, prepared on every connect. Values always travel as
    parameters (kf_params_t), never inside SQL text. Results reach callers
    as a borrowed PGresult inside a callback, and are PQclear'ed here, in
    one place. A failure says whether the store is unavailable (retry later:
    ERROR_STORE_UNAVAILABLE) or the statement itself failed (ERROR_INTERNAL,
    with the SQLSTATE in the reason).

    Each service keeps all its SQL in one module (intake_store.c, ...) built
    on this; nothing else includes libpq-fe.h. */
#ifndef KF_STORE_H
#define KF_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "kf_error.h"

typedef struct _kf_store_t kf_store_t;

//  A named SQL statement, prepared on connect. Tables end with {NULL, NULL}.
typedef struct {
    const char *name; //  unique across the process, e.g. "intake_insert_messages"
    const char *sql;  //  one statement with $1.. parameters (types from casts)
} kf_stmt_t;

//  Parameters for one statement. Build on the stack with kf_params_init.
#define KF_PARAMS_MAX 64
typedef struct {
    int count;                         //  parameters added so far
    const char *values[KF_PARAMS_MAX]; //  borrowed pointers (or into numbuf)
    int lengths[KF_PARAMS_MAX];        //  for binary parameters
    int formats[KF_PARAMS_MAX];        //  0 text, 1 binary
    char numbuf[KF_PARAMS_MAX][24];    //  decimal text of integer parameters
} kf_params_t;

void kf_params_init (kf_params_t *p);
//  A NUL-terminated string (borrowed until the statement ran).
void kf_params_str (kf_params_t *p, const char *s);
//  len bytes as text or bytea, sent in binary form (no NUL needed; borrowed).
void kf_params_bytes (kf_params_t *p, const void *data, size_t len);
void kf_params_int (kf_params_t *p, int64_t v);
void kf_params_bool (kf_params_t *p, bool v);
void kf_params_null (kf_params_t *p);
//  A binary-format parameter already encoded (kf_batch arrays). Borrowed.
void kf_params_binary (kf_params_t *p, const void *data, size_t len);

//  Called once per successful statement with its result (borrowed: do not
//  PQclear, do not keep). Return 0, or -1 to fail the call.
typedef int (kf_store_rows_fn) (const PGresult *res, void *arg);

//  A new store for conninfo (libpq URL or key=value string). Does not
//  connect yet. app_name shows in pg_stat_activity. Caller owns return value.
kf_store_t *kf_store_new (const char *conninfo, const char *app_name);
void kf_store_destroy (kf_store_t **self_p);

//  Plan every prepared statement once and by its indexes, from the next
//  connect on (plan_cache_mode = force_generic_plan, enable_seqscan = off).
//  For connections whose statements look rows up by key from the arrays of
//  a batch: PostgreSQL estimates an array parameter at 10 elements in a
//  generic plan, so with batches of a few items it keeps preferring a
//  custom plan and plans the statement again on every execution; and a
//  plan made while tables were small (a fresh shop, statistics from its
//  first minutes) may hash-join over sequential scans, which a cached plan
//  then repeats as the tables grow. Not for statements whose best plan
//  depends on the values (ranges over time, LIMITs) or that read whole
//  tables.
void kf_store_set_batch_plans (kf_store_t *self, bool on);

//  Register statements to prepare on every connect (table is borrowed and
//  must outlive the store; static tables are the norm).
void kf_store_add_statements (kf_store_t *self, const kf_stmt_t *table);

//  Connect now (and prepare). 0 connected, -1 not (reason logged).
int kf_store_connect (kf_store_t *self);
//  Connect if disconnected and the backoff delay has passed. 0 if connected.
int kf_store_ensure (kf_store_t *self);
bool kf_store_connected (const kf_store_t *self);
//  Drop the connection (next ensure reconnects, without backoff).
void kf_store_disconnect (kf_store_t *self);
//  Number of (re)connections made so far.
int64_t kf_store_connects (const kf_store_t *self);

//  Run a prepared statement. fn may be NULL. 0 ok, -1 with err set.
int kf_store_exec (kf_store_t *self, const char *stmt, const kf_params_t *params,
                   kf_store_rows_fn *fn, void *arg, kf_error_t *err)
    __attribute__ ((warn_unused_result));
//  Run one SQL statement that is not prepared (admin tools, tests). Values
//  still travel as parameters.
int kf_store_exec_sql (kf_store_t *self, const char *sql, const kf_params_t *params,
                       kf_store_rows_fn *fn, void *arg, kf_error_t *err)
    __attribute__ ((warn_unused_result));
//  Run a trusted multi-statement script shipped with kefu (a migration file).
//  Never pass text that came from outside.
int kf_store_exec_script (kf_store_t *self, const char *script, kf_error_t *err)
    __attribute__ ((warn_unused_result));

//  Transactions. begin/commit fail like exec; rollback never fails (a lost
//  connection has rolled back already).
int kf_store_begin (kf_store_t *self, kf_error_t *err) __attribute__ ((warn_unused_result));
int kf_store_commit (kf_store_t *self, kf_error_t *err) __attribute__ ((warn_unused_result));
void kf_store_rollback (kf_store_t *self);
bool kf_store_in_txn (const kf_store_t *self);

//  BEGIN; fn (self, arg, err); COMMIT — or ROLLBACK when fn or COMMIT fails.
typedef int (kf_store_txn_fn) (kf_store_t *store, void *arg, kf_error_t *err);
int kf_store_txn (kf_store_t *self, kf_store_txn_fn *fn, void *arg, kf_error_t *err)
    __attribute__ ((warn_unused_result));

//  Pipelines: several statements sent at once and answered at once, one
//  round trip for all of them (libpq pipeline mode). Statements queued after
//  a failing one are not executed. Use it for statements that do not depend
//  on each other's results:
//      kf_store_pipeline_begin (store);
//      kf_store_pipeline_sql (store, "BEGIN", NULL, NULL, NULL);
//      kf_store_pipeline_add (store, "stmt_a", &params_a, s_on_a, arg);
//      kf_store_pipeline_add (store, "stmt_b", &params_b, s_on_b, arg);
//      if (kf_store_pipeline_run (store, &err)) ...
//  Parameter values are copied when queued. The rows callbacks run inside
//  kf_store_pipeline_run, in order. "BEGIN", "COMMIT" and "ROLLBACK" queued
//  with kf_store_pipeline_sql keep kf_store_in_txn right.
int kf_store_pipeline_begin (kf_store_t *self, kf_error_t *err)
    __attribute__ ((warn_unused_result));
void kf_store_pipeline_add (kf_store_t *self, const char *stmt, const kf_params_t *params,
                            kf_store_rows_fn *fn, void *arg);
void kf_store_pipeline_sql (kf_store_t *self, const char *sql, const kf_params_t *params,
                            kf_store_rows_fn *fn, void *arg);
int kf_store_pipeline_run (kf_store_t *self, kf_error_t *err) __attribute__ ((warn_unused_result));
//  The same in two halves, so that the caller works while PostgreSQL does:
//  _send sends what is queued and the sync point; _wait reads the results
//  (the rows callbacks run then) and leaves pipeline mode. In between the
//  connection is busy: every other use of the store (exec, begin, ensure,
//  another pipeline...) first calls the settle function, which must call
//  kf_store_pipeline_wait (and do whatever follows the results).
int kf_store_pipeline_send (kf_store_t *self, kf_error_t *err) __attribute__ ((warn_unused_result));
int kf_store_pipeline_wait (kf_store_t *self, kf_error_t *err) __attribute__ ((warn_unused_result));
bool kf_store_pipeline_in_flight (const kf_store_t *self);
typedef void (kf_store_settle_fn) (void *arg);
void kf_store_set_settle (kf_store_t *self, kf_store_settle_fn *fn, void *arg);
//  Send what is queued and drop the answers (after a failure while queuing,
//  before rolling back).
void kf_store_pipeline_discard (kf_store_t *self);

//  SQLSTATE of the last failed statement ("" if none).
const char *kf_store_sqlstate (const kf_store_t *self);

//  Result helpers for rows callbacks.
int64_t kf_store_int (const PGresult *res, int row, int col);
const char *kf_store_text (const PGresult *res, int row, int col); //  borrowed
int kf_store_len (const PGresult *res, int row, int col);
bool kf_store_isnull (const PGresult *res, int row, int col);
//  Rows callbacks into an int64_t *arg: the first column of the first row
//  (0 when there is no row), and the rows the statement changed.
int kf_store_on_int (const PGresult *res, void *arg);
int kf_store_on_changed (const PGresult *res, void *arg);

#endif
