/*  kf_store — blocking libpq connection with reconnect, prepared statements
    and the one place PGresults are cleared. */
#include "kf_store.h"

#include "kf_clock.h"
#include "kf_log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_TABLES   16
#define S_PIPELINE_MAX 32
#define S_BACKOFF_MIN  100  //  ms
#define S_BACKOFF_MAX  5000 //  ms

struct _kf_store_t {
    char *conninfo;                        //  as configured
    char *app_name;                        //  application_name
    PGconn *conn;                          //  NULL while disconnected
    const kf_stmt_t *tables[S_MAX_TABLES]; //  statement tables to prepare (borrowed)
    int table_count;                       //  tables in use
    bool in_txn;                           //  between begin and commit/rollback
    int64_t next_attempt_ms;               //  monotonic time of the next connect attempt
    int backoff_ms;                        //  current backoff delay
    int64_t connects;                      //  successful connects so far
    bool batch_plans;                      //  kf_store_set_batch_plans
    char sqlstate[6];                      //  of the last failure
    //  The pipeline being built (kf_store_pipeline_*).
    struct {
        const char *what;     //  statement name or SQL, for errors
        kf_store_rows_fn *fn; //  rows callback, may be NULL
        void *arg;            //  its argument
        int txn;              //  +1 BEGIN, -1 COMMIT/ROLLBACK, 0 other
    } queued[S_PIPELINE_MAX];
    int queued_count;           //  statements queued
    bool queue_failed;          //  a send failed while queuing
    bool in_flight;             //  a pipeline is sent and its results not read
    kf_store_settle_fn *settle; //  reads them before any other use
    void *settle_arg;           //  its argument
};

//  Before any other use of the connection: let the owner of a pipeline in
//  flight read its results (kf_store_set_settle).
static void
s_settle (kf_store_t *self)
{
    if (self->in_flight && self->settle)
        self->settle (self->settle_arg);
    assert (!self->in_flight);
}

void
kf_params_init (kf_params_t *p)
{
    p->count = 0;
}

static int
s_slot (kf_params_t *p)
{
    //  Overflow is a programming error in a statement table, not input.
    assert (p->count < KF_PARAMS_MAX);
    return p->count++;
}

