/*  test_kefuctl_routing — the routing administration commands of kefuctl,
    run as the real binary against a fresh database each.

    Checks: shift defaults creates what it says and is idempotent; agent
    add/schedule write the right rows (days bitmask bit 0 = Monday, rotation
    N:K); bad input gives the documented exit code and writes nothing; every
    change writes exactly one event on the admin stream with the right kind
    and payload; transfer validation; SQL metacharacters stored literally;
    queue order and agent list presence/load. */
#include "kefu/v1/events.pb-c.h"
#include "kt_db.h"
#include "kt_kefuctl.h"

#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP "tmall-test"
//  kefuctl's clock in these tests (KEFU_CLOCK): Monday 2026-11-23 10:00 in Shanghai.
#define S_CLOCK "manual:2026-11-23T02:00:00Z"

static long long
s_count (const char *url, const char *sql)
{
    return kt_db_count (url, sql);
}

static void
s_expect_text (const char *url, const char *sql, const char *expected)
{
    char *got = kt_db_query1 (url, sql);
    if (strcmp (got, expected) != 0)
        fail_msg ("%s\n  got:      [%s]\n  expected: [%s]", sql, got, expected);
    free (got);
}

//  The admin stream's events, unpacked, in sequence order.
typedef struct {
    int count;                   //  events
    Kefu__V1__Event *event[128]; //  each unpacked (owned)
    char kind[128][64];          //  the events.kind column
    char shop[128][65];          //  the events.shop_id column
} s_events_t;

static void
s_events_load (const char *url, s_events_t *out)
{
    memset (out, 0, sizeof *out);
    PGconn *conn = PQconnectdb (url);
    assert_int_equal (PQstatus (conn), CONNECTION_OK);
    //  Binary results: bytea arrives as the raw bytes, no hex to undo.
    PGresult *res = PQexecParams (conn,
                                  "SELECT payload, kind, shop_id FROM events "
                                  "WHERE stream = 'admin' ORDER BY partition, seq",
                                  0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal (PQresultStatus (res), PGRES_TUPLES_OK);
    assert_true (PQntuples (res) <= 128);
    for (int i = 0; i < PQntuples (res); i++) {
        out->event[i] = kefu__v1__event__unpack (NULL, (size_t) PQgetlength (res, i, 0),
                                                 (const uint8_t *) PQgetvalue (res, i, 0));
        assert_non_null (out->event[i]);
        snprintf (out->kind[i], sizeof out->kind[i], "%.*s", PQgetlength (res, i, 1),
                  PQgetvalue (res, i, 1));
        snprintf (out->shop[i], sizeof out->shop[i], "%.*s", PQgetlength (res, i, 2),
                  PQgetvalue (res, i, 2));
        out->count++;
    }
    PQclear (res);
    PQfinish (conn);
}

static void
s_events_free (s_events_t *events)
{
    for (int i = 0; i < events->count; i++)
        kefu__v1__event__free_unpacked (events->event[i], NULL);
    events->count = 0;
}

//  The admin stream holds `count` events and the last is config.changed
//  {what, by} for SHOP.
static void
s_expect_config_event (const char *url, int count, const char *what, const char *by)
{
    s_events_t events;
    s_events_load (url, &events);
    if (events.count != count)
        fail_msg ("admin events: %d, expected %d (last command: %s)", events.count, count,
                  kt_kefuctl_last.out);
    const Kefu__V1__Event *e = events.event[count - 1];
    assert_string_equal (events.kind[count - 1], "config.changed");
    assert_string_equal (events.shop[count - 1], SHOP);
    assert_string_equal (e->stream, "admin");
    assert_string_equal (e->kind, "config.changed");
    assert_string_equal (e->shop_id, SHOP);
    assert_int_equal (e->seq, count);
    assert_int_equal (e->payload_case, KEFU__V1__EVENT__PAYLOAD_CONFIG_CHANGED);
    assert_string_equal (e->config_changed->what, what);
    assert_string_equal (e->config_changed->by, by);
    s_events_free (&events);
}

static long long
s_admin_events (const char *url)
{
    return s_count (url, "SELECT count (*) FROM events WHERE stream = 'admin'");
}

//  A fresh database with the shop registered.
static char *
s_fresh (const char *name)
{
    char *url = kt_db_fresh (name);
    KT_EXPECT (url, 0, "shop", "add", SHOP, "--name", "测试旗舰店");
    return url;
}

//  ---------------------------------------------------------------------------

static void
test_help (void **state)
{
    (void) state;
    const char *nouns[] = {"shift", "group", "agent", "handover", "routing", "transfer", "queue"};
    //  Help needs no database.
    for (size_t i = 0; i < sizeof nouns / sizeof nouns[0]; i++) {
        KT_EXPECT ("dbname=nonexistent", 0, nouns[i], "--help");
        assert_non_null (strstr (kt_kefuctl_last.out, "Usage"));
        assert_non_null (strstr (kt_kefuctl_last.out, "Exit codes"));
    }
    KT_EXPECT ("dbname=nonexistent", 0, "agent", "add", "--help");
    assert_non_null (strstr (kt_kefuctl_last.out, "首问责任制"));
    KT_EXPECT ("dbname=nonexistent", 0, "handover", "--help");
    assert_non_null (strstr (kt_kefuctl_last.out, "交接留言"));
    KT_EXPECT ("dbname=nonexistent", 0, "group", "--help");
    assert_non_null (strstr (kt_kefuctl_last.out, "售前"));
    assert_non_null (strstr (kt_kefuctl_last.out, "售后"));
    KT_EXPECT ("dbname=nonexistent", 2, "shift");
    KT_EXPECT ("dbname=nonexistent", 2, "agent", "fire", SHOP, "x");
    KT_EXPECT ("dbname=nonexistent", 0, "--help");
    assert_non_null (strstr (kt_kefuctl_last.out, "handover <shop> <agent> --note TEXT"));
}

static void
test_shift_defaults (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_defaults");
    KT_EXPECT (url, 4, "shift", "defaults", "no-such-shop");
    assert_int_equal (s_count (url, "SELECT count (*) FROM shifts"), 0);
    assert_int_equal (s_admin_events (url), 0);

    KT_EXPECT (url, 0, "shift", "defaults", SHOP, "--by", "lead.wang");
    assert_non_null (strstr (kt_kefuctl_last.out, "created shift day 08:30-17:30"));
    assert_non_null (strstr (kt_kefuctl_last.out, "created shift night 17:30-23:00"));
    assert_non_null (strstr (kt_kefuctl_last.out, "created group presales (售前)"));
    assert_non_null (strstr (kt_kefuctl_last.out, "created group aftersales (售后)"));
    s_expect_text (url,
                   "SELECT string_agg (shift_name || ' ' || start_minute || '-' || end_minute, ','"
                   " ORDER BY start_minute) FROM shifts WHERE shop_id = '" SHOP "'",
                   "day 510-1050,night 1050-1380");
    s_expect_text (url,
                   "SELECT string_agg (group_name || ' ' || display_name || ' ' || overflow_to"
                   " || ' ' || overflow_after_ms, ',' ORDER BY group_name) FROM routing_groups"
                   " WHERE shop_id = '" SHOP "'",
                   "aftersales 售后 presales 120000,presales 售前 aftersales 120000");
    s_expect_text (url,
                   "SELECT sticky_days || ' ' || sla_day_ms || ' ' || sla_night_ms || ' ' ||"
                   " night_shift || ' ' || sla_reassign FROM routing_settings"
                   " WHERE shop_id = '" SHOP "'",
                   "3 30000 60000 night false");
    s_expect_config_event (url, 1, "all", "lead.wang");

    //  Idempotent: nothing new, no event.
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "nothing to do"));
    assert_int_equal (s_count (url, "SELECT count (*) FROM shifts"), 2);
    assert_int_equal (s_count (url, "SELECT count (*) FROM routing_groups"), 2);
    assert_int_equal (s_count (url, "SELECT count (*) FROM routing_settings"), 1);
    assert_int_equal (s_admin_events (url), 1);

    //  A partly set-up shop: only what is missing is created, kept rows untouched.
    kt_sql (url, "DELETE FROM shifts WHERE shift_name = 'night'");
    kt_sql (url, "UPDATE routing_groups SET display_name = '售前组' WHERE group_name = 'presales'");
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "created shift night"));
    assert_non_null (strstr (kt_kefuctl_last.out, "kept existing group presales"));
    s_expect_text (url, "SELECT display_name FROM routing_groups WHERE group_name = 'presales'",
                   "售前组");
    s_expect_config_event (url, 2, "all", "supervisor1");

    KT_EXPECT (url, 0, "shift", "list", SHOP, "--json");
    json_error_t jerr;
    json_t *list = json_loads (kt_kefuctl_last.out, 0, &jerr);
    assert_non_null (list);
    assert_int_equal (json_array_size (list), 2);
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 0), "start")),
                         "08:30");
    assert_true (json_is_true (json_object_get (json_array_get (list, 1), "night")));
    json_decref (list);
    free (url);
}

