/*  test_routing_model — the routing rules one by one, each on a fresh
    shop, with a driven clock (Monday 2026-11-23, Asia/Shanghai).

    Four agents: xiaomei (售前, capacity 2, VIP-capable), lingling (售前+售后,
    capacity 1), ajie (售后, capacity 2) on the day shift 08:30-17:30, and
    dawei (both groups, capacity 3) on the night shift 17:30-23:00. The sink
    records every decision; each test is named as the rule it checks. A
    whole shop day as a story is an integration test (test_metrics_exact). */
#include "kefu/v1/common.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "routing_model.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP        "demo-shop"
#define MAX_RECORDS 512

enum {
    PRE = KEFU__V1__INTENT__INTENT_PRESALES,
    BARGAIN = KEFU__V1__INTENT__INTENT_BARGAINING,
    LOGISTICS = KEFU__V1__INTENT__INTENT_LOGISTICS,
    COMPLAINT = KEFU__V1__INTENT__INTENT_COMPLAINT,
    URGE = KEFU__V1__INTENT__INTENT_URGE_SHIPPING
};

typedef struct {
    char what[16];     //  "assigned", "queued", "reply", "breach", "transfer"
    int64_t conv;      //  conversation
    char agent[64];    //  new owner / breached owner / transfer target
    char previous[64]; //  previous owner
    int reason;        //  AssignReason, AutoReplyKind
    char note[256];    //  handover note / reason
    char by[64];       //  who
    bool flag;         //  queued: after hours; breach: reassigned
    int position;      //  queue position
    char group[33];    //  group
} s_record_t;

typedef struct {
    s_record_t records[MAX_RECORDS];
    int count;
} s_log_t;

static s_log_t s_log;

static s_record_t *
s_add (const char *what, const routing_conv_t *conv)
{
    assert_true (s_log.count < MAX_RECORDS);
    s_record_t *r = &s_log.records[s_log.count++];
    memset (r, 0, sizeof *r);
    snprintf (r->what, sizeof r->what, "%s", what);
    r->conv = routing_conv_id (conv);
    snprintf (r->group, sizeof r->group, "%s", routing_conv_group (conv));
    return r;
}

static void
s_on_assigned (void *arg, const routing_assignment_t *a)
{
    (void) arg;
    s_record_t *r = s_add ("assigned", a->conv);
    snprintf (r->agent, sizeof r->agent, "%s", a->agent_id);
    snprintf (r->previous, sizeof r->previous, "%s", a->previous_agent_id);
    snprintf (r->note, sizeof r->note, "%s", a->note);
    snprintf (r->by, sizeof r->by, "%s", a->by);
    r->reason = a->reason;
}

static void
s_on_queued (void *arg, const char *shop, const routing_conv_t *conv, bool after_hours,
             int position)
{
    (void) arg;
    (void) shop;
    s_record_t *r = s_add ("queued", conv);
    r->flag = after_hours;
    r->position = position;
}

static void
s_on_reply (void *arg, const char *shop, const routing_conv_t *conv, int kind, const char *text)
{
    (void) arg;
    (void) shop;
    s_record_t *r = s_add ("reply", conv);
    r->reason = kind;
    snprintf (r->note, sizeof r->note, "%s", text);
}

static void
s_on_breach (void *arg, const char *shop, const routing_conv_t *conv, const char *agent,
             int64_t waited, int64_t threshold, bool reassigned)
{
    (void) arg;
    (void) shop;
    s_record_t *r = s_add ("breach", conv);
    snprintf (r->agent, sizeof r->agent, "%s", agent);
    r->flag = reassigned;
    r->position = (int) (threshold / 1000);
    assert_true (waited >= threshold);
}

static void
s_on_transfer (void *arg, const char *shop, const routing_conv_t *conv, const char *from,
               const char *to, const char *by, const char *reason)
{
    (void) arg;
    (void) shop;
    s_record_t *r = s_add ("transfer", conv);
    snprintf (r->previous, sizeof r->previous, "%s", from);
    snprintf (r->agent, sizeof r->agent, "%s", to);
    snprintf (r->by, sizeof r->by, "%s", by);
    snprintf (r->note, sizeof r->note, "%s", reason);
}

//  ---------------------------------------------------------------------

typedef struct {
    kf_clock_t *clock;
    routing_model_t *model;
} fixture_t;

//  Local Shanghai time on 2026-11-23 (day 0) or a later day.
static int64_t
s_at (int day, int h, int m, int s)
{
    return kf_clock_parse_utc ("2026-11-22T16:00:00Z") + day * 86400000LL +
           ((h * 60LL + m) * 60 + s) * 1000;
}

static void
s_goto (fixture_t *f, int day, int h, int m, int s)
{
    assert_int_equal (kf_clock_set (f->clock, s_at (day, h, m, s)), 0);
    routing_model_tick (f->model);
}

static int
s_find (const char *what, int64_t conv, int from)
{
    for (int i = from; i < s_log.count; i++)
        if (strcmp (s_log.records[i].what, what) == 0 && s_log.records[i].conv == conv)
            return i;
    return -1;
}

static int
s_count (const char *what, int64_t conv, int reason)
{
    int n = 0;
    for (int i = 0; i < s_log.count; i++)
        if (strcmp (s_log.records[i].what, what) == 0 && s_log.records[i].conv == conv &&
            (reason < 0 || s_log.records[i].reason == reason))
            n++;
    return n;
}

//  The last assignment of a conversation.
static const s_record_t *
s_last_assignment (int64_t conv)
{
    for (int i = s_log.count - 1; i >= 0; i--)
        if (strcmp (s_log.records[i].what, "assigned") == 0 && s_log.records[i].conv == conv)
            return &s_log.records[i];
    return NULL;
}

