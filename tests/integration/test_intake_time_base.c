/*  test_intake_time_base — one time base, the platform's: the same shop day
    gives the same conversations and the same KPIs however it reaches
    intake. Real intake and metrics (in-process actors, real sockets, real
    PostgreSQL), one driven clock moved through intake's control endpoint
    (each move runs the sweep and waits for it).

    The day (Monday 2026-11-23, Asia/Shanghai): a customer answered at 09:00
    who comes back after an hour; a conversation closed by its agent and
    rated; one that goes on through 10:00-10:50; a customer who writes again
    before the rating of the previous conversation comes; one the shop
    opens itself; one nobody answers (abandoned); one over midnight; a
    customer writing at 23:50, after hours, answered at 08:36 the next
    morning (one conversation). Some lines reach intake seconds after they
    were sent.

    Pushed three ways, each on a fresh database:
      live      the clock moved with the items;
      backfill  the clock at the end of the day, then every item at once;
      outage    live, but the gateway is cut off 10:00-10:50: its items
                arrive at 10:50, while the clock (and the sweep) ran on.
    Then the clock moves on a day (everything closes) and the three records
    (conversations, their boundaries, members, close reasons, who replied,
    ratings) and kpi.summary answers must be identical. */
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "demo-shop"

typedef enum { S_LIVE, S_BACKFILL, S_OUTAGE } s_mode_t;

typedef struct {
    int day;           //  0 = Monday 2026-11-23, 1 = Tuesday
    const char *at;    //  local time the item reaches intake when live, "HH:MM:SS"
    char what;         //  c customer, r reply, a auto-reply, p online, x close, s rating
    const char *who;   //  customer, or agent (p)
    const char *agent; //  replies, closes, named ratings
    int lag_s;         //  the platform sent it this many seconds earlier
    int score;         //  ratings
} s_step_t;

// clang-format off
static const s_step_t s_day[] = {
    {0, "08:00:00", 'p', "xiaomei", NULL, 0, 0},
    {0, "08:00:00", 'p', "ajie", NULL, 0, 0},
    {0, "09:00:00", 'c', "tb_c1", NULL, 0, 0},
    {0, "09:00:01", 'a', "tb_c1", "xiaomei", 0, 0},
    {0, "09:00:12", 'r', "tb_c1", "xiaomei", 0, 0},
    {0, "09:01:03", 'c', "tb_c1", NULL, 3, 0},
    {0, "09:01:30", 'r', "tb_c1", "xiaomei", 0, 0},
    {0, "09:10:00", 'c', "tb_c2", NULL, 0, 0},
    {0, "09:10:25", 'r', "tb_c2", "ajie", 0, 0},
    {0, "09:12:05", 'c', "tb_c2", NULL, 5, 0},
    {0, "09:12:08", 'r', "tb_c2", "ajie", 0, 0},
    {0, "09:15:00", 'x', "tb_c2", "ajie", 0, 0},
    {0, "09:16:00", 's', "tb_c2", "ajie", 0, 2},
    {0, "09:50:00", 'c', "tb_c9", NULL, 0, 0},
    {0, "09:50:20", 'r', "tb_c9", "xiaomei", 0, 0},
    {0, "10:05:00", 'c', "tb_c1", NULL, 0, 0},        //  back after an hour
    {0, "10:05:20", 'r', "tb_c1", "ajie", 0, 0},
    {0, "10:10:00", 'c', "tb_c9", NULL, 0, 0},
    {0, "10:10:30", 'r', "tb_c9", "xiaomei", 0, 0},
    {0, "10:30:00", 'c', "tb_c9", NULL, 0, 0},
    {0, "10:30:40", 'r', "tb_c9", "xiaomei", 0, 0},
    {0, "11:00:00", 'c', "tb_c3", NULL, 0, 0},
    {0, "11:00:15", 'r', "tb_c3", "xiaomei", 0, 0},
    {0, "11:20:00", 'c', "tb_c3", NULL, 0, 0},
    {0, "11:20:30", 'r', "tb_c3", "xiaomei", 0, 0},
    {0, "13:00:00", 'c', "tb_c6", NULL, 0, 0},
    {0, "13:00:20", 'r', "tb_c6", "xiaomei", 0, 0},
    {0, "14:00:00", 'c', "tb_c6", NULL, 0, 0},        //  a new conversation
    {0, "14:05:00", 's', "tb_c6", NULL, 1500, 5},     //  rates the first, sent 13:40
    {0, "14:05:30", 'r', "tb_c6", "ajie", 0, 0},
    {0, "15:00:00", 'r', "tb_c7", "ajie", 0, 0},      //  the shop writes first
    {0, "15:05:00", 'c', "tb_c7", NULL, 0, 0},
    {0, "15:05:30", 'r', "tb_c7", "ajie", 0, 0},
    {0, "16:00:00", 'c', "tb_c8", NULL, 0, 0},        //  nobody answers
    {0, "23:40:00", 'c', "tb_c4", NULL, 0, 0},
    {0, "23:40:30", 'r', "tb_c4", "xiaomei", 0, 0},
    {0, "23:50:00", 'c', "tb_c5", NULL, 0, 0},
    {0, "23:50:01", 'a', "tb_c5", "xiaomei", 0, 0},
    {0, "23:55:00", 'c', "tb_c4", NULL, 0, 0},
    {0, "23:55:20", 'r', "tb_c4", "xiaomei", 0, 0},
    {1, "00:10:02", 'c', "tb_c4", NULL, 2, 0},        //  over midnight
    {1, "00:10:40", 'r', "tb_c4", "xiaomei", 0, 0},
    {1, "08:36:00", 'r', "tb_c5", "lingling", 0, 0},  //  answered next morning
    {1, "08:37:00", 'c', "tb_c5", NULL, 0, 0},
    {1, "08:37:10", 'r', "tb_c5", "lingling", 0, 0},
};
// clang-format on