static void
test_agent_rows (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_agent");
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    KT_EXPECT (url, 0, "agent", "add", SHOP, "xiaomei", "--name", "小美", "--groups",
               "presales,aftersales,presales", "--shift", "day,night", "--days", "mon-fri",
               "--rotation", "2:1", "--capacity", "7", "--weight", "3", "--vip");
    s_expect_text (url,
                   "SELECT name || ' ' || capacity || ' ' || weight || ' ' || vip_capable || ' ' ||"
                   " active FROM agents WHERE shop_id = '" SHOP "' AND agent_id = 'xiaomei'",
                   "小美 7 3 true true");
    s_expect_text (url,
                   "SELECT string_agg (group_name, ',' ORDER BY group_name) FROM agent_groups"
                   " WHERE agent_id = 'xiaomei'",
                   "aftersales,presales");
    s_expect_text (url,
                   "SELECT string_agg (shift_name || ' ' || days || ' ' || rotation_weeks || ':' ||"
                   " rotation_offset, ',' ORDER BY shift_name) FROM agent_schedule"
                   " WHERE agent_id = 'xiaomei'",
                   "day 31 2:1,night 31 2:1");
    s_expect_config_event (url, 2, "agents", "supervisor1");

    //  Defaults: capacity 5, weight 1, all days, every week.
    KT_EXPECT (url, 0, "agent", "add", SHOP, "a.li@shop", "--name", "阿丽", "--shift", "day");
    s_expect_text (url,
                   "SELECT capacity || ' ' || weight || ' ' || vip_capable FROM agents"
                   " WHERE agent_id = 'a.li@shop'",
                   "5 1 false");
    s_expect_text (url,
                   "SELECT days || ' ' || rotation_weeks || ':' || rotation_offset"
                   " FROM agent_schedule WHERE agent_id = 'a.li@shop'",
                   "127 1:0");

    //  Day spellings -> bitmask (bit 0 = Monday .. bit 6 = Sunday).
    struct {
        const char *days;
        const char *mask;
    } spell[] = {{"weekends", "96"}, {"sat,sun", "96"}, {"weekdays", "31"},   {"mon,wed,fri", "21"},
                 {"fri-mon", "113"}, {"all", "127"},    {"Tue-Thu,sun", "78"}};
    for (size_t i = 0; i < sizeof spell / sizeof spell[0]; i++) {
        KT_EXPECT (url, 0, "agent", "schedule", SHOP, "a.li@shop", "--clear", "--shift", "night",
                   "--days", spell[i].days);
        s_expect_text (url,
                       "SELECT string_agg (days::text, ',') FROM agent_schedule"
                       " WHERE agent_id = 'a.li@shop'",
                       spell[i].mask);
    }
    //  schedule replaces the row of the same shift and week, adds another week.
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "xiaomei", "--shift", "night", "--days",
               "sat,sun", "--rotation", "2:1");
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "xiaomei", "--shift", "night", "--days",
               "weekdays", "--rotation", "2:0");
    s_expect_text (url,
                   "SELECT string_agg (shift_name || ' ' || days || ' ' || rotation_weeks || ':' ||"
                   " rotation_offset, ',' ORDER BY shift_name, rotation_offset) FROM agent_schedule"
                   " WHERE agent_id = 'xiaomei'",
                   "day 31 2:1,night 31 2:0,night 96 2:1");
    assert_non_null (strstr (kt_kefuctl_last.out, "night@mon-fri[2:0]"));
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "xiaomei", "--clear");
    assert_int_equal (s_count (url, "SELECT count (*) FROM agent_schedule WHERE agent_id = "
                                    "'xiaomei'"),
                      0);

    //  set: groups replace, flags.
    KT_EXPECT (url, 0, "agent", "set", SHOP, "xiaomei", "--groups", "aftersales", "--no-vip",
               "--inactive", "--capacity", "0", "--name", "小美美");
    s_expect_text (url,
                   "SELECT name || ' ' || capacity || ' ' || weight || ' ' || vip_capable || ' ' ||"
                   " active FROM agents WHERE agent_id = 'xiaomei'",
                   "小美美 0 3 false false");
    s_expect_text (url,
                   "SELECT string_agg (group_name, ',') FROM agent_groups"
                   " WHERE agent_id = 'xiaomei'",
                   "aftersales");
    KT_EXPECT (url, 0, "agent", "set", SHOP, "xiaomei", "--groups", "", "--active");
    assert_int_equal (s_count (url, "SELECT count (*) FROM agent_groups WHERE agent_id = "
                                    "'xiaomei'"),
                      0);
    s_expect_text (url, "SELECT active FROM agents WHERE agent_id = 'xiaomei'", "t");
    free (url);
}