void
kf_params_str (kf_params_t *p, const char *s)
{
    int i = s_slot (p);
    p->values[i] = s;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

void
kf_params_bytes (kf_params_t *p, const void *data, size_t len)
{
    int i = s_slot (p);
    //  A zero-length binary value must still be non-NULL (NULL means SQL NULL).
    p->values[i] = len ? (const char *) data : "";
    p->lengths[i] = (int) len;
    p->formats[i] = 1;
}

void
kf_params_binary (kf_params_t *p, const void *data, size_t len)
{
    kf_params_bytes (p, data, len);
}

void
kf_params_int (kf_params_t *p, int64_t v)
{
    int i = s_slot (p);
    snprintf (p->numbuf[i], sizeof p->numbuf[i], "%" PRId64, v);
    p->values[i] = p->numbuf[i];
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

void
kf_params_bool (kf_params_t *p, bool v)
{
    kf_params_str (p, v ? "t" : "f");
}

void
kf_params_null (kf_params_t *p)
{
    int i = s_slot (p);
    p->values[i] = NULL;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

kf_store_t *
kf_store_new (const char *conninfo, const char *app_name)
{
    kf_store_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->conninfo = strdup (conninfo ? conninfo : "");
    self->app_name = strdup (app_name ? app_name : "kefu");
    self->backoff_ms = S_BACKOFF_MIN;
    return self;
}

void
kf_store_set_batch_plans (kf_store_t *self, bool on)
{
    self->batch_plans = on;
}

void
kf_store_destroy (kf_store_t **self_p)
{
    if (self_p && *self_p) {
        kf_store_t *self = *self_p;
        if (self->conn)
            PQfinish (self->conn);
        free (self->conninfo);
        free (self->app_name);
        free (self);
        *self_p = NULL;
    }
}

void
kf_store_add_statements (kf_store_t *self, const kf_stmt_t *table)
{
    for (int i = 0; i < self->table_count; i++)
        if (self->tables[i] == table)
            return;
    assert (self->table_count < S_MAX_TABLES);
    self->tables[self->table_count++] = table;
    //  Already connected: prepare the new table now.
    if (self->conn)
        for (const kf_stmt_t *s = table; s->name; s++) {
            PGresult *res = PQprepare (self->conn, s->name, s->sql, 0, NULL);
            if (PQresultStatus (res) != PGRES_COMMAND_OK)
                kf_log_error ("store.prepare_failed", "stmt=%s error=\"%s\"", s->name,
                              PQresultErrorMessage (res));
            PQclear (res);
        }
}

static void
s_drop (kf_store_t *self)
{
    if (self->conn) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
    self->in_txn = false;
}

//  Server notices ("relation already exists, skipping") go to the debug log,
//  not to libpq's default of raw stderr lines.
static void
s_on_notice (void *arg, const char *message)
{
    (void) arg;
    char msg[256];
    snprintf (msg, sizeof msg, "%s", message);
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '"')
            *c = ' ';
    kf_log_debug ("store.notice", "message=\"%s\"", msg);
}

static int
s_prepare_all (kf_store_t *self)
{
    for (int t = 0; t < self->table_count; t++)
        for (const kf_stmt_t *s = self->tables[t]; s->name; s++) {
            PGresult *res = PQprepare (self->conn, s->name, s->sql, 0, NULL);
            bool ok = PQresultStatus (res) == PGRES_COMMAND_OK;
            if (!ok) {
                char msg[256];
                snprintf (msg, sizeof msg, "%s", PQresultErrorMessage (res));
                for (char *c = msg; *c; c++)
                    if (*c == '\n' || *c == '"')
                        *c = ' ';
                //  Usually the schema is older than the binary: run kefuctl migrate.
                kf_log_error ("store.prepare_failed", "stmt=%s error=\"%s\" hint=\"%s\"", s->name,
                              msg, "is the schema migrated? (kefuctl migrate)");
            }
            PQclear (res);
            if (!ok)
                return -1;
        }
    return 0;
}

int
kf_store_connect (kf_store_t *self)
{
    s_drop (self);
    //  kefu's statements are few, prepared and short; JIT compilation (which
    //  big batches' cost estimates can trigger) would only add latency.
    const char *keys[] = {"dbname",           "application_name", "client_encoding",
                          "connect_timeout",  "keepalives_idle",  "keepalives_interval",
                          "keepalives_count", "options",          NULL};
    const char *values[] = {self->conninfo,
                            self->app_name,
                            "UTF8",
                            "3",
                            "10",
                            "3",
                            "3",
                            self->batch_plans ? "-c jit=off -c plan_cache_mode=force_generic_plan "
                                                "-c enable_seqscan=off"
                                              : "-c jit=off",
                            NULL};
    self->conn = PQconnectdbParams (keys, values, 1);
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        char msg[256];
        snprintf (msg, sizeof msg, "%s",
                  self->conn ? PQerrorMessage (self->conn) : "out of memory");
        for (char *c = msg; *c; c++)
            if (*c == '\n' || *c == '"')
                *c = ' ';
        kf_log_warn ("store.connect_failed", "error=\"%s\" retry_ms=%d", msg, self->backoff_ms);
        s_drop (self);
        goto failed;
    }
    PQsetNoticeProcessor (self->conn, s_on_notice, NULL);
    if (s_prepare_all (self)) {
        s_drop (self);
        goto failed;
    }
    self->connects++;
    self->backoff_ms = S_BACKOFF_MIN;
    kf_log_info ("store.connected", "app=%s connects=%" PRId64, self->app_name, self->connects);
    return 0;
failed:
    self->next_attempt_ms = kf_clock_mono_ms () + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > S_BACKOFF_MAX ? S_BACKOFF_MAX : self->backoff_ms * 2;
    return -1;
}

int
kf_store_ensure (kf_store_t *self)
{
    s_settle (self);
    //  A connection left in pipeline mode (a pipeline that could not be
    //  sent or read to its end: the server went away halfway) accepts no
    //  other statement: start afresh.
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK &&
        PQpipelineStatus (self->conn) != PQ_PIPELINE_OFF) {
        kf_log_warn ("store.pipeline_abandoned", "app=%s", self->app_name);
        s_drop (self);
    }
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK)
        return 0;
    if (self->conn)
        s_drop (self);
    if (kf_clock_mono_ms () < self->next_attempt_ms)
        return -1;
    return kf_store_connect (self);
}

bool
kf_store_connected (const kf_store_t *self)
{
    return self->conn && PQstatus (self->conn) == CONNECTION_OK;
}

void
kf_store_disconnect (kf_store_t *self)
{
    s_settle (self);
    s_drop (self);
    self->next_attempt_ms = 0;
}

