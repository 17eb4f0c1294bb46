/*  test_metrics_scorecard — a month of agent scorecards with known answers.

    Order-sync's and complaint-escalation's events (OrderEvent on stream
    "ordersync", ComplaintEvent on "escalation") are written into the event
    log here, as those services will write them; a supervisor sets the
    shop's scheme and enters the items kefu has no data for with the real
    kefuctl; kefu-metrics (in-process, real sockets and PostgreSQL) applies
    the events and answers agent.scorecard. Every score is checked against
    a value computed by hand in this file, from the events written here.

    November 2026 in Asia/Shanghai (UTC+8): the month's hours are
    2026-10-31T16:00Z .. 2026-11-30T16:00Z. */
#include "kefu/v1/events.pb-c.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kt_db.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"

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
    kf_clock_t *clock;    //  driven clock
    kt_metrics_t metrics; //  metrics (in-process, insecure)
    char endpoint[96];    //  KEFU_METRICS_ENDPOINT=...
} fixture_t;

//  ---------------------------------------------------------------------
//  Events as order-sync and complaint-escalation write them

static void
s_write (fixture_t *f, const char *stream, Kefu__V1__Event *ev)
{
    kt_metrics_write_event (f->db, stream, ev);
}

//  An order event; buyer, flag and task may be NULL.
static void
s_order_ev (fixture_t *f, const char *shop, const char *kind, const char *order_id, int state,
            const char *agent, int64_t cents, const char *at, const char *buyer, const char *flag,
            const char *task)
{
    Kefu__V1__OrderEvent o = KEFU__V1__ORDER_EVENT__INIT;
    o.order_id = (char *) order_id;
    o.state = state;
    o.agent_id = (char *) (agent ? agent : "");
    o.amount_cents = cents;
    o.currency = "CNY";
    o.at_ms = kf_clock_parse_utc (at);
    o.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    o.channel_customer_id = (char *) (buyer ? buyer : "");
    o.flag = (char *) (flag ? flag : "");
    o.task = (char *) (task ? task : "");
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = (char *) shop;
    ev.kind = (char *) kind;
    ev.occurred_at_ms = o.at_ms;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_ORDER;
    ev.order = &o;
    s_write (f, "ordersync", &ev);
}

static void
s_order (fixture_t *f, const char *shop, const char *kind, const char *order_id, int state,
         const char *agent, int64_t cents, const char *at)
{
    s_order_ev (f, shop, kind, order_id, state, agent, cents, at, NULL, NULL, NULL);
}

//  A complaint or review event (stage, remedy and money, contact step).
static void
s_case_ev (fixture_t *f, const char *kind, int64_t id, bool review, int stage, int remedy,
           int64_t cents, int step, int finding, const char *agent, const char *at)
{
    Kefu__V1__ComplaintEvent c = KEFU__V1__COMPLAINT_EVENT__INIT;
    c.complaint_id = id;
    c.negative_review = review;
    c.stage = stage;
    c.category = KEFU__V1__COMPLAINT_CATEGORY__COMPLAINT_SERVICE;
    c.remedy = remedy;
    c.amount_cents = cents;
    c.contact_step = step;
    c.service_finding = finding;
    c.agent_id = (char *) (agent ? agent : "");
    c.at_ms = kf_clock_parse_utc (at);
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = SHOP;
    ev.kind = (char *) kind;
    ev.occurred_at_ms = c.at_ms;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_COMPLAINT;
    ev.complaint = &c;
    s_write (f, "escalation", &ev);
}

static void
s_complaint (fixture_t *f, int64_t id, int finding, const char *agent, const char *at)
{
    s_case_ev (f, finding ? "complaint.stage" : "complaint.registered", id, false,
               finding ? KEFU__V1__COMPLAINT_STAGE__COMPLAINT_JUDGED
                       : KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REGISTERED,
               0, 0, 0, finding, agent, at);
}