static void
s_agent (routing_shop_config_t *cfg, const char *id, int capacity, uint32_t groups, bool vip,
         const char *shift, const char *note)
{
    cfg->agents = realloc (cfg->agents, (size_t) (cfg->agent_count + 1) * sizeof *cfg->agents);
    routing_agent_config_t *a = &cfg->agents[cfg->agent_count++];
    memset (a, 0, sizeof *a);
    snprintf (a->agent_id, sizeof a->agent_id, "%s", id);
    snprintf (a->name, sizeof a->name, "%s", id);
    a->capacity = capacity;
    a->weight = 1;
    a->vip_capable = vip;
    a->active = true;
    a->groups = groups;
    a->schedule[0] = (routing_schedule_t){routing_shop_config_shift (cfg, shift), 0x7f, 1, 0};
    a->schedule_count = 1;
    a->handover_note = note ? strdup (note) : NULL;
}

static routing_shop_config_t *
s_config (void)
{
    routing_shop_config_t *cfg = routing_shop_config_new (SHOP);
    routing_shop_config_fill_defaults (cfg); //  presales=0 aftersales=1, day, night
    cfg->sla_reassign = true;
    s_agent (cfg, "xiaomei", 2, 1u << 0, true, "day", NULL);
    s_agent (cfg, "lingling", 1, 3u, false, "day", NULL);
    s_agent (cfg, "ajie", 2, 1u << 1, false, "day", "3号客户要换货，已登记");
    s_agent (cfg, "dawei", 3, 3u, false, "night", NULL);
    return cfg;
}

static int
s_setup (void **state)
{
    memset (&s_log, 0, sizeof s_log);
    fixture_t *f = calloc (1, sizeof *f);
    f->clock = kf_clock_new_manual (s_at (0, 8, 0, 0));
    routing_sink_t sink = {s_on_assigned, s_on_queued, s_on_reply, s_on_breach, s_on_transfer,
                           NULL,          NULL,        NULL,       NULL,        NULL};
    f->model = routing_model_new (f->clock, &sink);
    routing_shop_config_t *cfg = s_config ();
    assert_int_equal (routing_model_configure (f->model, &cfg), 0);
    assert_null (cfg);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    routing_model_destroy (&f->model);
    kf_clock_destroy (&f->clock);
    free (f);
    return 0;
}

static void
s_open (fixture_t *f, int64_t conv, int64_t customer, int intent, int priority, bool vip)
{
    routing_model_on_opened (f->model, SHOP, conv, customer,
                             KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT, "tb", intent, priority, vip,
                             kf_clock_now_ms (f->clock));
}

static void
s_customer_says (fixture_t *f, int64_t conv)
{
    routing_model_on_message (f->model, SHOP, conv, true, NULL, PRE, 0, kf_clock_now_ms (f->clock));
}

static void
s_agent_says (fixture_t *f, int64_t conv, const char *agent)
{
    routing_model_on_message (f->model, SHOP, conv, false, agent, 0, 0, kf_clock_now_ms (f->clock));
}

static void
s_presence (fixture_t *f, const char *agent, int status, const char *note)
{
    routing_model_on_presence (f->model, SHOP, agent, status, note, kf_clock_now_ms (f->clock));
}

static const char *
s_owner (fixture_t *f, int64_t conv)
{
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, conv);
    return c ? routing_conv_agent (c) : NULL;
}

static void
s_check_capacity (fixture_t *f)
{
    const char *agents[] = {"xiaomei", "lingling", "ajie", "dawei"};
    const int capacity[] = {2, 1, 2, 3};
    for (int i = 0; i < 4; i++) {
        int load = routing_model_agent_load (f->model, SHOP, agents[i]);
        assert_true (load <= capacity[i]);
    }
}

#define ONLINE  KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE
#define AWAY    KEFU__V1__AGENT_STATUS__AGENT_STATUS_AWAY
#define OFFLINE KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE
#define R(x)    KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_##x
#define BUSY    KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_BUSY
#define AFTER   KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_AFTER_HOURS

//  ---------------------------------------------------------------------
//  A shop day, one test per rule (the day as a story is an integration
//  test: test_metrics_exact pushes one through intake, routing and metrics)