int64_t
kf_store_connects (const kf_store_t *self)
{
    return self->connects;
}

//  Classify a failed result: connection-level failures drop the connection
//  and say "retry later"; anything else is the statement's own error.
static int
s_fail (kf_store_t *self, PGresult *res, const char *what, kf_error_t *err)
{
    const char *state = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
    snprintf (self->sqlstate, sizeof self->sqlstate, "%s", state ? state : "");
    char msg[200];
    snprintf (msg, sizeof msg, "%s",
              res ? PQresultErrorMessage (res) : (self->conn ? PQerrorMessage (self->conn) : ""));
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '"')
            *c = ' ';
    bool lost = !self->conn || PQstatus (self->conn) != CONNECTION_OK ||
                (state && (strncmp (state, "08", 2) == 0 || strncmp (state, "57P", 3) == 0));
    bool transient = state && (strcmp (state, "40001") == 0 || strcmp (state, "40P01") == 0 ||
                               strcmp (state, "53300") == 0);
    if (res)
        PQclear (res);
    if (lost) {
        kf_log_warn ("store.connection_lost", "during=%s error=\"%s\"", what, msg);
        s_drop (self);
        self->next_attempt_ms = 0; //  first reconnect attempt right away
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                             "database unavailable: %s", msg);
    }
    if (transient)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                             "transient database conflict (%s): %s", self->sqlstate, msg);
    if (strncmp (self->sqlstate, "KF", 2) == 0)
        //  A check kefu's own SQL makes (kefu_fail): the caller handles it.
        kf_log_info ("store.check_failed", "stmt=%s sqlstate=%s error=\"%s\"", what, self->sqlstate,
                     msg);
    else if (strcmp (self->sqlstate, "23505") == 0)
        //  Usually expected: a message sent again, or two writers creating
        //  the same row at once; callers that do not expect it report it.
        kf_log_debug ("store.unique_violation", "stmt=%s error=\"%s\"", what, msg);
    else
        kf_log_error ("store.statement_failed", "stmt=%s sqlstate=%s error=\"%s\"", what,
                      self->sqlstate, msg);
    return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "statement %s failed (%s): %s",
                         what, self->sqlstate, msg);
}

//  The single place results are checked and cleared.
static int
s_finish (kf_store_t *self, PGresult *res, const char *what, kf_store_rows_fn *fn, void *arg,
          kf_error_t *err)
{
    ExecStatusType status = PQresultStatus (res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        return s_fail (self, res, what, err);
    int rc = 0;
    if (fn && fn (res, arg)) {
        rc = -1;
        if (err && err->code == KEFU__V1__ERROR_CODE__ERROR_NONE)
            kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "unexpected result from %s",
                          what);
    }
    PQclear (res);
    return rc;
}

static int
s_not_connected (kf_store_t *self, kf_error_t *err)
{
    snprintf (self->sqlstate, sizeof self->sqlstate, "08000");
    return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                         "database unavailable: not connected");
}

int
kf_store_exec (kf_store_t *self, const char *stmt, const kf_params_t *params, kf_store_rows_fn *fn,
               void *arg, kf_error_t *err)
{
    s_settle (self);
    if (!self->conn)
        return s_not_connected (self, err);
    PGresult *res = PQexecPrepared (self->conn, stmt, params ? params->count : 0,
                                    params ? params->values : NULL, params ? params->lengths : NULL,
                                    params ? params->formats : NULL, 0);
    return s_finish (self, res, stmt, fn, arg, err);
}

int
kf_store_exec_sql (kf_store_t *self, const char *sql, const kf_params_t *params,
                   kf_store_rows_fn *fn, void *arg, kf_error_t *err)
{
    s_settle (self);
    if (!self->conn)
        return s_not_connected (self, err);
    PGresult *res = PQexecParams (self->conn, sql, params ? params->count : 0, NULL,
                                  params ? params->values : NULL, params ? params->lengths : NULL,
                                  params ? params->formats : NULL, 0);
    return s_finish (self, res, "sql", fn, arg, err);
}

int
kf_store_exec_script (kf_store_t *self, const char *script, kf_error_t *err)
{
    s_settle (self);
    if (!self->conn)
        return s_not_connected (self, err);
    //  Simple-query protocol: the only way to run a multi-statement file.
    //  Only kefu's own migration files come here, never outside text.
    PGresult *res = PQexec (self->conn, script);
    return s_finish (self, res, "script", NULL, NULL, err);
}

