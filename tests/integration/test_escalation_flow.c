/*  test_escalation_flow — kefu-escalation with a real intake, real kefuctl
    and a real PostgreSQL on a driven clock (demo-shop, Asia/Shanghai).

    - A bad review registered at 23:00 climbs the ladder: the chat message
      at once, the SMS two hours later, and the phone task not at the 48 h
      mark (23:00 again) but at 09:30 the next morning.
    - A complaint said in chat is registered from intake's event (a second
      complaint message joins it); it goes through all six steps with one
      supervisor approval and one ledger entry; every refused move names
      the stage and what is missing and changes nothing.
    - The ledger refuses UPDATE and DELETE itself.
    - kefu-escalation killed (-9) while deadlines pass: after each restart
      every deadline fires exactly once, late, saying how late.
    - 10,000 deadlines in the same second: each fires once. */
#include "escalation_store.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kt_db.h"
#include "kt_escalation.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"

#include <libpq-fe.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "demo-shop"
#define HOUR (3600 * 1000LL)
#define PASSED                                                                                     \
    "SELECT count (*) FROM events WHERE stream = 'escalation' AND kind = "                         \
    "'complaint.deadline_passed'"

typedef struct {
    char *db;            //  conninfo of the fresh database
    kf_clock_t *clock;   //  driven clock, shared by intake, escalation and kefuctl
    kt_intake_t *intake; //  intake (in-process)
    kt_escalation_t esc; //  escalation (in-process)
    bool esc_running;    //  esc started
} fixture_t;

static int64_t
s_t (const char *utc)
{
    return kf_clock_parse_utc (utc);
}

//  kefuctl reads KEFU_CLOCK: the same time as the services.
static void
s_set_clock (fixture_t *f, int64_t at)
{
    if (at != kf_clock_now_ms (f->clock))
        assert_int_equal (kf_clock_set (f->clock, at), 0);
    char spec[64];
    snprintf (spec, sizeof spec, "manual:%lld", (long long) at);
    setenv ("KEFU_CLOCK", spec, 1);
}

static fixture_t *
s_world (int64_t start, bool with_escalation)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("escalation_flow");
    kt_shop_add (f->db, SHOP);
    f->clock = kf_clock_new_manual (start);
    s_set_clock (f, start);
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    if (with_escalation) {
        kt_escalation_start (&f->esc, f->db, f->intake->events_endpoint,
                             f->intake->command_endpoint, f->clock);
        f->esc_running = true;
    }
    return f;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    if (f->esc_running)
        kt_escalation_stop (&f->esc);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    unsetenv ("KEFU_CLOCK");
    free (f->db);
    free (f);
    return 0;
}

static long long
s_count (fixture_t *f, const char *sql)
{
    return kt_db_count (f->db, sql);
}

//  Run sql; returns the error message ("" when it succeeded). Caller frees.
static char *
s_sql_error (const char *db, const char *sql)
{
    PGconn *conn = PQconnectdb (db);
    assert_int_equal (PQstatus (conn), CONNECTION_OK);
    PGresult *res = PQexec (conn, sql);
    char *error =
        strdup (PQresultStatus (res) == PGRES_COMMAND_OK || PQresultStatus (res) == PGRES_TUPLES_OK
                    ? ""
                    : PQresultErrorMessage (res));
    PQclear (res);
    PQfinish (conn);
    return error;
}

//  ---------------------------------------------------------------------
//  The ladder

static long long
s_contacts (fixture_t *f, int step)
{
    char sql[256];
    snprintf (sql, sizeof sql,
              "SELECT count (*) FROM outbound_commands WHERE shop_id = 'demo-shop' AND origin = "
              "'escalation' AND request_id = 'review:1:%d'",
              step);
    return s_count (f, sql);
}

static void
test_a_bad_review_climbs_the_ladder_to_a_phone_call_in_the_calling_window (void **state)
{
    //  Monday 23:00 in Shanghai.
    fixture_t *f = *state = s_world (s_t ("2026-11-23T15:00:00Z"), true);
    KT_EXPECT (f->db, 0, "review", "add", SHOP, "--buyer", "tb_lily88", "--order", "TB1001",
               "--rating", "1", "--text", "杯子碎了，质量太差", "--phone", "13800000000", "--item",
               "玻璃杯");
    assert_non_null (strstr (kt_kefuctl_last.out, "review 1 registered: severity 4"));
    kt_escalation_settle (&f->esc, f->db);
    //  The chat message at once, on the review's channel.
    assert_int_equal (s_contacts (f, 1), 1);
    assert_int_equal (s_count (f, "SELECT channel FROM outbound_commands WHERE request_id = "
                                  "'review:1:1'"),
                      KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT);
    assert_int_equal (s_contacts (f, 2), 0);
    //  Two hours without an answer: the SMS (the reminder on the phone channel).
    s_set_clock (f, s_t ("2026-11-23T17:00:00Z"));
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_contacts (f, 2), 1);
    assert_int_equal (s_count (f, "SELECT channel FROM outbound_commands WHERE request_id = "
                                  "'review:1:2'"),
                      KEFU__V1__CHANNEL__CHANNEL_PHONE);
    //  The 48 h mark is Wednesday 23:00: no call at night.
    s_set_clock (f, s_t ("2026-11-25T15:00:00Z"));
    kt_escalation_settle (&f->esc, f->db);
    s_set_clock (f, s_t ("2026-11-26T01:29:59Z"));
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_contacts (f, 3), 0);
    //  Thursday 09:30: the phone task.
    s_set_clock (f, s_t ("2026-11-26T01:30:00Z"));
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_contacts (f, 3), 1);
    assert_int_equal (s_count (f, "SELECT extract (epoch FROM created_at)::bigint FROM "
                                  "outbound_commands WHERE request_id = 'review:1:3'"),
                      s_t ("2026-11-26T01:30:00Z") / 1000);
    assert_int_equal (s_count (f, "SELECT count (*) FROM events WHERE stream = 'escalation' AND "
                                  "kind = 'review.contact_due'"),
                      3);
    KT_EXPECT (f->db, 0, "review", "list", SHOP, "--open");
    assert_non_null (strstr (kt_kefuctl_last.out, "已派电话任务"));
    assert_non_null (strstr (kt_kefuctl_last.out, "13800000000"));
    KT_EXPECT (f->db, 0, "review", "list", SHOP, "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"contact_step\": 3"));
}