//  Before every shift a customer waits, told once that it is after hours;
//  agents who log in early get nothing before their shift starts.
static void
test_before_the_shift_a_customer_waits_with_one_after_hours_reply (void **state)
{
    fixture_t *f = *state;
    s_open (f, 1, 101, PRE, 2, false);
    int q = s_find ("queued", 1, 0);
    assert_true (q >= 0);
    assert_true (s_log.records[q].flag); //  after hours
    s_customer_says (f, 1);
    assert_int_equal (s_count ("reply", 1, AFTER), 1);
    assert_int_equal (s_count ("reply", 1, BUSY), 0);
    s_goto (f, 0, 8, 20, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_presence (f, "lingling", ONLINE, NULL);
    assert_int_equal (s_count ("assigned", 1, -1), 0);
}

//  When the shift starts, the waiting customer is assigned at once, with
//  no second reply; equal room and idleness break the tie the same way.
static void
test_the_shift_start_assigns_the_waiting_customer_at_once (void **state)
{
    fixture_t *f = *state;
    s_open (f, 1, 101, PRE, 2, false);
    s_goto (f, 0, 8, 20, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_presence (f, "lingling", ONLINE, NULL);
    s_goto (f, 0, 8, 30, 0);
    const s_record_t *a = s_last_assignment (1);
    assert_non_null (a);
    assert_int_equal (a->reason, R (QUEUE));
    assert_string_equal (a->agent, "lingling");
    assert_int_equal (s_count ("reply", 1, -1), 1);
}

//  An agent never holds more than their capacity: the rest wait, each
//  with one busy reply (not the after-hours one: the shift is on).
static void
test_capacity_is_never_exceeded_and_the_rest_wait_with_one_busy_reply (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    for (int64_t c = 1; c <= 4; c++)
        s_open (f, c, 100 + c, PRE, 2, false);
    s_check_capacity (f);
    assert_string_equal (s_owner (f, 1), "xiaomei");
    assert_string_equal (s_owner (f, 2), "xiaomei");
    assert_int_equal (routing_model_agent_load (f->model, SHOP, "xiaomei"), 2);
    for (int64_t c = 3; c <= 4; c++) {
        assert_string_equal (s_owner (f, c), "");
        assert_int_equal (s_count ("reply", c, BUSY), 1);
        assert_int_equal (s_count ("reply", c, AFTER), 0);
    }
}

//  A VIP customer goes ahead of everyone of their class in the queue.
static void
test_a_vip_customer_goes_to_the_front_of_the_queue (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    s_open (f, 2, 102, PRE, 2, false);
    s_open (f, 4, 104, PRE, 2, false);
    s_goto (f, 0, 9, 0, 10);
    s_open (f, 5, 105, PRE, 2, false);
    s_goto (f, 0, 9, 0, 20);
    s_open (f, 6, 106, PRE, 2, true);
    int64_t queue[8];
    assert_int_equal (routing_model_queue (f->model, SHOP, "presales", queue, 8), 3);
    assert_int_equal (queue[0], 6);
    assert_int_equal (queue[1], 4);
    assert_int_equal (queue[2], 5);
}

//  In after-sales a complaint is served before logistics, whenever it came.
static void
test_a_complaint_is_served_before_logistics (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "ajie", ONLINE, NULL);
    s_open (f, 7, 107, LOGISTICS, 3, false);
    s_open (f, 8, 108, URGE, 3, false);
    s_open (f, 9, 109, LOGISTICS, 3, false);
    s_goto (f, 0, 9, 1, 0);
    s_open (f, 10, 110, COMPLAINT, 4, false);
    int64_t queue[8];
    assert_int_equal (routing_model_queue (f->model, SHOP, "aftersales", queue, 8), 2);
    assert_int_equal (queue[0], 10);
    assert_int_equal (queue[1], 9);
}

//  Room that frees goes to the head of the queue at once.
static void
test_freed_capacity_goes_to_the_head_of_the_queue_at_once (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    s_open (f, 2, 102, PRE, 2, false);
    s_open (f, 3, 103, PRE, 2, false);
    assert_string_equal (s_owner (f, 3), "");
    s_goto (f, 0, 9, 1, 30);
    routing_model_on_closed (f->model, SHOP, 1, kf_clock_now_ms (f->clock));
    const s_record_t *a = s_last_assignment (3);
    assert_non_null (a);
    assert_string_equal (a->agent, "xiaomei");
    assert_int_equal (a->reason, R (QUEUE));
}

//  A customer who waits longer than the group's overflow time (2 minutes)
//  moves to the next group, and waits there if nobody has room, without a
//  second busy reply.
static void
test_a_long_wait_overflows_to_the_next_group (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    s_open (f, 2, 102, PRE, 2, false);
    s_open (f, 3, 103, PRE, 2, false);
    s_goto (f, 0, 9, 1, 59);
    assert_string_equal (routing_conv_group (routing_model_conversation (f->model, SHOP, 3)),
                         "presales");
    s_goto (f, 0, 9, 2, 1);
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, 3);
    assert_string_equal (routing_conv_group (c), "aftersales");
    assert_int_equal (routing_conv_overflow_hops (c), 1);
    assert_string_equal (s_owner (f, 3), "");
    assert_int_equal (s_count ("reply", 3, -1), 1);
}

//  By day a customer unanswered for 30 s is a breach, reported for the
//  owner; with nobody else free in the group it stays with them.
static void
test_thirty_seconds_unanswered_by_day_is_a_breach (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 10, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 3, 103, PRE, 2, false);
    s_agent_says (f, 3, "xiaomei");
    s_customer_says (f, 3);
    s_goto (f, 0, 10, 0, 29);
    assert_int_equal (s_count ("breach", 3, -1), 0);
    s_goto (f, 0, 10, 0, 31);
    int b = s_find ("breach", 3, 0);
    assert_true (b >= 0);
    assert_string_equal (s_log.records[b].agent, "xiaomei");
    assert_int_equal (s_log.records[b].position, 30);
    assert_false (s_log.records[b].flag);
    assert_string_equal (s_owner (f, 3), "xiaomei");
}

//  The owner's answer stops the response clock.
static void
test_the_owners_answer_stops_the_response_clock (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 10, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 3, 103, PRE, 2, false);
    s_agent_says (f, 3, "xiaomei");
    s_customer_says (f, 3);
    s_goto (f, 0, 10, 0, 20);
    s_agent_says (f, 3, "xiaomei");
    s_goto (f, 0, 10, 5, 0);
    assert_int_equal (s_count ("breach", 3, -1), 0);
}

//  By night the threshold is 60 s: 45 s is fine, 61 s is a breach.
static void
test_the_night_threshold_is_sixty_seconds (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 18, 0, 0);
    s_presence (f, "dawei", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    assert_string_equal (s_owner (f, 1), "dawei");
    s_agent_says (f, 1, "dawei");
    s_customer_says (f, 1);
    s_goto (f, 0, 18, 0, 45);
    assert_int_equal (s_count ("breach", 1, -1), 0);
    s_goto (f, 0, 18, 1, 1);
    int b = s_find ("breach", 1, 0);
    assert_true (b >= 0);
    assert_int_equal (s_log.records[b].position, 60);
}

