/*  test_kf_store — the PostgreSQL driver against the private test cluster.

    Every test makes its own database from the migrated template
    (kt_db_fresh), so tests are independent and can be run alone. Covered:
    prepared statement tables, values full of SQL metacharacters travelling
    byte-identical as parameters and as kf_batch arrays (with the schema
    untouched afterwards), transactions, statement errors with SQLSTATE, and
    reconnecting after the server restarts or is killed with SIGKILL.

    The reconnect tests wait for a real external process (the PostgreSQL
    server coming back), so they poll kf_store_ensure with short sleeps and
    a deadline; nothing here sleeps to let kefu's own time pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kf_batch.h"
#include "kf_clock.h"
#include "kf_log.h"
#include "kf_store.h"
#include "kt_db.h"

//  A table of our own, created in each test database before the
//  statements that use it are registered.
static const char *s_schema = "CREATE TABLE kst_notes (n bigint PRIMARY KEY, body text, "
                              "raw bytea, flag boolean)";

static const kf_stmt_t s_stmts[] = {
    {"kst_echo", "SELECT $1::text, octet_length ($1::text)"},
    {"kst_insert_shop",
     "INSERT INTO shops (shop_id, name, partition) VALUES ($1::text, $2::text, $3::smallint)"},
    {"kst_shop_name", "SELECT name FROM shops WHERE shop_id = $1::text"},
    {"kst_count_shops", "SELECT count(*) FROM shops"},
    {"kst_insert_notes", "INSERT INTO kst_notes (n, body, raw, flag) "
                         "SELECT unnest ($1::int8[]), unnest ($2::text[]), "
                         "unnest ($3::bytea[]), unnest ($4::bool[])"},
    {"kst_read_notes", "SELECT n, body, encode (raw, 'hex'), flag FROM kst_notes ORDER BY n"},
    {"kst_backend_pid", "SELECT pg_backend_pid ()"},
    {NULL, NULL}};

//  The schema as a fingerprint: every table and column in public.
static const char *s_schema_query =
    "SELECT string_agg (table_name || '.' || column_name, ',' ORDER BY table_name, "
    "ordinal_position) FROM information_schema.columns WHERE table_schema = 'public'";

//  Values that would break SQL built by pasting text.
typedef struct {
    const char *data;
    size_t len;
} s_value_t;

#define V(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof (lit) - 1                                                                      \
    }
static const s_value_t s_evil[] = {
    V ("'; DROP TABLE shops; --"),
    V ("Robert'); DROP TABLE shops;--"),
    V ("\\'; DROP TABLE shops; --"),
    V ("$$; DROP TABLE shops; $$"),
    V ("\\"),
    V ("\\\\"),
    V ("\""),
    V ("'"),
    V ("''"),
    V ("$1"),
    V ("$2::text"),
    V ("%_"),
    V ("%s%n%x%%"),
    V ("E'\\x00'"),
    V ("\\x00"),
    V ("\\000"),
    V ("NULL"),
    V ("{\"a\",NULL,\"b\\\"c\"}"),
    V ("{}"),
    V ("亲，在吗？这件衣服有M码吗"),
    V ("😀👍🏻 好评"),
    V ("e\xCC\x81"),
    V ("tab\there\r\nnewline"),
    V ("\xEF\xBB\xBF"
       "BOM"),
    V (";"),
    V ("--"),
    V ("/* comment */"),
    V ("a\\nb"),
    V (""),
};
#define S_EVIL_COUNT (sizeof s_evil / sizeof s_evil[0])

//  --- result collection ----------------------------------------------------

//  Every row of a result, as text, copied out of the borrowed PGresult.
typedef struct {
    int rows;      //  rows
    int cols;      //  columns
    char **values; //  rows * cols copies (NULL for SQL NULL)
    int *lengths;  //  rows * cols byte lengths
} s_rows_t;