//  Every rejected command: the exit code, and nothing written.
static void
test_bad_input_writes_nothing (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_bad");
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    KT_EXPECT (url, 0, "agent", "add", SHOP, "xiaomei", "--name", "小美", "--groups", "presales",
               "--shift", "day");
    const char *snapshot_sql =
        "SELECT (SELECT count (*) FROM agents) || '/' || (SELECT count (*) FROM agent_groups)"
        " || '/' || (SELECT count (*) FROM agent_schedule) || '/' ||"
        " (SELECT count (*) FROM routing_groups) || '/' || (SELECT count (*) FROM shifts)"
        " || '/' || (SELECT count (*) FROM intent_groups) || '/' ||"
        " (SELECT md5 (string_agg (a::text, ',' ORDER BY agent_id)) FROM agents a) || '/' ||"
        " (SELECT md5 (r::text) FROM routing_settings r) || '/' ||"
        " (SELECT md5 (string_agg (g::text, ',' ORDER BY group_name)) FROM routing_groups g)"
        " || '/' || (SELECT count (*) FROM events)";
    char *before = kt_db_query1 (url, snapshot_sql);
    char long_name[80], long_note[1100];
    memset (long_name, 'x', 65);
    long_name[65] = 0;
    memset (long_note, 'n', 1025);
    long_note[1025] = 0;

    //  Usage-type mistakes: 2. Unknown groups and shifts are named.
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--groups", "presales,vip");
    assert_non_null (strstr (kt_kefuctl_last.err, "no group vip"));
    assert_non_null (strstr (kt_kefuctl_last.err, "kefuctl shift defaults"));
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--shift", "day,late");
    assert_non_null (strstr (kt_kefuctl_last.err, "no shift late"));
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "-bob", "--name", "Bob");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob smith", "--name", "Bob");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob'", "--name", "Bob");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", long_name);
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "\xe5\xb0");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "a\tb");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--capacity", "101");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--capacity", "5x");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--weight", "0");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--days", "mon");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--shift", "day", "--days",
               "funday");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--shift", "day", "--rotation",
               "2:2");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--shift", "day", "--rotation",
               "9:0");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--groups", "Presales");
    KT_EXPECT (url, 2, "agent", "add", "Bad!Shop", "bob", "--name", "Bob");
    KT_EXPECT (url, 2, "agent", "add", SHOP, "bob", "--name", "Bob", "--by", " lead");
    KT_EXPECT (url, 2, "agent", "set", SHOP, "xiaomei");
    KT_EXPECT (url, 2, "agent", "set", SHOP, "xiaomei", "--vip", "--no-vip");
    KT_EXPECT (url, 2, "agent", "set", SHOP, "xiaomei", "--groups", "nope");
    KT_EXPECT (url, 2, "agent", "schedule", SHOP, "xiaomei");
    KT_EXPECT (url, 2, "agent", "schedule", SHOP, "xiaomei", "--shift", "late");
    KT_EXPECT (url, 2, "shift", "add", SHOP, "late", "--start", "22:00");
    KT_EXPECT (url, 2, "shift", "add", SHOP, "late", "--start", "24:00", "--end", "06:00");
    KT_EXPECT (url, 2, "shift", "add", SHOP, "late", "--start", "22:60", "--end", "06:00");
    KT_EXPECT (url, 2, "shift", "add", SHOP, "late", "--start", "10:00", "--end", "10:00");
    KT_EXPECT (url, 2, "shift", "add", SHOP, "Late", "--start", "22:00", "--end", "06:00");
    KT_EXPECT (url, 2, "group", "add", SHOP, "vip", "--name", "VIP", "--overflow-to", "nope");
    KT_EXPECT (url, 2, "group", "add", SHOP, "vip", "--name", "VIP", "--overflow-to", "vip");
    KT_EXPECT (url, 2, "group", "add", SHOP, "vip", "--name", "VIP", "--overflow-after", "30");
    KT_EXPECT (url, 2, "group", "add", SHOP, "vip", "--name", "");
    KT_EXPECT (url, 2, "handover", SHOP, "xiaomei", "--note", long_note);
    KT_EXPECT (url, 2, "handover", SHOP, "xiaomei", "--note", "\xff\xfe");
    KT_EXPECT (url, 2, "routing", "set", SHOP);
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--sla-day", "30");
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--sla-day", "2h");
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--sticky-days", "91");
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--sla-reassign", "maybe");
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--intent-group", "refund=aftersales");
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--intent-group", "complaint=vip");
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--sticky-days", "7", "--overflow-order",
               "presales,nope");
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--night-shift", "late");
    KT_EXPECT (url, 2, "routing", "set", SHOP, "--busy-reply", "");
    KT_EXPECT (url, 2, "transfer", SHOP, "abc", "--to", "xiaomei", "--reason", "r");
    KT_EXPECT (url, 2, "transfer", SHOP, "1", "--to", "xiaomei");

    //  Already exists: 3.
    KT_EXPECT (url, 3, "agent", "add", SHOP, "xiaomei", "--name", "小美");
    KT_EXPECT (url, 3, "group", "add", SHOP, "presales", "--name", "售前");
    KT_EXPECT (url, 3, "shift", "add", SHOP, "day", "--start", "09:00", "--end", "18:00");

    //  Not found: 4.
    KT_EXPECT (url, 4, "agent", "add", "no-such-shop", "bob", "--name", "Bob");
    KT_EXPECT (url, 4, "agent", "set", SHOP, "ghost", "--capacity", "3");
    KT_EXPECT (url, 4, "agent", "schedule", SHOP, "ghost", "--shift", "day");
    KT_EXPECT (url, 4, "handover", SHOP, "ghost", "--note", "x");
    KT_EXPECT (url, 4, "group", "set", SHOP, "nope", "--name", "x");
    KT_EXPECT (url, 4, "shift", "set", SHOP, "nope", "--start", "09:00");
    KT_EXPECT (url, 4, "routing", "set", "no-such-shop", "--sticky-days", "1");
    KT_EXPECT (url, 4, "agent", "list", "no-such-shop");
    KT_EXPECT (url, 4, "queue", "no-such-shop");
    KT_EXPECT (url, 4, "routing", "show", "no-such-shop");

    char *after = kt_db_query1 (url, snapshot_sql);
    assert_string_equal (before, after);
    free (before);
    free (after);
    free (url);
}