//  A transfer is an explicit act, recorded with who asked and why.
static void
test_a_transfer_is_recorded_with_who_and_why (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 10, 30, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 3, 103, PRE, 2, false);
    s_presence (f, "lingling", ONLINE, NULL);
    assert_string_equal (s_owner (f, 3), "xiaomei");
    kf_error_t err;
    assert_int_equal (routing_model_transfer (f->model, SHOP, 3, "lingling", "supervisor-li",
                                              "客户要求换人", &err),
                      0);
    int t = s_find ("transfer", 3, 0);
    assert_true (t >= 0);
    assert_string_equal (s_log.records[t].previous, "xiaomei");
    assert_string_equal (s_log.records[t].by, "supervisor-li");
    const s_record_t *a = s_last_assignment (3);
    assert_int_equal (a->reason, R (TRANSFER));
    assert_string_equal (a->agent, "lingling");
    assert_string_equal (a->note, "客户要求换人");
    assert_string_equal (a->by, "supervisor-li");
    assert_string_equal (s_owner (f, 3), "lingling");
}

//  A transfer to an agent without room, or of a conversation that is not
//  open, is refused and changes nothing.
static void
test_a_transfer_to_a_full_agent_or_of_an_unknown_conversation_is_refused (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 10, 30, 0);
    s_presence (f, "lingling", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false); //  lingling is full (capacity 1)
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 2, 102, PRE, 2, false);
    assert_string_equal (s_owner (f, 2), "xiaomei");
    kf_error_t err;
    assert_int_equal (routing_model_transfer (f->model, SHOP, 2, "lingling", "x", "y", &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_OVERLOADED);
    assert_int_equal (routing_model_transfer (f->model, SHOP, 999, "xiaomei", "x", "y", &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET);
    assert_string_equal (s_owner (f, 2), "xiaomei");
    assert_int_equal (s_find ("transfer", 2, 0), -1);
}

//  首问责任制: a returning customer goes back to the agent who served them,
//  while that agent has room.
static void
test_a_returning_customer_goes_back_to_their_agent (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_presence (f, "lingling", ONLINE, NULL);
    s_open (f, 1, 103, PRE, 2, false);
    char first[64];
    snprintf (first, sizeof first, "%s", s_owner (f, 1));
    s_agent_says (f, 1, first);
    routing_model_on_closed (f->model, SHOP, 1, kf_clock_now_ms (f->clock));
    s_goto (f, 0, 11, 0, 0);
    s_open (f, 2, 103, PRE, 2, false);
    const s_record_t *a = s_last_assignment (2);
    assert_int_equal (a->reason, R (STICKY));
    assert_string_equal (a->agent, first);
}

//  Served longer ago than the shop's sticky window (3 days): routed like
//  anyone else.
static void
test_a_customer_served_before_the_sticky_window_is_routed_like_anyone (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 11, 0, 0);
    s_presence (f, "ajie", ONLINE, NULL);
    s_presence (f, "xiaomei", ONLINE, NULL);
    routing_model_restore_served (f->model, SHOP, 120, "xiaomei",
                                  s_at (0, 11, 0, 0) - 4 * 86400000LL);
    s_open (f, 12, 120, PRE, 2, false);
    const s_record_t *a = s_last_assignment (12);
    assert_non_null (a);
    assert_int_not_equal (a->reason, R (STICKY));
}

//  An agent who is away gets nothing new; back, they take the head of the
//  queue at once.
static void
test_an_agent_away_gets_nothing_new_and_takes_the_queue_on_return (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 12, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_presence (f, "xiaomei", AWAY, NULL);
    s_open (f, 13, 113, PRE, 2, false);
    assert_string_equal (s_owner (f, 13), "");
    s_goto (f, 0, 12, 1, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    assert_string_equal (s_owner (f, 13), "xiaomei");
}

//  At the shift change open conversations go to the next shift, with the
//  handover note of the agent who leaves (from the configuration here).
static void
test_the_shift_change_hands_conversations_over_with_the_note (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "ajie", ONLINE, NULL);
    s_open (f, 10, 110, COMPLAINT, 4, false);
    assert_string_equal (s_owner (f, 10), "ajie");
    s_goto (f, 0, 17, 25, 0);
    s_presence (f, "dawei", ONLINE, NULL);
    assert_false (routing_model_on_shift (f->model, SHOP, "dawei"));
    assert_string_equal (s_owner (f, 10), "ajie");
    s_goto (f, 0, 17, 30, 0);
    assert_true (routing_model_on_shift (f->model, SHOP, "dawei"));
    assert_false (routing_model_on_shift (f->model, SHOP, "ajie"));
    assert_string_equal (s_owner (f, 10), "dawei");
    const s_record_t *a = s_last_assignment (10);
    assert_int_equal (a->reason, R (HANDOVER));
    assert_string_equal (a->previous, "ajie");
    assert_string_equal (a->note, "3号客户要换货，已登记");
}

//  When the last shift ends, open conversations wait for the morning, each
//  told once that it is after hours; the morning shift takes them.
static void
test_after_the_last_shift_conversations_wait_for_the_morning (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 22, 0, 0);
    s_presence (f, "dawei", ONLINE, NULL);
    s_presence (f, "xiaomei", ONLINE, NULL); //  still logged in tomorrow morning
    s_open (f, 1, 101, PRE, 2, false);
    assert_string_equal (s_owner (f, 1), "dawei");
    s_goto (f, 0, 23, 0, 0);
    routing_stats_t st;
    routing_model_stats (f->model, &st);
    assert_int_equal (st.assigned, 0);
    assert_int_equal (st.queued, 1);
    assert_int_equal (s_count ("reply", 1, AFTER), 1);
    s_goto (f, 1, 8, 30, 0);
    assert_string_equal (s_owner (f, 1), "xiaomei");
    assert_int_equal (s_count ("reply", 1, AFTER), 1);
}