static int
s_collect (const PGresult *res, void *arg)
{
    s_rows_t *r = arg;
    r->rows = PQntuples (res);
    r->cols = PQnfields (res);
    size_t n = (size_t) r->rows * (size_t) r->cols;
    r->values = calloc (n ? n : 1, sizeof (char *));
    r->lengths = calloc (n ? n : 1, sizeof (int));
    for (int row = 0; row < r->rows; row++)
        for (int col = 0; col < r->cols; col++) {
            size_t i = (size_t) row * (size_t) r->cols + (size_t) col;
            if (kf_store_isnull (res, row, col))
                continue;
            r->lengths[i] = kf_store_len (res, row, col);
            r->values[i] = malloc ((size_t) r->lengths[i] + 1);
            memcpy (r->values[i], kf_store_text (res, row, col), (size_t) r->lengths[i] + 1);
        }
    return 0;
}

static const char *
s_cell (const s_rows_t *r, int row, int col, int *len)
{
    assert_true (row < r->rows && col < r->cols);
    size_t i = (size_t) row * (size_t) r->cols + (size_t) col;
    if (len)
        *len = r->lengths[i];
    return r->values[i];
}

static void
s_rows_free (s_rows_t *r)
{
    for (size_t i = 0; i < (size_t) r->rows * (size_t) r->cols; i++)
        free (r->values[i]);
    free (r->values);
    free (r->lengths);
    memset (r, 0, sizeof *r);
}

static int
s_first_int (const PGresult *res, void *arg)
{
    assert_int_equal (PQntuples (res), 1);
    *(int64_t *) arg = kf_store_int (res, 0, 0);
    return 0;
}

static int
s_reject_rows (const PGresult *res, void *arg)
{
    (void) res;
    (void) arg;
    return -1;
}

//  --- helpers ---------------------------------------------------------------

//  A store connected to a fresh database `name`, with kst_notes and the
//  statement table in place. *url_p gets the conninfo (caller frees).
static kf_store_t *
s_store_fresh (const char *name, char **url_p)
{
    char *url = kt_db_fresh (name);
    kf_store_t *store = kf_store_new (url, "kefu-test-store");
    assert_non_null (store);
    assert_int_equal (kf_store_connect (store), 0);
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_exec_script (store, s_schema, &err))
        fail_msg ("schema: %s", err.reason);
    kf_store_add_statements (store, s_stmts);
    *url_p = url;
    return store;
}

static int64_t
s_count_shops (kf_store_t *store)
{
    int64_t n = -1;
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_exec (store, "kst_count_shops", NULL, s_first_int, &n, &err))
        fail_msg ("count: %s", err.reason);
    return n;
}

static int
s_insert_shop (kf_store_t *store, const char *id, const char *name, kf_error_t *err)
{
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, id);
    kf_params_str (&p, name);
    kf_params_int (&p, 3);
    return kf_store_exec (store, "kst_insert_shop", &p, NULL, NULL, err);
}

//  Wait (bounded) for the external server to accept connections again.
static void
s_wait_reconnected (kf_store_t *store)
{
    int64_t deadline = kf_clock_mono_ms () + 60000;
    while (kf_store_ensure (store) != 0) {
        if (kf_clock_mono_ms () > deadline)
            fail_msg ("the store did not reconnect within 60 s");
        zclock_sleep (50);
    }
    assert_true (kf_store_connected (store));
}

static void
s_hex (const uint8_t *data, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        sprintf (out + 2 * i, "%02x", data[i]);
    out[2 * len] = '\0';
}

//  --- tests -------------------------------------------------------------

static void
test_params (void **state)
{
    (void) state;
    //  How each kind of parameter is handed to libpq (no server needed).
    kf_params_t p;
    kf_params_init (&p);
    assert_int_equal (p.count, 0);
    const char *s = "亲";
    kf_params_str (&p, s);
    kf_params_bytes (&p, "a\0b", 3);
    kf_params_bytes (&p, "ignored", 0);
    kf_params_int (&p, INT64_MIN);
    kf_params_int (&p, 42);
    kf_params_bool (&p, true);
    kf_params_bool (&p, false);
    kf_params_null (&p);
    kf_params_binary (&p, "\x00\x00\x00\x00", 4);
    assert_int_equal (p.count, 9);
    assert_ptr_equal (p.values[0], s);
    assert_int_equal (p.formats[0], 0);
    assert_int_equal (p.formats[1], 1);
    assert_int_equal (p.lengths[1], 3);
    assert_memory_equal (p.values[1], "a\0b", 3);
    //  Zero-length binary is "" (an empty value), never NULL (SQL NULL).
    assert_non_null (p.values[2]);
    assert_int_equal (p.lengths[2], 0);
    assert_int_equal (p.formats[2], 1);
    assert_string_equal (p.values[3], "-9223372036854775808");
    assert_int_equal (p.formats[3], 0);
    assert_string_equal (p.values[4], "42");
    assert_string_equal (p.values[5], "t");
    assert_string_equal (p.values[6], "f");
    assert_null (p.values[7]);
    assert_int_equal (p.formats[8], 1);
    assert_int_equal (p.lengths[8], 4);
}