static void
test_a_message_from_the_buyer_stops_the_ladder (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T06:00:00Z"), true);
    KT_EXPECT (f->db, 0, "review", "add", SHOP, "--buyer", "tb_lily88", "--order", "TB1001",
               "--neutral", "--text", "一般般");
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_contacts (f, 1), 1);
    bool welcomed = false;
    zsock_t *gw = kt_gw_connect (f->intake->gateway_endpoint, "gw-1", SHOP, &welcomed);
    assert_true (welcomed);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "m-1", "tb_lily88", "好的，我看看",
                   kf_clock_now_ms (f->clock));
    kt_gw_push (gw, &item);
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, "SELECT count (*) FROM events WHERE stream = 'escalation' AND "
                                  "kind = 'review.contacted'"),
                      1);
    s_set_clock (f, s_t ("2026-11-26T06:00:00Z"));
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_contacts (f, 2), 0); //  no SMS, no call
    assert_int_equal (s_contacts (f, 3), 0);
    zsock_destroy (&gw);
}

static void
s_stage_is (fixture_t *f, const char *stage)
{
    char *got = kt_db_query1 (f->db, "SELECT stage FROM escalation_cases WHERE case_id = 1");
    char want[8];
    const char *names[] = {
        "",         "registered",  "judged",    "investigated", "remedy_proposed",
        "approved", "carried_out", "revisited", "closed"};
    for (int i = 1; i <= 8; i++)
        if (strcmp (names[i], stage) == 0)
            snprintf (want, sizeof want, "%d", i);
    assert_string_equal (got, want);
    free (got);
}

//  A gateway's item: a review (stars, or grade when stars is 0) or a
//  complaint action, at the driven clock (strings borrowed).
typedef struct {
    Kefu__V1__InboundItem item;
    Kefu__V1__Review review;
    Kefu__V1__ComplaintAction action;
} s_aftersales_t;

static void
s_aftersales (fixture_t *f, s_aftersales_t *a, const char *id)
{
    kefu__v1__inbound_item__init (&a->item);
    kefu__v1__review__init (&a->review);
    kefu__v1__complaint_action__init (&a->action);
    a->item.shop_id = kt_text (SHOP);
    a->item.gateway_msg_id = kt_text (id);
    a->item.sent_at_ms = kf_clock_now_ms (f->clock);
    a->item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    a->review.reviewed_at_ms = kf_clock_now_ms (f->clock);
    a->action.agent_id = kt_text ("xiaomei");
}

static void
s_push_review (fixture_t *f, zsock_t *gw, const char *id, const char *order, int stars, int grade,
               const char *text)
{
    s_aftersales_t a;
    s_aftersales (f, &a, id);
    a.item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_REVIEW;
    a.item.review = &a.review;
    a.review.order_id = kt_text (order);
    a.review.customer_id = kt_text ("tb_mei");
    a.review.stars = (uint32_t) stars;
    a.review.grade = grade;
    a.review.text = kt_text (text);
    kt_gw_push (gw, &a.item);
}

static zsock_t *
s_gateway (fixture_t *f)
{
    bool welcomed = false;
    zsock_t *gw = kt_gw_connect (f->intake->gateway_endpoint, "gw-1", SHOP, &welcomed);
    assert_true (welcomed);
    return gw;
}

static void
test_a_bad_review_pushed_by_a_gateway_opens_a_case_and_a_good_one_does_not (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T06:00:00Z"), true);
    zsock_t *gw = s_gateway (f);
    s_push_review (f, gw, "rv-1", "TB3000", 5, 0, "很好");
    s_push_review (f, gw, "rv-2", "TB3001", 0, KEFU__V1__REVIEW_GRADE__REVIEW_NEGATIVE,
                   "质量太差，我要投诉");
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_cases"), 1);
    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_cases WHERE kind = 2 AND "
                                  "order_id = 'TB3001' AND channel_customer_id = 'tb_mei' AND "
                                  "severity = 4 AND registered_by = 'gw-1'"),
                      1);
    //  Its ladder starts: the chat message at once.
    assert_int_equal (s_contacts (f, 1), 1);
    zsock_destroy (&gw);
}

