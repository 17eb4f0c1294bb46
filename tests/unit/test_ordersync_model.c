/*  test_ordersync_model — the order rules one by one, on a driven clock
    (Monday 2026-11-23, shop in Asia/Shanghai: 08:00 local = 00:00 UTC).

    The sink records every event, command, cancellation and refusal; each
    test states one rule and checks what the model decided. */
#include "kefu/v1/gateway.pb-c.h"
#include "kefu/v1/orders.pb-c.h"
#include "kf_clock.h"
#include "ordersync_model.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP  "demo-shop"
#define MAX_R 256
#define HOUR  (3600 * 1000LL)
#define MIN   (60 * 1000LL)

//  2026-11-23 08:00 Shanghai.
#define DAY0 1795392000000LL
//  Local time hh:mm on day d (0 = Monday 23rd).
#define AT(d, hh, mm) (DAY0 + (d) *24 * HOUR + ((hh) -8) * HOUR + (mm) *MIN)

enum {
    CREATED = KEFU__V1__ORDER_STATE__ORDER_CREATED,
    PAID = KEFU__V1__ORDER_STATE__ORDER_PAID,
    SHIPPED = KEFU__V1__ORDER_STATE__ORDER_SHIPPED,
    DELIVERED = KEFU__V1__ORDER_STATE__ORDER_DELIVERED,
    ONLINE = KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE,
    COD = KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY,
};

typedef struct {
    char what[16];  //  "event", "command", "cancel", "refused", "changed"
    char order[64]; //  order id
    char kind[32];  //  event kind / request id
    char flag[16];  //  event flag / command audience
    char task[32];  //  event task
    char note[256]; //  event note / command text
    char agent[64]; //  event agent
    int n;          //  reminder kind / refusal reason / previous state
} s_record_t;

typedef struct {
    s_record_t r[MAX_R];
    int count;
    ordersync_order_t last; //  the last row handed to the sink (the record's)
    kf_clock_t *clock;
    ordersync_model_t *model;
} s_fix_t;

static s_record_t *
s_add (s_fix_t *f, const char *what, const char *order)
{
    assert_true (f->count < MAX_R);
    s_record_t *r = &f->r[f->count++];
    memset (r, 0, sizeof *r);
    snprintf (r->what, sizeof r->what, "%s", what);
    snprintf (r->order, sizeof r->order, "%s", order);
    return r;
}

static void
s_changed (void *arg, const char *shop, const ordersync_order_t *o, const ordersync_snapshot_t *s)
{
    (void) shop, (void) s;
    s_add (arg, "changed", o->order_id);
    ((s_fix_t *) arg)->last = *o;
}

static void
s_event (void *arg, const char *shop, const ordersync_order_t *o, const char *kind, int previous,
         const char *flag, const char *task, const char *note, const char *agent)
{
    (void) shop;
    s_record_t *r = s_add (arg, "event", o->order_id);
    snprintf (r->kind, sizeof r->kind, "%s", kind);
    snprintf (r->flag, sizeof r->flag, "%s", flag);
    snprintf (r->task, sizeof r->task, "%s", task);
    snprintf (r->note, sizeof r->note, "%s", note);
    snprintf (r->agent, sizeof r->agent, "%s", agent);
    r->n = previous;
}

static void
s_command (void *arg, const char *shop, const ordersync_order_t *o, const ordersync_command_t *c)
{
    (void) shop;
    s_record_t *r = s_add (arg, "command", o->order_id);
    snprintf (r->kind, sizeof r->kind, "%s", c->request_id);
    snprintf (r->flag, sizeof r->flag, "%s", c->notice ? c->audience : "");
    snprintf (r->note, sizeof r->note, "%s", c->text);
    r->n = c->reminder_kind;
}

static void
s_agent_changed (void *arg, const char *shop, const char *agent_id, bool on_shift, bool offline)
{
    (void) shop;
    s_add (arg, "agent", agent_id)->n = (on_shift ? 1 : 0) + (offline ? 2 : 0);
}

static void
s_cancel (void *arg, const char *shop, const char *request_id)
{
    (void) shop;
    s_record_t *r = s_add (arg, "cancel", "");
    snprintf (r->kind, sizeof r->kind, "%s", request_id);
}