//  With a colleague free, a breach moves the conversation to them.
static void
test_breach_reassigns_when_someone_is_free (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_presence (f, "lingling", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    const char *first = s_owner (f, 1);
    char owner[64];
    snprintf (owner, sizeof owner, "%s", first);
    s_customer_says (f, 1);
    s_goto (f, 0, 9, 0, 31);
    int b = s_find ("breach", 1, 0);
    assert_true (b >= 0);
    assert_true (s_log.records[b].flag);
    const s_record_t *a = s_last_assignment (1);
    assert_int_equal (a->reason, R (SLA));
    assert_string_equal (a->previous, owner);
    assert_string_not_equal (a->agent, owner);
}

//  Going offline hands everything over at once, with the note on the event.
static void
test_offline_hands_over_with_note (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_presence (f, "lingling", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    s_open (f, 2, 102, PRE, 2, false);
    s_open (f, 3, 103, PRE, 2, false); //  xiaomei 2, lingling 1
    assert_int_equal (routing_model_agent_load (f->model, SHOP, "xiaomei"), 2);
    //  lingling leaves: her conversation goes to xiaomei? No room: queued,
    //  ahead of later arrivals, busy reply once.
    int64_t lingling_conv = 0;
    for (int64_t c = 1; c <= 3; c++)
        if (strcmp (s_owner (f, c), "lingling") == 0)
            lingling_conv = c;
    assert_true (lingling_conv > 0);
    s_presence (f, "lingling", OFFLINE, "客户问的是M码，库存已查");
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, lingling_conv);
    assert_int_equal (routing_conv_state (c), ROUTING_QUEUED);
    //  xiaomei frees a slot: it goes to her, with lingling's note.
    int64_t xiaomei_conv = lingling_conv == 1 ? 2 : 1;
    routing_model_on_closed (f->model, SHOP, xiaomei_conv, kf_clock_now_ms (f->clock));
    const s_record_t *a = s_last_assignment (lingling_conv);
    assert_string_equal (a->agent, "xiaomei");
    assert_int_equal (a->reason, R (QUEUE));
    //  A direct handover when someone has room.
    s_presence (f, "lingling", ONLINE, NULL);
    s_presence (f, "xiaomei", OFFLINE, "交接：两位客户在等尺码表");
    for (int64_t k = 1; k <= 3; k++) {
        const routing_conv_t *conv = routing_model_conversation (f->model, SHOP, k);
        if (conv && routing_conv_state (conv) == ROUTING_ASSIGNED)
            assert_string_not_equal (routing_conv_agent (conv), "xiaomei");
    }
    bool handed = false;
    for (int i = 0; i < s_log.count; i++)
        if (strcmp (s_log.records[i].what, "assigned") == 0 &&
            s_log.records[i].reason == R (HANDOVER) &&
            strcmp (s_log.records[i].note, "交接：两位客户在等尺码表") == 0)
            handed = true;
    assert_true (handed);
}

//  An agent who answers a waiting customer on the platform owns the
//  conversation: recorded as a pickup by that agent, and it leaves the queue.
static void
test_agent_picks_up_a_waiting_customer (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    //  Nobody online: the customer waits.
    s_open (f, 1, 101, PRE, 2, false);
    assert_true (s_find ("queued", 1, 0) >= 0);
    assert_string_equal (s_owner (f, 1), "");
    s_goto (f, 0, 9, 1, 0);
    s_agent_says (f, 1, "xiaomei");
    const s_record_t *a = s_last_assignment (1);
    assert_non_null (a);
    assert_int_equal (a->reason, R (PICKUP));
    assert_string_equal (a->agent, "xiaomei");
    assert_string_equal (a->by, "xiaomei");
    assert_string_equal (s_owner (f, 1), "xiaomei");
    assert_int_equal (s_count ("assigned", 1, -1), 1);
    //  Once she is online, no second assignment comes from the queue.
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_goto (f, 0, 9, 2, 0);
    assert_int_equal (s_count ("assigned", 1, -1), 1);
}

//  A transfer names its target by the agent-id rule of every service
//  (kf_valid_agent_id): another id is refused as invalid, not looked up.
static void
test_a_transfer_to_an_id_outside_the_agent_rule_is_refused (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    assert_string_equal (s_owner (f, 1), "xiaomei");
    kf_error_t err;
    kf_error_clear (&err);
    assert_int_equal (routing_model_transfer (f->model, SHOP, 1, "小美", "x", "y", &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE);
    assert_non_null (strstr (err.reason, "to_agent_id"));
    assert_int_equal (s_find ("transfer", 1, 0), -1);
    assert_string_equal (s_owner (f, 1), "xiaomei");
}

//  ---------------------------------------------------------------------
//  A handover that finds nobody free

#define NOTE "tb_103 等退款，已催财务"

//  The conversation's latest change of owner was this one ("" = nobody).
static void
s_expect_last (int64_t conv, const char *agent, const char *previous, int reason, const char *note)
{
    const s_record_t *a = s_last_assignment (conv);
    assert_non_null (a);
    assert_string_equal (a->agent, agent);
    assert_string_equal (a->previous, previous);
    assert_int_equal (a->reason, reason);
    assert_string_equal (a->note, note);
}

//  09:00: xiaomei (2) and lingling (1) take the three pre-sales customers
//  1-3, so everyone of 售前 is full; then lingling goes offline with a
//  note. Returns her conversation.
static int64_t
s_lingling_leaves_a_full_team (fixture_t *f)
{
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_presence (f, "lingling", ONLINE, NULL);
    for (int64_t c = 1; c <= 3; c++)
        s_open (f, c, 100 + c, PRE, 2, false);
    int64_t hers = 0;
    for (int64_t c = 1; c <= 3; c++)
        if (strcmp (s_owner (f, c), "lingling") == 0)
            hers = c;
    assert_true (hers > 0);
    s_goto (f, 0, 9, 5, 0);
    s_presence (f, "lingling", OFFLINE, NOTE);
    return hers;
}

//  Nobody has room: the conversation goes back to the queue, and that is a
//  change of owner to nobody — previous owner, reason handover, the note,
//  by routing — numbered like every assignment, with the agent who left it
//  and the note kept on the waiting conversation.
static void
test_a_handover_nobody_has_room_for_is_a_change_of_owner_to_nobody (void **state)
{
    fixture_t *f = *state;
    int64_t hers = s_lingling_leaves_a_full_team (f);
    s_expect_last (hers, "", "lingling", R (HANDOVER), NOTE);
    assert_string_equal (s_last_assignment (hers)->by, "routing");
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, hers);
    assert_int_equal (routing_conv_state (c), ROUTING_QUEUED);
    assert_string_equal (routing_conv_agent (c), "");
    assert_int_equal (routing_conv_assign_seq (c), 2);
    assert_string_equal (routing_conv_handed_from (c), "lingling");
    assert_string_equal (routing_conv_handover_note (c), NOTE);
    assert_int_equal (routing_model_agent_load (f->model, SHOP, "lingling"), 0);
    //  The customer is told once that they wait; they wait ahead of later arrivals.
    assert_int_equal (s_count ("reply", hers, BUSY), 1);
    s_open (f, 4, 104, PRE, 2, false);
    int64_t queue[4];
    assert_int_equal (routing_model_queue (f->model, SHOP, "presales", queue, 4), 2);
    assert_int_equal (queue[0], hers);
}

//  At the end of a shift the configured note (kefuctl handover) goes with
//  the conversation back to the queue the same way.
static void
test_a_shift_end_nobody_has_room_for_records_the_configured_note (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 17, 0, 0);
    s_presence (f, "ajie", ONLINE, NULL);
    s_open (f, 1, 101, LOGISTICS, 3, false);
    assert_string_equal (s_owner (f, 1), "ajie");
    s_goto (f, 0, 17, 30, 0); //  dawei's night shift starts, but he is offline
    s_expect_last (1, "", "ajie", R (HANDOVER), "3号客户要换货，已登记");
    assert_string_equal (routing_conv_handed_from (routing_model_conversation (f->model, SHOP, 1)),
                         "ajie");
}

