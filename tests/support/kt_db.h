/*  kt_db — the private PostgreSQL that scripts/test started, for tests.

    scripts/test exports KEFU_TEST_PGHOST, KEFU_TEST_PGPORT, KEFU_TEST_PGUSER,
    KEFU_TEST_TEMPLATE_DB (a migrated database) and KEFU_TEST_PG_CMD (a
    command taking start|stop|restart|kill9). A test that runs without them
    fails loudly: tests never pass by skipping. */
#ifndef KT_DB_H
#define KT_DB_H

#include <stdbool.h>
#include "kefu/v1/events.pb-c.h"

#include <czmq.h>

#include <stddef.h>

//  A fresh database called `name` ([a-z0-9_]+), copied from the migrated
//  template. Returns its conninfo. Caller owns return value (free).
char *kt_db_fresh (const char *name);

//  The conninfo of an existing database. Caller owns return value.
char *kt_db_url (const char *dbname);

//  Run the cluster command: "restart", "stop", "start", "kill9". Returns its
//  exit status (0 = success).
int kt_db_pg (const char *action);

//  Path of the server log (KEFU_TEST_PG_LOG), or NULL. Borrowed.
const char *kt_db_log_path (void);
//  Where the server log ends now (bytes), for kt_db_log_errors.
long kt_db_log_mark (void);
//  ERROR lines the server logged for database dbname since mark; the first
//  one is copied into first (may be NULL). Fails the test without a log.
int kt_db_log_errors (const char *dbname, long mark, char *first, size_t size);

//  Run one SQL query (no parameters; tests only) against conninfo and return
//  the first column of the first row as a string ("" if no row).
//  Caller owns return value. Aborts on error.
char *kt_db_query1 (const char *conninfo, const char *sql);
//  The same with values[0..n) as $1..$n (text; n > 0: one statement).
char *kt_db_query1p (const char *conninfo, const char *sql, int n, const char *const *values);
//  Same, as an integer.
long long kt_db_count (const char *conninfo, const char *sql);
//  Wait (bounded: 10 s) until a connection whose application_name starts
//  with app waits on a lock. true if one does.
bool kt_db_wait_lock_waiter (const char *conninfo, const char *app);
//  SYNC a service's actor until `consumer` has applied every intake event
//  in db (fails the test after 20 s): it has run what is due and handed its
//  commands in.
void kt_db_settle (const char *db, zactor_t *actor, const char *consumer);
//  The latest stored event of a stream and kind (by seq: tests use one
//  shop), unpacked; aborts if there is none. Caller frees with
//  kefu__v1__event__free_unpacked.
Kefu__V1__Event *kt_db_last_event (const char *conninfo, const char *stream, const char *kind);

#endif