static void
s_refused (void *arg, const char *shop, const ordersync_snapshot_t *snap,
           const ordersync_order_t *o, ordersync_outcome_t why)
{
    (void) shop, (void) o;
    s_record_t *r = s_add (arg, "refused", snap->order_id);
    r->n = (int) why;
}

//  How many records of `what` (and kind/request id, if not NULL) for order.
static int
s_count (s_fix_t *f, const char *what, const char *order, const char *kind)
{
    int n = 0;
    for (int i = 0; i < f->count; i++)
        if (strcmp (f->r[i].what, what) == 0 && (!order || strcmp (f->r[i].order, order) == 0) &&
            (!kind || strcmp (f->r[i].kind, kind) == 0))
            n++;
    return n;
}

static const s_record_t *
s_find (s_fix_t *f, const char *what, const char *order, const char *kind)
{
    for (int i = f->count - 1; i >= 0; i--)
        if (strcmp (f->r[i].what, what) == 0 && strcmp (f->r[i].order, order) == 0 &&
            (!kind || strcmp (f->r[i].kind, kind) == 0))
            return &f->r[i];
    return NULL;
}

static ordersync_model_t *
s_model (s_fix_t *f)
{
    ordersync_sink_t sink = {.changed = s_changed,
                             .event = s_event,
                             .command = s_command,
                             .cancel = s_cancel,
                             .refused = s_refused,
                             .agent_changed = s_agent_changed,
                             .arg = f};
    ordersync_model_t *m = ordersync_model_new (f->clock, &sink);
    ordersync_settings_t s;
    ordersync_settings_defaults (&s, SHOP);
    assert_int_equal (ordersync_model_configure (m, &s), 0);
    return m;
}

static int
s_setup (void **state)
{
    s_fix_t *f = calloc (1, sizeof *f);
    f->clock = kf_clock_new_manual (AT (0, 8, 0));
    f->model = s_model (f);
    ordersync_model_tick (f->model); //  yesterday's 16:00: nothing to remind
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fix_t *f = *state;
    ordersync_model_destroy (&f->model);
    kf_clock_destroy (&f->clock);
    free (f);
    return 0;
}

//  A snapshot of order id for customer 7 (tb_buyer), modified at `modified`.
static ordersync_snapshot_t
s_snap (const char *id, int state, int payment, int64_t created, int64_t modified)
{
    ordersync_snapshot_t s = {.order_id = id,
                              .customer_id = 7,
                              .channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT,
                              .channel_customer_id = "tb_buyer",
                              .state = state,
                              .payment = payment,
                              .amount_cents = 19900,
                              .currency = "CNY",
                              .created_at = created,
                              .modified_at = modified,
                              .tracking_no = ""};
    if (state >= PAID && payment == ONLINE)
        s.paid_at = modified;
    return s;
}

static void
s_move (s_fix_t *f, int64_t to)
{
    assert_int_equal (kf_clock_set (f->clock, to), 0);
    ordersync_model_tick (f->model);
}

static ordersync_outcome_t
s_feed (s_fix_t *f, const ordersync_snapshot_t *s)
{
    return ordersync_model_on_update (f->model, SHOP, s);
}

//  ---------------------------------------------------------------------

static void
test_a_newer_snapshot_wins_and_an_older_one_is_refused (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t created = s_snap ("O1", CREATED, ONLINE, AT (0, 9, 0), AT (0, 9, 0));
    ordersync_snapshot_t paid = s_snap ("O1", PAID, ONLINE, AT (0, 9, 0), AT (0, 9, 5));
    assert_int_equal (s_feed (f, &paid), ORDERSYNC_APPLIED);
    //  The older snapshot arrives late: refused, counted, reported.
    assert_int_equal (s_feed (f, &created), ORDERSYNC_STALE);
    assert_int_equal (ordersync_model_order (f->model, SHOP, "O1")->state, PAID);
    assert_int_equal (ordersync_model_order (f->model, SHOP, "O1")->refused, 1);
    assert_int_equal (s_count (f, "refused", "O1", NULL), 1);
    ordersync_stats_t st;
    ordersync_model_stats (f->model, &st);
    assert_int_equal (st.stale, 1);
    assert_int_equal (s_count (f, "event", "O1", "order.created"), 1);
    assert_int_equal (s_count (f, "event", "O1", "order.paid"), 1);
}