//  A conversation's line as intake writes it (the customer's when agent
//  is NULL); the first line of a conversation opens it.
static void
s_line (fixture_t *f, int64_t conversation, const char *buyer, const char *agent, const char *at)
{
    static int64_t message = 0;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = SHOP;
    ev.occurred_at_ms = kf_clock_parse_utc (at);
    if (!agent) {
        Kefu__V1__ConversationOpened o = KEFU__V1__CONVERSATION_OPENED__INIT;
        o.conversation_id = conversation;
        o.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
        o.channel_customer_id = (char *) buyer;
        o.opened_at_ms = ev.occurred_at_ms;
        ev.kind = "conversation.opened";
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED;
        ev.conversation_opened = &o;
        s_write (f, "intake", &ev);
    }
    Kefu__V1__MessageAccepted m = KEFU__V1__MESSAGE_ACCEPTED__INIT;
    m.message_id = ++message;
    m.conversation_id = conversation;
    m.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    m.channel_customer_id = (char *) buyer;
    m.sender = agent ? KEFU__V1__SENDER_ROLE__SENDER_ROLE_AGENT
                     : KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER;
    m.agent_id = (char *) (agent ? agent : "");
    m.body = agent ? "亲 在的" : "在吗";
    m.sent_at_ms = m.received_at_ms = ev.occurred_at_ms;
    ev.kind = "message.accepted";
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED;
    ev.message_accepted = &m;
    s_write (f, "intake", &ev);
}

#define CREATED  KEFU__V1__ORDER_STATE__ORDER_CREATED
#define PAID     KEFU__V1__ORDER_STATE__ORDER_PAID
#define REFUNDED KEFU__V1__ORDER_STATE__ORDER_REFUNDED
#define VALID    KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_VALID
#define WRONG    KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_WRONG_EXPLANATION
#define UNVERIF  KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_UNVERIFIABLE
#define CLEARED  KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_NONE

