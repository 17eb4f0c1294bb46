/*  kt_db — test databases on the private cluster of scripts/test. */
#include "kt_db.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *
s_env (const char *name)
{
    const char *v = getenv (name);
    if (!v || !*v) {
        fprintf (stderr,
                 "FATAL: %s is not set: integration tests need the private PostgreSQL "
                 "that scripts/test starts (run them through scripts/test)\n",
                 name);
        abort ();
    }
    return v;
}

char *
kt_db_url (const char *dbname)
{
    char buf[1024];
    snprintf (buf, sizeof buf, "host=%s port=%s user=%s dbname=%s", s_env ("KEFU_TEST_PGHOST"),
              s_env ("KEFU_TEST_PGPORT"), s_env ("KEFU_TEST_PGUSER"), dbname);
    return strdup (buf);
}

static void
s_exec (PGconn *conn, const char *sql)
{
    PGresult *res = PQexec (conn, sql);
    if (PQresultStatus (res) != PGRES_COMMAND_OK) {
        fprintf (stderr, "FATAL: %s: %s\n", sql, PQresultErrorMessage (res));
        abort ();
    }
    PQclear (res);
}

char *
kt_db_fresh (const char *name)
{
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
            fprintf (stderr, "FATAL: bad test database name %s\n", name);
            abort ();
        }
    char *admin_url = kt_db_url ("postgres");
    PGconn *conn = PQconnectdb (admin_url);
    free (admin_url);
    if (PQstatus (conn) != CONNECTION_OK) {
        fprintf (stderr, "FATAL: cannot connect to the test cluster: %s\n", PQerrorMessage (conn));
        abort ();
    }
    //  Database names cannot be parameters: the name is checked above and
    //  quoted as an identifier.
    char *ident = PQescapeIdentifier (conn, name, strlen (name));
    char *tmpl = PQescapeIdentifier (conn, s_env ("KEFU_TEST_TEMPLATE_DB"),
                                     strlen (s_env ("KEFU_TEST_TEMPLATE_DB")));
    char sql[512];
    snprintf (sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
    s_exec (conn, sql);
    snprintf (sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", ident, tmpl);
    s_exec (conn, sql);
    PQfreemem (ident);
    PQfreemem (tmpl);
    PQfinish (conn);
    return kt_db_url (name);
}

int
kt_db_pg (const char *action)
{
    char cmd[1024];
    snprintf (cmd, sizeof cmd, "%s %s >/dev/null 2>&1", s_env ("KEFU_TEST_PG_CMD"), action);
    int rc = system (cmd);
    return rc == -1 ? -1 : WEXITSTATUS (rc);
}

const char *
kt_db_log_path (void)
{
    return getenv ("KEFU_TEST_PG_LOG");
}

long
kt_db_log_mark (void)
{
    FILE *f = fopen (s_env ("KEFU_TEST_PG_LOG"), "r");
    if (!f) {
        fprintf (stderr, "FATAL: cannot read the server log %s\n", s_env ("KEFU_TEST_PG_LOG"));
        abort ();
    }
    fseek (f, 0, SEEK_END);
    long mark = ftell (f);
    fclose (f);
    return mark;
}

int
kt_db_log_errors (const char *dbname, long mark, char *first, size_t size)
{
    FILE *f = fopen (s_env ("KEFU_TEST_PG_LOG"), "r");
    if (!f) {
        fprintf (stderr, "FATAL: cannot read the server log %s\n", s_env ("KEFU_TEST_PG_LOG"));
        abort ();
    }
    fseek (f, mark, SEEK_SET);
    //  log_line_prefix is '%m [%p] %q%u@%d ' (scripts/pg).
    char needle[128];
    snprintf (needle, sizeof needle, "@%s ERROR:", dbname);
    if (first && size)
        first[0] = '\0';
    int errors = 0;
    char line[4096];
    while (fgets (line, sizeof line, f))
        if (strstr (line, needle) && errors++ == 0 && first)
            snprintf (first, size, "%s", line);
    fclose (f);
    return errors;
}

char *
kt_db_query1p (const char *conninfo, const char *sql, int n, const char *const *values)
{
    PGconn *conn = PQconnectdb (conninfo);
    if (PQstatus (conn) != CONNECTION_OK) {
        fprintf (stderr, "FATAL: connect %s: %s\n", conninfo, PQerrorMessage (conn));
        abort ();
    }
    //  Without parameters, PQexec: sql may hold several statements.
    PGresult *res =
        n > 0 ? PQexecParams (conn, sql, n, NULL, values, NULL, NULL, 0) : PQexec (conn, sql);
    if (PQresultStatus (res) != PGRES_TUPLES_OK) {
        fprintf (stderr, "FATAL: %s: %s\n", sql, PQresultErrorMessage (res));
        abort ();
    }
    char *out = strdup (PQntuples (res) > 0 ? PQgetvalue (res, 0, 0) : "");
    PQclear (res);
    PQfinish (conn);
    return out;
}

char *
kt_db_query1 (const char *conninfo, const char *sql)
{
    return kt_db_query1p (conninfo, sql, 0, NULL);
}

long long
kt_db_count (const char *conninfo, const char *sql)
{
    char *s = kt_db_query1 (conninfo, sql);
    long long n = atoll (s);
    free (s);
    return n;
}

bool
kt_db_wait_lock_waiter (const char *conninfo, const char *app)
{
    const char *values[] = {app};
    for (int i = 0; i < 1000; i++) {
        char *n = kt_db_query1p (conninfo,
                                 "SELECT count(*) FROM pg_stat_activity WHERE application_name "
                                 "LIKE $1 || '%' AND wait_event_type = 'Lock'",
                                 1, values);
        bool waits = atoll (n) > 0;
        free (n);
        if (waits)
            return true;
        zclock_sleep (10); //  polling a condition, not letting time pass
    }
    return false;
}

Kefu__V1__Event *
kt_db_last_event (const char *conninfo, const char *stream, const char *kind)
{
    const char *values[] = {stream, kind};
    char *hex = kt_db_query1p (conninfo,
                               "SELECT encode (payload, 'hex') FROM events WHERE stream = $1 "
                               "AND kind = $2 ORDER BY seq DESC LIMIT 1",
                               2, values);
    size_t size = strlen (hex) / 2;
    uint8_t *bytes = malloc (size + 1);
    for (size_t i = 0; i < size; i++) {
        unsigned int b;
        if (sscanf (hex + 2 * i, "%2x", &b) != 1)
            abort ();
        bytes[i] = (uint8_t) b;
    }
    Kefu__V1__Event *ev = kefu__v1__event__unpack (NULL, size, bytes);
    free (bytes);
    free (hex);
    if (!ev) {
        fprintf (stderr, "FATAL: no readable %s event %s\n", stream, kind);
        abort ();
    }
    return ev;
}

void
kt_db_settle (const char *db, zactor_t *actor, const char *consumer)
{
    const char *values[] = {consumer};
    int64_t deadline = zclock_mono () + 20000;
    while (zclock_mono () < deadline) {
        zstr_send (actor, "SYNC");
        char *reply = zstr_recv (actor);
        free (reply);
        long long written = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                             "event_sequences WHERE stream = 'intake'");
        char *applied = kt_db_query1p (db,
                                       "SELECT coalesce (sum (last_seq), 0) FROM consumer_offsets "
                                       "WHERE consumer = $1 AND stream = 'intake'",
                                       1, values);
        bool caught_up = atoll (applied) >= written;
        free (applied);
        if (caught_up)
            return;
        zclock_sleep (10);
    }
    fprintf (stderr, "FATAL: %s did not catch up\n", consumer);
    abort ();
}