static void
test_a_repeated_snapshot_changes_nothing_and_at_equal_time_the_further_state_wins (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t paid = s_snap ("O2", PAID, ONLINE, AT (0, 9, 0), AT (0, 9, 5));
    ordersync_snapshot_t created = s_snap ("O2", CREATED, ONLINE, AT (0, 9, 0), AT (0, 9, 5));
    assert_int_equal (s_feed (f, &created), ORDERSYNC_APPLIED);
    assert_int_equal (s_feed (f, &paid), ORDERSYNC_APPLIED); //  same time, further: wins
    int before = f->count;
    assert_int_equal (s_feed (f, &paid), ORDERSYNC_REPEAT);
    assert_int_equal (f->count, before); //  nothing decided, nothing written
    assert_int_equal (ordersync_model_order (f->model, SHOP, "O2")->state, PAID);
}

static void
test_an_impossible_move_is_refused_and_kept_for_review (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t shipped = s_snap ("O3", SHIPPED, ONLINE, AT (0, 9, 0), AT (0, 10, 0));
    ordersync_snapshot_t back = s_snap ("O3", CREATED, ONLINE, AT (0, 9, 0), AT (0, 11, 0));
    assert_int_equal (s_feed (f, &shipped), ORDERSYNC_APPLIED);
    assert_int_equal (s_feed (f, &back), ORDERSYNC_REFUSED);
    assert_int_equal (ordersync_model_order (f->model, SHOP, "O3")->state, SHIPPED);
    const s_record_t *r = s_find (f, "refused", "O3", NULL);
    assert_non_null (r);
    assert_int_equal (r->n, ORDERSYNC_REFUSED);
    assert_false (ordersync_move_allowed (SHIPPED, CREATED));
    assert_false (ordersync_move_allowed (KEFU__V1__ORDER_STATE__ORDER_CLOSED, PAID));
    assert_true (ordersync_move_allowed (CREATED, SHIPPED)); //  cash on delivery
}

static void
test_unpaid_orders_are_reminded_once_at_the_reminder_time (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t morning = s_snap ("U1", CREATED, ONLINE, AT (0, 10, 0), AT (0, 10, 0));
    ordersync_snapshot_t paid = s_snap ("U2", PAID, ONLINE, AT (0, 11, 0), AT (0, 11, 1));
    ordersync_snapshot_t evening = s_snap ("U3", CREATED, ONLINE, AT (0, 17, 0), AT (0, 17, 0));
    s_feed (f, &morning);
    s_feed (f, &paid);
    s_move (f, AT (0, 15, 59));
    assert_int_equal (s_count (f, "command", NULL, NULL), 0);
    s_move (f, AT (0, 16, 0));
    assert_int_equal (s_count (f, "command", "U1", "remind:U1"), 1);
    const s_record_t *c = s_find (f, "command", "U1", "remind:U1");
    assert_int_equal (c->n, KEFU__V1__REMINDER_KIND__REMINDER_UNPAID);
    assert_non_null (strstr (c->note, "U1")); //  the template names the order
    const s_record_t *blue = s_find (f, "event", "U1", "order.flagged");
    assert_string_equal (blue->flag, "blue");
    assert_int_equal (s_count (f, "command", "U2", NULL), 0);
    //  The feed sends it again, the clock moves on: no second reminder.
    s_feed (f, &evening);
    ordersync_snapshot_t again = morning;
    again.modified_at = AT (0, 16, 30);
    assert_int_equal (s_feed (f, &again), ORDERSYNC_APPLIED);
    s_move (f, AT (0, 23, 0));
    assert_int_equal (s_count (f, "command", "U1", NULL), 1);
    assert_int_equal (s_count (f, "command", "U3", NULL), 0);
    //  Next day: the evening order (created after yesterday's 16:00).
    s_move (f, AT (1, 16, 0));
    assert_int_equal (s_count (f, "command", "U1", NULL), 1);
    assert_int_equal (s_count (f, "command", "U3", "remind:U3"), 1);
}