static void
test_connect_and_prepare (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("store_connect");
    kf_store_t *store = kf_store_new (url, "kefu-test-connect");
    assert_false (kf_store_connected (store));
    assert_int_equal (kf_store_connects (store), 0);
    assert_string_equal (kf_store_sqlstate (store), "");
    kf_error_t err;
    kf_error_clear (&err);
    //  Not connected yet: unavailable, not a crash.
    assert_int_equal (kf_store_exec (store, "kst_count_shops", NULL, NULL, NULL, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE);
    assert_string_equal (kf_store_sqlstate (store), "08000");

    assert_int_equal (kf_store_connect (store), 0);
    assert_true (kf_store_connected (store));
    assert_int_equal (kf_store_connects (store), 1);
    kf_error_clear (&err);
    assert_int_equal (kf_store_exec_script (store, s_schema, &err), 0);
    kf_store_add_statements (store, s_stmts);
    kf_store_add_statements (store, s_stmts); //  the same table twice is one table

    //  Prepared on add (already connected), usable by name.
    assert_int_equal (s_count_shops (store), 0);
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, "hello");
    s_rows_t rows = {0};
    assert_int_equal (kf_store_exec (store, "kst_echo", &p, s_collect, &rows, &err), 0);
    assert_int_equal (rows.rows, 1);
    assert_string_equal (s_cell (&rows, 0, 0, NULL), "hello");
    assert_string_equal (s_cell (&rows, 0, 1, NULL), "5");
    s_rows_free (&rows);

    //  The session is set up as kefu needs it.
    assert_int_equal (kf_store_exec_sql (store,
                                         "SELECT current_setting ('application_name'), "
                                         "current_setting ('client_encoding'), "
                                         "(SELECT count(*) FROM pg_prepared_statements)",
                                         NULL, s_collect, &rows, &err),
                      0);
    assert_string_equal (s_cell (&rows, 0, 0, NULL), "kefu-test-connect");
    assert_string_equal (s_cell (&rows, 0, 1, NULL), "UTF8");
    assert_string_equal (s_cell (&rows, 0, 2, NULL), "7");
    s_rows_free (&rows);
    //  Plans chosen per execution unless asked otherwise (next connect).
    assert_int_equal (kf_store_exec_sql (store, "SELECT current_setting ('plan_cache_mode')", NULL,
                                         s_collect, &rows, &err),
                      0);
    assert_string_equal (s_cell (&rows, 0, 0, NULL), "auto");
    s_rows_free (&rows);
    kf_store_set_batch_plans (store, true);
    kf_store_disconnect (store);
    assert_int_equal (kf_store_ensure (store), 0);
    assert_int_equal (kf_store_exec_sql (store,
                                         "SELECT current_setting ('plan_cache_mode'), "
                                         "current_setting ('enable_seqscan')",
                                         NULL, s_collect, &rows, &err),
                      0);
    assert_string_equal (s_cell (&rows, 0, 0, NULL), "force_generic_plan");
    assert_string_equal (s_cell (&rows, 0, 1, NULL), "off");
    s_rows_free (&rows);
    kf_store_set_batch_plans (store, false);

    //  An explicit disconnect: the next ensure reconnects at once, and
    //  prepares again.
    kf_store_disconnect (store);
    assert_false (kf_store_connected (store));
    assert_int_equal (kf_store_ensure (store), 0);
    assert_int_equal (kf_store_connects (store), 3);
    assert_int_equal (s_count_shops (store), 0);
    kf_store_destroy (&store);
    assert_null (store);
    kf_store_destroy (&store);
    free (url);
}