//  Every kind of change writes exactly one config.changed event.
static void
test_one_event_per_change (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_events");
    int n = 0;
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    s_expect_config_event (url, ++n, "all", "supervisor1");
    KT_EXPECT (url, 0, "shift", "add", SHOP, "late", "--start", "22:00", "--end", "06:00");
    s_expect_config_event (url, ++n, "shifts", "supervisor1");
    assert_non_null (strstr (kt_kefuctl_last.out, "crosses midnight"));
    KT_EXPECT (url, 0, "shift", "add", SHOP, "allday", "--start", "00:00", "--end", "24:00", "--by",
               "ops");
    s_expect_config_event (url, ++n, "shifts", "ops");
    s_expect_text (url,
                   "SELECT start_minute || '-' || end_minute FROM shifts"
                   " WHERE shift_name = 'allday'",
                   "0-1440");
    KT_EXPECT (url, 0, "shift", "set", SHOP, "late", "--end", "07:00");
    s_expect_config_event (url, ++n, "shifts", "supervisor1");
    s_expect_text (url,
                   "SELECT start_minute || '-' || end_minute FROM shifts"
                   " WHERE shift_name = 'late'",
                   "1320-420");
    KT_EXPECT (url, 0, "group", "add", SHOP, "vip", "--name", "VIP专线", "--overflow-to",
               "presales", "--overflow-after", "30s");
    s_expect_config_event (url, ++n, "groups", "supervisor1");
    s_expect_text (url,
                   "SELECT overflow_to || ' ' || overflow_after_ms FROM routing_groups"
                   " WHERE group_name = 'vip'",
                   "presales 30000");
    KT_EXPECT (url, 0, "group", "set", SHOP, "vip", "--no-overflow", "--overflow-after", "90s");
    s_expect_config_event (url, ++n, "groups", "supervisor1");
    s_expect_text (url,
                   "SELECT coalesce (overflow_to, '-') || ' ' || overflow_after_ms"
                   " FROM routing_groups WHERE group_name = 'vip'",
                   "- 90000");
    KT_EXPECT (url, 0, "agent", "add", SHOP, "xiaomei", "--name", "小美", "--groups", "vip");
    s_expect_config_event (url, ++n, "agents", "supervisor1");
    KT_EXPECT (url, 0, "agent", "set", SHOP, "xiaomei", "--weight", "10");
    s_expect_config_event (url, ++n, "agents", "supervisor1");
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "xiaomei", "--shift", "late", "--days",
               "weekends");
    s_expect_config_event (url, ++n, "agents", "supervisor1");
    KT_EXPECT (url, 0, "handover", SHOP, "xiaomei", "--note", "客户A等退款到账后回复", "--by",
               "xiaomei");
    s_expect_config_event (url, ++n, "notes", "xiaomei");
    s_expect_text (url, "SELECT handover_note FROM agents WHERE agent_id = 'xiaomei'",
                   "客户A等退款到账后回复");
    KT_EXPECT (url, 0, "handover", SHOP, "xiaomei", "--note", "");
    s_expect_config_event (url, ++n, "notes", "supervisor1");
    s_expect_text (url,
                   "SELECT coalesce (handover_note, 'NULL') FROM agents"
                   " WHERE agent_id = 'xiaomei'",
                   "NULL");
    KT_EXPECT (url, 0, "routing", "set", SHOP, "--sticky-days", "7", "--sla-day", "20s",
               "--sla-night", "2m", "--night-shift", "late", "--sla-reassign", "on",
               "--overflow-order", "presales,aftersales", "--intent-group", "complaint=vip",
               "--intent-group", "bargaining=aftersales", "--after-hours-reply", "下班了～");
    s_expect_config_event (url, ++n, "settings", "supervisor1");
    s_expect_text (url,
                   "SELECT sticky_days || ' ' || sla_day_ms || ' ' || sla_night_ms || ' ' ||"
                   " night_shift || ' ' || sla_reassign || ' ' || overflow_order::text || ' ' ||"
                   " after_hours_reply FROM routing_settings",
                   "7 20000 120000 late true {presales,aftersales} 下班了～");
    s_expect_text (url,
                   "SELECT string_agg (intent || '=' || group_name, ',' ORDER BY intent)"
                   " FROM intent_groups",
                   "3=aftersales,8=vip");
    KT_EXPECT (url, 0, "routing", "set", SHOP, "--intent-group", "complaint=default",
               "--overflow-order", "");
    s_expect_config_event (url, ++n, "settings", "supervisor1");
    s_expect_text (url, "SELECT string_agg (intent || '=' || group_name, ',') FROM intent_groups",
                   "3=aftersales");
    s_expect_text (url, "SELECT overflow_order::text FROM routing_settings", "{}");

    //  Reading writes nothing.
    KT_EXPECT (url, 0, "routing", "show", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "7 days"));
    KT_EXPECT (url, 0, "routing", "show", SHOP, "--json");
    KT_EXPECT (url, 0, "agent", "list", SHOP);
    KT_EXPECT (url, 0, "group", "list", SHOP, "--json");
    KT_EXPECT (url, 0, "group", "list", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "GROUP"));
    assert_non_null (strstr (kt_kefuctl_last.out, "presales         aftersales after 2m"));
    KT_EXPECT (url, 0, "shift", "list", SHOP);
    KT_EXPECT (url, 0, "queue", SHOP);
    assert_int_equal (s_admin_events (url), n);
    free (url);
}