//  A tick may stop after some orders: the rest stay due now and the next
//  tick takes them; each order is reminded once.
static void
test_a_tick_at_most_n_leaves_the_rest_due_for_the_next (void **state)
{
    s_fix_t *f = *state;
    const char *ids[] = {"N1", "N2", "N3", "N4", "N5"};
    ordersync_snapshot_t snaps[5];
    for (int i = 0; i < 5; i++) {
        snaps[i] = s_snap (ids[i], CREATED, ONLINE, AT (0, 10, i), AT (0, 10, i));
        s_feed (f, &snaps[i]);
    }
    assert_int_equal (kf_clock_set (f->clock, AT (0, 16, 0)), 0);
    assert_int_equal (ordersync_model_tick_at_most (f->model, 2), 2);
    assert_int_equal (s_count (f, "command", NULL, NULL), 2);
    assert_true (ordersync_model_next_deadline (f->model) <= AT (0, 16, 0));
    assert_int_equal (ordersync_model_tick_at_most (f->model, 2), 2);
    assert_int_equal (ordersync_model_tick_at_most (f->model, 2), 1);
    assert_int_equal (ordersync_model_tick_at_most (f->model, 2), 0);
    assert_true (ordersync_model_next_deadline (f->model) > AT (0, 16, 0));
    for (int i = 0; i < 5; i++)
        assert_int_equal (s_count (f, "command", ids[i], NULL), 1);
}

static void
test_a_restart_past_the_reminder_time_reminds_only_what_was_not_decided (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t a = s_snap ("R1", CREATED, ONLINE, AT (0, 10, 0), AT (0, 10, 0));
    ordersync_snapshot_t b = s_snap ("R2", CREATED, ONLINE, AT (0, 11, 0), AT (0, 11, 0));
    s_feed (f, &a);
    s_feed (f, &b);
    s_move (f, AT (0, 16, 0));
    assert_int_equal (s_count (f, "command", NULL, NULL), 2);
    //  The record after a crash in the middle: R1's decision committed, R2's not.
    ordersync_order_t r1 = *ordersync_model_order (f->model, SHOP, "R1");
    ordersync_order_t r2 = *ordersync_model_order (f->model, SHOP, "R2");
    r2.reminded_at = 0;
    ordersync_model_destroy (&f->model);
    f->count = 0;
    kf_clock_set (f->clock, AT (0, 16, 0) + 500);
    f->model = s_model (f);
    ordersync_model_restore_order (f->model, SHOP, &r1);
    ordersync_model_restore_order (f->model, SHOP, &r2);
    ordersync_model_tick (f->model);
    assert_int_equal (s_count (f, "command", "R1", NULL), 0);
    assert_int_equal (s_count (f, "command", "R2", "remind:R2"), 1);
}

static void
test_payment_cancels_a_reminder_that_has_not_gone_out (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t s = s_snap ("P1", CREATED, ONLINE, AT (0, 10, 0), AT (0, 10, 0));
    s_feed (f, &s);
    s_move (f, AT (0, 16, 0));
    ordersync_snapshot_t paid = s_snap ("P1", PAID, ONLINE, AT (0, 10, 0), AT (0, 16, 0) + 200);
    s_feed (f, &paid);
    assert_int_equal (s_count (f, "cancel", NULL, "remind:P1"), 1);
}

static void
test_a_blue_flag_set_by_hand_means_kefu_does_not_remind (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t s = s_snap ("B1", CREATED, ONLINE, AT (0, 10, 0), AT (0, 10, 0));
    s_feed (f, &s);
    assert_int_equal (ordersync_model_on_flag (
                          f->model, SHOP, "B1", KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_BLUE,
                          KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_REMINDED, "已催", "xiaomei"),
                      0);
    s_move (f, AT (0, 16, 0));
    assert_int_equal (s_count (f, "command", "B1", NULL), 0);
    assert_int_equal (ordersync_model_on_flag (f->model, SHOP, "nope", 1, 0, "", "x"), -1);
}