static int
s_simple (kf_store_t *self, const char *command, kf_error_t *err)
{
    s_settle (self);
    if (!self->conn)
        return s_not_connected (self, err);
    PGresult *res = PQexecParams (self->conn, command, 0, NULL, NULL, NULL, NULL, 0);
    return s_finish (self, res, command, NULL, NULL, err);
}

int
kf_store_begin (kf_store_t *self, kf_error_t *err)
{
    assert (!self->in_txn);
    if (s_simple (self, "BEGIN", err))
        return -1;
    self->in_txn = true;
    return 0;
}

int
kf_store_commit (kf_store_t *self, kf_error_t *err)
{
    s_settle (self);
    //  A connection lost inside the transaction has already ended it.
    if (!self->in_txn || !self->conn)
        return s_not_connected (self, err);
    self->in_txn = false;
    PGresult *res = PQexecParams (self->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    //  COMMIT of an aborted transaction answers "ROLLBACK" with COMMAND_OK.
    if (PQresultStatus (res) == PGRES_COMMAND_OK && strcmp (PQcmdStatus (res), "COMMIT") != 0) {
        PQclear (res);
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL,
                             "transaction was aborted and rolled back");
    }
    return s_finish (self, res, "COMMIT", NULL, NULL, err);
}

void
kf_store_rollback (kf_store_t *self)
{
    s_settle (self);
    if (!self->in_txn)
        return;
    self->in_txn = false;
    if (!self->conn)
        return;
    PGresult *res = PQexecParams (self->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus (res) != PGRES_COMMAND_OK)
        s_fail (self, res, "ROLLBACK", NULL);
    else
        PQclear (res);
}

bool
kf_store_in_txn (const kf_store_t *self)
{
    return self->in_txn;
}

int
kf_store_txn (kf_store_t *self, kf_store_txn_fn *fn, void *arg, kf_error_t *err)
{
    if (kf_store_begin (self, err))
        return -1;
    if (fn (self, arg, err)) {
        kf_store_rollback (self);
        return -1;
    }
    return kf_store_commit (self, err);
}

const char *
kf_store_sqlstate (const kf_store_t *self)
{
    return self->sqlstate;
}

int64_t
kf_store_int (const PGresult *res, int row, int col)
{
    return strtoll (PQgetvalue (res, row, col), NULL, 10);
}

int
kf_store_on_int (const PGresult *res, void *arg)
{
    *(int64_t *) arg = PQntuples (res) > 0 ? kf_store_int (res, 0, 0) : 0;
    return 0;
}

int
kf_store_on_changed (const PGresult *res, void *arg)
{
    *(int64_t *) arg = strtoll (PQcmdTuples ((PGresult *) res), NULL, 10);
    return 0;
}

const char *
kf_store_text (const PGresult *res, int row, int col)
{
    return PQgetvalue (res, row, col);
}

int
kf_store_len (const PGresult *res, int row, int col)
{
    return PQgetlength (res, row, col);
}

bool
kf_store_isnull (const PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col);
}

//  ---------------------------------------------------------------------
//  Pipelines

int
kf_store_pipeline_begin (kf_store_t *self, kf_error_t *err)
{
    s_settle (self);
    if (!self->conn)
        return s_not_connected (self, err);
    self->queued_count = 0;
    self->queue_failed = false;
    if (PQenterPipelineMode (self->conn) != 1)
        return s_fail (self, NULL, "pipeline", err);
    return 0;
}

static void
s_queue (kf_store_t *self, const char *what, int sent, kf_store_rows_fn *fn, void *arg, int txn)
{
    //  Overflow is a programming error (a fixed set of statements).
    assert (self->queued_count < S_PIPELINE_MAX);
    if (sent != 1) {
        self->queue_failed = true;
        return;
    }
    self->queued[self->queued_count].what = what;
    self->queued[self->queued_count].fn = fn;
    self->queued[self->queued_count].arg = arg;
    self->queued[self->queued_count].txn = txn;
    self->queued_count++;
}

void
kf_store_pipeline_add (kf_store_t *self, const char *stmt, const kf_params_t *params,
                       kf_store_rows_fn *fn, void *arg)
{
    if (!self->conn || self->queue_failed)
        return;
    int sent = PQsendQueryPrepared (self->conn, stmt, params ? params->count : 0,
                                    params ? params->values : NULL, params ? params->lengths : NULL,
                                    params ? params->formats : NULL, 0);
    s_queue (self, stmt, sent, fn, arg, 0);
}