//  routing show on a shop without settings shows the schema defaults and
//  stores nothing.
static void
test_show_defaults (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_show");
    KT_EXPECT (url, 0, "routing", "show", SHOP, "--json");
    json_error_t jerr;
    json_t *show = json_loads (kt_kefuctl_last.out, 0, &jerr);
    assert_non_null (show);
    assert_true (json_is_false (json_object_get (show, "stored")));
    assert_int_equal (json_integer_value (json_object_get (show, "sticky_days")), 3);
    assert_int_equal (json_integer_value (json_object_get (show, "sla_day_ms")), 30000);
    json_t *complaint = json_object_get (json_object_get (show, "intent_groups"), "complaint");
    assert_string_equal (json_string_value (json_object_get (complaint, "group")), "aftersales");
    assert_true (json_is_true (json_object_get (complaint, "default")));
    json_decref (show);
    assert_int_equal (s_count (url, "SELECT count (*) FROM routing_settings"), 0);
    free (url);
}

static void
test_transfer (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_transfer");
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    KT_EXPECT (url, 0, "agent", "add", SHOP, "xiaomei", "--name", "小美", "--groups", "presales");
    KT_EXPECT (url, 0, "agent", "add", SHOP, "azhang", "--name", "阿张", "--groups", "aftersales");
    KT_EXPECT (url, 0, "agent", "add", SHOP, "gone", "--name", "已离职");
    KT_EXPECT (url, 0, "agent", "set", SHOP, "gone", "--inactive");
    KT_EXPECT (url, 0, "agent", "add", SHOP, "full", "--name", "满了", "--capacity", "0");
    kt_sql (url,
            "INSERT INTO routing_conversations (shop_id, conversation_id, customer_id, channel,"
            " channel_customer_id, group_name, class, vip, state, agent_id, opened_at, queued_at)"
            " VALUES ('" SHOP "', 7001, 1, 1, 'tb_1', 'presales', 2, false, 2, 'xiaomei', now (),"
            " NULL), ('" SHOP "', 7003, 3, 2, 'wx_3', 'aftersales', 1, false, 1, NULL, now (),"
            " now ())");
    //  A closed conversation has no routing row; intake's record says it closed.
    kt_sql (url, "INSERT INTO conversations (shop_id, conversation_id, customer_id, channel,"
                 " channel_customer_id, opened_at, last_message_at, closed_at)"
                 " VALUES ('" SHOP "', 7002, 2, 1, 'tb_2', now (), now (), now ())");
    //  Another shop's conversation is not this shop's.
    KT_EXPECT (url, 0, "shop", "add", "other-shop", "--name", "别家");
    kt_sql (url,
            "INSERT INTO routing_conversations (shop_id, conversation_id, customer_id, channel,"
            " channel_customer_id, group_name, class, vip, state, agent_id, opened_at)"
            " VALUES ('other-shop', 7004, 4, 1, 'tb_4', 'presales', 2, false, 2, 'x', now ())");
    long long events = s_admin_events (url);

    KT_EXPECT (url, 4, "transfer", SHOP, "9999", "--to", "azhang", "--reason", "r");
    assert_non_null (strstr (kt_kefuctl_last.err, "no open conversation 9999"));
    assert_null (strstr (kt_kefuctl_last.err, "closed"));
    KT_EXPECT (url, 4, "transfer", SHOP, "7002", "--to", "azhang", "--reason", "r");
    assert_non_null (strstr (kt_kefuctl_last.err, "closed"));
    KT_EXPECT (url, 4, "transfer", SHOP, "7004", "--to", "azhang", "--reason", "r");
    KT_EXPECT (url, 4, "transfer", SHOP, "7001", "--to", "ghost", "--reason", "r");
    assert_non_null (strstr (kt_kefuctl_last.err, "no agent ghost"));
    KT_EXPECT (url, 4, "transfer", SHOP, "7001", "--to", "gone", "--reason", "r");
    assert_non_null (strstr (kt_kefuctl_last.err, "inactive"));
    KT_EXPECT (url, 4, "transfer", "no-such-shop", "7001", "--to", "azhang", "--reason", "r");
    //  Routing refuses a transfer to an agent at capacity: so does kefuctl.
    KT_EXPECT (url, 1, "transfer", SHOP, "7001", "--to", "full", "--reason", "r");
    assert_non_null (strstr (kt_kefuctl_last.err, "at capacity (0/0)"));
    assert_int_equal (s_admin_events (url), events);
    //  Already the owner: nothing to do, no event.
    KT_EXPECT (url, 0, "transfer", SHOP, "7001", "--to", "xiaomei", "--reason", "r");
    assert_non_null (strstr (kt_kefuctl_last.out, "nothing to do"));
    assert_int_equal (s_admin_events (url), events);

    KT_EXPECT (url, 0, "transfer", SHOP, "7001", "--to", "azhang", "--reason", "客户要退货，转售后",
               "--by", "lead.wang");
    KT_EXPECT (url, 0, "transfer", SHOP, "7003", "--to", "xiaomei", "--reason", "VIP老客户");
    s_events_t ev;
    s_events_load (url, &ev);
    assert_int_equal (ev.count, events + 2);
    const Kefu__V1__Event *e = ev.event[ev.count - 2];
    assert_string_equal (ev.kind[ev.count - 2], "transfer.requested");
    assert_string_equal (e->kind, "transfer.requested");
    assert_string_equal (e->shop_id, SHOP);
    assert_int_equal (e->payload_case, KEFU__V1__EVENT__PAYLOAD_TRANSFER_REQUESTED);
    assert_int_equal (e->transfer_requested->conversation_id, 7001);
    assert_string_equal (e->transfer_requested->to_agent_id, "azhang");
    assert_string_equal (e->transfer_requested->by, "lead.wang");
    assert_string_equal (e->transfer_requested->reason, "客户要退货，转售后");
    e = ev.event[ev.count - 1];
    assert_int_equal (e->transfer_requested->conversation_id, 7003);
    assert_string_equal (e->transfer_requested->to_agent_id, "xiaomei");
    assert_string_equal (e->transfer_requested->by, "supervisor1");
    s_events_free (&ev);
    //  kefuctl only asks: routing carries the transfer out.
    s_expect_text (url, "SELECT agent_id FROM routing_conversations WHERE conversation_id = 7001",
                   "xiaomei");
    free (url);
}