//  Write a severity dictionary with base b for every rating and the given
//  words (a JSON list) to path.
static void
s_dictionary (const char *path, int b, const char *words)
{
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fprintf (file,
             "{\"base\": {\"stars_1\": %d, \"stars_2\": %d, \"stars_3\": %d, \"negative\": "
             "%d, \"neutral\": %d}, \"words\": %s}",
             b, b, b, b, b, words);
    fclose (file);
}

static void
test_the_severity_dictionary_is_read_at_start_and_again_on_sighup (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T06:00:00Z"), false);
    char path[128];
    snprintf (path, sizeof path, "/tmp/kefu-test-flow-severity-%d.json", getpid ());
    s_dictionary (path, 1, "[\"色差\"]");
    kt_escalation_init (&f->esc, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                        f->clock);
    free (f->esc.config.dictionary);
    f->esc.config.dictionary = strdup (path);
    kt_escalation_run (&f->esc);
    f->esc_running = true;
    zsock_t *gw = s_gateway (f);
    s_push_review (f, gw, "rv-1", "TB4001", 0, KEFU__V1__REVIEW_GRADE__REVIEW_NEGATIVE,
                   "有色差，要退货");
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, "SELECT severity FROM escalation_cases WHERE order_id = "
                                  "'TB4001'"),
                      2);
    //  Edited: 退货 weighs too; SIGHUP (RELOAD) reads it.
    s_dictionary (path, 1, "[\"色差\", \"退货\"]");
    zstr_send (f->esc.actor, "RELOAD");
    zstr_send (f->esc.actor, "SYNC"); //  answered after the reload
    free (zstr_recv (f->esc.actor));
    s_push_review (f, gw, "rv-2", "TB4002", 0, KEFU__V1__REVIEW_GRADE__REVIEW_NEGATIVE,
                   "有色差，要退货");
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, "SELECT severity FROM escalation_cases WHERE order_id = "
                                  "'TB4002'"),
                      3);
    //  A broken edit keeps the dictionary in force.
    s_dictionary (path, 9, "[]");
    zstr_send (f->esc.actor, "RELOAD");
    zstr_send (f->esc.actor, "SYNC"); //  answered after the reload
    free (zstr_recv (f->esc.actor));
    s_push_review (f, gw, "rv-3", "TB4003", 0, KEFU__V1__REVIEW_GRADE__REVIEW_NEGATIVE,
                   "有色差，要退货");
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, "SELECT severity FROM escalation_cases WHERE order_id = "
                                  "'TB4003'"),
                      3);
    zsock_destroy (&gw);
    unlink (path);
}

static void
test_a_promise_to_change_the_review_stops_the_ladder_and_is_followed_up (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T06:00:00Z"), true);
    KT_EXPECT (f->db, 0, "review", "add", SHOP, "--buyer", "tb_lily88", "--order", "TB1001",
               "--rating", "2", "--text", "发货太慢");
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_contacts (f, 1), 1);
    //  Refused: a promise without a time, a time without a promise, a
    //  complaint's id.
    KT_EXPECT (f->db, 2, "review", "outcome", SHOP, "1", "--outcome", "promised");
    KT_EXPECT (f->db, 2, "review", "outcome", SHOP, "1", "--outcome", "refused", "--within", "72h");
    KT_EXPECT (f->db, 2, "review", "outcome", SHOP, "1", "--outcome", "maybe");
    KT_EXPECT (f->db, 0, "complaint", "add", SHOP, "--customer", "tb_x", "--text", "投诉");
    KT_EXPECT (f->db, 4, "review", "outcome", SHOP, "2", "--outcome", "changed");
    //  答应某时间修改: within 72 h.
    KT_EXPECT (f->db, 0, "review", "outcome", SHOP, "1", "--outcome", "promised", "--within", "72h",
               "--note", "买家说收到补发就改");
    assert_non_null (strstr (kt_kefuctl_last.out, "答应某时间修改"));
    kt_escalation_settle (&f->esc, f->db);
    //  The ladder stopped: no SMS two hours later, no call.
    s_set_clock (f, s_t ("2026-11-23T09:00:00Z"));
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_contacts (f, 2), 0);
    assert_int_equal (s_count (f, "SELECT count (*) FROM outbound_commands WHERE request_id = "
                                  "'review:1:follow-up'"),
                      0);
    //  72 h on: the follow-up, once.
    s_set_clock (f, s_t ("2026-11-26T06:00:00Z"));
    kt_escalation_settle (&f->esc, f->db);
    s_set_clock (f, s_t ("2026-11-27T06:00:00Z"));
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, "SELECT count (*) FROM outbound_commands WHERE request_id = "
                                  "'review:1:follow-up'"),
                      1);
    assert_int_equal (s_count (f, "SELECT count (*) FROM events WHERE stream = 'escalation' AND "
                                  "kind = 'review.follow_up_due'"),
                      1);
    assert_int_equal (s_contacts (f, 3), 0);
    KT_EXPECT (f->db, 0, "review", "list", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "答应某时间修改"));
    //  已删除/修改 at last: review.resolved.
    KT_EXPECT (f->db, 0, "review", "outcome", SHOP, "1", "--outcome", "changed");
    Kefu__V1__Event *ev = kt_db_last_event (f->db, "escalation", "review.resolved");
    assert_int_equal (ev->complaint->outcome, KEFU__V1__REVIEW_OUTCOME__REVIEW_CHANGED);
    kefu__v1__event__free_unpacked (ev, NULL);
}