static void
test_a_cod_order_is_the_task_of_the_agent_who_served_the_buyer_then_of_supervisors (void **state)
{
    s_fix_t *f = *state;
    ordersync_model_on_reply (f->model, SHOP, 7, "xiaomei", 11, AT (0, 9, 30));
    ordersync_model_on_shift (f->model, SHOP, "xiaomei", true);
    s_move (f, AT (0, 10, 0));
    ordersync_snapshot_t s = s_snap ("C1", CREATED, COD, AT (0, 9, 59), AT (0, 10, 0));
    s_feed (f, &s);
    const s_record_t *task = s_find (f, "event", "C1", "order.task_due");
    assert_string_equal (task->task, "cod_confirm");
    assert_string_equal (task->agent, "xiaomei");
    const s_record_t *notice = s_find (f, "command", "C1", "cod:C1");
    assert_string_equal (notice->flag, "xiaomei");
    //  A COD order is not an unpaid order: no reminder at 16:00.
    //  Unconfirmed after two hours: the supervisors are told, once.
    s_move (f, AT (0, 11, 59));
    assert_int_equal (s_count (f, "command", "C1", "cod-overdue:C1"), 0);
    s_move (f, AT (0, 12, 0));
    assert_int_equal (s_count (f, "command", "C1", "cod-overdue:C1"), 1);
    assert_string_equal (s_find (f, "command", "C1", "cod-overdue:C1")->flag, "supervisors");
    s_move (f, AT (0, 17, 0));
    assert_int_equal (s_count (f, "command", "C1", "cod-overdue:C1"), 1);
    assert_int_equal (s_count (f, "command", "C1", "remind:C1"), 0);

    //  Nobody served this buyer: the COD group owns it; confirmed in time: no notice.
    ordersync_snapshot_t s2 = s_snap ("C2", CREATED, COD, AT (0, 17, 0), AT (0, 17, 0));
    s2.customer_id = 8;
    s_feed (f, &s2);
    assert_string_equal (s_find (f, "event", "C2", "order.task_due")->agent, "presales");
    ordersync_model_on_flag (f->model, SHOP, "C2", KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_GREEN,
                             KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_COD_CONFIRMED, "已确认",
                             "lingling");
    s_move (f, AT (0, 20, 0));
    assert_int_equal (s_count (f, "command", "C2", "cod-overdue:C2"), 0);
}

//  The owner of a new COD order's confirmation, buyer 7 served by xiaomei.
static const char *
s_cod_owner (s_fix_t *f, const char *order)
{
    ordersync_snapshot_t s = s_snap (order, CREATED, COD, AT (0, 10, 0), AT (0, 10, 0));
    s_feed (f, &s);
    return s_find (f, "event", order, "order.task_due")->agent;
}

static void
test_a_cod_task_goes_to_the_agent_who_served_only_while_on_shift_and_not_offline (void **state)
{
    s_fix_t *f = *state;
    ordersync_model_on_reply (f->model, SHOP, 7, "xiaomei", 11, AT (0, 9, 30));
    s_move (f, AT (0, 10, 0));
    //  Routing never said xiaomei is on shift: the COD group.
    assert_string_equal (s_cod_owner (f, "K1"), "presales");
    ordersync_model_on_shift (f->model, SHOP, "xiaomei", true);
    assert_string_equal (s_cod_owner (f, "K2"), "xiaomei");
    //  On shift but gone offline, then back.
    ordersync_model_on_presence (f->model, SHOP, "xiaomei",
                                 KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE);
    assert_string_equal (s_cod_owner (f, "K3"), "presales");
    ordersync_model_on_presence (f->model, SHOP, "xiaomei",
                                 KEFU__V1__AGENT_STATUS__AGENT_STATUS_BUSY);
    assert_string_equal (s_cod_owner (f, "K4"), "xiaomei");
    //  Her shift ends.
    ordersync_model_on_shift (f->model, SHOP, "xiaomei", false);
    assert_string_equal (s_cod_owner (f, "K5"), "presales");
    assert_string_equal (s_find (f, "command", "K5", "cod:K5")->flag, "presales");
}