static void
test_sql_metacharacters (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_meta");
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    const char *name = "Bob'); DROP TABLE agents;--";
    const char *note = "'; DELETE FROM agents; --\n$1 %s %n \\x00 \"quoted\" 交接";
    const char *display = "售前\"'$$ \\ {a,b}";
    const char *reply = "亲，$1::text' || '稍等 %d";
    KT_EXPECT (url, 0, "agent", "add", SHOP, "bob", "--name", name, "--groups", "presales");
    KT_EXPECT (url, 0, "handover", SHOP, "bob", "--note", note);
    KT_EXPECT (url, 0, "group", "set", SHOP, "presales", "--name", display);
    KT_EXPECT (url, 0, "routing", "set", SHOP, "--busy-reply", reply);
    s_expect_text (url, "SELECT name FROM agents WHERE agent_id = 'bob'", name);
    s_expect_text (url, "SELECT handover_note FROM agents WHERE agent_id = 'bob'", note);
    s_expect_text (url, "SELECT display_name FROM routing_groups WHERE group_name = 'presales'",
                   display);
    s_expect_text (url, "SELECT busy_reply FROM routing_settings", reply);
    assert_int_equal (s_count (url, "SELECT count (*) FROM agents"), 1);
    //  And they come back out intact through the JSON lists.
    KT_EXPECT (url, 0, "agent", "list", SHOP, "--json");
    json_error_t jerr;
    json_t *list = json_loads (kt_kefuctl_last.out, 0, &jerr);
    assert_non_null (list);
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 0), "name")),
                         name);
    assert_string_equal (
        json_string_value (json_object_get (json_array_get (list, 0), "handover_note")), note);
    json_decref (list);
    free (url);
}