static void
test_the_shop_settings_are_shown_and_changed_by_kefuctl (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T06:00:00Z"), false);
    KT_EXPECT (f->db, 0, "escalation", "settings", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "09:30-11:30,16:00-18:00"));
    KT_EXPECT (f->db, 0, "escalation", "settings", SHOP, "--approval-limit", "100.00",
               "--sms-delay", "0ms", "--phone-after", "24h", "--revisit-within", "48h",
               "--calling-windows", "10:00-12:00", "--by", "boss");
    KT_EXPECT (f->db, 0, "escalation", "settings", SHOP, "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"approval_limit_cents\": 10000"));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"sms_delay_ms\": 0"));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"phone_after_ms\": 86400000"));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"revisit_within_ms\": 172800000"));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"calling_windows\": \"10:00-12:00\""));
    //  Nonsense changes nothing.
    KT_EXPECT (f->db, 2, "escalation", "settings", SHOP, "--calling-windows", "12:00-10:00");
    KT_EXPECT (f->db, 2, "escalation", "settings", SHOP, "--sms-delay", "soon");
    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_settings WHERE "
                                  "calling_windows = '10:00-12:00' AND sms_delay_ms = 0"),
                      1);
    KT_EXPECT (f->db, 4, "escalation", "settings", "no-such-shop");
}

//  A message classified complaint from buyer on shop's gateway gw, now.
static void
s_complain (fixture_t *f, zsock_t *gw, const char *shop, const char *id, const char *buyer)
{
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, shop, id, buyer, "我要投诉，客服一直不回",
                   kf_clock_now_ms (f->clock));
    kt_gw_push (gw, &item);
}

//  The escalation level of shop's (only) case.
static long long
s_level (fixture_t *f, const char *shop)
{
    const char *values[] = {shop};
    char *level =
        kt_db_query1p (f->db, "SELECT level FROM escalation_cases WHERE shop_id = $1", 1, values);
    long long n = atoll (level);
    free (level);
    return n;
}

static void
test_each_stage_deadline_is_the_shops_own (void **state)
{
    int64_t t0 = s_t ("2026-11-23T02:00:00Z");
    fixture_t *f = *state = s_world (t0, true);
    kt_shop_add (f->db, "other-shop");
    kt_intake_reload (f->intake); //  intake knows the new shop
    //  demo-shop judges within 2 h; other-shop keeps the default 24 h.
    KT_EXPECT (f->db, 0, "escalation", "settings", SHOP, "--judge-within", "2h", "--approve-within",
               "90min", "--close-within", "36h", "--by", "boss");
    assert_non_null (strstr (kt_kefuctl_last.out, "judge within         2 h"));
    assert_non_null (strstr (kt_kefuctl_last.out, "approve within       90 min"));
    KT_EXPECT (f->db, 0, "escalation", "settings", SHOP, "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"judge_within_ms\": 7200000"));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"approve_within_ms\": 5400000"));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"close_within_ms\": 129600000"));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"investigate_within_ms\": 86400000"));
    KT_EXPECT (f->db, 0, "escalation", "settings", "other-shop", "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"judge_within_ms\": 86400000"));
    //  Bad values are refused with the option named, and change nothing.
    KT_EXPECT (f->db, 2, "escalation", "settings", SHOP, "--judge-within", "soon");
    assert_non_null (strstr (kt_kefuctl_last.err, "--judge-within"));
    KT_EXPECT (f->db, 2, "escalation", "settings", SHOP, "--carry-out-within", "0s");
    assert_non_null (strstr (kt_kefuctl_last.err, "--carry-out-within"));
    KT_EXPECT (f->db, 2, "escalation", "settings", SHOP, "--revisit-within", "31d");
    assert_int_equal (s_count (f, "SELECT judge_within_ms FROM escalation_settings WHERE "
                                  "shop_id = 'demo-shop' AND carry_out_within_ms = 172800000"),
                      2 * HOUR);

    //  A complaint in each shop, registered by kefu-escalation from chat.
    bool welcomed = false;
    zsock_t *gw = s_gateway (f);
    zsock_t *gw2 = kt_gw_connect (f->intake->gateway_endpoint, "gw-2", "other-shop", &welcomed);
    assert_true (welcomed);
    s_complain (f, gw, SHOP, "m-1", "tb_lily88");
    s_complain (f, gw2, "other-shop", "m-2", "tb_lily88");
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_cases"), 2);
    //  demo-shop's fires at 2 h, not a millisecond earlier.
    s_set_clock (f, t0 + 2 * HOUR - 1);
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, PASSED), 0);
    s_set_clock (f, t0 + 2 * HOUR);
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_level (f, SHOP), 1);
    assert_int_equal (s_level (f, "other-shop"), 0);
    //  The next level is one more 2 h later.
    s_set_clock (f, t0 + 4 * HOUR);
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_level (f, SHOP), 2);
    //  other-shop's at the default 24 h.
    s_set_clock (f, t0 + 24 * HOUR - 1);
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_level (f, "other-shop"), 0);
    s_set_clock (f, t0 + 24 * HOUR);
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_level (f, "other-shop"), 1);
    assert_int_equal (s_level (f, SHOP), 3);
    zsock_destroy (&gw2);
    zsock_destroy (&gw);
}