static void
test_what_is_known_of_an_agent_is_reported_for_the_record_and_restored (void **state)
{
    s_fix_t *f = *state;
    ordersync_model_on_shift (f->model, SHOP, "xiaomei", true);
    ordersync_model_on_shift (f->model, SHOP, "xiaomei", true); //  no change: not reported
    ordersync_model_on_presence (f->model, SHOP, "xiaomei",
                                 KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE);
    assert_int_equal (s_count (f, "agent", "xiaomei", NULL), 2);
    assert_int_equal (s_find (f, "agent", "xiaomei", NULL)->n, 1 + 2); //  on shift, offline
    //  A model rebuilt from the record knows the same.
    ordersync_model_t *m = s_model (f);
    ordersync_model_restore_agent (m, SHOP, "xiaomei", true, false);
    assert_true (ordersync_model_available (m, SHOP, "xiaomei"));
    assert_false (ordersync_model_available (m, SHOP, "lingling"));
    ordersync_model_destroy (&m);
}

static void
test_the_cod_notice_counts_shop_hours_only (void **state)
{
    s_fix_t *f = *state;
    //  Opened at 22:30: half an hour before closing (23:00), an hour and a
    //  half after opening (08:30) the next day: due at 10:00.
    s_move (f, AT (0, 22, 30));
    ordersync_snapshot_t s = s_snap ("N1", CREATED, COD, AT (0, 22, 30), AT (0, 22, 30));
    s_feed (f, &s);
    assert_int_equal (ordersync_model_next_deadline (f->model), AT (1, 10, 0));
    s_move (f, AT (1, 0, 30));
    s_move (f, AT (1, 9, 59));
    assert_int_equal (s_count (f, "command", "N1", "cod-overdue:N1"), 0);
    s_move (f, AT (1, 10, 0));
    assert_int_equal (s_count (f, "command", "N1", "cod-overdue:N1"), 1);
}

static void
test_shop_hours_may_run_past_midnight_or_all_day (void **state)
{
    s_fix_t *f = *state;
    ordersync_settings_t s;
    ordersync_settings_defaults (&s, SHOP);
    s.open_minute = 20 * 60; //  20:00-02:00
    s.close_minute = 2 * 60;
    assert_int_equal (ordersync_model_configure (f->model, &s), 0);
    //  01:00 + 2 h: one hour to 02:00, one from 20:00.
    assert_int_equal (ordersync_model_after_shop_hours (f->model, SHOP, AT (1, 1, 0), 2 * HOUR),
                      AT (1, 21, 0));
    //  Before opening: counting starts at 20:00.
    assert_int_equal (ordersync_model_after_shop_hours (f->model, SHOP, AT (0, 12, 0), 3 * HOUR),
                      AT (0, 23, 0));
    s.open_minute = s.close_minute = 0; //  all day
    assert_int_equal (ordersync_model_configure (f->model, &s), 0);
    assert_int_equal (ordersync_model_after_shop_hours (f->model, SHOP, AT (0, 23, 0), 2 * HOUR),
                      AT (1, 1, 0));
}

