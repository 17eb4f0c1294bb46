/*  test_metrics_exact — a shop day with known answers through real intake,
    routing and metrics (in-process actors, real sockets, real PostgreSQL,
    one driven clock), every number checked against values computed here
    from the raw record with plain SQL (messages, conversations, routing's
    assignments, the shifts) — never by calling metrics' code.

    The day (Monday 2026-11-23, Asia/Shanghai): xiaomei and ajie on the day
    shift, lingling coming online at 10:00, dawei on the night shift. A
    greeting auto-reply; first responses of 12, 25, 15 and exactly 20 s;
    customers queued while everyone is full, one leaving before anyone
    answers; xiaomei going offline and her conversations handed to lingling
    (a reassignment); a forbidden phrase; a conversation the shop opens
    itself; ratings with and without an agent; a customer writing at 23:50,
    after hours, answered at 08:36 the next morning. Some lines reach intake
    seconds after they were sent (the platform's sent_at is what counts).

    The same day also runs with metrics killed at 10:29 and started again at
    17:00 (nothing counted twice, nothing missed), and is rebuilt from the
    event log, at run time and with --rebuild at start (the same numbers). */
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"
#include "kt_routing.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "demo-shop"

typedef struct {
    char *db;             //  conninfo
    kf_clock_t *clock;    //  shared driven clock
    kt_intake_t *intake;  //  intake (in-process)
    kt_routing_t routing; //  routing (in-process)
    kt_metrics_t metrics; //  metrics (in-process)
    zsock_t *gw;          //  the gateway (raw)
    int seq;              //  item ids
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("metrics_exact");
    kt_shop_add (f->db, SHOP);
    kt_sql (f->db, "INSERT INTO routing_groups (shop_id, group_name, display_name) VALUES "
                   "('demo-shop', 'presales', '售前'), ('demo-shop', 'aftersales', '售后');"
                   "INSERT INTO shifts VALUES ('demo-shop', 'day', 510, 1050), "
                   "('demo-shop', 'night', 1050, 1380);"
                   "INSERT INTO agents (shop_id, agent_id, name, capacity) VALUES "
                   "('demo-shop', 'xiaomei', '小美', 2), ('demo-shop', 'lingling', '玲玲', 3), "
                   "('demo-shop', 'ajie', '阿杰', 1), ('demo-shop', 'dawei', '大伟', 3);"
                   "INSERT INTO agent_groups VALUES ('demo-shop', 'xiaomei', 'presales'), "
                   "('demo-shop', 'lingling', 'presales'), ('demo-shop', 'ajie', 'aftersales'), "
                   "('demo-shop', 'dawei', 'presales'), ('demo-shop', 'dawei', 'aftersales');"
                   "INSERT INTO agent_schedule (shop_id, agent_id, shift_name) VALUES "
                   "('demo-shop', 'xiaomei', 'day'), ('demo-shop', 'lingling', 'day'), "
                   "('demo-shop', 'ajie', 'day'), ('demo-shop', 'dawei', 'night');"
                   "INSERT INTO routing_settings (shop_id) VALUES ('demo-shop')");
    //  Monday 2026-11-23 08:00 in Shanghai.
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T00:00:00Z"));
    f->intake = kt_intake_new (f->db, f->clock);
    //  Long enough for a customer to wait from 23:50 to the morning in one
    //  conversation; every other conversation is closed explicitly.
    f->intake->config.quiet_period = 10 * 3600000LL;
    kt_intake_start (f->intake);
    kt_routing_start (&f->routing, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                      f->clock);
    char routing_events[64];
    snprintf (routing_events, sizeof routing_events, "tcp://127.0.0.1:%d",
              kt_routing_port (&f->routing, "events"));
    kt_metrics_init (&f->metrics, f->db, f->intake->events_endpoint, routing_events);
    kt_metrics_start (&f->metrics, f->clock);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    zsock_destroy (&f->gw);
    if (f->metrics.actor)
        kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    kt_routing_stop (&f->routing);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

//  ---------------------------------------------------------------------
//  The day, as the gateway delivers it

typedef struct {
    int day;           //  0 = Monday 2026-11-23, 1 = Tuesday
    const char *at;    //  local time the item reaches intake, "HH:MM:SS"
    char what;         //  c customer, r reply, a auto-reply, p online, o offline, x close,
                       //  s rating, t time passes, k kill metrics, b start metrics again
    const char *who;   //  customer (c, r, a, x, s) or agent (p, o)
    const char *agent; //  replies, closes, named ratings
    const char *text;  //  body, note
    int lag_s;         //  the platform sent it this many seconds earlier
    int score;         //  ratings
} s_step_t;

// clang-format off
static const s_step_t s_day[] = {
    {0, "08:00:00", 'p', "xiaomei", NULL, NULL, 0, 0},
    {0, "08:00:00", 'p', "ajie", NULL, NULL, 0, 0},
    {0, "08:30:00", 't', NULL, NULL, NULL, 0, 0},
    {0, "09:00:00", 'c', "tb_c1", NULL, "这件衣服有现货吗", 0, 0},
    {0, "09:00:01", 'a', "tb_c1", "xiaomei", "您好，欢迎光临", 0, 0},
    {0, "09:00:12", 'r', "tb_c1", "xiaomei", "有的亲", 0, 0},
    {0, "09:01:00", 'c', "tb_c1", NULL, "M码呢", 0, 0},
    {0, "09:01:08", 'c', "tb_c1", NULL, "还有L码吗", 3, 0},
    {0, "09:01:30", 'r', "tb_c1", "xiaomei", "都有的", 0, 0},
    {0, "09:02:00", 'x', "tb_c1", "xiaomei", NULL, 0, 0},
    {0, "09:03:02", 's', "tb_c1", NULL, NULL, 2, 5},
    {0, "09:10:00", 'c', "tb_c2", NULL, "我要退款", 0, 0},
    {0, "09:10:25", 'r', "tb_c2", "ajie", "好的亲，我看下", 0, 0},
    {0, "09:11:00", 'r', "tb_c2", "ajie", "这不是我们的问题，没办法", 0, 0},
    {0, "09:12:00", 'c', "tb_c2", NULL, "那怎么办", 0, 0},
    {0, "09:12:08", 'r', "tb_c2", "ajie", "我帮您申请", 0, 0},
    {0, "09:15:00", 'x', "tb_c2", NULL, NULL, 0, 0},
    {0, "09:16:00", 's', "tb_c2", "ajie", NULL, 0, 2},
    {0, "09:20:00", 'c', "tb_c3", NULL, "有现货吗", 0, 0},
    {0, "09:20:15", 'r', "tb_c3", "xiaomei", "有的", 0, 0},
    {0, "09:20:30", 'c', "tb_c4", NULL, "这个还有吗", 0, 0},
    {0, "09:20:50", 'r', "tb_c4", "xiaomei", "还有的", 0, 0},
    {0, "09:21:00", 'c', "tb_c5", NULL, "有现货吗", 0, 0},
    {0, "09:21:04", 'a', "tb_c5", "xiaomei", "亲，现在咨询的人比较多", 3, 0},
    {0, "09:25:00", 'c', "tb_c9", NULL, "有现货吗", 0, 0},
    {0, "09:40:00", 'x', "tb_c9", NULL, NULL, 0, 0},
    {0, "10:00:00", 'p', "lingling", NULL, NULL, 0, 0},
    {0, "10:00:40", 'r', "tb_c5", "lingling", "亲，有的", 0, 0},
    {0, "10:29:00", 'k', NULL, NULL, NULL, 0, 0},
    {0, "10:30:00", 'o', "xiaomei", NULL, "tb_c3 tb_c4 问现货", 0, 0},
    {0, "10:31:00", 'c', "tb_c3", NULL, "还在吗", 0, 0},
    {0, "10:31:20", 'r', "tb_c3", "lingling", "在的亲", 0, 0},
    {0, "10:35:05", 'c', "tb_c4", NULL, "请问几天到", 5, 0},
    {0, "10:35:45", 'r', "tb_c4", "lingling", "两三天", 0, 0},
    {0, "10:40:00", 'x', "tb_c3", "lingling", NULL, 0, 0},
    {0, "10:41:00", 's', "tb_c3", NULL, NULL, 0, 4},
    {0, "10:45:00", 'x', "tb_c5", "lingling", NULL, 0, 0},
    {0, "10:46:00", 's', "tb_c5", NULL, NULL, 0, 3},
    {0, "10:50:00", 'x', "tb_c4", "lingling", NULL, 0, 0},
    {0, "11:00:00", 'r', "tb_c6", "ajie", "亲，您的包裹已经发出了", 0, 0},
    {0, "11:02:00", 'c', "tb_c6", NULL, "谢谢", 0, 0},
    {0, "11:02:30", 'r', "tb_c6", "ajie", "不客气", 0, 0},
    {0, "11:10:00", 'x', "tb_c6", "ajie", NULL, 0, 0},
    {0, "17:00:00", 'b', NULL, NULL, NULL, 0, 0},
    {0, "17:00:00", 'p', "dawei", NULL, NULL, 0, 0},
    {0, "17:30:00", 't', NULL, NULL, NULL, 0, 0},
    {0, "17:40:00", 'c', "tb_c8", NULL, "有现货吗", 0, 0},
    {0, "17:40:05", 'r', "tb_c8", "dawei", "有", 0, 0},
    {0, "17:50:00", 'x', "tb_c8", "dawei", NULL, 0, 0},
    {0, "17:51:00", 's', "tb_c8", NULL, NULL, 0, 1},
    {0, "23:00:00", 't', NULL, NULL, NULL, 0, 0},
    {0, "23:50:00", 'c', "tb_c7", NULL, "在吗 有现货吗", 0, 0},
    {0, "23:50:01", 'a', "tb_c7", "xiaomei", "亲，现在是非工作时间", 0, 0},
    {1, "08:30:00", 't', NULL, NULL, NULL, 0, 0},
    {1, "08:36:00", 'r', "tb_c7", "lingling", "早上好亲，有的", 0, 0},
    {1, "08:37:00", 'c', "tb_c7", NULL, "好的", 0, 0},
    {1, "08:37:10", 'r', "tb_c7", "lingling", "😊", 0, 0},
    {1, "08:40:00", 'x', "tb_c7", "lingling", NULL, 0, 0},
};
// clang-format on

#define S_STEPS (int) (sizeof s_day / sizeof s_day[0])

//  Local midnight of Monday 2026-11-23 in Shanghai.
static int64_t
s_when (int day, const char *at)
{
    int h = 0, m = 0, s = 0;
    assert_int_equal (sscanf (at, "%d:%d:%d", &h, &m, &s), 3);
    return kf_clock_parse_utc ("2026-11-22T16:00:00Z") + day * 86400000LL +
           ((h * 60 + m) * 60 + s) * 1000LL;
}

static void
s_send (fixture_t *f, Kefu__V1__InboundItem *item, int64_t sent_at)
{
    char id[32];
    snprintf (id, sizeof id, "it-%d", ++f->seq);
    item->shop_id = kt_text (SHOP);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = sent_at;
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_push (f->gw, item);
}

static void
s_step (fixture_t *f, const s_step_t *st)
{
    int64_t at = s_when (st->day, st->at);
    if (at > kf_clock_now_ms (f->clock))
        assert_int_equal (kf_clock_set (f->clock, at), 0);
    int64_t sent = at - st->lag_s * 1000LL;
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    Kefu__V1__ConversationClose close = KEFU__V1__CONVERSATION_CLOSE__INIT;
    Kefu__V1__CustomerRating rating = KEFU__V1__CUSTOMER_RATING__INIT;
    switch (st->what) {
    case 'c':
        msg.customer_id = kt_text (st->who);
        msg.body = kt_text (st->text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
        item.customer_message = &msg;
        break;
    case 'r':
    case 'a':
        reply.customer_id = kt_text (st->who);
        reply.agent_id = kt_text (st->agent);
        reply.body = kt_text (st->text);
        reply.auto_reply = st->what == 'a';
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
        item.agent_reply = &reply;
        break;
    case 'p':
    case 'o':
        presence.agent_id = kt_text (st->who);
        presence.status = st->what == 'p' ? KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE
                                          : KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE;
        presence.handover_note = kt_text (st->text ? st->text : "");
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
        item.agent_presence = &presence;
        break;
    case 'x':
        close.customer_id = kt_text (st->who);
        close.agent_id = kt_text (st->agent ? st->agent : "");
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
        break;
    }
    if (item.kind_case != KEFU__V1__INBOUND_ITEM__KIND__NOT_SET)
        s_send (f, &item, sent);
    //  Routing decides on every item (and on the clock: shift changes).
    kt_routing_settle (&f->routing, f->db);
}

//  Push the whole day; kill metrics at 'k' and start it again at 'b' when
//  restart is set (events keep coming meanwhile).
static void
s_run_day (fixture_t *f, bool restart)
{
    for (int i = 0; i < S_STEPS; i++) {
        const s_step_t *st = &s_day[i];
        if (st->what == 'k' || st->what == 'b') {
            if (!restart)
                continue;
            if (st->what == 'k') {
                kt_metrics_settle (&f->metrics, f->db);
                kt_metrics_kill (&f->metrics);
            } else
                kt_metrics_start (&f->metrics, f->clock);
            continue;
        }
        s_step (f, st);
        if (f->metrics.actor && i % 7 == 0)
            kt_metrics_settle (&f->metrics, f->db); //  sometimes live, sometimes behind
    }
    kt_routing_settle (&f->routing, f->db);
    kt_metrics_settle (&f->metrics, f->db);
}

//  ---------------------------------------------------------------------
//  The record, read with plain SQL

//  Every line (customer message, reply) with its conversation.
#define LINES                                                                                      \
    "lines AS (SELECT conversation_id AS c, message_id AS id, kind, coalesce (agent_id, '') AS "   \
    "  agent, auto_reply AS auto, sent_at, received_at, coalesce (array_length (qa_flags, 1), "    \
    "  0) AS flags FROM messages WHERE shop_id = 'demo-shop' AND kind IN (1, 2)) "
//  Each conversation: its first line that is not an auto-reply (who wrote
//  it and when), its last line, after hours (its first customer message
//  came when no shift was on), its first human reply.
#define CONVS                                                                                      \
    LINES ", firsts AS (SELECT DISTINCT ON (c) c, kind AS first_kind, sent_at AS first_at, "       \
          "  received_at AS first_received FROM lines WHERE NOT (kind = 2 AND auto) "              \
          "  ORDER BY c, sent_at, id), "                                                           \
          "convs AS (SELECT f.c, f.first_kind = 1 AS cust, f.first_at, "                           \
          "  (SELECT max (sent_at) FROM lines x WHERE x.c = f.c) AS last_at, "                     \
          "  (SELECT closed_at IS NOT NULL FROM conversations v WHERE v.shop_id = 'demo-shop' "    \
          "    AND v.conversation_id = f.c) AS closed, "                                           \
          "  f.first_kind = 1 AND NOT EXISTS (SELECT 1 FROM shifts s "                             \
          "    WHERE s.shop_id = 'demo-shop' AND extract (hour FROM f.first_received AT TIME "     \
          "    ZONE 'Asia/Shanghai') * 60 + extract (minute FROM f.first_received AT TIME ZONE "   \
          "    'Asia/Shanghai') >= s.start_minute AND extract (hour FROM f.first_received AT "     \
          "    TIME ZONE 'Asia/Shanghai') * 60 + extract (minute FROM f.first_received AT TIME "   \
          "    ZONE 'Asia/Shanghai') < s.end_minute) AS ah, "                                      \
          "  r.sent_at AS reply_at, r.agent AS replier "                                           \
          "  FROM firsts f LEFT JOIN LATERAL (SELECT sent_at, agent FROM lines r "                 \
          "    WHERE r.c = f.c AND r.kind = 2 AND NOT r.auto ORDER BY sent_at, id LIMIT 1) r "     \
          "  ON true) "
//  Rounds: each human reply after customer messages that no human reply
//  answered yet; it began with the first of them. The first round of an
//  after-hours conversation is its first response, counted apart.
#define ROUNDS                                                                                     \
    CONVS                                                                                          \
    ", human AS (SELECT c, id, sent_at, agent, lag (sent_at) OVER (PARTITION BY c "                \
    "  ORDER BY sent_at, id) AS prev FROM lines WHERE kind = 2 AND NOT auto), "                    \
    "rounds AS (SELECT h.c, h.agent, h.sent_at AS reply_at, "                                      \
    "  (SELECT min (l.sent_at) FROM lines l WHERE l.c = h.c AND l.kind = 1 "                       \
    "    AND l.sent_at < h.sent_at AND (h.prev IS NULL OR l.sent_at > h.prev)) AS start_at, "      \
    "  (SELECT count (*) FROM lines l WHERE l.c = h.c AND l.kind = 1 "                             \
    "    AND l.sent_at < h.sent_at AND (h.prev IS NULL OR l.sent_at > h.prev)) AS msgs "           \
    "  FROM human h), "                                                                            \
    "counted AS (SELECT r.*, (extract (epoch FROM r.reply_at - r.start_at) * 1000)::int8 "         \
    "  AS ms FROM rounds r JOIN convs v ON v.c = r.c "                                             \
    "  WHERE r.start_at IS NOT NULL AND NOT (v.ah AND r.start_at = v.first_at)) "
//  The histogram bucket's upper bound of a duration in ms (README).
#define UPPER(v)                                                                                   \
    "(CASE WHEN " v " <= 1000 THEN 1000 WHEN " v " <= 60000 THEN ceil (" v " / 1000.0) * 1000 "    \
    "WHEN " v " <= 300000 THEN 60000 + ceil ((" v " - 60000) / 5000.0) * 5000 "                    \
    "WHEN " v " <= 1800000 THEN 300000 + ceil ((" v " - 300000) / 30000.0) * 30000 "               \
    "WHEN " v " <= 7200000 THEN 1800000 + ceil ((" v " - 1800000) / 300000.0) * 300000 "           \
    "WHEN " v " <= 86400000 THEN 7200000 + ceil ((" v " - 7200000) / 3600000.0) * 3600000 "        \
    "ELSE NULL END)"
#define FRT_MS   "(extract (epoch FROM reply_at - first_at) * 1000)::int8"
#define CLOSE_MS "(extract (epoch FROM last_at - first_at) * 1000)::int8"

static double
s_num (fixture_t *f, const char *sql)
{
    char *text = kt_db_query1 (f->db, sql);
    double v = *text ? atof (text) : -1;
    free (text);
    return v;
}

static void
s_expect (json_t *answer, const char *path, fixture_t *f, const char *sql)
{
    double want = s_num (f, sql);
    double got = kt_json_num (answer, path);
    if (fabs (want - got) > 1e-9)
        fail_msg ("%s: metrics says %.6f, the record %.6f\n(%s)", path, got, want, sql);
}

//  What the whole period's answer says, against the record.
static void
s_check_totals (fixture_t *f, json_t *a)
{
    char sql[8192];
#define EXPECT(path, ...)                                                                          \
    do {                                                                                           \
        snprintf (sql, sizeof sql, __VA_ARGS__);                                                   \
        s_expect (a, path, f, sql);                                                                \
    } while (0)
    EXPECT ("total.conversations.customer_opened", "WITH " CONVS "SELECT count (*) FILTER "
                                                   "(WHERE cust) FROM convs");
    EXPECT ("total.conversations.shop_opened", "WITH " CONVS "SELECT count (*) FILTER "
                                               "(WHERE NOT cust) FROM convs");
    EXPECT ("total.conversations.after_hours", "WITH " CONVS "SELECT count (*) FILTER "
                                               "(WHERE ah) FROM convs");
    EXPECT ("total.conversations.answered", "WITH " CONVS "SELECT count (*) FILTER "
                                            "(WHERE cust AND reply_at IS NOT NULL) FROM convs");
    EXPECT ("total.conversations.answer_rate",
            "WITH " CONVS "SELECT (count (*) FILTER (WHERE reply_at IS NOT NULL))::float8 / "
            "count (*) FROM convs WHERE cust AND NOT ah");
    EXPECT ("total.first_response.count",
            "WITH " CONVS "SELECT count (*) FROM convs WHERE cust AND NOT ah AND reply_at IS NOT "
            "NULL");
    EXPECT ("total.first_response.mean_s",
            "WITH " CONVS "SELECT round (avg (" FRT_MS ")) / 1000.0 FROM convs WHERE cust AND "
            "NOT ah AND reply_at IS NOT NULL");
    EXPECT ("total.first_response.median_s",
            "WITH " CONVS
            "SELECT " UPPER ("percentile_disc (0.5) WITHIN GROUP (ORDER BY " FRT_MS
                             ")") " / 1000.0 FROM convs WHERE cust AND NOT ah AND reply_at IS NOT "
                                  "NULL");
    EXPECT ("total.first_response.p90_s",
            "WITH " CONVS
            "SELECT " UPPER ("percentile_disc (0.9) WITHIN GROUP (ORDER BY " FRT_MS
                             ")") " / 1000.0 FROM convs WHERE cust AND NOT ah AND reply_at IS NOT "
                                  "NULL");
    EXPECT ("total.first_response.within_threshold",
            "WITH " CONVS "SELECT count (*) FROM convs WHERE cust AND NOT ah AND reply_at IS NOT "
            "NULL AND " FRT_MS " <= 20000");
    EXPECT ("total.first_response.after_hours.count",
            "WITH " CONVS "SELECT count (*) FROM convs WHERE ah AND reply_at IS NOT NULL");
    EXPECT ("total.first_response.after_hours.mean_s",
            "WITH " CONVS "SELECT round (avg (" FRT_MS ")) / 1000.0 FROM convs WHERE ah AND "
            "reply_at IS NOT NULL");
    EXPECT ("total.response.rounds", "WITH " ROUNDS "SELECT count (*) FROM counted");
    EXPECT ("total.response.mean_s",
            "WITH " ROUNDS "SELECT round (avg (ms)) / 1000.0 FROM counted");
    EXPECT ("total.response.median_s",
            "WITH " ROUNDS "SELECT " UPPER (
                "percentile_disc (0.5) WITHIN GROUP (ORDER BY ms)") " / 1000.0 FROM counted");
    EXPECT ("total.response.p90_s",
            "WITH " ROUNDS "SELECT " UPPER (
                "percentile_disc (0.9) WITHIN GROUP (ORDER BY ms)") " / 1000.0 FROM counted");
    EXPECT ("total.response.within_threshold",
            "WITH " ROUNDS "SELECT count (*) FROM counted WHERE ms <= 20000");
    //  Rounds still open when their conversation closed.
    EXPECT ("total.response.unanswered",
            "WITH " CONVS "SELECT count (*) FROM convs v WHERE v.closed AND EXISTS (SELECT 1 "
            "FROM lines l WHERE l.c = v.c AND l.kind = 1 AND NOT EXISTS (SELECT 1 FROM lines r "
            "WHERE r.c = v.c AND r.kind = 2 AND NOT r.auto AND r.sent_at > l.sent_at))");
    //  Queue: from routing's assignments (a conversation never assigned
    //  was queued: routing assigns or queues every one).
    EXPECT ("total.queue.queued",
            "WITH " CONVS "SELECT count (*) FROM convs v WHERE EXISTS (SELECT 1 FROM assignments "
            "a WHERE a.shop_id = 'demo-shop' AND a.conversation_id = v.c AND a.waited_ms > 0) OR "
            "NOT EXISTS (SELECT 1 FROM assignments a WHERE a.shop_id = 'demo-shop' AND "
            "a.conversation_id = v.c)");
    EXPECT ("total.queue.waits",
            "SELECT count (*) FROM assignments WHERE shop_id = 'demo-shop' AND waited_ms > 0");
    EXPECT ("total.queue.mean_wait_s", "SELECT round (avg (waited_ms)) / 1000.0 FROM assignments "
                                       "WHERE shop_id = 'demo-shop' AND waited_ms > 0");
    EXPECT ("total.queue.longest_wait_s", "SELECT max (waited_ms) / 1000.0 FROM assignments "
                                          "WHERE shop_id = 'demo-shop' AND waited_ms > 0");
    EXPECT ("total.queue.abandoned",
            "WITH " CONVS "SELECT count (*) FROM convs v WHERE v.closed AND NOT EXISTS (SELECT 1 "
            "FROM assignments a WHERE a.shop_id = 'demo-shop' AND a.conversation_id = v.c)");
    //  Satisfaction: every rating.
    EXPECT ("total.satisfaction.ratings",
            "SELECT count (*) FROM messages WHERE shop_id = 'demo-shop' AND kind = 4");
    EXPECT ("total.satisfaction.csat",
            "SELECT (count (*) FILTER (WHERE score >= 4))::float8 / count (*) FROM messages "
            "WHERE shop_id = 'demo-shop' AND kind = 4");
    EXPECT ("total.satisfaction.distribution.2",
            "SELECT count (*) FROM messages WHERE shop_id = 'demo-shop' AND kind = 4 AND "
            "score = 2");
    EXPECT ("total.satisfaction.mean_score",
            "SELECT avg (score)::float8 FROM messages WHERE shop_id = 'demo-shop' AND kind = 4");
    //  Resolution.
    EXPECT ("total.resolution.closed", "WITH " CONVS "SELECT count (*) FROM convs WHERE closed");
    EXPECT ("total.resolution.mean_close_s",
            "WITH " CONVS "SELECT round (avg (" CLOSE_MS ")) / 1000.0 FROM convs WHERE closed");
    EXPECT ("total.resolution.median_close_s",
            "WITH " CONVS "SELECT " UPPER ("percentile_disc (0.5) WITHIN GROUP (ORDER BY " CLOSE_MS
                                           ")") " / 1000.0 FROM convs WHERE closed");
    EXPECT ("total.resolution.p90_close_s",
            "WITH " CONVS "SELECT " UPPER ("percentile_disc (0.9) WITHIN GROUP (ORDER BY " CLOSE_MS
                                           ")") " / 1000.0 FROM convs WHERE closed");
    //  Lines.
    EXPECT ("total.messages.customer", "WITH " LINES "SELECT count (*) FROM lines WHERE kind = 1");
    EXPECT ("total.messages.replies",
            "WITH " LINES "SELECT count (*) FROM lines WHERE kind = 2 AND NOT auto");
    EXPECT ("total.messages.auto_replies",
            "WITH " LINES "SELECT count (*) FROM lines WHERE kind = 2 AND auto");
    EXPECT ("total.messages.reply_ratio",
            "WITH " LINES "SELECT (count (*) FILTER (WHERE kind = 2 AND NOT auto))::float8 / "
            "count (*) FILTER (WHERE kind = 1) FROM lines");
    EXPECT ("total.qa.flagged_replies",
            "WITH " LINES "SELECT count (*) FROM lines WHERE kind = 2 AND NOT auto AND flags > 0");
    EXPECT ("total.qa.flags",
            "WITH " LINES "SELECT sum (flags) FROM lines WHERE kind = 2 AND NOT auto");
#undef EXPECT
}

//  Per agent: first responses, rounds, replies, ratings credited to them.
static void
s_check_agents (fixture_t *f, json_t *a)
{
    const char *agents[] = {"xiaomei", "lingling", "ajie", "dawei"};
    char sql[8192], path[128];
    for (int i = 0; i < 4; i++) {
        const char *who = agents[i];
#define EXPECT(what, ...)                                                                          \
    do {                                                                                           \
        snprintf (path, sizeof path, "rows.@%s.%s", who, what);                                    \
        snprintf (sql, sizeof sql, __VA_ARGS__);                                                   \
        s_expect (a, path, f, sql);                                                                \
    } while (0)
        EXPECT ("conversations.answered",
                "WITH " CONVS "SELECT count (*) FROM convs WHERE cust AND replier = '%s'", who);
        EXPECT ("first_response.count",
                "WITH " CONVS "SELECT count (*) FROM convs WHERE cust AND NOT ah AND "
                "replier = '%s'",
                who);
        EXPECT ("first_response.within_threshold",
                "WITH " CONVS "SELECT count (*) FROM convs WHERE cust AND NOT ah AND "
                "replier = '%s' AND " FRT_MS " <= 20000",
                who);
        EXPECT ("response.rounds",
                "WITH " ROUNDS "SELECT count (*) FROM counted WHERE agent = '%s'", who);
        EXPECT ("messages.replies",
                "WITH " LINES "SELECT count (*) FROM lines WHERE kind = 2 AND NOT auto AND "
                "agent = '%s'",
                who);
        //  答问比 of an agent: their replies over the customer messages of
        //  the rounds they answered.
        EXPECT ("messages.reply_ratio",
                "WITH " ROUNDS "SELECT (SELECT count (*) FROM lines WHERE kind = 2 AND NOT auto "
                "AND agent = '%s')::float8 / nullif ((SELECT sum (msgs) FROM counted WHERE agent "
                "= '%s') + (SELECT coalesce (sum (msgs), 0) FROM rounds r JOIN convs v ON v.c = "
                "r.c WHERE v.ah AND r.start_at = v.first_at AND r.agent = '%s'), 0)",
                who, who, who);
        //  A rating names its agent, or goes to the owner when it was
        //  received (the latest assignment before it), or to the agent
        //  who last replied before it.
        EXPECT ("satisfaction.ratings",
                "WITH " LINES "SELECT count (*) FROM messages m WHERE m.shop_id = 'demo-shop' AND "
                "m.kind = 4 AND coalesce (nullif (m.agent_id, ''), (SELECT a.agent_id FROM "
                "assignments a WHERE a.shop_id = m.shop_id AND a.conversation_id = "
                "m.conversation_id AND a.assigned_at <= m.received_at ORDER BY a.assigned_at "
                "DESC, a.assignment_id DESC LIMIT 1), (SELECT agent FROM lines l WHERE l.c = "
                "m.conversation_id AND l.kind = 2 AND NOT l.auto AND l.sent_at <= m.sent_at "
                "ORDER BY l.sent_at DESC LIMIT 1)) = '%s'",
                who);
        EXPECT ("qa.flags",
                "WITH " LINES "SELECT coalesce (sum (flags), 0) FROM lines WHERE kind = 2 AND NOT "
                "auto AND agent = '%s'",
                who);
#undef EXPECT
    }
}

//  Per local day (Asia/Shanghai): conversations count on the day of their
//  first line, lines on their own day.
static void
s_check_days (fixture_t *f, json_t *a)
{
    const char *days[] = {"2026-11-23", "2026-11-24"};
    char sql[8192], path[128];
    for (int i = 0; i < 2; i++) {
        const char *day = days[i];
#define EXPECT(what, ...)                                                                          \
    do {                                                                                           \
        snprintf (path, sizeof path, "rows.@%s.%s", day, what);                                    \
        snprintf (sql, sizeof sql, __VA_ARGS__);                                                   \
        s_expect (a, path, f, sql);                                                                \
    } while (0)
        EXPECT ("conversations.customer_opened",
                "WITH " CONVS "SELECT count (*) FROM convs WHERE cust AND (first_at AT TIME ZONE "
                "'Asia/Shanghai')::date = '%s'",
                day);
        EXPECT ("conversations.after_hours",
                "WITH " CONVS "SELECT count (*) FROM convs WHERE ah AND (first_at AT TIME ZONE "
                "'Asia/Shanghai')::date = '%s'",
                day);
        EXPECT ("messages.customer",
                "WITH " LINES "SELECT count (*) FROM lines WHERE kind = 1 AND (sent_at AT TIME "
                "ZONE 'Asia/Shanghai')::date = '%s'",
                day);
        EXPECT ("response.rounds",
                "WITH " ROUNDS "SELECT count (*) FROM counted WHERE (start_at AT TIME ZONE "
                "'Asia/Shanghai')::date = '%s'",
                day);
        EXPECT ("satisfaction.ratings",
                "SELECT count (*) FROM messages WHERE shop_id = 'demo-shop' AND kind = 4 AND "
                "(sent_at AT TIME ZONE 'Asia/Shanghai')::date = '%s'",
                day);
#undef EXPECT
    }
}

#define PERIOD "{\"from\": \"2026-11-23\", \"to\": \"2026-11-24\"}"

//  Every check against the record.
static void
s_check_all (fixture_t *f)
{
    json_t *total = kt_metrics_json (f->metrics.query, "kpi.summary", SHOP, 0, 0, NULL, PERIOD);
    s_check_totals (f, total);
    json_decref (total);
    json_t *agents = kt_metrics_json (f->metrics.query, "kpi.summary", SHOP, 0, 0, "agent", PERIOD);
    s_check_agents (f, agents);
    json_decref (agents);
    json_t *days = kt_metrics_json (f->metrics.query, "kpi.summary", SHOP, 0, 0, "day", PERIOD);
    s_check_days (f, days);
    json_decref (days);
}

//  The answers whose equality a restart or rebuild must keep.
static char *
s_snapshot (fixture_t *f)
{
    const char *bys[] = {NULL, "agent", "group", "channel", "hour"};
    json_t *all = json_array ();
    for (int i = 0; i < 5; i++)
        json_array_append_new (
            all, kt_metrics_json (f->metrics.query, "kpi.summary", SHOP, 0, 0, bys[i], PERIOD));
    json_array_append_new (
        all, kt_metrics_json (f->metrics.query, "qa.flags", SHOP, 0, 0, NULL, PERIOD));
    char *text = json_dumps (all, JSON_SORT_KEYS | JSON_INDENT (1));
    json_decref (all);
    return text;
}

//  Two snapshots must be equal; else fail naming the first line that differs.
static void
s_same (const char *want, const char *got)
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
        fail_msg ("answers differ at line %d: before \"%.80s\", after \"%.80s\"", line, a, b);
}

//  ---------------------------------------------------------------------
//  Tests

static void
test_a_shop_day_counts_what_the_record_says (void **state)
{
    fixture_t *f = *state;
    s_run_day (f, false);
    s_check_all (f);
    //  And the story's own numbers, so that the SQL above is not the only
    //  judge: 8 conversations opened by customers, 1 by the shop, 1 after
    //  hours answered after 8 h 46 min; the first response of exactly
    //  20 s is within 20 s.
    json_t *a = kt_metrics_json (f->metrics.query, "kpi.summary", SHOP, 0, 0, NULL, PERIOD);
    assert_int_equal (kt_json_num (a, "total.conversations.customer_opened"), 8);
    assert_int_equal (kt_json_num (a, "total.conversations.shop_opened"), 1);
    assert_int_equal (kt_json_num (a, "total.conversations.after_hours"), 1);
    assert_true (fabs (kt_json_num (a, "total.first_response.after_hours.mean_s") - 31560.0) <
                 1e-9);
    assert_int_equal (kt_json_num (a, "total.first_response.within_threshold"), 4);
    assert_int_equal (kt_json_num (a, "total.queue.abandoned"), 1);
    assert_int_equal (kt_json_num (a, "total.qa.flags"), 2);
    assert_int_equal (kt_json_num (a, "total.messages.auto_replies"), 3);
    json_decref (a);
    //  The conversation over midnight counts on Monday; its lines on Tuesday.
    json_t *days = kt_metrics_json (f->metrics.query, "kpi.summary", SHOP, 0, 0, "day", PERIOD);
    assert_int_equal (kt_json_num (days, "rows.@2026-11-24.conversations.customer_opened"), 0);
    assert_int_equal (kt_json_num (days, "rows.@2026-11-24.messages.customer"), 1);
    json_decref (days);
    //  By group: the refund went to 售后, everything else to 售前.
    json_t *groups = kt_metrics_json (f->metrics.query, "kpi.summary", SHOP, 0, 0, "group", PERIOD);
    assert_int_equal (kt_json_num (groups, "rows.@aftersales.conversations.customer_opened"), 1);
    assert_int_equal (kt_json_num (groups, "rows.@presales.conversations.customer_opened"), 7);
    json_decref (groups);
    //  The flagged line is listed, with its phrases.
    json_t *qa = kt_metrics_json (f->metrics.query, "qa.flags", SHOP, 0, 0, NULL, PERIOD);
    assert_int_equal (kt_json_num (qa, "count"), 1);
    json_t *line = json_array_get (json_object_get (qa, "lines"), 0);
    assert_string_equal (json_string_value (json_object_get (line, "agent_id")), "ajie");
    assert_string_equal (json_string_value (json_object_get (line, "body")),
                         "这不是我们的问题，没办法");
    assert_int_equal (json_array_size (json_object_get (line, "flags")), 2);
    json_decref (qa);
}

static void
test_a_restart_mid_day_counts_nothing_twice_and_misses_nothing (void **state)
{
    fixture_t *f = *state;
    s_run_day (f, true);
    //  The restarted metrics read what it missed from the events table.
    assert_true (kt_metrics_counter (&f->metrics, "events.from_table") > 0);
    s_check_all (f);
    assert_int_equal (kt_db_count (f->db, "SELECT count (*) FROM metrics_conversations"), 9);
}

static void
test_a_rebuild_gives_the_same_numbers (void **state)
{
    fixture_t *f = *state;
    s_run_day (f, false);
    char *before = s_snapshot (f);
    //  While running.
    char *reply = kt_metrics_command (&f->metrics, "REBUILD");
    assert_string_equal (reply, "OK");
    free (reply);
    kt_metrics_settle (&f->metrics, f->db);
    assert_int_equal (kt_metrics_counter (&f->metrics, "rebuilds"), 1);
    char *after = s_snapshot (f);
    s_same (before, after);
    free (after);
    //  And with --rebuild at start.
    kt_metrics_stop (&f->metrics);
    f->metrics.config.rebuild = true;
    kt_metrics_start (&f->metrics, f->clock);
    kt_metrics_settle (&f->metrics, f->db);
    after = s_snapshot (f);
    s_same (before, after);
    free (after);
    free (before);
    s_check_all (f);
}

//  A rebuild names every conversation before it has a row: their rows are
//  looked for once per batch of events, not once per event.
static void
test_a_rebuild_looks_for_rows_once_per_batch (void **state)
{
    fixture_t *f = *state;
    s_run_day (f, false);
    int64_t before = kt_metrics_counter (&f->metrics, "state.lookups");
    char *reply = kt_metrics_command (&f->metrics, "REBUILD");
    assert_string_equal (reply, "OK");
    free (reply);
    kt_metrics_settle (&f->metrics, f->db);
    int64_t lookups = kt_metrics_counter (&f->metrics, "state.lookups") - before;
    //  The day's events fit in one batch per stream (intake's, routing's):
    //  at most one statement for conversations and one for orders each.
    if (lookups < 1 || lookups > 4)
        fail_msg ("%lld lookups for the rebuild", (long long) lookups);
    s_check_all (f);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_shop_day_counts_what_the_record_says, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_restart_mid_day_counts_nothing_twice_and_misses_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_rebuild_gives_the_same_numbers, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_rebuild_looks_for_rows_once_per_batch, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