static void
s_push_action (fixture_t *f, zsock_t *gw, const char *id, int action,
               void (*fill) (Kefu__V1__ComplaintAction *))
{
    s_aftersales_t a;
    s_aftersales (f, &a, id);
    a.item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_COMPLAINT_ACTION;
    a.item.complaint_action = &a.action;
    a.action.complaint_id = 1;
    a.action.action = action;
    if (fill)
        fill (&a.action);
    kt_gw_push (gw, &a.item);
}

static void
s_coupon (Kefu__V1__ComplaintAction *a)
{
    a->remedy = KEFU__V1__REMEDY__REMEDY_COUPON;
    a->amount_cents = 1000;
}

static void
s_valid (Kefu__V1__ComplaintAction *a)
{
    a->valid = true;
}

static void
s_service (Kefu__V1__ComplaintAction *a)
{
    a->responsible = KEFU__V1__RESPONSIBLE_PARTY__RESPONSIBLE_SERVICE;
    a->category = KEFU__V1__COMPLAINT_CATEGORY__COMPLAINT_SERVICE;
    a->concerned_agent_id = kt_text ("ajie");
}

static void
test_a_complaint_action_from_the_chat_moves_the_case_or_is_refused_with_the_reason (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T06:00:00Z"), true);
    KT_EXPECT (f->db, 0, "complaint", "add", SHOP, "--customer", "tb_mei", "--order", "TB3002",
               "--text", "客服态度很差");
    zsock_t *gw = s_gateway (f);
    //  A remedy before the judgement: refused, the case unchanged, the
    //  reason published.
    s_push_action (f, gw, "ca-1", KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_PROPOSE,
                   s_coupon);
    kt_escalation_settle (&f->esc, f->db);
    s_stage_is (f, "registered");
    Kefu__V1__Event *ev = kt_db_last_event (f->db, "escalation", "complaint.action_refused");
    assert_non_null (ev);
    assert_non_null (strstr (ev->complaint->note, "stage registered:"));
    assert_non_null (strstr (ev->complaint->note, "judge it first"));
    assert_string_equal (ev->complaint->by, "xiaomei");
    kefu__v1__event__free_unpacked (ev, NULL);
    //  Judged valid, then found to be customer service's (the agent ajie):
    //  the finding against ajie is on the event metrics' scorecard reads.
    s_push_action (f, gw, "ca-2", KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_JUDGE, s_valid);
    kt_escalation_settle (&f->esc, f->db);
    s_stage_is (f, "judged");
    s_push_action (f, gw, "ca-3", KEFU__V1__COMPLAINT_ACTION_KIND__COMPLAINT_ACTION_INVESTIGATE,
                   s_service);
    kt_escalation_settle (&f->esc, f->db);
    s_stage_is (f, "investigated");
    ev = kt_db_last_event (f->db, "escalation", "complaint.stage");
    assert_int_equal (ev->complaint->service_finding,
                      KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_VALID);
    assert_string_equal (ev->complaint->agent_id, "ajie");
    assert_true (ev->complaint->valid);
    kefu__v1__event__free_unpacked (ev, NULL);
    zsock_destroy (&gw);
}

//  ---------------------------------------------------------------------
//  The complaint workflow

//  A refused move: exit 2, the stage and what is missing said, nothing changed.
#define REFUSED(f, stage, what, ...)                                                               \
    do {                                                                                           \
        KT_EXPECT ((f)->db, 2, __VA_ARGS__);                                                       \
        assert_non_null (strstr (kt_kefuctl_last.err, "stage " stage ":"));                        \
        assert_non_null (strstr (kt_kefuctl_last.err, what));                                      \
        s_stage_is ((f), stage);                                                                   \
    } while (0)