//  The agent comes back: taken from the queue (by them or anyone), the
//  conversation's assignment names the agent who left it as the previous
//  owner and carries their note; then the handover is done.
static void
test_the_note_goes_to_whoever_takes_it_from_the_queue (void **state)
{
    fixture_t *f = *state;
    int64_t hers = s_lingling_leaves_a_full_team (f);
    s_goto (f, 0, 9, 6, 0);
    s_presence (f, "lingling", ONLINE, NULL);
    s_expect_last (hers, "lingling", "lingling", R (QUEUE), NOTE);
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, hers);
    assert_int_equal (routing_conv_assign_seq (c), 3);
    assert_string_equal (routing_conv_handed_from (c), "");
    assert_string_equal (routing_conv_handover_note (c), "");
}

//  A note sent with an offline presence is for the conversations handed
//  over then: the agent's next handover does not repeat it.
static void
test_an_offline_note_goes_with_that_handover_only (void **state)
{
    fixture_t *f = *state;
    int64_t hers = s_lingling_leaves_a_full_team (f);
    s_goto (f, 0, 9, 6, 0);
    s_presence (f, "lingling", ONLINE, NULL);
    assert_string_equal (s_owner (f, hers), "lingling");
    s_presence (f, "lingling", OFFLINE, NULL);
    s_expect_last (hers, "", "lingling", R (HANDOVER), "");
}

//  A colleague who answers the waiting customer on the platform picks the
//  conversation up with the note.
static void
test_a_pickup_after_a_handover_carries_the_note (void **state)
{
    fixture_t *f = *state;
    int64_t hers = s_lingling_leaves_a_full_team (f);
    s_agent_says (f, hers, "ajie");
    s_expect_last (hers, "ajie", "lingling", R (PICKUP), NOTE);
}

//  Waiting too long, it overflows to the next group with the note, and is
//  served there with it.
static void
test_a_handed_back_conversation_overflows_with_its_note (void **state)
{
    fixture_t *f = *state;
    int64_t hers = s_lingling_leaves_a_full_team (f);
    s_goto (f, 0, 9, 7, 1); //  2 minutes in 售前: to 售后, where nobody is online
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, hers);
    assert_string_equal (routing_conv_group (c), "aftersales");
    assert_string_equal (routing_conv_handover_note (c), NOTE);
    s_presence (f, "ajie", ONLINE, NULL);
    s_expect_last (hers, "ajie", "lingling", R (OVERFLOW), NOTE);
}

//  After a restart the record's queued row brings the agent who left it
//  and the note back (routing_store reads them from the assignment trail).
static void
test_a_restored_handover_keeps_the_agent_and_the_note (void **state)
{
    fixture_t *f = *state;
    s_goto (f, 0, 9, 0, 0);
    routing_model_reset (f->model);
    routing_shop_config_t *cfg = s_config ();
    assert_int_equal (routing_model_configure (f->model, &cfg), 0);
    routing_conv_row_t row = {.conversation_id = 7,
                              .customer_id = 107,
                              .channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT,
                              .channel_customer_id = "tb_107",
                              .group = "presales",
                              .cls = ROUTING_CLASS_PRESALES,
                              .state = ROUTING_QUEUED,
                              .opened_at = s_at (0, 8, 50, 0),
                              .queued_at = s_at (0, 8, 50, 0),
                              .group_since = s_at (0, 8, 59, 0),
                              .busy_replied = true,
                              .assign_seq = 2,
                              .handed_from = "lingling",
                              .handover_note = NOTE};
    routing_model_restore_conversation (f->model, SHOP, &row);
    routing_model_settle (f->model);
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, 7);
    assert_string_equal (routing_conv_handed_from (c), "lingling");
    assert_string_equal (routing_conv_handover_note (c), NOTE);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_expect_last (7, "xiaomei", "lingling", R (QUEUE), NOTE);
    assert_int_equal (routing_conv_assign_seq (c), 3);
}