static void
test_queue_and_presence (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_queue");
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    KT_EXPECT (url, 0, "agent", "add", SHOP, "xiaomei", "--name", "小美", "--groups", "presales",
               "--capacity", "3");
    KT_EXPECT (url, 0, "agent", "add", SHOP, "azhang", "--name", "阿张", "--groups", "aftersales");
    kt_sql (url, "INSERT INTO agent_presence VALUES ('" SHOP "', 'xiaomei', 1, now ())");
    //  Presales queue: class 1 first, then VIP, then the longest wait.
    kt_sql (url,
            "INSERT INTO routing_conversations (shop_id, conversation_id, customer_id, channel,"
            " channel_customer_id, group_name, class, vip, state, agent_id, opened_at, queued_at)"
            " VALUES"
            " ('" SHOP
            "', 1, 1, 1, 'c1', 'presales', 2, false, 1, NULL, now (), now () - interval '9 min'),"
            " ('" SHOP
            "', 2, 2, 1, 'c2', 'presales', 2, true, 1, NULL, now (), now () - interval '1 min'),"
            " ('" SHOP
            "', 3, 3, 2, 'c3', 'presales', 1, false, 1, NULL, now (), now () - interval '10 s'),"
            " ('" SHOP
            "', 4, 4, 1, 'c4', 'presales', 2, false, 1, NULL, now (), now () - interval '20 min'),"
            " ('" SHOP "', 5, 5, 1, 'c5', 'aftersales', 1, false, 1, NULL, now (), now ()),"
            " ('" SHOP "', 6, 6, 1, 'c6', 'presales', 2, false, 2, 'xiaomei', now (), NULL),"
            " ('" SHOP "', 7, 7, 1, 'c7', 'presales', 2, false, 2, 'xiaomei', now (), NULL)");
    KT_EXPECT (url, 0, "queue", SHOP, "--json");
    json_error_t jerr;
    json_t *queue = json_loads (kt_kefuctl_last.out, 0, &jerr);
    assert_non_null (queue);
    assert_int_equal (json_array_size (queue), 5);
    //  Groups by name: aftersales (5), then presales 3, 2, 4, 1.
    const int order[] = {5, 3, 2, 4, 1};
    const int pos[] = {1, 1, 2, 3, 4};
    for (int i = 0; i < 5; i++) {
        json_t *q = json_array_get (queue, (size_t) i);
        assert_int_equal (json_integer_value (json_object_get (q, "conversation_id")), order[i]);
        assert_int_equal (json_integer_value (json_object_get (q, "position")), pos[i]);
    }
    assert_string_equal (json_string_value (json_object_get (json_array_get (queue, 1), "channel")),
                         "wechat");
    assert_string_equal (
        json_string_value (json_object_get (json_array_get (queue, 1), "class_name")),
        "aftersales");
    json_decref (queue);
    KT_EXPECT (url, 0, "queue", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "presales 售前: 4 waiting"));

    KT_EXPECT (url, 0, "agent", "list", SHOP, "--json");
    json_t *list = json_loads (kt_kefuctl_last.out, 0, &jerr);
    assert_non_null (list);
    assert_int_equal (json_array_size (list), 2);
    json_t *azhang = json_array_get (list, 0), *xiaomei = json_array_get (list, 1);
    assert_string_equal (json_string_value (json_object_get (azhang, "presence")), "offline");
    assert_int_equal (json_integer_value (json_object_get (azhang, "load")), 0);
    assert_string_equal (json_string_value (json_object_get (xiaomei, "presence")), "online");
    assert_int_equal (json_integer_value (json_object_get (xiaomei, "load")), 2);
    assert_int_equal (json_integer_value (json_object_get (xiaomei, "capacity")), 3);
    json_t *sched = json_object_get (xiaomei, "schedule");
    assert_int_equal (json_array_size (sched), 0);
    json_decref (list);
    KT_EXPECT (url, 0, "agent", "list", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "2/3"));
    free (url);
}

//  Rotations by this and next week: weeks run Monday to Sunday in the
//  shop's time zone (Asia/Shanghai, UTC+8), counted as routing counts them.
//  Monday 2026-11-23 begins week 2,969 (kf_tz_week_of_day).
static void
test_rotation_weeks (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_rotation");
    KT_EXPECT (url, 0, "shift", "defaults", SHOP);
    KT_EXPECT (url, 0, "agent", "add", SHOP, "ajie", "--name", "阿杰", "--groups", "aftersales",
               "--shift", "day", "--rotation", "2:this");
    //  Week 2,969 is week 1 of 2: this week's row says so, next week's not.
    s_expect_text (url, "SELECT rotation_weeks || ':' || rotation_offset FROM agent_schedule",
                   "2:1");
    assert_non_null (strstr (kt_kefuctl_last.out, "day@all[2:1 this week]"));
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "ajie", "--shift", "night", "--rotation",
               "2:next");
    assert_non_null (strstr (kt_kefuctl_last.out, "day@all[2:1 this week] night@all[2:0]") ||
                     strstr (kt_kefuctl_last.out, "night@all[2:0] day@all[2:1 this week]"));
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "ajie", "--clear", "--shift", "day", "--rotation",
               "3:this");
    s_expect_text (url, "SELECT rotation_weeks || ':' || rotation_offset FROM agent_schedule",
                   "3:2");
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "ajie", "--clear", "--shift", "day", "--rotation",
               "4:next");
    s_expect_text (url, "SELECT rotation_weeks || ':' || rotation_offset FROM agent_schedule",
                   "4:2");
    KT_EXPECT (url, 0, "shift", "list", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "this week (from Monday 2026-11-23, "
                                                  "Asia/Shanghai) is week 1 of a 2-week "
                                                  "rotation, 2 of 3, 1 of 4"));

    //  Sunday 23:59:59 in Shanghai is still week 2,969; a second later it
    //  is Monday there (Sunday 16:00 in UTC): week 2,970, week 0 of 2.
    setenv ("KEFU_CLOCK", "manual:2026-11-29T15:59:59Z", 1);
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "ajie", "--clear", "--shift", "day", "--rotation",
               "2:this");
    s_expect_text (url, "SELECT rotation_offset::text FROM agent_schedule", "1");
    setenv ("KEFU_CLOCK", "manual:2026-11-29T16:00:00Z", 1);
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "ajie", "--clear", "--shift", "day", "--rotation",
               "2:this");
    s_expect_text (url, "SELECT rotation_offset::text FROM agent_schedule", "0");
    //  The list marks the rows in force this week.
    KT_EXPECT (url, 0, "agent", "schedule", SHOP, "ajie", "--shift", "night", "--rotation",
               "2:next");
    KT_EXPECT (url, 0, "agent", "list", SHOP, "--json");
    json_error_t jerr;
    json_t *list = json_loads (kt_kefuctl_last.out, 0, &jerr);
    assert_non_null (list);
    json_t *rows = json_object_get (json_array_get (list, 0), "schedule");
    assert_int_equal (json_array_size (rows), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *r = json_array_get (rows, i);
        bool day = strcmp (json_string_value (json_object_get (r, "shift")), "day") == 0;
        assert_int_equal (json_integer_value (json_object_get (r, "rotation_offset")), day ? 0 : 1);
        assert_int_equal (json_is_true (json_object_get (r, "this_week")), day);
    }
    json_decref (list);
    KT_EXPECT (url, 0, "agent", "list", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "[2:0 this week]"));
    assert_null (strstr (kt_kefuctl_last.out, "[2:1 this week]"));

    //  Wrong words and clocks change nothing.
    long long rows_before = s_count (url, "SELECT count (*) FROM agent_schedule");
    KT_EXPECT (url, 2, "agent", "schedule", SHOP, "ajie", "--shift", "day", "--rotation", "2:that");
    KT_EXPECT (url, 2, "agent", "schedule", SHOP, "ajie", "--shift", "day", "--rotation", "2:");
    KT_EXPECT (url, 2, "agent", "schedule", SHOP, "ajie", "--shift", "day", "--rotation", "2:-1");
    KT_EXPECT (url, 2, "agent", "schedule", SHOP, "ajie", "--shift", "day", "--rotation",
               "2:this ");
    setenv ("KEFU_CLOCK", "yesterday", 1);
    KT_EXPECT (url, 2, "agent", "schedule", SHOP, "ajie", "--shift", "day", "--rotation", "2:this");
    assert_non_null (strstr (kt_kefuctl_last.err, "KEFU_CLOCK"));
    assert_int_equal (s_count (url, "SELECT count (*) FROM agent_schedule"), rows_before);
    setenv ("KEFU_CLOCK", S_CLOCK, 1);
    free (url);
}