static void
test_a_complaint_goes_through_six_steps_with_one_approval_and_one_ledger_entry (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T02:00:00Z"), true);
    bool welcomed = false;
    zsock_t *gw = kt_gw_connect (f->intake->gateway_endpoint, "gw-1", SHOP, &welcomed);
    assert_true (welcomed);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "m-1", "tb_lily88", "我要投诉，杯子碎了",
                   kf_clock_now_ms (f->clock));
    msg.order_id.data = (uint8_t *) "TB1001";
    msg.order_id.len = 6;
    kt_gw_push (gw, &item);
    kt_gw_message (&item, &msg, SHOP, "m-2", "tb_lily88", "再不处理我就投诉到12315",
                   kf_clock_now_ms (f->clock));
    msg.order_id.data = (uint8_t *) "TB1001";
    msg.order_id.len = 6;
    kt_gw_push (gw, &item);
    kt_escalation_settle (&f->esc, f->db);
    //  One case for the customer and order, not one per message.
    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_cases"), 1);
    assert_int_equal (s_count (f, "SELECT count (*) FROM events WHERE stream = 'escalation' AND "
                                  "kind = 'complaint.registered'"),
                      1);
    s_stage_is (f, "registered");

    REFUSED (f, "registered", "judge it first", "complaint", "propose", SHOP, "1", "--remedy",
             "cash", "--amount", "80");
    REFUSED (f, "registered", "needs the reason", "complaint", "judge", SHOP, "1", "--not-valid");
    KT_EXPECT (f->db, 0, "complaint", "judge", SHOP, "1", "--valid");
    REFUSED (f, "judged", "a remedy needs the responsible party", "complaint", "propose", SHOP, "1",
             "--remedy", "cash", "--amount", "80");
    REFUSED (f, "judged", "no remedy has been proposed", "complaint", "approve", SHOP, "1");
    KT_EXPECT (f->db, 0, "complaint", "investigate", SHOP, "1", "--responsible", "courier",
               "--category", "transit_damage");
    KT_EXPECT (f->db, 0, "complaint", "propose", SHOP, "1", "--remedy", "cash", "--amount",
               "80.00");
    s_stage_is (f, "remedy_proposed"); //  above the 50.00 limit: it waits for a supervisor
    REFUSED (f, "remedy_proposed", "supervisor1 is not a supervisor", "complaint", "approve", SHOP,
             "1");
    REFUSED (f, "remedy_proposed", "the remedy is not approved yet", "complaint", "done", SHOP,
             "1");
    kt_sql (f->db, "INSERT INTO principals (principal_id, role, all_shops) VALUES ('boss', "
                   "'supervisor', true)");
    s_set_clock (f, s_t ("2026-11-23T03:00:00Z"));
    KT_EXPECT (f->db, 0, "complaint", "approve", SHOP, "1", "--by", "boss");
    REFUSED (f, "approved", "the revisit (回访) is missing", "complaint", "close", SHOP, "1");
    KT_EXPECT (f->db, 0, "complaint", "done", SHOP, "1", "--agent", "ajie");
    assert_non_null (strstr (kt_kefuctl_last.out, "ledger: cash 80.00 CNY"));
    REFUSED (f, "carried_out", "the revisit (回访) is missing", "complaint", "close", SHOP, "1");
    KT_EXPECT (f->db, 0, "complaint", "revisit", SHOP, "1", "--note", "买家满意");
    KT_EXPECT (f->db, 0, "complaint", "close", SHOP, "1");
    s_stage_is (f, "closed");

    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_ledger"), 1);
    char *row = kt_db_query1 (f->db, "SELECT amount_cents || ' ' || kind || ' ' || responsible || "
                                     "' ' || agent_id || ' ' || approved_by FROM "
                                     "escalation_ledger");
    assert_string_equal (row, "8000 2 2 ajie boss");
    free (row);
    assert_int_equal (s_count (f, "SELECT approved_at_ms FROM escalation_cases"),
                      s_t ("2026-11-23T03:00:00Z"));
    assert_int_equal (s_count (f, "SELECT count (*) FROM events WHERE stream = 'escalation' AND "
                                  "kind = 'complaint.closed'"),
                      1);
    KT_EXPECT (f->db, 0, "ledger", SHOP, "--month", "2026-11", "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"total_cents\": 8000"));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"name\": \"courier\""));
    KT_EXPECT (f->db, 0, "ledger", SHOP, "--month", "2026-11", "--csv");
    assert_non_null (strstr (kt_kefuctl_last.out, "agent,ajie,1,80.00"));
    KT_EXPECT (f->db, 0, "ledger", SHOP, "--month", "2026-12");
    assert_non_null (strstr (kt_kefuctl_last.out, "total"));
    KT_EXPECT (f->db, 0, "complaint", "list", SHOP);
    assert_non_null (strstr (kt_kefuctl_last.out, "closed"));
    KT_EXPECT (f->db, 0, "complaint", "show", SHOP, "1", "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"approved_by\": \"boss\""));
    KT_EXPECT (f->db, 4, "complaint", "show", SHOP, "7");
    zsock_destroy (&gw);
}

static void
test_the_ledger_refuses_update_and_delete_itself (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T02:00:00Z"), false);
    kt_sql (f->db, "INSERT INTO escalation_ledger (shop_id, case_id, amount_cents, kind, at_ms) "
                   "VALUES ('demo-shop', 1, 500, 1, 0)");
    const char *refused[] = {"UPDATE escalation_ledger SET amount_cents = 1",
                             "DELETE FROM escalation_ledger", "TRUNCATE escalation_ledger"};
    for (int i = 0; i < 3; i++) {
        char *error = s_sql_error (f->db, refused[i]);
        if (!strstr (error, "append-only"))
            fail_msg ("%s: \"%s\"", refused[i], error);
        free (error);
    }
    //  A correction is a new entry.
    char *error = s_sql_error (f->db, "INSERT INTO escalation_ledger (shop_id, case_id, "
                                      "amount_cents, kind, at_ms) VALUES ('demo-shop', 1, -500, "
                                      "1, 1)");
    assert_string_equal (error, "");
    free (error);
    assert_int_equal (s_count (f, "SELECT sum (amount_cents) FROM escalation_ledger"), 0);
    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_ledger"), 2);
}