static void
test_connect_failures (void **state)
{
    (void) state;
    //  A database that does not exist: connect fails, the store backs off.
    char *url = kt_db_url ("store_no_such_database");
    kf_store_t *store = kf_store_new (url, "kefu-test");
    assert_int_equal (kf_store_connect (store), -1);
    assert_false (kf_store_connected (store));
    assert_int_equal (kf_store_connects (store), 0);
    //  Straight after a failure the backoff delay has not passed.
    assert_int_equal (kf_store_ensure (store), -1);
    kf_error_t err;
    kf_error_clear (&err);
    assert_int_equal (kf_store_exec (store, "kst_count_shops", NULL, NULL, NULL, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE);
    assert_true (kf_error_is_retryable (err.code));
    kf_store_destroy (&store);
    free (url);

    //  A statement that cannot be prepared (schema not migrated): not connected.
    static const kf_stmt_t broken[] = {{"kst_broken", "SELECT nope FROM no_such_table"},
                                       {NULL, NULL}};
    url = kt_db_fresh ("store_connect_fail");
    store = kf_store_new (url, "kefu-test");
    kf_store_add_statements (store, broken);
    assert_int_equal (kf_store_connect (store), -1);
    assert_false (kf_store_connected (store));
    assert_int_equal (kf_store_connects (store), 0);
    kf_store_destroy (&store);
    free (url);
}

static void
test_prepare_failure_logged (void **state)
{
    (void) state;
    //  When a statement cannot be prepared, one log line says which and
    //  why. The server's message quotes the relation ("no_such_table"); the
    //  line must still parse as JSON with the whole reason in "error".
    static const kf_stmt_t broken[] = {{"kst_broken2", "SELECT nope FROM no_such_table"},
                                       {NULL, NULL}};
    char *url = kt_db_fresh ("store_prepare_log");
    kf_store_t *store = kf_store_new (url, "kefu-test");
    kf_store_add_statements (store, broken);
    assert_int_equal (kf_log_set_format_name ("json"), 0);
    fflush (stderr);
    FILE *tmp = tmpfile ();
    assert_non_null (tmp);
    int saved = dup (2);
    assert_true (dup2 (fileno (tmp), 2) >= 0);
    int rc = kf_store_connect (store);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    kf_log_set_format_name ("text");
    kf_store_destroy (&store);
    free (url);
    assert_int_equal (rc, -1);
    rewind (tmp);
    char line[4096];
    bool found = false;
    while (fgets (line, sizeof line, tmp)) {
        json_t *obj = json_loads (line, 0, NULL);
        assert_non_null (obj);
        const char *event = json_string_value (json_object_get (obj, "event"));
        if (event && strcmp (event, "store.prepare_failed") == 0) {
            found = true;
            assert_string_equal (json_string_value (json_object_get (obj, "stmt")), "kst_broken2");
            const char *why = json_string_value (json_object_get (obj, "error"));
            bool whole = why && strstr (why, "no_such_table") && strstr (why, "does not exist");
            json_decref (obj);
            if (!whole) {
                fclose (tmp);
                fail_msg ("store.prepare_failed lost its reason: %s", line);
            }
            continue;
        }
        json_decref (obj);
    }
    fclose (tmp);
    assert_true (found);
}

static void
test_metachar_params (void **state)
{
    (void) state;
    char *url = NULL;
    kf_store_t *store = s_store_fresh ("store_params", &url);
    char *schema_before = kt_db_query1 (url, s_schema_query);
    assert_non_null (strstr (schema_before, "shops.shop_id"));
    kf_error_t err;

    for (size_t i = 0; i < S_EVIL_COUNT; i++) {
        const s_value_t *v = &s_evil[i];
        //  As binary bytes (kf_params_bytes) and as a C string (kf_params_str).
        for (int as_str = 0; as_str < 2; as_str++) {
            kf_params_t p;
            kf_params_init (&p);
            if (as_str)
                kf_params_str (&p, v->data);
            else
                kf_params_bytes (&p, v->data, v->len);
            s_rows_t rows = {0};
            kf_error_clear (&err);
            if (kf_store_exec (store, "kst_echo", &p, s_collect, &rows, &err))
                fail_msg ("value %zu: %s", i, err.reason);
            int len = -1;
            const char *got = s_cell (&rows, 0, 0, &len);
            assert_non_null (got); //  "" is a value, not NULL
            assert_int_equal (len, v->len);
            assert_memory_equal (got, v->data, v->len);
            assert_int_equal (atoi (s_cell (&rows, 0, 1, NULL)), (int) v->len);
            s_rows_free (&rows);
        }
        //  Stored in a real table and read back by key.
        if (v->len > 0) {
            char id[32];
            snprintf (id, sizeof id, "evil-%zu", i);
            kf_params_t p;
            kf_params_init (&p);
            kf_params_str (&p, id);
            kf_params_bytes (&p, v->data, v->len);
            kf_params_int (&p, 3);
            kf_error_clear (&err);
            if (kf_store_exec (store, "kst_insert_shop", &p, NULL, NULL, &err))
                fail_msg ("insert %zu: %s", i, err.reason);
            kf_params_init (&p);
            kf_params_str (&p, id);
            s_rows_t rows = {0};
            assert_int_equal (kf_store_exec (store, "kst_shop_name", &p, s_collect, &rows, &err),
                              0);
            assert_int_equal (rows.rows, 1);
            int len = -1;
            const char *got = s_cell (&rows, 0, 0, &len);
            assert_int_equal (len, v->len);
            assert_memory_equal (got, v->data, v->len);
            s_rows_free (&rows);
        }
    }
    //  Through unprepared SQL too: still a parameter.
    kf_params_t p;
    kf_params_init (&p);
    kf_params_bytes (&p, s_evil[0].data, s_evil[0].len);
    s_rows_t rows = {0};
    assert_int_equal (
        kf_store_exec_sql (store, "SELECT $1::text = 'x'", &p, s_collect, &rows, &err), 0);
    assert_string_equal (s_cell (&rows, 0, 0, NULL), "f");
    s_rows_free (&rows);

    //  Nothing was dropped or changed.
    assert_int_equal (s_count_shops (store), S_EVIL_COUNT - 1);
    char *schema_after = kt_db_query1 (url, s_schema_query);
    assert_string_equal (schema_before, schema_after);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM pg_tables WHERE tablename = 'shops'"),
                      1);
    free (schema_before);
    free (schema_after);
    kf_store_destroy (&store);
    free (url);
}