//  routing prune: the audit trail of closed conversations and stale
//  who-served-whom rows older than --keep go; open conversations' trail and
//  rows still inside a shop's stickiness window stay. Now is S_CLOCK
//  (2026-11-23 02:00 UTC): --keep 7d cuts at 2026-11-16 02:00.
static void
test_prune (void **state)
{
    (void) state;
    char *url = s_fresh ("t_kfctl_routing_prune");
    KT_EXPECT (url, 0, "shop", "add", "other-shop", "--name", "别家");
    KT_EXPECT (url, 0, "routing", "set", SHOP, "--sticky-days", "30");
    kt_sql (url,
            "INSERT INTO routing_conversations (shop_id, conversation_id, customer_id, channel,"
            " channel_customer_id, group_name, class, vip, state, agent_id, opened_at)"
            " VALUES ('" SHOP "', 2, 2, 1, 'tb_2', 'presales', 2, false, 2, 'xiaomei',"
            " '2026-01-01Z')");
    kt_sql (url, "INSERT INTO assignments (shop_id, conversation_id, agent_id, group_name, reason,"
                 " assigned_at) VALUES"
                 " ('" SHOP "', 1, 'xiaomei', 'presales', 1, '2026-01-01Z'),"
                 " ('" SHOP "', 2, 'xiaomei', 'presales', 1, '2026-01-01Z'),"
                 " ('" SHOP "', 3, 'xiaomei', 'presales', 1, '2026-11-20Z'),"
                 " ('other-shop', 2, 'x', 'presales', 1, '2026-11-10Z')");
    kt_sql (url, "INSERT INTO customer_agents (shop_id, customer_id, agent_id, last_served_at)"
                 " VALUES ('" SHOP "', 1, 'xiaomei', '2026-01-01Z'),"
                 " ('" SHOP "', 2, 'xiaomei', '2026-11-10Z'),"
                 " ('" SHOP "', 3, 'xiaomei', '2026-11-22Z'),"
                 " ('other-shop', 2, 'x', '2026-11-10Z')");
    const char *left_sql =
        "SELECT (SELECT string_agg (shop_id || '/' || conversation_id, ',' ORDER BY shop_id,"
        " conversation_id) FROM assignments) || ' ' || (SELECT string_agg (shop_id || '/' ||"
        " customer_id, ',' ORDER BY shop_id, customer_id) FROM customer_agents)";
    KT_EXPECT (url, 0, "routing", "prune", "--keep", "7d", "--dry-run");
    assert_non_null (strstr (kt_kefuctl_last.out, "would prune 2 assignment rows"));
    assert_non_null (strstr (kt_kefuctl_last.out, "would prune 2 customer_agents rows"));
    assert_non_null (strstr (kt_kefuctl_last.out, "from before 2026-11-16 02:00 UTC"));
    s_expect_text (url, left_sql,
                   "other-shop/2,tmall-test/1,tmall-test/2,tmall-test/3 "
                   "other-shop/2,tmall-test/1,tmall-test/2,tmall-test/3");
    KT_EXPECT (url, 0, "routing", "prune", "--keep", "7d");
    assert_non_null (strstr (kt_kefuctl_last.out, "pruned 2 assignment rows"));
    assert_non_null (strstr (kt_kefuctl_last.out, "pruned 2 customer_agents rows"));
    //  Left: the open conversation's old trail and the recent one; the
    //  customer inside SHOP's 30-day window and the recent one.
    s_expect_text (url, left_sql, "tmall-test/2,tmall-test/3 tmall-test/2,tmall-test/3");
    KT_EXPECT (url, 0, "routing", "prune", "--keep", "7d");
    assert_non_null (strstr (kt_kefuctl_last.out, "pruned 0 assignment rows"));
    //  The default keeps 180 days: nothing of the rest is that old.
    KT_EXPECT (url, 0, "routing", "prune");
    s_expect_text (url, left_sql, "tmall-test/2,tmall-test/3 tmall-test/2,tmall-test/3");
    KT_EXPECT (url, 2, "routing", "prune", "--keep", "12h");
    KT_EXPECT (url, 2, "routing", "prune", "--keep", "soon");
    KT_EXPECT (url, 2, "routing", "prune", SHOP);
    s_expect_text (url, left_sql, "tmall-test/2,tmall-test/3 tmall-test/2,tmall-test/3");
    free (url);
}

int
main (void)
{
    //  kefuctl's "now" (rotation weeks): Monday 2026-11-23 10:00 in Shanghai.
    setenv ("KEFU_CLOCK", S_CLOCK, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_help),
        cmocka_unit_test (test_shift_defaults),
        cmocka_unit_test (test_agent_rows),
        cmocka_unit_test (test_bad_input_writes_nothing),
        cmocka_unit_test (test_one_event_per_change),
        cmocka_unit_test (test_show_defaults),
        cmocka_unit_test (test_transfer),
        cmocka_unit_test (test_sql_metacharacters),
        cmocka_unit_test (test_queue_and_presence),
        cmocka_unit_test (test_rotation_weeks),
        cmocka_unit_test (test_prune),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