static void
test_bad_input_to_the_desk_is_refused_and_stores_nothing (void **state)
{
    fixture_t *f = *state = s_world (s_t ("2026-11-23T02:00:00Z"), false);
    KT_EXPECT (f->db, 2, "review", "add", SHOP, "--buyer", "b", "--order", "o", "--rating", "9",
               "--text", "x");
    assert_non_null (strstr (kt_kefuctl_last.err, "--rating"));
    KT_EXPECT (f->db, 2, "review", "add", SHOP, "--buyer", "b", "--order", "o", "--rating", "5",
               "--text", "好评");
    assert_non_null (strstr (kt_kefuctl_last.err, "good"));
    KT_EXPECT (f->db, 2, "review", "add", SHOP, "--buyer", "b", "--order", "o", "--negative",
               "--text", "\xff\xfe");
    KT_EXPECT (f->db, 2, "complaint", "add", SHOP, "--customer", "b", "--category", "weather",
               "--text", "x");
    assert_non_null (strstr (kt_kefuctl_last.err, "--category is one of"));
    KT_EXPECT (f->db, 2, "complaint", "propose", SHOP, "1", "--remedy", "cash", "--amount", "-5");
    KT_EXPECT (f->db, 4, "complaint", "judge", SHOP, "1", "--valid");
    KT_EXPECT (f->db, 4, "complaint", "list", "no-such-shop");
    KT_EXPECT (f->db, 2, "ledger", SHOP, "--month", "2026-13");
    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_cases"), 0);
    assert_int_equal (s_count (f, "SELECT count (*) FROM events WHERE stream = 'escalation'"), 0);
}

//  ---------------------------------------------------------------------
//  Deadlines across kill -9

static pid_t
s_spawn (fixture_t *f, int64_t at, int control_port)
{
    const char *bin_dir = getenv ("KEFU_TEST_BIN_DIR");
    assert_non_null (bin_dir);
    char path[1024];
    snprintf (path, sizeof path, "%s/services/escalation/kefu-escalation", bin_dir);
    assert_int_equal (access (path, X_OK), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        char url[1024], ev_in[128], cmd[128], ctl[128], clock[64];
        snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", f->db);
        snprintf (ev_in, sizeof ev_in, "KEFU_ESCALATION_INTAKE_EVENTS=%s",
                  f->intake->events_endpoint);
        snprintf (cmd, sizeof cmd, "KEFU_ESCALATION_INTAKE_COMMANDS=%s",
                  f->intake->command_endpoint);
        snprintf (ctl, sizeof ctl, "KEFU_ESCALATION_CONTROL_ENDPOINT=tcp://127.0.0.1:%d",
                  control_port);
        snprintf (clock, sizeof clock, "KEFU_CLOCK=manual:%lld", (long long) at);
        execl (path, "kefu-escalation", url, ev_in, cmd, ctl, clock,
               "KEFU_ESCALATION_EVENTS_ENDPOINT=tcp://127.0.0.1:*", "KEFU_LOG_LEVEL=error",
               "KEFU_INSECURE=1", (char *) NULL);
        _exit (127);
    }
    return pid;
}

static void
s_kill9 (pid_t pid)
{
    kill (pid, SIGKILL);
    int status;
    waitpid (pid, &status, 0);
}

//  Wait (20 s at most) until sql counts n.
static void
s_wait_count (fixture_t *f, const char *sql, long long n)
{
    int64_t deadline = zclock_mono () + 20000;
    long long got = -1;
    while (zclock_mono () < deadline && (got = s_count (f, sql)) != n)
        zclock_sleep (20);
    if (got != n)
        fail_msg ("%s: %lld, expected %lld", sql, got, n);
}

//  late_ms of the nth complaint.deadline_passed event (in sequence order).
static int64_t
s_late_ms (fixture_t *f, int nth)
{
    char sql[256];
    snprintf (sql, sizeof sql,
              "SELECT encode (payload, 'hex') FROM events WHERE stream = 'escalation' AND kind = "
              "'complaint.deadline_passed' ORDER BY seq OFFSET %d LIMIT 1",
              nth);
    char *hex = kt_db_query1 (f->db, sql);
    size_t size = strlen (hex) / 2;
    uint8_t *bytes = malloc (size + 1);
    for (size_t i = 0; i < size; i++) {
        unsigned v;
        sscanf (hex + 2 * i, "%2x", &v);
        bytes[i] = (uint8_t) v;
    }
    Kefu__V1__Event *ev = kefu__v1__event__unpack (NULL, size, bytes);
    assert_non_null (ev);
    assert_int_equal (ev->payload_case, KEFU__V1__EVENT__PAYLOAD_COMPLAINT);
    int64_t late = ev->complaint->late_ms;
    kefu__v1__event__free_unpacked (ev, NULL);
    free (bytes);
    free (hex);
    return late;
}