void
kf_store_pipeline_sql (kf_store_t *self, const char *sql, const kf_params_t *params,
                       kf_store_rows_fn *fn, void *arg)
{
    if (!self->conn || self->queue_failed)
        return;
    int txn = strcmp (sql, "BEGIN") == 0                                       ? 1
              : (strcmp (sql, "COMMIT") == 0 || strcmp (sql, "ROLLBACK") == 0) ? -1
                                                                               : 0;
    int sent = PQsendQueryParams (self->conn, sql, params ? params->count : 0, NULL,
                                  params ? params->values : NULL, params ? params->lengths : NULL,
                                  params ? params->formats : NULL, 0);
    s_queue (self, sql, sent, fn, arg, txn);
}

int
kf_store_pipeline_send (kf_store_t *self, kf_error_t *err)
{
    if (!self->conn)
        return s_not_connected (self, err);
    //  In blocking mode the sync point also flushes what is queued.
    if (self->queue_failed || PQpipelineSync (self->conn) != 1) {
        //  Some statements may be out, their results never to be read: the
        //  connection cannot be used again.
        s_fail (self, NULL, "pipeline", err);
        s_drop (self);
        self->queued_count = 0;
        return -1;
    }
    self->in_flight = true;
    return 0;
}

bool
kf_store_pipeline_in_flight (const kf_store_t *self)
{
    return self->in_flight;
}

void
kf_store_set_settle (kf_store_t *self, kf_store_settle_fn *fn, void *arg)
{
    self->settle = fn;
    self->settle_arg = arg;
}

int
kf_store_pipeline_run (kf_store_t *self, kf_error_t *err)
{
    if (kf_store_pipeline_send (self, err))
        return -1;
    return kf_store_pipeline_wait (self, err);
}

int
kf_store_pipeline_wait (kf_store_t *self, kf_error_t *err)
{
    assert (self->in_flight);
    self->in_flight = false;
    if (!self->conn) {
        self->queued_count = 0;
        return s_not_connected (self, err);
    }
    int rc = 0;
    //  One result (then NULL) per queued statement, then the sync point.
    for (int i = 0; i < self->queued_count && self->conn; i++) {
        PGresult *res = PQgetResult (self->conn);
        if (!res) {
            rc = s_fail (self, NULL, self->queued[i].what, err);
            break;
        }
        ExecStatusType status = PQresultStatus (res);
        if (status == PGRES_PIPELINE_ABORTED) {
            PQclear (res);
            if (rc == 0)
                rc = kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL,
                                   "pipeline aborted before %s", self->queued[i].what);
        } else if (rc == 0) {
            int txn = self->queued[i].txn;
            if (s_finish (self, res, self->queued[i].what, self->queued[i].fn, self->queued[i].arg,
                          err))
                rc = -1;
            else if (txn == 1)
                self->in_txn = true;
            else if (txn == -1)
                self->in_txn = false;
        } else
            PQclear (res); //  after a failure: drained, not reported again
        if (!self->conn)
            break;                                //  the connection was lost (s_fail dropped it)
        PGresult *end = PQgetResult (self->conn); //  NULL ends this statement's results
        if (end)
            PQclear (end);
    }
    if (self->conn) {
        PGresult *sync = PQgetResult (self->conn);
        if (sync && PQresultStatus (sync) != PGRES_PIPELINE_SYNC && rc == 0)
            rc = kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "pipeline out of step");
        if (sync)
            PQclear (sync);
        if (PQexitPipelineMode (self->conn) != 1) {
            //  Results left unread (the server went away halfway): this
            //  connection cannot be used again.
            kf_log_warn ("store.pipeline_exit_failed", "app=%s rc=%d error=\"%s\"", self->app_name,
                         rc, PQerrorMessage (self->conn));
            s_drop (self);
        }
    }
    self->queued_count = 0;
    return rc;
}

void
kf_store_pipeline_discard (kf_store_t *self)
{
    s_settle (self);
    //  Nothing to drain when the pipeline already ran (and failed): keep
    //  the failure's SQLSTATE for the caller.
    if (!self->conn || PQpipelineStatus (self->conn) == PQ_PIPELINE_OFF)
        return;
    kf_error_t ignored;
    if (kf_store_pipeline_run (self, &ignored))
        kf_log_debug ("store.pipeline_discarded", "reason=\"%s\"", ignored.reason);
}
