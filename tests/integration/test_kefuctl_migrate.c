/*  test_kefuctl_migrate — `kefuctl migrate` on an empty database applies
    every migration; a second run changes nothing (same schema, same
    migration records, nothing applied); a changed applied migration is
    refused; a broken new migration is rolled back completely. */
#include "kt_db.h"

#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

//  Run kefuctl migrate against db with a migrations directory; returns the
//  exit code and captures stdout into out.
static int
s_migrate (const char *db, const char *dir, char *out, size_t size)
{
    const char *bin_dir = getenv ("KEFU_TEST_BIN_DIR");
    assert_non_null (bin_dir);
    char cmd[4096];
    snprintf (cmd, sizeof cmd,
              "KEFU_DATABASE_URL='%s' KEFU_MIGRATIONS_DIR='%s' '%s/services/kefuctl/kefuctl' "
              "migrate 2>&1",
              db, dir, bin_dir);
    FILE *p = popen (cmd, "r");
    assert_non_null (p);
    size_t n = fread (out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose (p);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

//  A fingerprint of everything migrations create: columns, constraints,
//  indexes, views, and the migration records.
static char *
s_fingerprint (const char *db)
{
    return kt_db_query1 (
        db, "SELECT md5 (string_agg (x, '|' ORDER BY x)) FROM ("
            " SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || "
            "   ':' || coalesce (column_default, '') AS x FROM information_schema.columns "
            "   WHERE table_schema = 'public'"
            " UNION ALL SELECT conrelid::regclass || ':' || conname || ':' || "
            "   pg_get_constraintdef (oid) FROM pg_constraint "
            "   WHERE connamespace = 'public'::regnamespace"
            " UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " UNION ALL SELECT viewname || definition FROM pg_views WHERE schemaname = 'public'"
            " UNION ALL SELECT version || name || checksum || applied_at FROM kefu_migrations"
            ") t");
}

static char *
s_empty_database (const char *name)
{
    //  Not from the template: an empty database, as on a new installation.
    char *admin = kt_db_url ("postgres");
    PGconn *conn = PQconnectdb (admin);
    char sql[256];
    snprintf (sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    PQclear (PQexec (conn, sql));
    snprintf (sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'", name);
    PGresult *res = PQexec (conn, sql);
    assert_int_equal (PQresultStatus (res), PGRES_COMMAND_OK);
    PQclear (res);
    PQfinish (conn);
    free (admin);
    return kt_db_url (name);
}

static void
test_second_run_changes_nothing (void **state)
{
    (void) state;
    char *db = s_empty_database ("migrate_twice");
    char dir[1024], out[8192];
    snprintf (dir, sizeof dir, "%s/deploy/migrations", getenv ("KEFU_SOURCE_DIR"));
    assert_int_equal (s_migrate (db, dir, out, sizeof out), 0);
    assert_non_null (strstr (out, "applied 0001_core.sql"));
    long long applied = kt_db_count (db, "SELECT count(*) FROM kefu_migrations");
    assert_true (applied >= 5);
    char *before = s_fingerprint (db);
    long long tables =
        kt_db_count (db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");

    assert_int_equal (s_migrate (db, dir, out, sizeof out), 0);
    assert_null (strstr (out, "applied 0"));
    char expected[64];
    snprintf (expected, sizeof expected, "0 applied now, %lld already applied", applied);
    assert_non_null (strstr (out, expected));
    char *after = s_fingerprint (db);
    assert_string_equal (before, after);
    assert_int_equal (
        kt_db_count (db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), tables);
    free (before);
    free (after);
    free (db);
}

static void
s_write (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
}

static void
test_changed_or_broken_migrations (void **state)
{
    (void) state;
    char *db = s_empty_database ("migrate_broken");
    char dir[256], path[512], out[8192];
    snprintf (dir, sizeof dir, "/tmp/kefu-test-migrations-%d", getpid ());
    snprintf (path, sizeof path, "mkdir -p %s", dir);
    assert_int_equal (system (path), 0);
    snprintf (path, sizeof path, "%s/0001_first.sql", dir);
    s_write (path, "CREATE TABLE first_table (id int PRIMARY KEY);");
    assert_int_equal (s_migrate (db, dir, out, sizeof out), 0);

    //  A new migration that fails half-way leaves nothing behind.
    snprintf (path, sizeof path, "%s/0002_broken.sql", dir);
    s_write (path, "CREATE TABLE second_table (id int);\nINSERT INTO no_such_table VALUES (1);");
    assert_int_equal (s_migrate (db, dir, out, sizeof out), 1);
    assert_non_null (strstr (out, "0002_broken.sql failed"));
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM pg_tables WHERE tablename = "
                                       "'second_table'"),
                      0);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM kefu_migrations"), 1);
    unlink (path);

    //  Editing an applied migration is refused.
    snprintf (path, sizeof path, "%s/0001_first.sql", dir);
    s_write (path, "CREATE TABLE first_table (id bigint PRIMARY KEY);");
    assert_int_equal (s_migrate (db, dir, out, sizeof out), 1);
    assert_non_null (strstr (out, "was changed after it was applied"));

    snprintf (path, sizeof path, "rm -rf %s", dir);
    assert_int_equal (system (path), 0);
    free (db);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_second_run_changes_nothing),
        cmocka_unit_test (test_changed_or_broken_migrations),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