static void
test_deadlines_passed_during_a_kill_fire_once_after_the_restart_saying_how_late (void **state)
{
    int64_t t0 = s_t ("2026-11-23T02:00:00Z");
    fixture_t *f = *state = s_world (t0, false);
    KT_EXPECT (f->db, 0, "complaint", "add", SHOP, "--customer", "tb_lily88", "--order", "TB1001",
               "--category", "quality", "--text", "质量问题");
    assert_non_null (strstr (kt_kefuctl_last.out, "first step: ask for photos first"));
    int port = kt_free_port ();
    char control[64];
    snprintf (control, sizeof control, "tcp://127.0.0.1:%d", port);
    //  Up at t0 + 1 h: nothing is due. Killed.
    pid_t pid = s_spawn (f, t0 + HOUR, port);
    bool insecure;
    kt_control_wait (control, "commands.unacked", 0);
    assert_int_equal (kt_control_counter (control, "deadlines.fired", &insecure), 0);
    s_kill9 (pid);
    //  Down while the judging deadline (t0 + 24 h) passes; back at t0 + 25 h.
    pid = s_spawn (f, t0 + 25 * HOUR, port);
    s_wait_count (f, PASSED, 1);
    assert_int_equal (s_late_ms (f, 0), HOUR); //  due at t0 + 24 h, seen at t0 + 25 h
    //  Killed again at once, back at t0 + 49 h: the level-2 deadline
    //  (t0 + 48 h) fires, the level-1 one not again.
    s_kill9 (pid);
    pid = s_spawn (f, t0 + 49 * HOUR, port);
    s_wait_count (f, PASSED, 2);
    s_wait_count (f, "SELECT level FROM escalation_cases", 2);
    s_wait_count (f, "SELECT count (*) FROM outbound_commands WHERE origin = 'escalation'", 2);
    assert_int_equal (s_late_ms (f, 1), HOUR);
    assert_int_equal (s_count (f, "SELECT count (DISTINCT request_id) FROM outbound_commands "
                                  "WHERE request_id LIKE 'escalated:1:1:%'"),
                      2);
    //  One more restart with nothing newly due: still two.
    s_kill9 (pid);
    pid = s_spawn (f, t0 + 49 * HOUR + 60000, port);
    kt_control_wait (control, "commands.unacked", 0);
    assert_int_equal (kt_control_counter (control, "deadlines.fired", &insecure), 0);
    assert_int_equal (s_count (f, PASSED), 2);
    s_kill9 (pid);
}

static void
test_ten_thousand_deadlines_in_the_same_second_each_fire_once (void **state)
{
    int64_t t0 = s_t ("2026-11-23T02:00:00Z");
    fixture_t *f = *state = s_world (t0, true);
    char sql[1024];
    snprintf (sql, sizeof sql,
              "INSERT INTO escalation_cases (shop_id, kind, channel, channel_customer_id, "
              "order_id, stage, stage_at_ms, deadline_ms, registered_at_ms, registered_by, "
              "due_ms) SELECT 'demo-shop', 1, 1, 'buyer' || i, 'TB' || i, 1, %lld, %lld + i %% "
              "1000, %lld, 'test', %lld + i %% 1000 FROM generate_series (1, 10000) i",
              (long long) t0, (long long) (t0 + 24 * HOUR), (long long) t0,
              (long long) (t0 + 24 * HOUR));
    kt_sql (f->db, sql);
    s_set_clock (f, t0 + 24 * HOUR + 999);
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, PASSED), 10000);
    assert_int_equal (s_count (f, "SELECT count (DISTINCT p) FROM (SELECT payload AS p FROM "
                                  "events WHERE kind = 'complaint.deadline_passed') x"),
                      10000);
    assert_int_equal (s_count (f, "SELECT count (*) FROM escalation_cases WHERE level = 1"), 10000);
    assert_int_equal (s_count (f, "SELECT count (*) FROM outbound_commands WHERE origin = "
                                  "'escalation'"),
                      10000);
    //  Nothing fires twice.
    kt_escalation_settle (&f->esc, f->db);
    assert_int_equal (s_count (f, PASSED), 10000);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (
            test_a_bad_review_climbs_the_ladder_to_a_phone_call_in_the_calling_window, s_teardown),
        cmocka_unit_test_teardown (test_a_message_from_the_buyer_stops_the_ladder, s_teardown),
        cmocka_unit_test_teardown (
            test_a_bad_review_pushed_by_a_gateway_opens_a_case_and_a_good_one_does_not, s_teardown),
        cmocka_unit_test_teardown (
            test_a_complaint_action_from_the_chat_moves_the_case_or_is_refused_with_the_reason,
            s_teardown),
        cmocka_unit_test_teardown (
            test_the_severity_dictionary_is_read_at_start_and_again_on_sighup, s_teardown),
        cmocka_unit_test_teardown (
            test_a_promise_to_change_the_review_stops_the_ladder_and_is_followed_up, s_teardown),
        cmocka_unit_test_teardown (test_the_shop_settings_are_shown_and_changed_by_kefuctl,
                                   s_teardown),
        cmocka_unit_test_teardown (test_each_stage_deadline_is_the_shops_own, s_teardown),
        cmocka_unit_test_teardown (
            test_a_complaint_goes_through_six_steps_with_one_approval_and_one_ledger_entry,
            s_teardown),
        cmocka_unit_test_teardown (test_the_ledger_refuses_update_and_delete_itself, s_teardown),
        cmocka_unit_test_teardown (test_bad_input_to_the_desk_is_refused_and_stores_nothing,
                                   s_teardown),
        cmocka_unit_test_teardown (
            test_deadlines_passed_during_a_kill_fire_once_after_the_restart_saying_how_late,
            s_teardown),
        cmocka_unit_test_teardown (test_ten_thousand_deadlines_in_the_same_second_each_fire_once,
                                   s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