#define S_STEPS     (int) (sizeof s_day / sizeof s_day[0])
#define S_CUT_FROM  "10:00:00" //  the outage, day 0
#define S_CUT_TO    "10:50:00"
#define S_LAST_DAY  1
#define S_LAST_AT   "09:00:00" //  the backfill's clock
#define S_FINAL_DAY 1
#define S_FINAL_AT  "18:00:00" //  everything expired (the unanswered one too)
#define PERIOD      "{\"from\": \"2026-11-23\", \"to\": \"2026-11-25\"}"

typedef struct {
    char *db;            //  conninfo
    kf_clock_t *clock;   //  driven clock
    kt_intake_t *intake; //  intake (in-process)
    kt_metrics_t metrics;
    zsock_t *gw; //  the gateway
} s_run_t;

//  Local time on day 0 or 1 in Shanghai, as UTC ms.
static int64_t
s_when (int day, const char *at)
{
    int h = 0, m = 0, s = 0;
    assert_int_equal (sscanf (at, "%d:%d:%d", &h, &m, &s), 3);
    return kf_clock_parse_utc ("2026-11-22T16:00:00Z") + day * 86400000LL +
           ((h * 60 + m) * 60 + s) * 1000LL;
}

//  Move the clock to t through intake's control endpoint: its sweep runs
//  and is done when the reply comes.
static void
s_clock_to (s_run_t *r, int64_t t)
{
    int64_t now = kf_clock_now_ms (r->clock);
    if (t <= now)
        return;
    kt_intake_advance (r->intake, t - now);
}