static void
test_a_settled_order_leaves_memory_and_is_read_back_for_its_next_snapshot (void **state)
{
    s_fix_t *f = *state;
    s_move (f, AT (0, 11, 0));
    ordersync_snapshot_t created = s_snap ("S1", CREATED, ONLINE, AT (0, 10, 0), AT (0, 10, 0));
    s_feed (f, &created);
    assert_non_null (ordersync_model_order (f->model, SHOP, "S1")); //  may be reminded
    ordersync_snapshot_t done = s_snap ("S1", DELIVERED, ONLINE, AT (0, 10, 0), AT (0, 11, 0));
    done.paid_at = AT (0, 10, 30);
    assert_int_equal (s_feed (f, &done), ORDERSYNC_APPLIED);
    //  Delivered, nothing open: its row went to the sink; once that is
    //  committed, memory forgets it.
    assert_non_null (ordersync_model_order (f->model, SHOP, "S1"));
    ordersync_model_forget_settled (f->model);
    assert_null (ordersync_model_order (f->model, SHOP, "S1"));
    assert_int_equal (f->last.state, DELIVERED);
    //  An order created up to S1 may be one memory let go of; a later one not.
    assert_true (ordersync_model_may_be_settled (f->model, SHOP, AT (0, 10, 0)));
    assert_false (ordersync_model_may_be_settled (f->model, SHOP, AT (0, 10, 1)));
    assert_true (ordersync_model_may_be_settled (f->model, SHOP, 0));
    ordersync_stats_t st;
    ordersync_model_stats (f->model, &st);
    assert_int_equal (st.forgotten, 1);
    assert_int_equal (st.orders, 0);
    //  A late snapshot: the row read back first, then refused as stale.
    ordersync_order_t row = f->last;
    ordersync_model_restore_order (f->model, SHOP, &row);
    assert_int_equal (s_feed (f, &created), ORDERSYNC_STALE);
    assert_int_equal (s_count (f, "event", "S1", "order.created"), 1);
    ordersync_model_forget_settled (f->model);
    assert_null (ordersync_model_order (f->model, SHOP, "S1"));
    //  An unpaid order of last week is settled at once too; one of today stays.
    ordersync_snapshot_t old = s_snap ("S2", CREATED, ONLINE, AT (-7, 10, 0), AT (-7, 10, 0));
    s_feed (f, &old);
    ordersync_snapshot_t today = s_snap ("S3", CREATED, ONLINE, AT (0, 10, 0), AT (0, 10, 0));
    s_feed (f, &today);
    ordersync_model_forget_settled (f->model);
    assert_null (ordersync_model_order (f->model, SHOP, "S2"));
    assert_non_null (ordersync_model_order (f->model, SHOP, "S3"));
}

static void
test_a_paid_order_awaits_its_address_confirmation_noted_content_and_agent (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t s = s_snap ("A1", PAID, ONLINE, AT (0, 9, 0), AT (0, 9, 10));
    s_feed (f, &s);
    const s_record_t *task = s_find (f, "event", "A1", "order.task_due");
    assert_string_equal (task->task, "address_confirm");
    assert_true (ordersync_model_order (f->model, SHOP, "A1")->address_opened_at > 0);
    ordersync_model_on_flag (f->model, SHOP, "A1", KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED, 0,
                             "发邮政快递", "慧兰");
    const ordersync_order_t *o = ordersync_model_order (f->model, SHOP, "A1");
    assert_true (o->address_confirmed_at > 0);
    assert_string_equal (o->address_note, "发邮政快递 _ 慧兰");
    assert_string_equal (s_find (f, "event", "A1", "order.flagged")->flag, "red");
}

static void
test_an_order_paid_before_the_cutoff_and_not_shipped_that_day_is_late (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t early = s_snap ("L1", PAID, ONLINE, AT (0, 9, 0), AT (0, 16, 59));
    ordersync_snapshot_t after = s_snap ("L2", PAID, ONLINE, AT (0, 9, 0), AT (0, 17, 1));
    ordersync_snapshot_t shipped = s_snap ("L3", PAID, ONLINE, AT (0, 9, 0), AT (0, 10, 0));
    s_feed (f, &early);
    s_feed (f, &after);
    s_feed (f, &shipped);
    ordersync_snapshot_t ship = s_snap ("L3", SHIPPED, ONLINE, AT (0, 9, 0), AT (0, 18, 0));
    ship.paid_at = AT (0, 10, 0);
    ship.shipped_at = AT (0, 18, 0);
    s_move (f, AT (0, 18, 0));
    s_feed (f, &ship);
    s_move (f, AT (0, 23, 59));
    assert_int_equal (s_count (f, "command", "L1", "late:L1"), 0);
    s_move (f, AT (1, 0, 0));
    assert_int_equal (s_count (f, "command", "L1", "late:L1"), 1);
    assert_string_equal (s_find (f, "event", "L1", "order.flagged")->flag, "late");
    assert_int_equal (s_count (f, "command", "L2", NULL), 0); //  paid after the cutoff: tomorrow
    assert_int_equal (s_count (f, "command", "L3", NULL), 0); //  shipped in time
    s_move (f, AT (2, 0, 0));
    assert_int_equal (s_count (f, "command", "L2", "late:L2"), 1);
    assert_int_equal (s_count (f, "command", "L1", "late:L1"), 1);
}