static void
test_metachar_batch (void **state)
{
    (void) state;
    char *url = NULL;
    kf_store_t *store = s_store_fresh ("store_batch", &url);
    char *schema_before = kt_db_query1 (url, s_schema_query);
    kf_col_type_t types[] = {KF_COL_INT8, KF_COL_TEXT, KF_COL_BYTEA, KF_COL_BOOL};
    kf_batch_t *batch = kf_batch_new (4, types);
    kf_error_t err;

    //  An empty batch inserts nothing (and is valid SQL).
    kf_params_t p;
    kf_params_init (&p);
    kf_batch_params (batch, &p);
    kf_error_clear (&err);
    if (kf_store_exec (store, "kst_insert_notes", &p, NULL, NULL, &err))
        fail_msg ("empty batch: %s", err.reason);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM kst_notes"), 0);

    //  Many rows: each evil value, a NULL every 7th row, and raw bytes
    //  covering 0x00..0xFF.
    const int rows = 3000;
    uint8_t raw[256];
    for (int i = 0; i < 256; i++)
        raw[i] = (uint8_t) i;
    for (int r = 0; r < rows; r++) {
        const s_value_t *v = &s_evil[r % S_EVIL_COUNT];
        kf_batch_int (batch, 0, r);
        if (r % 7 == 3)
            kf_batch_null (batch, 1);
        else
            kf_batch_text (batch, 1, v->data, v->len);
        kf_batch_text (batch, 2, raw, (size_t) (r % 257));
        if (r % 11 == 0)
            kf_batch_null (batch, 3);
        else
            kf_batch_bool (batch, 3, r % 2);
    }
    assert_int_equal (kf_batch_rows (batch), rows);
    kf_params_init (&p);
    kf_batch_params (batch, &p);
    assert_int_equal (p.count, 4);
    kf_error_clear (&err);
    if (kf_store_exec (store, "kst_insert_notes", &p, NULL, NULL, &err))
        fail_msg ("batch insert: %s", err.reason);

    s_rows_t got = {0};
    assert_int_equal (kf_store_exec (store, "kst_read_notes", NULL, s_collect, &got, &err), 0);
    assert_int_equal (got.rows, rows);
    char hex[2 * 256 + 1];
    for (int r = 0; r < rows; r++) {
        const s_value_t *v = &s_evil[r % S_EVIL_COUNT];
        assert_int_equal (atoi (s_cell (&got, r, 0, NULL)), r);
        int len = -1;
        const char *body = s_cell (&got, r, 1, &len);
        if (r % 7 == 3)
            assert_null (body);
        else {
            assert_non_null (body);
            assert_int_equal (len, v->len);
            assert_memory_equal (body, v->data, v->len);
        }
        s_hex (raw, (size_t) (r % 257), hex);
        assert_string_equal (s_cell (&got, r, 2, NULL), hex);
        const char *flag = s_cell (&got, r, 3, NULL);
        if (r % 11 == 0)
            assert_null (flag);
        else
            assert_string_equal (flag, r % 2 ? "t" : "f");
    }
    s_rows_free (&got);

    //  Reset and reuse: a second batch of two rows.
    kf_batch_reset (batch);
    kf_batch_int (batch, 0, rows);
    kf_batch_str (batch, 1, "'); DELETE FROM kst_notes; --");
    kf_batch_text (batch, 2, "", 0);
    kf_batch_bool (batch, 3, true);
    kf_batch_int (batch, 0, rows + 1);
    kf_batch_str (batch, 1, "最后一条");
    kf_batch_null (batch, 2);
    kf_batch_bool (batch, 3, false);
    kf_params_init (&p);
    kf_batch_params (batch, &p);
    assert_int_equal (kf_store_exec (store, "kst_insert_notes", &p, NULL, NULL, &err), 0);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM kst_notes"), rows + 2);
    char *last = kt_db_query1 (url, "SELECT body FROM kst_notes WHERE n = 3001");
    assert_string_equal (last, "最后一条");
    free (last);

    char *schema_after = kt_db_query1 (url, s_schema_query);
    assert_string_equal (schema_before, schema_after);
    assert_int_equal (s_count_shops (store), 0);
    free (schema_before);
    free (schema_after);
    kf_batch_destroy (&batch);
    kf_store_destroy (&store);
    free (url);
}