static void
test_who_served_whom_is_forgotten_after_the_sticky_window (void **state)
{
    fixture_t *f = *state;
    routing_stats_t st;
    for (int i = 0; i < 20; i++)
        routing_model_restore_served (f->model, SHOP, 1000 + i, "xiaomei", s_at (0, 9, 0, i));
    routing_model_restore_served (f->model, SHOP, 2000, "ajie", s_at (2, 9, 0, 0));
    routing_model_stats (f->model, &st);
    assert_int_equal (st.customers_remembered, 21);
    //  Day 3, 10:00: day 0's customers were served more than 3 days ago
    //  (sticky_days): forgotten a few at a time as others are served.
    s_goto (f, 3, 10, 0, 0);
    for (int i = 0; i < 3; i++)
        routing_model_restore_served (f->model, SHOP, 3000 + i, "ajie", s_at (3, 10, 0, 0));
    routing_model_stats (f->model, &st);
    assert_int_equal (st.customers_remembered, 1 + 3); //  day 2's and today's
    assert_int_equal (st.customers_forgotten, 20);
    //  Serving someone again keeps them: 2000 is now the most recent.
    routing_model_restore_served (f->model, SHOP, 2000, "ajie", s_at (3, 10, 0, 1));
    s_goto (f, 5, 10, 0, 0);
    routing_model_restore_served (f->model, SHOP, 4000, "ajie", s_at (5, 10, 0, 0));
    routing_model_stats (f->model, &st);
    assert_int_equal (st.customers_remembered, 5); //  nobody past the window yet
}

//  ---------------------------------------------------------------------
//  Quick replies (快捷短语)

//  The library of the tests: a greeting, two pre-sales phrases (one asks
//  for the order), one for urge shipping, one for bargaining.
static void
s_phrase (routing_shop_config_t *cfg, int64_t id, int key, const char *text)
{
    cfg->phrases = realloc (cfg->phrases, (size_t) (cfg->phrase_count + 1) * sizeof *cfg->phrases);
    cfg->phrases[cfg->phrase_count++] = (routing_phrase_t){id, key, strdup (text)};
}

static void
s_with_phrases (fixture_t *f)
{
    routing_shop_config_t *cfg = s_config ();
    snprintf (cfg->shop_name, sizeof cfg->shop_name, "%s", "测试旗舰店");
    s_phrase (cfg, 1, ROUTING_PHRASE_GREETING,
              "亲 您好 我是{shop_name}客服{agent_name} 很高兴为您服务");
    s_phrase (cfg, 2, BARGAIN, "亲 我们是品牌直营 价格已经是最低了哦");
    s_phrase (cfg, 3, PRE, "亲 订单{order_id}我帮您查一下");
    s_phrase (cfg, 4, PRE, "{customer_name} 亲 这款有现货的哦");
    s_phrase (cfg, 5, URGE,
              "亲 实在不好意思 我们最近的发货量比较大 我们尽量当天发货 最晚第二天发货");
    s_phrase (cfg, 6, PRE, "亲 尺码表在详情页最下面哦");
    assert_int_equal (routing_model_configure (f->model, &cfg), 0);
}

//  An assignment suggests the shop's greeting, then the phrases of the
//  conversation's intent in the library's order, placeholders filled in;
//  a phrase whose placeholder has no value yet ({order_id}) is skipped.
static void
test_an_assignment_suggests_the_greeting_then_the_intents_phrases_filled_in (void **state)
{
    fixture_t *f = *state;
    s_with_phrases (f);
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    assert_string_equal (s_owner (f, 1), "xiaomei");
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, 1);
    routing_suggestion_t out[ROUTING_SUGGESTIONS_MAX];
    assert_int_equal (routing_model_suggest (f->model, SHOP, c, "xiaomei", true, 3, out), 3);
    assert_int_equal (out[0].phrase_id, 1);
    assert_int_equal (out[0].intent, ROUTING_PHRASE_GREETING);
    assert_string_equal (out[0].text, "亲 您好 我是测试旗舰店客服xiaomei 很高兴为您服务");
    assert_int_equal (out[1].phrase_id, 4);
    assert_int_equal (out[1].intent, PRE);
    assert_string_equal (out[1].text, "tb 亲 这款有现货的哦");
    assert_int_equal (out[2].phrase_id, 6);
    //  Once an order is mentioned, its phrase fits, in its place.
    routing_model_note_order (f->model, SHOP, 1, "3712345678901234567");
    assert_int_equal (routing_model_suggest (f->model, SHOP, c, "xiaomei", false, 8, out), 3);
    assert_string_equal (out[0].text, "亲 订单3712345678901234567我帮您查一下");
    assert_int_equal (out[1].phrase_id, 4);
    assert_int_equal (out[2].phrase_id, 6);
    //  No more than asked for; none at all when asked for none.
    assert_int_equal (routing_model_suggest (f->model, SHOP, c, "xiaomei", true, 1, out), 1);
    assert_int_equal (out[0].phrase_id, 1);
    assert_int_equal (routing_model_suggest (f->model, SHOP, c, "xiaomei", true, 0, out), 0);
}