//  The month's events. Credited paid sales in November (Shanghai):
//  xiaomei 100.00 (O1) + 50.00 (O5, paid 00:30 on Nov 1) = 150.00;
//  ajie 300.00 (O2) + 150.00 (O8, paid before it was credited) = 450.00;
//  dawei 200.00 (O3, credited to xiaomei first, then to him). Not counted:
//  O4 (refunded), O6 (paid 00:30 on Dec 1), O7 (credited to nobody).
//  Complaints in November: xiaomei 1 valid; ajie 1 wrong explanation and 1
//  unverifiable; dawei's valid one re-judged as nothing; xiaomei's October
//  one is October's.
static void
s_write_month (fixture_t *f)
{
    s_order (f, SHOP, "order.created", "O1", CREATED, NULL, 10000, "2026-11-03T01:00:00Z");
    s_order (f, SHOP, "order.credited", "O1", CREATED, "xiaomei", 0, "2026-11-03T01:00:00Z");
    s_order (f, SHOP, "order.paid", "O1", PAID, NULL, 10000, "2026-11-03T03:00:00Z");
    s_order (f, SHOP, "order.paid", "O1", PAID, NULL, 10000, "2026-11-03T03:00:00Z"); //  again
    s_order (f, SHOP, "order.credited", "O2", CREATED, "ajie", 30000, "2026-11-10T02:00:00Z");
    s_order (f, SHOP, "order.paid", "O2", PAID, NULL, 30000, "2026-11-10T02:30:00Z");
    s_order (f, SHOP, "order.credited", "O3", CREATED, "xiaomei", 20000, "2026-11-11T02:00:00Z");
    s_order (f, SHOP, "order.paid", "O3", PAID, NULL, 20000, "2026-11-11T04:00:00Z");
    s_order (f, SHOP, "order.credited", "O3", PAID, "dawei", 0, "2026-11-11T05:00:00Z");
    s_order (f, SHOP, "order.credited", "O4", CREATED, "ajie", 40000, "2026-11-12T02:00:00Z");
    s_order (f, SHOP, "order.paid", "O4", PAID, NULL, 40000, "2026-11-12T03:00:00Z");
    s_order (f, SHOP, "order.refund", "O4", REFUNDED, NULL, 0, "2026-11-14T03:00:00Z");
    s_order (f, SHOP, "order.credited", "O5", CREATED, "xiaomei", 5000, "2026-10-31T16:00:00Z");
    s_order (f, SHOP, "order.paid", "O5", PAID, NULL, 5000, "2026-10-31T16:30:00Z");
    s_order (f, SHOP, "order.credited", "O6", CREATED, "xiaomei", 7000, "2026-11-30T16:00:00Z");
    s_order (f, SHOP, "order.paid", "O6", PAID, NULL, 7000, "2026-11-30T16:30:00Z");
    s_order (f, SHOP, "order.paid", "O7", PAID, NULL, 9000, "2026-11-15T03:00:00Z");
    s_order (f, SHOP, "order.paid", "O8", PAID, NULL, 15000, "2026-11-20T03:00:00Z");
    s_order (f, SHOP, "order.credited", "O8", PAID, "ajie", 0, "2026-11-20T03:05:00Z");

    s_complaint (f, 1, 0, "xiaomei", "2026-11-04T02:00:00Z"); //  registered: no finding
    s_complaint (f, 1, VALID, "xiaomei", "2026-11-05T02:00:00Z");
    s_complaint (f, 2, WRONG, "ajie", "2026-11-06T02:00:00Z");
    s_complaint (f, 3, UNVERIF, "ajie", "2026-11-07T02:00:00Z");
    s_complaint (f, 4, VALID, "dawei", "2026-11-08T02:00:00Z");
    s_complaint (f, 4, CLEARED, "", "2026-11-09T02:00:00Z");
    s_complaint (f, 5, VALID, "xiaomei", "2026-10-20T02:00:00Z");
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("metrics_scorecard");
    kt_shop_add (f->db, SHOP);
    kt_shop_add (f->db, "other-shop");
    //  Monday 2026-12-07, 10:00 in Shanghai.
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-12-07T02:00:00Z"));
    kt_metrics_init (&f->metrics, f->db, "tcp://127.0.0.1:9", "tcp://127.0.0.1:9");
    kt_metrics_start (&f->metrics, f->clock);
    snprintf (f->endpoint, sizeof f->endpoint, "KEFU_METRICS_ENDPOINT=%s", f->metrics.query);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

static json_t *
s_card (fixture_t *f, const char *shop, const char *params)
{
    return kt_metrics_json (f->metrics.query, "agent.scorecard", shop, 0, 0, NULL, params);
}

static void
s_expect_score (json_t *card, const char *agent, const char *item, double expected)
{
    char path[128];
    snprintf (path, sizeof path, "agents.@%s.items.%s.score", agent, item);
    double got = kt_json_num (card, path);
    if (fabs (got - expected) > 0.005)
        fail_msg ("%s: %.2f, expected %.2f", path, got, expected);
}

//  Scores computed by hand. Team: xiaomei, ajie, dawei (events) and
//  lingling (entered scores only): 4 agents, 800.00 in all, average 200.00.
//  Sales (weight 45, coefficient 1.2): xiaomei 150/200 × 45 × 1.2 = 40.5;
//  ajie 450/200 × 54 = 121.5; dawei 200/200 × 54 = 54; lingling 0.
//  Key promotion (25): xiaomei 90 % = 22.5, lingling 50 % = 12.5.
//  Service check (15): xiaomei 80 % = 12, ajie 100 % = 15.
//  Complaints (5; -10 valid, -6 wrong, -3 unverifiable): xiaomei 5 - 10 =
//  -5, ajie 5 - 6 - 3 = -4, dawei 5, lingling 5.
static void
s_check_month (json_t *card)
{
    assert_int_equal (kt_json_num (card, "team.agents"), 4);
    assert_int_equal (kt_json_num (card, "team.sales_cents"), 80000);
    assert_int_equal (kt_json_num (card, "team.orders"), 5);
    assert_int_equal (kt_json_num (card, "agents.@xiaomei.items.sales.sales_cents"), 15000);
    assert_int_equal (kt_json_num (card, "agents.@ajie.items.sales.orders"), 2);
    s_expect_score (card, "xiaomei", "sales", 40.5);
    s_expect_score (card, "ajie", "sales", 121.5);
    s_expect_score (card, "dawei", "sales", 54);
    s_expect_score (card, "lingling", "sales", 0);
    s_expect_score (card, "xiaomei", "key_promotion", 22.5);
    s_expect_score (card, "lingling", "key_promotion", 12.5);
    assert_int_equal (kt_json_num (card, "agents.@ajie.items.key_promotion.score"), -1); //  null
    s_expect_score (card, "xiaomei", "service_check", 12);
    s_expect_score (card, "ajie", "service_check", 15);
    assert_int_equal (kt_json_num (card, "agents.@dawei.items.service_check.score"), -1);
    s_expect_score (card, "xiaomei", "complaints", -5);
    s_expect_score (card, "ajie", "complaints", -4);
    s_expect_score (card, "dawei", "complaints", 5);
    s_expect_score (card, "lingling", "complaints", 5);
    assert_int_equal (kt_json_num (card, "agents.@ajie.items.complaints.wrong_explanation"), 1);
    assert_int_equal (kt_json_num (card, "agents.@dawei.items.complaints.valid"), 0);
    //  Customer records: no data in kefu, for anyone.
    assert_int_equal (kt_json_num (card, "agents.@xiaomei.items.customer_records.score"), -1);
    //  Totals of the items that have a score.
    s_expect_score (card, "xiaomei", "sales", 40.5);
    double totals[] = {70.0, 132.5, 59.0, 17.5};
    const char *agents[] = {"xiaomei", "ajie", "dawei", "lingling"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf (path, sizeof path, "agents.@%s.total", agents[i]);
        if (fabs (kt_json_num (card, path) - totals[i]) > 0.005)
            fail_msg ("%s: %.2f, expected %.2f", path, kt_json_num (card, path), totals[i]);
    }
}

//  json's agents carry agent_id, kt_json_num's "@" looks for "key".
static void
s_key_agents (json_t *card)
{
    size_t i;
    json_t *a;
    json_array_foreach (json_object_get (card, "agents"), i, a)
        json_object_set (a, "key", json_object_get (a, "agent_id"));
}

static void
test_a_months_scorecards_equal_the_hand_computed_values (void **state)
{
    fixture_t *f = *state;
    s_write_month (f);
    KT_EXPECT (f->db, 0, "metrics", "settings", SHOP, "--conversion-coefficient", "1.2");
    KT_EXPECT (f->db, 0, "score", "set", SHOP, "xiaomei", "--month", "2026-11", "--service-check",
               "80", "--key-promotion", "90");
    KT_EXPECT (f->db, 0, "score", "set", SHOP, "ajie", "--month", "2026-11", "--service-check",
               "100");
    KT_EXPECT (f->db, 0, "score", "set", SHOP, "lingling", "--month", "2026-11", "--key-promotion",
               "50");
    kt_metrics_settle (&f->metrics, f->db);
    json_t *card = s_card (f, SHOP, "{\"month\": \"2026-11\"}");
    s_key_agents (card);
    assert_string_equal (json_string_value (json_object_get (card, "month")), "2026-11");
    assert_int_equal (kt_json_num (card, "from_ms"), kf_clock_parse_utc ("2026-10-31T16:00:00Z"));
    assert_int_equal (kt_json_num (card, "scheme.weights.sales"), 45);
    s_check_month (card);
    json_decref (card);

    //  The same events again (a replay) and a rebuild change nothing.
    free (kt_metrics_command (&f->metrics, "REBUILD"));
    kt_metrics_settle (&f->metrics, f->db);
    card = s_card (f, SHOP, "{\"month\": \"2026-11\"}");
    s_key_agents (card);
    s_check_month (card);
    json_decref (card);
    //  October: xiaomei's October complaint only, and no sales.
    card = s_card (f, SHOP, "{\"month\": \"2026-10\"}");
    s_key_agents (card);
    assert_int_equal (kt_json_num (card, "team.agents"), 1);
    s_expect_score (card, "xiaomei", "complaints", -5);
    json_decref (card);
}

static void
test_an_item_without_data_is_null_with_a_reason (void **state)
{
    fixture_t *f = *state;
    KT_EXPECT (f->db, 0, "score", "set", "other-shop", "mei", "--month", "2026-11",
               "--service-check", "60");
    json_t *card = s_card (f, "other-shop", "{\"month\": \"2026-11\"}");
    s_key_agents (card);
    //  No order-sync and no complaint events for this shop: not 0, null.
    assert_int_equal (kt_json_num (card, "agents.@mei.items.sales.score"), -1);
    assert_int_equal (kt_json_num (card, "agents.@mei.items.complaints.score"), -1);
    json_t *a = json_array_get (json_object_get (card, "agents"), 0);
    json_t *sales = json_object_get (json_object_get (a, "items"), "sales");
    assert_non_null (strstr (json_string_value (json_object_get (sales, "reason")), "order-sync"));
    assert_false (json_is_true (json_object_get (a, "complete")));
    assert_int_equal (json_array_size (json_object_get (a, "missing")), 4);
    s_expect_score (card, "mei", "service_check", 9);
    assert_true (fabs (kt_json_num (card, "agents.@mei.total") - 9) < 0.005);
    json_decref (card);
}

static void
test_kefuctl_shows_scorecards_and_the_scheme (void **state)
{
    fixture_t *f = *state;
    kt_run_t *r = &kt_kefuctl_last;
    s_write_month (f);
    KT_EXPECT (f->db, 0, "metrics", "settings", SHOP, "--weight-sales", "40",
               "--weight-key-promotion", "20", "--json");
    json_t *scheme = json_loads (r->out, 0, NULL);
    assert_non_null (scheme);
    assert_int_equal (kt_json_num (scheme, "weight_sales"), 40);
    assert_int_equal (kt_json_num (scheme, "weight_service_check"), 15);
    json_decref (scheme);
    KT_EXPECT (f->db, 0, "metrics", "settings", SHOP);
    assert_non_null (strstr (r->out, "weight_key_promotion       20"));
    KT_EXPECT (f->db, 2, "metrics", "settings", SHOP, "--weight-sales", "101");
    KT_EXPECT (f->db, 4, "metrics", "settings", "no-such-shop");
    KT_EXPECT (f->db, 2, "score", "set", SHOP, "ajie", "--service-check", "80");
    assert_non_null (strstr (r->err, "--month"));
    KT_EXPECT (f->db, 2, "score", "set", SHOP, "ajie", "--month", "2026-11", "--service-check",
               "180");
    kt_metrics_settle (&f->metrics, f->db);
    //  ajie: 450 / (800 / 3) × 40 = 67.50 sales, complaints -4.
    KT_EXPECT (f->db, 0, f->endpoint, "scorecard", SHOP, "--month", "2026-11");
    assert_non_null (strstr (r->out, "weights: sales 40, key promotion 20"));
    assert_non_null (strstr (r->out, "67.50"));
    assert_non_null (strstr (r->out, "customer_records: kefu keeps no customer profiles"));
    KT_EXPECT (f->db, 0, f->endpoint, "scorecard", SHOP, "--month", "2026-11", "--csv");
    assert_true (strncmp (r->out, "agent,sales,sales_cents,orders,", 31) == 0);
    assert_non_null (strstr (r->out, "\najie,67.50,45000,2,,,-4.00,0,1,1,,63.50,false,,,,,,\n"));
    KT_EXPECT (f->db, 0, f->endpoint, "scorecard", SHOP, "--month", "2026-11", "--agent", "dawei",
               "--json");
    json_t *card = json_loads (r->out, 0, NULL);
    assert_non_null (card);
    assert_int_equal (json_array_size (json_object_get (card, "agents")), 1);
    //  dawei alone, against the whole team: 200 / (800 / 3) × 40 = 30.
    s_key_agents (card);
    s_expect_score (card, "dawei", "sales", 30);
    json_decref (card);
    //  Bad questions are refused with a code.
    KT_EXPECT (f->db, 2, f->endpoint, "scorecard", SHOP, "--month", "2026-13");
    assert_non_null (strstr (r->err, "invalid_value"));
    Kefu__V1__Answer *answer =
        kt_metrics_ask (f->metrics.query, "agent.scorecard", SHOP,
                        kf_clock_parse_utc ("2026-11-01T00:00:00Z"), 0, NULL, NULL);
    assert_int_equal (answer->code, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE);
    kefu__v1__answer__free_unpacked (answer, NULL);
}

//  ---------------------------------------------------------------------
//  The order desk's and the after-sales desk's numbers

#define SHIPPED   KEFU__V1__ORDER_STATE__ORDER_SHIPPED
#define CLOSED    KEFU__V1__ORDER_STATE__ORDER_CLOSED
#define STAGE(s)  KEFU__V1__COMPLAINT_STAGE__COMPLAINT_##s
#define REMEDY(r) KEFU__V1__REMEDY__REMEDY_##r

//  December 1-6 in Shanghai (2026-11-30T16:00Z .. 2026-12-06T16:00Z):
//  b1..b4 write (b4 never answered), xiaomei serves b1 and b3, ajie b2; b1
//  orders D1 (credited to xiaomei, paid, shipped before the cutoff), b2
//  D2 (credited to ajie, reminded by kefu, never paid, closed); D5 is paid,
//  flagged late, shipped late; D6 shipped on time; D7 reminded by hand; D8
//  and b6 fall outside the period. Complaints C1 (cash 50.00, revisited
//  after 2 days, closed), C2 (deadline passed, apology, revisited after 3
//  days and 4 hours), C3 (coupon 10.00, its 3 days not over at now), C0
//  (November, still open); reviews R1 (phone rung, changed), R2 (open).
static void
s_write_desk_week (fixture_t *f)
{
    s_line (f, 101, "b1", NULL, "2026-12-01T02:00:00Z");
    s_line (f, 101, "b1", "xiaomei", "2026-12-01T02:01:00Z");
    s_line (f, 102, "b2", NULL, "2026-12-01T05:00:00Z");
    s_line (f, 102, "b2", "ajie", "2026-12-01T05:02:00Z");
    s_line (f, 103, "b3", NULL, "2026-12-02T02:00:00Z");
    s_line (f, 103, "b3", "xiaomei", "2026-12-02T02:03:00Z");
    s_line (f, 104, "b4", NULL, "2026-12-02T03:00:00Z");
    s_line (f, 106, "b6", NULL, "2026-12-07T01:00:00Z");
    s_order_ev (f, SHOP, "order.created", "D1", CREATED, NULL, 12000, "2026-12-01T03:00:00Z", "b1",
                NULL, NULL);
    s_order_ev (f, SHOP, "order.credited", "D1", CREATED, "xiaomei", 0, "2026-12-01T03:00:00Z",
                "b1", NULL, NULL);
    s_order_ev (f, SHOP, "order.paid", "D1", PAID, NULL, 12000, "2026-12-01T04:00:00Z", "b1", NULL,
                NULL);
    s_order_ev (f, SHOP, "order.shipped", "D1", SHIPPED, NULL, 0, "2026-12-02T01:00:00Z", "b1",
                NULL, NULL);
    s_order_ev (f, SHOP, "order.created", "D2", CREATED, NULL, 8000, "2026-12-01T06:00:00Z", "b2",
                NULL, NULL);
    s_order_ev (f, SHOP, "order.credited", "D2", CREATED, "ajie", 0, "2026-12-01T06:00:00Z", "b2",
                NULL, NULL);
    s_order_ev (f, SHOP, "order.flagged", "D2", CREATED, NULL, 0, "2026-12-01T08:00:00Z", "b2",
                "blue", "unpaid_reminder");
    s_order_ev (f, SHOP, "order.closed", "D2", CLOSED, NULL, 0, "2026-12-03T08:00:00Z", "b2", NULL,
                NULL);
    s_order_ev (f, SHOP, "order.created", "D5", PAID, NULL, 3000, "2026-12-03T01:00:00Z", "b5",
                NULL, NULL);
    s_order_ev (f, SHOP, "order.flagged", "D5", PAID, NULL, 0, "2026-12-03T09:00:00Z", "b5", "late",
                "shipping_delay");
    s_order_ev (f, SHOP, "order.shipped", "D5", SHIPPED, NULL, 0, "2026-12-04T02:00:00Z", "b5",
                NULL, NULL);
    s_order_ev (f, SHOP, "order.created", "D6", PAID, NULL, 4000, "2026-12-02T01:00:00Z", NULL,
                NULL, NULL);
    s_order_ev (f, SHOP, "order.shipped", "D6", SHIPPED, NULL, 0, "2026-12-02T06:00:00Z", NULL,
                NULL, NULL);
    s_order_ev (f, SHOP, "order.created", "D7", CREATED, NULL, 1000, "2026-12-03T01:00:00Z", "b7",
                NULL, NULL);
    s_order_ev (f, SHOP, "order.flagged", "D7", CREATED, "ajie", 0, "2026-12-03T03:00:00Z", "b7",
                "blue", "unpaid_reminder");
    s_order_ev (f, SHOP, "order.created", "D8", CREATED, NULL, 1000, "2026-11-30T15:00:00Z", "b1",
                NULL, NULL);
    s_order_ev (f, SHOP, "order.credited", "D8", CREATED, "xiaomei", 0, "2026-11-30T15:00:00Z",
                "b1", NULL, NULL);

    s_case_ev (f, "complaint.registered", 20, false, STAGE (REGISTERED), 0, 0, 0, 0, NULL,
               "2026-11-20T02:00:00Z");
    s_case_ev (f, "complaint.registered", 21, false, STAGE (REGISTERED), 0, 0, 0, 0, NULL,
               "2026-12-01T02:00:00Z");
    s_case_ev (f, "complaint.stage", 21, false, STAGE (CARRIED_OUT), REMEDY (CASH), 5000, 0, 0,
               NULL, "2026-12-02T02:00:00Z");
    s_case_ev (f, "complaint.stage", 21, false, STAGE (REVISITED), REMEDY (CASH), 5000, 0, 0, NULL,
               "2026-12-04T02:00:00Z");
    s_case_ev (f, "complaint.closed", 21, false, STAGE (CLOSED), REMEDY (CASH), 5000, 0, 0, NULL,
               "2026-12-04T03:00:00Z");
    s_case_ev (f, "complaint.registered", 22, false, STAGE (REGISTERED), 0, 0, 0, 0, NULL,
               "2026-12-02T02:00:00Z");
    s_case_ev (f, "complaint.deadline_passed", 22, false, STAGE (REGISTERED), 0, 0, 0, 0, NULL,
               "2026-12-03T02:00:00Z");
    s_case_ev (f, "complaint.deadline_passed", 22, false, STAGE (REGISTERED), 0, 0, 0, 0, NULL,
               "2026-12-03T04:00:00Z"); //  escalated again: overdue once
    s_case_ev (f, "complaint.stage", 22, false, STAGE (CARRIED_OUT), REMEDY (APOLOGY), 0, 0, 0,
               NULL, "2026-12-03T05:00:00Z");
    s_case_ev (f, "complaint.stage", 22, false, STAGE (REVISITED), REMEDY (APOLOGY), 0, 0, 0, NULL,
               "2026-12-06T09:00:00Z");
    s_case_ev (f, "complaint.registered", 23, false, STAGE (REGISTERED), 0, 0, 0, 0, NULL,
               "2026-12-05T02:00:00Z");
    s_case_ev (f, "complaint.stage", 23, false, STAGE (CARRIED_OUT), REMEDY (COUPON), 1000, 0, 0,
               NULL, "2026-12-05T03:00:00Z");
    s_case_ev (f, "review.registered", 24, true, 0, 0, 0, 0, 0, NULL, "2026-12-01T03:00:00Z");
    s_case_ev (f, "review.contact_due", 24, true, 0, 0, 0, 2, 0, NULL, "2026-12-01T05:00:00Z");
    s_case_ev (f, "review.contact_due", 24, true, 0, 0, 0, 3, 0, NULL, "2026-12-03T03:00:00Z");
    s_case_ev (f, "review.resolved", 24, true, 0, 0, 0, 0, 0, NULL, "2026-12-04T03:00:00Z");
    s_case_ev (f, "review.registered", 25, true, 0, 0, 0, 0, 0, NULL, "2026-12-06T03:00:00Z");
}

#define DESK_WEEK "{\"from\": \"2026-12-01\", \"to\": \"2026-12-06\"}"

static void
s_expect_desk_week (fixture_t *f)
{
    json_t *o =
        kt_metrics_json (f->metrics.query, "orders.summary", SHOP, 0, 0, "agent", DESK_WEEK);
    assert_true (json_is_true (json_object_get (o, "source")));
    assert_int_equal (kt_json_num (o, "total.conversion.inquiring_customers"), 4);
    assert_int_equal (kt_json_num (o, "total.conversion.ordered_customers"), 2);
    assert_int_equal (kt_json_num (o, "total.conversion.paid_customers"), 1);
    assert_float_equal (kt_json_num (o, "total.conversion.rate"), 0.5, 1e-9);
    assert_float_equal (kt_json_num (o, "total.conversion.paid_rate"), 0.25, 1e-9);
    assert_int_equal (kt_json_num (o, "total.orders.created"), 5);
    assert_int_equal (kt_json_num (o, "total.orders.credited"), 2);
    assert_int_equal (kt_json_num (o, "total.orders.sales_cents"), 12000);
    assert_int_equal (kt_json_num (o, "total.orders.sales_orders"), 1);
    assert_int_equal (kt_json_num (o, "total.timeliness.due"), 3);
    assert_int_equal (kt_json_num (o, "total.timeliness.on_time"), 2);
    assert_int_equal (kt_json_num (o, "total.timeliness.late"), 1);
    assert_float_equal (kt_json_num (o, "total.timeliness.rate"), 2.0 / 3, 1e-9);
    assert_true (json_is_false (
        json_object_get (json_object_get (json_object_get (o, "total"), "timeliness"), "met")));
    assert_int_equal (kt_json_num (o, "total.reminders.sent"), 1);
    assert_int_equal (kt_json_num (o, "total.reminders.by_hand"), 1);
    assert_int_equal (json_array_size (json_object_get (o, "rows")), 2);
    assert_int_equal (kt_json_num (o, "rows.@xiaomei.served_customers"), 2);
    assert_int_equal (kt_json_num (o, "rows.@xiaomei.ordered_customers"), 1);
    assert_int_equal (kt_json_num (o, "rows.@xiaomei.paid_customers"), 1);
    assert_int_equal (kt_json_num (o, "rows.@xiaomei.orders_credited"), 1);
    assert_int_equal (kt_json_num (o, "rows.@xiaomei.sales_cents"), 12000);
    assert_int_equal (kt_json_num (o, "rows.@ajie.served_customers"), 1);
    assert_int_equal (kt_json_num (o, "rows.@ajie.ordered_customers"), 1);
    assert_int_equal (kt_json_num (o, "rows.@ajie.paid_customers"), 0);
    assert_int_equal (kt_json_num (o, "rows.@ajie.sales_cents"), 0);
    json_decref (o);

    json_t *a =
        kt_metrics_json (f->metrics.query, "aftersales.summary", SHOP, 0, 0, NULL, DESK_WEEK);
    assert_int_equal (kt_json_num (a, "complaints.opened"), 3);
    assert_int_equal (kt_json_num (a, "complaints.closed"), 1);
    assert_int_equal (kt_json_num (a, "complaints.overdue"), 1);
    assert_int_equal (kt_json_num (a, "complaints.open_at_end"), 3);
    assert_int_equal (kt_json_num (a, "complaints.carried_out"), 3);
    assert_int_equal (kt_json_num (a, "complaints.revisit.judged"), 2);
    assert_int_equal (kt_json_num (a, "complaints.revisit.within_3_days"), 1);
    assert_float_equal (kt_json_num (a, "complaints.revisit.rate"), 0.5, 1e-9);
    assert_int_equal (kt_json_num (a, "complaints.compensation_cents"), 6000);
    assert_int_equal (kt_json_num (a, "reviews.opened"), 2);
    assert_int_equal (kt_json_num (a, "reviews.closed"), 1);
    assert_int_equal (kt_json_num (a, "reviews.overdue"), 1);
    assert_int_equal (kt_json_num (a, "reviews.open_at_end"), 1);
    assert_int_equal (kt_json_num (a, "reviews.revisit.rate"), -1); //  null: none judged
    json_decref (a);
}

static void
test_order_and_aftersales_numbers_equal_the_hand_computed_values (void **state)
{
    fixture_t *f = *state;
    s_write_desk_week (f);
    kt_metrics_settle (&f->metrics, f->db);
    s_expect_desk_week (f);
    //  Killed and started again, then rebuilt from the event log: the same.
    kt_metrics_kill (&f->metrics);
    kt_metrics_start (&f->metrics, f->clock);
    //  Its query endpoint may be on another port now.
    snprintf (f->endpoint, sizeof f->endpoint, "KEFU_METRICS_ENDPOINT=%s", f->metrics.query);
    kt_metrics_settle (&f->metrics, f->db);
    s_expect_desk_week (f);
    char *reply = kt_metrics_command (&f->metrics, "REBUILD");
    assert_string_equal (reply, "OK");
    free (reply);
    kt_metrics_settle (&f->metrics, f->db);
    s_expect_desk_week (f);

    kt_run_t *r = &kt_kefuctl_last;
    KT_EXPECT (f->db, 0, f->endpoint, "kpi", SHOP, "--orders", "--from", "2026-12-01", "--to",
               "2026-12-06", "--by", "agent");
    assert_non_null (strstr (r->out, "询单转化率   50.0% (2 of 4 inquiring customers ordered)"));
    assert_non_null (strstr (r->out, "timeliness   66.7% (2 of 3 shipped before the cutoff), "
                                     "target 95%: missed"));
    assert_non_null (strstr (r->out, "xiaomei"));
    KT_EXPECT (f->db, 0, f->endpoint, "kpi", SHOP, "--orders", "--from", "2026-12-01", "--to",
               "2026-12-06", "--by", "agent", "--csv");
    assert_non_null (strstr (r->out, "\ntotal,4,2,1,0.5,2,12000,3,2,1\n"));
    assert_non_null (strstr (r->out, "\nxiaomei,2,1,1,0.5,1,12000,,,\n"));
    KT_EXPECT (f->db, 0, f->endpoint, "kpi", SHOP, "--aftersales", "--from", "2026-12-01", "--to",
               "2026-12-06", "--csv");
    assert_non_null (strstr (r->out, "\ncomplaints,3,1,1,3,3,1,2,6000,0.5\n"));
    assert_non_null (strstr (r->out, "\nreviews,2,1,1,1,0,0,0,0,\n"));
    KT_EXPECT (f->db, 0, f->endpoint, "kpi", SHOP, "--aftersales", "--from", "2026-12-01", "--to",
               "2026-12-06");
    assert_non_null (strstr (r->out, "50.0% (1 of 2)"));
    //  Refused: a grouping they do not have, both at once.
    KT_EXPECT (f->db, 2, f->endpoint, "kpi", SHOP, "--aftersales", "--by", "agent");
    assert_non_null (strstr (r->err, "invalid_value"));
    KT_EXPECT (f->db, 2, f->endpoint, "kpi", SHOP, "--aftersales", "--orders");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_months_scorecards_equal_the_hand_computed_values,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_item_without_data_is_null_with_a_reason, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_order_and_aftersales_numbers_equal_the_hand_computed_values, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_kefuctl_shows_scorecards_and_the_scheme, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