//  Transaction bodies for kf_store_txn.
typedef struct {
    const char *shop_id;    //  shop to insert
    bool fail_after;        //  return -1 after the insert
    const char *url;        //  to look from another connection
    long long seen_outside; //  shops another session saw mid-transaction
} s_txn_arg_t;

static int
s_txn_insert (kf_store_t *store, void *arg, kf_error_t *err)
{
    s_txn_arg_t *a = arg;
    assert_true (kf_store_in_txn (store));
    if (s_insert_shop (store, a->shop_id, "店铺", err))
        return -1;
    a->seen_outside = kt_db_count (a->url, "SELECT count(*) FROM shops");
    if (a->fail_after)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE, "changed my mind");
    return 0;
}

static void
test_txn (void **state)
{
    (void) state;
    char *url = NULL;
    kf_store_t *store = s_store_fresh ("store_txn", &url);
    kf_error_t err;

    //  Commit: visible to others only after the commit.
    s_txn_arg_t a = {"txn-commit", false, url, -1};
    kf_error_clear (&err);
    assert_int_equal (kf_store_txn (store, s_txn_insert, &a, &err), 0);
    assert_int_equal (a.seen_outside, 0);
    assert_false (kf_store_in_txn (store));
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM shops"), 1);

    //  The body fails: rolled back, its error kept.
    s_txn_arg_t b = {"txn-rollback", true, url, -1};
    kf_error_clear (&err);
    assert_int_equal (kf_store_txn (store, s_txn_insert, &b, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE);
    assert_false (kf_store_in_txn (store));
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM shops"), 1);

    //  A statement fails inside: rolled back, the SQLSTATE reported, and
    //  the connection usable afterwards.
    s_txn_arg_t c = {"txn-commit", false, url, -1};
    kf_error_clear (&err);
    assert_int_equal (kf_store_txn (store, s_txn_insert, &c, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INTERNAL);
    assert_non_null (strstr (err.reason, "23505"));
    assert_false (kf_store_in_txn (store));
    assert_true (kf_store_connected (store));
    assert_int_equal (s_count_shops (store), 1);

    //  By hand: begin, insert, rollback.
    assert_int_equal (kf_store_begin (store, &err), 0);
    assert_true (kf_store_in_txn (store));
    assert_int_equal (s_insert_shop (store, "txn-manual", "x", &err), 0);
    assert_int_equal (s_count_shops (store), 2);
    kf_store_rollback (store);
    assert_false (kf_store_in_txn (store));
    assert_int_equal (s_count_shops (store), 1);
    kf_store_rollback (store); //  nothing to roll back: no-op

    //  COMMIT of a transaction a failed statement aborted is an error, not
    //  a silent rollback.
    assert_int_equal (kf_store_begin (store, &err), 0);
    assert_int_equal (s_insert_shop (store, "txn-aborted", "x", &err), 0);
    assert_int_equal (s_insert_shop (store, "txn-aborted", "x", &err), -1);
    kf_error_clear (&err);
    assert_int_equal (kf_store_commit (store, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INTERNAL);
    assert_false (kf_store_in_txn (store));
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM shops"), 1);
    assert_int_equal (s_count_shops (store), 1);

    kf_store_destroy (&store);
    free (url);
}

static void
test_statement_errors (void **state)
{
    (void) state;
    char *url = NULL;
    kf_store_t *store = s_store_fresh ("store_errors", &url);
    kf_error_t err;

    //  Unique violation.
    assert_int_equal (s_insert_shop (store, "dup", "one", &err), 0);
    kf_error_clear (&err);
    assert_int_equal (s_insert_shop (store, "dup", "two", &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INTERNAL);
    assert_non_null (strstr (err.reason, "23505"));
    assert_non_null (strstr (err.reason, "kst_insert_shop"));
    assert_string_equal (kf_store_sqlstate (store), "23505");
    assert_false (kf_error_is_retryable (err.code));
    assert_true (kf_store_connected (store)); //  a statement error keeps the connection

    //  Check constraint (shop ids are lower case).
    kf_error_clear (&err);
    assert_int_equal (s_insert_shop (store, "UPPER", "x", &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INTERNAL);
    assert_string_equal (kf_store_sqlstate (store), "23514");

    //  The server refuses a NUL byte and bad UTF-8 in text: a second line
    //  of defence behind kf_valid.
    kf_params_t p;
    kf_params_init (&p);
    kf_params_bytes (&p, "a\0b", 3);
    kf_error_clear (&err);
    assert_int_equal (kf_store_exec (store, "kst_echo", &p, NULL, NULL, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INTERNAL);
    assert_string_equal (kf_store_sqlstate (store), "22021");
    kf_params_init (&p);
    kf_params_bytes (&p, "\xC0\x80", 2);
    assert_int_equal (kf_store_exec (store, "kst_echo", &p, NULL, NULL, &err), -1);
    assert_string_equal (kf_store_sqlstate (store), "22021");

    //  A statement nobody prepared.
    kf_error_clear (&err);
    assert_int_equal (kf_store_exec (store, "kst_no_such_statement", NULL, NULL, NULL, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INTERNAL);
    assert_string_equal (kf_store_sqlstate (store), "26000");

    //  Syntax error and division by zero through unprepared SQL.
    kf_error_clear (&err);
    assert_int_equal (kf_store_exec_sql (store, "SELEC 1", NULL, NULL, NULL, &err), -1);
    assert_string_equal (kf_store_sqlstate (store), "42601");
    assert_non_null (strstr (err.reason, "42601"));
    kf_error_clear (&err);
    assert_int_equal (kf_store_exec_sql (store, "SELECT 1 / 0", NULL, NULL, NULL, &err), -1);
    assert_string_equal (kf_store_sqlstate (store), "22012");

    //  A rows callback that refuses the result fails the call.
    kf_error_clear (&err);
    assert_int_equal (kf_store_exec (store, "kst_count_shops", NULL, s_reject_rows, NULL, &err),
                      -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INTERNAL);

    //  Still connected and working, on the first connection.
    assert_true (kf_store_connected (store));
    assert_int_equal (kf_store_connects (store), 1);
    assert_int_equal (s_count_shops (store), 1);
    kf_store_destroy (&store);
    free (url);
}

//  After the server went away: the next statement either failed with
//  STORE_UNAVAILABLE (and the store knows it is disconnected) or, had it
//  somehow reconnected, succeeded. Returns the exec result.
static int
s_exec_after_loss (kf_store_t *store)
{
    kf_error_t err;
    kf_error_clear (&err);
    int64_t n = -1;
    int rc = kf_store_exec (store, "kst_count_shops", NULL, s_first_int, &n, &err);
    if (rc == 0)
        assert_true (n >= 1);
    else {
        assert_int_equal (rc, -1);
        if (err.code != KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE)
            fail_msg ("expected ERROR_STORE_UNAVAILABLE, got %s: %s", kf_error_code_name (err.code),
                      err.reason);
        assert_true (kf_error_is_retryable (err.code));
        assert_false (kf_store_connected (store));
        assert_false (kf_store_in_txn (store));
    }
    return rc;
}

static void
test_reconnect_after_restart (void **state)
{
    (void) state;
    char *url = NULL;
    kf_store_t *store = s_store_fresh ("store_restart", &url);
    kf_error_t err;
    assert_int_equal (s_insert_shop (store, "before", "x", &err), 0);
    int64_t pid_before = 0;
    assert_int_equal (
        kf_store_exec (store, "kst_backend_pid", NULL, s_first_int, &pid_before, &err), 0);
    //  A transaction is open when the server restarts.
    assert_int_equal (kf_store_begin (store, &err), 0);
    assert_int_equal (s_insert_shop (store, "lost", "x", &err), 0);

    assert_int_equal (kt_db_pg ("restart"), 0);

    int rc = s_exec_after_loss (store);
    //  The open transaction is gone either way: COMMIT cannot succeed.
    kf_error_clear (&err);
    assert_int_equal (kf_store_commit (store, &err), -1);
    if (rc == -1)
        assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE);
    assert_false (kf_store_in_txn (store));

    s_wait_reconnected (store);
    assert_true (kf_store_connects (store) >= 2);
    //  Prepared statements exist again on the new session.
    assert_int_equal (s_count_shops (store), 1);
    int64_t pid_after = 0;
    assert_int_equal (kf_store_exec (store, "kst_backend_pid", NULL, s_first_int, &pid_after, &err),
                      0);
    assert_true (pid_after != pid_before);
    assert_int_equal (s_insert_shop (store, "after", "x", &err), 0);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM shops WHERE shop_id = 'lost'"), 0);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM shops"), 2);
    kf_store_destroy (&store);
    free (url);
}

static void
test_reconnect_after_kill9 (void **state)
{
    (void) state;
    char *url = NULL;
    kf_store_t *store = s_store_fresh ("store_kill9", &url);
    kf_error_t err;
    assert_int_equal (s_insert_shop (store, "before", "x", &err), 0);

    assert_int_equal (kt_db_pg ("kill9"), 0);
    s_exec_after_loss (store);

    //  While the server is down: no connection, and "retry later".
    kf_store_disconnect (store);
    assert_int_equal (kf_store_ensure (store), -1);
    assert_false (kf_store_connected (store));
    kf_error_clear (&err);
    assert_int_equal (kf_store_exec (store, "kst_count_shops", NULL, NULL, NULL, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE);

    //  After crash recovery the committed row is there and statements work.
    assert_int_equal (kt_db_pg ("start"), 0);
    s_wait_reconnected (store);
    assert_int_equal (s_count_shops (store), 1);
    assert_int_equal (s_insert_shop (store, "after", "x", &err), 0);
    assert_int_equal (s_count_shops (store), 2);
    kf_store_destroy (&store);
    free (url);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_params),
        cmocka_unit_test (test_connect_and_prepare),
        cmocka_unit_test (test_connect_failures),
        cmocka_unit_test (test_prepare_failure_logged),
        cmocka_unit_test (test_metachar_params),
        cmocka_unit_test (test_metachar_batch),
        cmocka_unit_test (test_txn),
        cmocka_unit_test (test_statement_errors),
        cmocka_unit_test (test_reconnect_after_restart),
        cmocka_unit_test (test_reconnect_after_kill9),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