static void
s_start (s_run_t *r, const char *name)
{
    memset (r, 0, sizeof *r);
    r->db = kt_db_fresh (name);
    kt_shop_add (r->db, SHOP);
    r->clock = kf_clock_new_manual (s_when (0, "07:00:00"));
    r->intake = kt_intake_new (r->db, r->clock);
    kt_intake_start (r->intake);
    kt_metrics_init (&r->metrics, r->db, r->intake->events_endpoint, "tcp://127.0.0.1:9");
    kt_metrics_start (&r->metrics, r->clock);
    bool welcomed = false;
    r->gw = kt_gw_connect (r->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
}

static void
s_stop (s_run_t *r)
{
    zsock_destroy (&r->gw);
    kt_metrics_stop (&r->metrics);
    kt_metrics_free (&r->metrics);
    kt_intake_destroy (&r->intake);
    kf_clock_destroy (&r->clock);
    free (r->db);
}

//  Deliver step i (its gateway_msg_id names the step, the same in every run).
static void
s_push (s_run_t *r, int i)
{
    const s_step_t *st = &s_day[i];
    char id[32];
    snprintf (id, sizeof id, "step-%02d", i);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    Kefu__V1__ConversationClose close = KEFU__V1__CONVERSATION_CLOSE__INIT;
    Kefu__V1__CustomerRating rating = KEFU__V1__CUSTOMER_RATING__INIT;
    switch (st->what) {
    case 'c':
        msg.customer_id = kt_text (st->who);
        msg.body = kt_text ("有现货吗");
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
        item.customer_message = &msg;
        break;
    case 'r':
    case 'a':
        reply.customer_id = kt_text (st->who);
        reply.agent_id = kt_text (st->agent);
        reply.body = kt_text ("有的亲");
        reply.auto_reply = st->what == 'a';
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
        item.agent_reply = &reply;
        break;
    case 'p':
        presence.agent_id = kt_text (st->who);
        presence.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
        item.agent_presence = &presence;
        break;
    case 'x':
        close.customer_id = kt_text (st->who);
        close.agent_id = kt_text (st->agent);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE;
        item.conversation_close = &close;
        break;
    case 's':
        rating.customer_id = kt_text (st->who);
        rating.score = (uint32_t) st->score;
        rating.agent_id = kt_text (st->agent ? st->agent : "");
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_RATING;
        item.customer_rating = &rating;
        break;
    default:
        fail_msg ("bad step %d", i);
    }
    item.shop_id = kt_text (SHOP);
    item.gateway_msg_id = kt_text (id);
    item.sent_at_ms = s_when (st->day, st->at) - st->lag_s * 1000LL;
    item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_push (r->gw, &item);
}

static bool
s_cut_off (const s_step_t *st)
{
    return st->day == 0 && strcmp (st->at, S_CUT_FROM) >= 0 && strcmp (st->at, S_CUT_TO) < 0;
}

//  The day, delivered one way.
static void
s_deliver (s_run_t *r, s_mode_t mode)
{
    if (mode == S_BACKFILL) {
        s_clock_to (r, s_when (S_LAST_DAY, S_LAST_AT));
        for (int i = 0; i < S_STEPS; i++)
            s_push (r, i);
        return;
    }
    int held[S_STEPS];
    int held_count = 0;
    for (int i = 0; i < S_STEPS; i++) {
        const s_step_t *st = &s_day[i];
        if (mode == S_OUTAGE && held_count > 0 && !s_cut_off (st)) {
            //  The gateway is back: what it kept comes now, in order.
            s_clock_to (r, s_when (0, S_CUT_TO));
            for (int h = 0; h < held_count; h++)
                s_push (r, held[h]);
            held_count = 0;
        }
        s_clock_to (r, s_when (st->day, st->at));
        if (mode == S_OUTAGE && s_cut_off (st))
            held[held_count++] = i; //  time passes, the sweep runs, the item waits
        else
            s_push (r, i);
    }
}

//  The record as plain SQL sees it: per conversation, its customer, its
//  boundaries (local), close reason, members (step ids), who replied, and
//  the ratings it got.
static char *
s_record (s_run_t *r)
{
    return kt_db_query1 (
        r->db,
        "SELECT string_agg (line, E'\\n' ORDER BY line) FROM (SELECT concat_ws (' | ', "
        "  c.channel_customer_id, "
        "  to_char (c.opened_at AT TIME ZONE 'Asia/Shanghai', 'DD HH24:MI:SS'), "
        "  coalesce (to_char (c.closed_at AT TIME ZONE 'Asia/Shanghai', 'DD HH24:MI:SS'), 'open'), "
        "  c.close_reason, c.message_count, "
        "  (SELECT string_agg (m.gateway_msg_id, ',' ORDER BY m.gateway_msg_id) FROM messages m "
        "   WHERE m.shop_id = c.shop_id AND m.conversation_id = c.conversation_id "
        "   AND m.kind IN (1, 2)), "
        "  (SELECT string_agg (DISTINCT m.agent_id, ',') FROM messages m "
        "   WHERE m.shop_id = c.shop_id AND m.conversation_id = c.conversation_id "
        "   AND m.kind = 2 AND NOT m.auto_reply), "
        "  (SELECT 'rated ' || string_agg (m.score::text, ',') FROM messages m "
        "   WHERE m.shop_id = c.shop_id AND m.conversation_id = c.conversation_id "
        "   AND m.kind = 4)) AS line "
        "FROM conversations c WHERE c.shop_id = 'demo-shop') t");
}

//  The supervisor's answers.
static char *
s_answers (s_run_t *r)
{
    const char *bys[] = {NULL, "agent", "channel", "hour", "day"};
    json_t *all = json_array ();
    for (int i = 0; i < 5; i++)
        json_array_append_new (
            all, kt_metrics_json (r->metrics.query, "kpi.summary", SHOP, 0, 0, bys[i], PERIOD));
    char *text = json_dumps (all, JSON_SORT_KEYS | JSON_INDENT (1));
    json_decref (all);
    return text;
}

//  Two texts must be equal; else fail naming the first line that differs.
static void
s_same (const char *what, const char *want, const char *got)
{
    int line = 1;
    const char *a = want, *b = got;
    while (*a && *a == *b) {
        if (*a == '\n')
            line++;
        a++;
        b++;
    }
    if (*a || *b)
        fail_msg ("%s differ at line %d: live \"%.120s\", this run \"%.120s\"", what, line, a, b);
}

typedef struct {
    char *record;  //  s_record
    char *answers; //  s_answers
} s_result_t;

static void
s_run (s_mode_t mode, const char *name, s_result_t *out)
{
    s_run_t r;
    s_start (&r, name);
    s_deliver (&r, mode);
    s_clock_to (&r, s_when (S_FINAL_DAY, S_FINAL_AT));
    kt_metrics_settle (&r.metrics, r.db);
    out->record = s_record (&r);
    out->answers = s_answers (&r);
    assert_int_equal (kt_db_count (r.db, "SELECT count(*) FROM conversations WHERE closed_at IS "
                                         "NULL"),
                      0);
    s_stop (&r);
}

//  ---------------------------------------------------------------------

static void
test_live_late_and_replayed_days_give_the_same_conversations_and_kpis (void **state)
{
    (void) state;
    s_result_t live, backfill, outage;
    s_run (S_LIVE, "time_base_live", &live);

    //  The story, so that equality is not the only judge.
    const char *rec = live.record;
    //  Eleven conversations; the customer back after an hour has two.
    int lines = 1;
    for (const char *c = rec; *c; c++)
        lines += *c == '\n';
    assert_int_equal (lines, 11);
    assert_non_null (strstr (rec, "tb_c1 | 23 09:00:00 | 23 09:31:30 | 3 | 5 | "
                                  "step-02,step-03,step-04,step-05,step-06 | xiaomei\n"));
    assert_non_null (strstr (rec, "tb_c1 | 23 10:05:00 | 23 10:35:20 | 3 | 2 | "
                                  "step-15,step-16 | ajie\n"));
    //  23:50 answered at 08:36: one conversation (auto-reply included).
    assert_non_null (strstr (rec, "tb_c5 | 23 23:50:00 | 24 09:07:10 | 3 | 5 | "
                                  "step-36,step-37,step-42,step-43,step-44 | lingling"));
    //  Over midnight: one conversation.
    assert_non_null (strstr (rec, "tb_c4 | 23 23:40:00 | 24 00:40:40 | 3 | 6 | "));
    //  Unanswered: closed abandoned a day after its last line.
    assert_non_null (strstr (rec, "tb_c8 | 23 16:00:00 | 24 16:00:00 | 5 | 1 | step-33"));
    //  The late rating (sent 13:40, after 14:00's conversation opened)
    //  rates the first conversation.
    assert_non_null (strstr (rec, "tb_c6 | 23 13:00:00 | 23 13:30:20 | 3 | 2 | "
                                  "step-25,step-26 | xiaomei | rated 5"));
    //  Through the outage's time: one conversation.
    assert_non_null (strstr (rec, "tb_c9 | 23 09:50:00 | 23 11:00:40 | 3 | 6 | "));

    s_run (S_BACKFILL, "time_base_backfill", &backfill);
    s_same ("conversations (backfill)", live.record, backfill.record);
    s_same ("kpi.summary answers (backfill)", live.answers, backfill.answers);
    s_run (S_OUTAGE, "time_base_outage", &outage);
    s_same ("conversations (outage)", live.record, outage.record);
    s_same ("kpi.summary answers (outage)", live.answers, outage.answers);

    //  Ten conversations opened by customers, nine answered, one by the
    //  shop; first responses 12, 25, 20, 20, 15, 20, 330, 30 s and the
    //  morning answer in full (8 h 46 min): mean 32,032 / 9 s.
    json_t *answers = json_loads (live.answers, 0, NULL);
    assert_non_null (answers);
    json_t *total = json_array_get (answers, 0);
    assert_int_equal (kt_json_num (total, "total.conversations.customer_opened"), 10);
    assert_int_equal (kt_json_num (total, "total.conversations.shop_opened"), 1);
    assert_int_equal (kt_json_num (total, "total.conversations.answered"), 9);
    assert_int_equal (kt_json_num (total, "total.first_response.count"), 9);
    double mean = kt_json_num (total, "total.first_response.mean_s");
    if (mean < 32032.0 / 9 - 0.01 || mean > 32032.0 / 9 + 0.01)
        fail_msg ("first response mean %.3f s, expected %.3f s", mean, 32032.0 / 9);
    json_decref (answers);
    s_result_t *all[] = {&live, &backfill, &outage};
    for (int i = 0; i < 3; i++) {
        free (all[i]->record);
        free (all[i]->answers);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_live_late_and_replayed_days_give_the_same_conversations_and_kpis),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