static void
test_a_shipped_order_without_courier_news_for_two_days_is_stalled (void **state)
{
    s_fix_t *f = *state;
    ordersync_snapshot_t s = s_snap ("S1", SHIPPED, ONLINE, AT (0, 9, 0), AT (0, 10, 0));
    s.shipped_at = AT (0, 10, 0);
    s_feed (f, &s);
    s_move (f, AT (1, 10, 0));
    ordersync_snapshot_t news = s;
    news.modified_at = news.logistics_at = AT (1, 10, 0); //  the courier scanned it
    s_feed (f, &news);
    s_move (f, AT (2, 10, 0));
    assert_int_equal (s_count (f, "command", "S1", "stalled:S1"), 0);
    s_move (f, AT (3, 10, 0));
    assert_int_equal (s_count (f, "command", "S1", "stalled:S1"), 1);
    assert_string_equal (s_find (f, "event", "S1", "order.flagged")->flag, "stalled");
}

static void
test_an_order_is_credited_to_the_last_agent_who_replied_within_the_window (void **state)
{
    s_fix_t *f = *state;
    ordersync_model_on_reply (f->model, SHOP, 7, "xiaomei", 21, AT (0, 9, 0));
    ordersync_model_on_reply (f->model, SHOP, 7, "lingling", 22, AT (0, 10, 0));
    ordersync_model_on_reply (f->model, SHOP, 7, "ajie", 23, AT (0, 12, 0)); //  after the order
    ordersync_snapshot_t s = s_snap ("T1", CREATED, ONLINE, AT (0, 11, 0), AT (0, 11, 0));
    s_feed (f, &s);
    const ordersync_order_t *o = ordersync_model_order (f->model, SHOP, "T1");
    assert_string_equal (o->credited_agent, "lingling");
    assert_int_equal (o->credited_conversation, 22);
    assert_int_equal (o->credit_window_ms, 24 * HOUR);
    const s_record_t *e = s_find (f, "event", "T1", "order.credited");
    assert_string_equal (e->agent, "lingling");
    assert_string_equal (e->note, "last_reply_within_window");
    //  Payment carries the credit (metrics moves the sales).
    ordersync_snapshot_t paid = s_snap ("T1", PAID, ONLINE, AT (0, 11, 0), AT (0, 11, 30));
    s_feed (f, &paid);
    assert_string_equal (s_find (f, "event", "T1", "order.paid")->agent, "lingling");

    //  More than 24 hours after the last reply: nobody.
    ordersync_snapshot_t late = s_snap ("T2", CREATED, ONLINE, AT (1, 12, 1), AT (1, 12, 1));
    s_feed (f, &late);
    assert_string_equal (ordersync_model_order (f->model, SHOP, "T2")->credited_agent, "");
    assert_int_equal (s_count (f, "event", "T2", "order.credited"), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_newer_snapshot_wins_and_an_older_one_is_refused,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_repeated_snapshot_changes_nothing_and_at_equal_time_the_further_state_wins,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_impossible_move_is_refused_and_kept_for_review,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unpaid_orders_are_reminded_once_at_the_reminder_time,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_tick_at_most_n_leaves_the_rest_due_for_the_next,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_restart_past_the_reminder_time_reminds_only_what_was_not_decided, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_payment_cancels_a_reminder_that_has_not_gone_out,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_blue_flag_set_by_hand_means_kefu_does_not_remind,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_cod_order_is_the_task_of_the_agent_who_served_the_buyer_then_of_supervisors,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_cod_task_goes_to_the_agent_who_served_only_while_on_shift_and_not_offline,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_what_is_known_of_an_agent_is_reported_for_the_record_and_restored, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_the_cod_notice_counts_shop_hours_only, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_settled_order_leaves_memory_and_is_read_back_for_its_next_snapshot, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_shop_hours_may_run_past_midnight_or_all_day, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_paid_order_awaits_its_address_confirmation_noted_content_and_agent, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_an_order_paid_before_the_cutoff_and_not_shipped_that_day_is_late, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_shipped_order_without_courier_news_for_two_days_is_stalled, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_an_order_is_credited_to_the_last_agent_who_replied_within_the_window, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