//  A customer's later message with another intent changes the
//  conversation's intent, and the owner is to get the new phrases; "other"
//  (谢谢) or the same intent again changes nothing, and a conversation
//  nobody owns yet asks for no suggestion (its assignment will carry them).
static void
test_a_new_intent_under_an_owner_asks_for_its_phrases (void **state)
{
    fixture_t *f = *state;
    s_with_phrases (f);
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    int64_t now = kf_clock_now_ms (f->clock);
    assert_false (routing_model_on_message (f->model, SHOP, 1, true, NULL, PRE, 2, now));
    assert_false (routing_model_on_message (f->model, SHOP, 1, true, NULL,
                                            KEFU__V1__INTENT__INTENT_OTHER, 2, now));
    assert_true (routing_model_on_message (f->model, SHOP, 1, true, NULL, URGE, 3, now));
    const routing_conv_t *c = routing_model_conversation (f->model, SHOP, 1);
    assert_int_equal (routing_conv_intent (c), URGE);
    routing_suggestion_t out[ROUTING_SUGGESTIONS_MAX];
    assert_int_equal (routing_model_suggest (f->model, SHOP, c, "xiaomei", false, 3, out), 1);
    assert_int_equal (out[0].phrase_id, 5);
    assert_int_equal (out[0].intent, URGE);
    assert_false (routing_model_on_message (f->model, SHOP, 1, false, "xiaomei", 0, 0, now));
    //  Queued (xiaomei's capacity is 2): no owner, no suggestion.
    s_open (f, 2, 102, PRE, 2, false);
    s_open (f, 3, 103, PRE, 2, false);
    assert_string_equal (s_owner (f, 3), "");
    assert_false (routing_model_on_message (f->model, SHOP, 3, true, NULL, BARGAIN, 2, now));
}

//  An agent's reply that is a phrase filled in for the conversation (and
//  for that agent) is that phrase used; anything else, even the template
//  itself, is not.
static void
test_a_reply_equal_to_a_filled_phrase_is_that_phrase_used (void **state)
{
    fixture_t *f = *state;
    s_with_phrases (f);
    s_goto (f, 0, 9, 0, 0);
    s_presence (f, "xiaomei", ONLINE, NULL);
    s_open (f, 1, 101, PRE, 2, false);
    int key = -1;
    assert_int_equal (routing_model_phrase_used (f->model, SHOP, 1, "xiaomei",
                                                 "亲 您好 我是测试旗舰店客服xiaomei 很高兴为您服务",
                                                 &key),
                      1);
    assert_int_equal (key, ROUTING_PHRASE_GREETING);
    assert_int_equal (routing_model_phrase_used (f->model, SHOP, 1, "xiaomei",
                                                 "亲 我们是品牌直营 价格已经是最低了哦", &key),
                      2);
    assert_int_equal (key, BARGAIN);
    //  Filled for another agent, the template, a changed word: not a use.
    assert_int_equal (routing_model_phrase_used (f->model, SHOP, 1, "lingling",
                                                 "亲 您好 我是测试旗舰店客服xiaomei 很高兴为您服务",
                                                 &key),
                      0);
    assert_int_equal (routing_model_phrase_used (f->model, SHOP, 1, "xiaomei",
                                                 "{customer_name} 亲 这款有现货的哦", &key),
                      0);
    assert_int_equal (
        routing_model_phrase_used (f->model, SHOP, 1, "xiaomei", "亲 这款有现货的哦！", &key), 0);
    assert_int_equal (routing_model_phrase_used (f->model, SHOP, 99, "xiaomei",
                                                 "亲 我们是品牌直营 价格已经是最低了哦", &key),
                      0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_before_the_shift_a_customer_waits_with_one_after_hours_reply, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_the_shift_start_assigns_the_waiting_customer_at_once,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_capacity_is_never_exceeded_and_the_rest_wait_with_one_busy_reply, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_a_vip_customer_goes_to_the_front_of_the_queue,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_complaint_is_served_before_logistics, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_freed_capacity_goes_to_the_head_of_the_queue_at_once,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_long_wait_overflows_to_the_next_group, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_thirty_seconds_unanswered_by_day_is_a_breach, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_the_owners_answer_stops_the_response_clock, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_the_night_threshold_is_sixty_seconds, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_transfer_is_recorded_with_who_and_why, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_transfer_to_a_full_agent_or_of_an_unknown_conversation_is_refused, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_a_returning_customer_goes_back_to_their_agent,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_customer_served_before_the_sticky_window_is_routed_like_anyone, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_an_agent_away_gets_nothing_new_and_takes_the_queue_on_return, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_the_shift_change_hands_conversations_over_with_the_note, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_after_the_last_shift_conversations_wait_for_the_morning, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_breach_reassigns_when_someone_is_free, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_offline_hands_over_with_note, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_agent_picks_up_a_waiting_customer, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_transfer_to_an_id_outside_the_agent_rule_is_refused,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_handover_nobody_has_room_for_is_a_change_of_owner_to_nobody, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_shift_end_nobody_has_room_for_records_the_configured_note, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_the_note_goes_to_whoever_takes_it_from_the_queue,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_offline_note_goes_with_that_handover_only, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_pickup_after_a_handover_carries_the_note, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_handed_back_conversation_overflows_with_its_note,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_restored_handover_keeps_the_agent_and_the_note,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_who_served_whom_is_forgotten_after_the_sticky_window,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_an_assignment_suggests_the_greeting_then_the_intents_phrases_filled_in, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_a_new_intent_under_an_owner_asks_for_its_phrases,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_reply_equal_to_a_filled_phrase_is_that_phrase_used,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
