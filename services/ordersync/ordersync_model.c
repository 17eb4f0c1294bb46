/*  ordersync_model — orders, their tasks and attribution on a driven clock. */
#include "ordersync_model.h"

#include "kefu/v1/gateway.pb-c.h"
#include "kefu/v1/orders.pb-c.h"
#include "kf_tz.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY_MS    (24LL * 3600 * 1000)
#define S_REPLIES   4 //  latest replies kept per customer
#define S_ORDER_KEY "%" PRId64

//  One agent reply to a customer.
typedef struct {
    char agent_id[ORDERSYNC_ID_MAX + 1]; //  who replied
    int64_t conversation_id;             //  in which conversation
    int64_t at;                          //  when (platform time)
} s_reply_t;

//  The latest replies to one customer, newest last.
typedef struct {
    s_reply_t replies[S_REPLIES]; //  ring, in time order
    int count;                    //  used
} s_replies_t;

//  One agent as routing (shift) and intake (presence) told us.
typedef struct {
    bool on_shift; //  routing's latest agent.shift
    bool offline;  //  intake's latest agent.presence said offline
} s_agent_t;

typedef struct {
    ordersync_settings_t settings; //  in force
    kf_tz_t *tz;                   //  the shop's zone
    zhashx_t *orders;              //  order id -> ordersync_order_t (owned)
    zhashx_t *replies;             //  customer id (decimal) -> s_replies_t (owned)
    zhashx_t *agents;              //  agent id -> s_agent_t (owned)
    int64_t last_run;              //  the latest reminder time carried out (0: none)
    int64_t next_run;              //  the next reminder time
    int64_t forgotten_created;     //  latest created_at of an order not in memory
} s_shop_t;

struct _ordersync_model_t {
    kf_clock_t *clock;       //  borrowed
    ordersync_sink_t sink;   //  copy
    zhashx_t *shops;         //  shop id -> s_shop_t
    zlistx_t *settled;       //  s_candidate_t: orders that may be forgotten after the commit
    int64_t next_scan;       //  earliest per-order deadline (INT64_MAX: none)
    ordersync_stats_t stats; //  counters (shops and orders computed on demand)
};

//  ---------------------------------------------------------------------
//  Settings and calendars

void
ordersync_settings_defaults (ordersync_settings_t *s, const char *shop_id)
{
    memset (s, 0, sizeof *s);
    snprintf (s->shop_id, sizeof s->shop_id, "%s", shop_id);
    snprintf (s->timezone, sizeof s->timezone, "Asia/Shanghai");
    s->remind_minute = 16 * 60;
    s->cutoff_minute = 17 * 60;
    s->open_minute = 8 * 60 + 30;
    s->close_minute = 23 * 60;
    s->cod_notice_ms = 2 * 3600 * 1000LL;
    s->stall_ms = 48 * 3600 * 1000LL;
    s->window_ms = S_DAY_MS;
    snprintf (s->cod_group, sizeof s->cod_group, "presales");
    snprintf (s->remind_text, sizeof s->remind_text,
              "亲，您的订单 {order} 还没有付款哦，库存有限，付款后我们尽快为您发货～");
}

//  The UTC instant of a local minute on a local day (days since 1970-01-01).
static int64_t
s_local_at (const kf_tz_t *tz, int64_t day, int minute)
{
    time_t t = (time_t) (day * 86400);
    struct tm tm;
    gmtime_r (&t, &tm);
    return kf_tz_to_utc (tz, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, minute);
}

//  The latest reminder time at or before now.
static int64_t
s_run_before (const s_shop_t *shop, int64_t now)
{
    int64_t day = kf_tz_local_day (shop->tz, now);
    int64_t at = s_local_at (shop->tz, day, shop->settings.remind_minute);
    return at <= now ? at : s_local_at (shop->tz, day - 1, shop->settings.remind_minute);
}

//  When an order paid at paid_at is late if not shipped: the end of its
//  shop day, or of the next one when paid after the cutoff.
static int64_t
s_late_due (const s_shop_t *shop, int64_t paid_at)
{
    int64_t day = kf_tz_local_day (shop->tz, paid_at);
    if (kf_tz_ms_of_day (shop->tz, paid_at) >= shop->settings.cutoff_minute * 60000LL)
        day++;
    return s_local_at (shop->tz, day + 1, 0);
}

//  ---------------------------------------------------------------------

static void
s_shop_destroy (void **item_p)
{
    s_shop_t *shop = *item_p;
    if (!shop)
        return;
    kf_tz_destroy (&shop->tz);
    zhashx_destroy (&shop->orders);
    zhashx_destroy (&shop->replies);
    zhashx_destroy (&shop->agents);
    free (shop);
    *item_p = NULL;
}

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

ordersync_model_t *
ordersync_model_new (kf_clock_t *clock, const ordersync_sink_t *sink)
{
    assert (clock && sink);
    ordersync_model_t *self = calloc (1, sizeof *self);
    self->clock = clock;
    self->sink = *sink;
    self->shops = zhashx_new ();
    zhashx_set_destructor (self->shops, s_shop_destroy);
    self->next_scan = INT64_MAX;
    self->settled = zlistx_new ();
    zlistx_set_destructor (self->settled, s_free);
    return self;
}

void
ordersync_model_destroy (ordersync_model_t **self_p)
{
    ordersync_model_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    zhashx_destroy (&self->shops);
    zlistx_destroy (&self->settled);
    free (self);
    *self_p = NULL;
}

int
ordersync_model_configure (ordersync_model_t *self, const ordersync_settings_t *settings)
{
    kf_tz_t *tz = kf_tz_new (settings->timezone);
    if (!tz)
        return -1;
    s_shop_t *shop = zhashx_lookup (self->shops, settings->shop_id);
    if (!shop) {
        shop = calloc (1, sizeof *shop);
        shop->orders = zhashx_new ();
        zhashx_set_destructor (shop->orders, s_free);
        shop->replies = zhashx_new ();
        zhashx_set_destructor (shop->replies, s_free);
        shop->agents = zhashx_new ();
        zhashx_set_destructor (shop->agents, s_free);
        zhashx_insert (self->shops, settings->shop_id, shop);
    }
    kf_tz_destroy (&shop->tz);
    shop->tz = tz;
    shop->settings = *settings;
    //  The latest reminder time is carried out at the next tick: after a
    //  restart, the reminders a crash kept from being decided are decided
    //  then (those already decided are marked in the orders).
    shop->next_run = s_run_before (shop, kf_clock_now_ms (self->clock));
    return 0;
}

const ordersync_settings_t *
ordersync_model_settings (ordersync_model_t *self, const char *shop_id)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    return shop ? &shop->settings : NULL;
}

//  A shop seen for the first time gets the defaults.
static s_shop_t *
s_shop (ordersync_model_t *self, const char *shop_id)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    if (!shop) {
        ordersync_settings_t s;
        ordersync_settings_defaults (&s, shop_id);
        if (ordersync_model_configure (self, &s))
            assert (false); //  the default zone exists
        shop = zhashx_lookup (self->shops, shop_id);
    }
    return shop;
}

//  The instant by which ms of shop hours have passed since from: each
//  local day's hours are [open, close), past midnight when close < open.
static int64_t
s_after_hours (const s_shop_t *shop, int64_t from, int64_t ms)
{
    int open = shop->settings.open_minute, close = shop->settings.close_minute;
    if (open == close)
        return from + ms;
    //  From the day before: its hours may run past midnight into from's day.
    int64_t day = kf_tz_local_day (shop->tz, from) - 1;
    for (int i = 0; i < 1000; i++, day++) {
        int64_t a = s_local_at (shop->tz, day, open);
        int64_t b = s_local_at (shop->tz, close > open ? day : day + 1, close);
        if (b <= from)
            continue;
        if (a < from)
            a = from;
        if (ms <= b - a)
            return a + ms;
        ms -= b - a;
    }
    return INT64_MAX;
}

//  When an open COD confirmation is overdue.
static int64_t
s_cod_due (const s_shop_t *shop, const ordersync_order_t *o)
{
    return s_after_hours (shop, o->cod_opened_at, shop->settings.cod_notice_ms);
}

//  ---------------------------------------------------------------------
//  Deadlines of one order

//  The next time something is due for o (INT64_MAX: nothing).
static int64_t
s_order_due (const s_shop_t *shop, const ordersync_order_t *o)
{
    int64_t due = INT64_MAX;
    if (o->cod_opened_at && !o->cod_confirmed_at && !o->cod_escalated_at)
        due = s_cod_due (shop, o);
    if (o->state == KEFU__V1__ORDER_STATE__ORDER_PAID && o->paid_at && !o->late_at) {
        int64_t at = s_late_due (shop, o->paid_at);
        if (at < due)
            due = at;
    }
    if (o->state == KEFU__V1__ORDER_STATE__ORDER_SHIPPED && !o->stalled_at) {
        int64_t last = o->shipped_at ? o->shipped_at : o->modified_at;
        if (o->logistics_at > last)
            last = o->logistics_at;
        if (last + shop->settings.stall_ms < due)
            due = last + shop->settings.stall_ms;
    }
    return due;
}

//  True when nothing can be due for o any more unless a snapshot or a flag
//  comes: no deadline, and not an unpaid order a reminder run may still
//  take (created in the last two days). Such an order leaves memory (its
//  row is in the record; ordersync_model_restore_order brings it back).
static bool
s_settled (const s_shop_t *shop, const ordersync_order_t *o, int64_t now)
{
    if (s_order_due (shop, o) != INT64_MAX)
        return false;
    return !(o->state == KEFU__V1__ORDER_STATE__ORDER_CREATED &&
             o->payment != KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY && !o->reminded_at &&
             o->created_at >= now - ORDERSYNC_OPEN_MS);
}

//  An order that may be settled: forgotten by ordersync_model_forget_settled,
//  once the record has its row (the transaction committed).
typedef struct {
    char shop_id[65];                    //  its shop
    char order_id[ORDERSYNC_ID_MAX + 1]; //  the order
} s_candidate_t;

static void
s_maybe_forget (ordersync_model_t *self, s_shop_t *shop, ordersync_order_t *o, int64_t now)
{
    if (!s_settled (shop, o, now))
        return;
    s_candidate_t *c = malloc (sizeof *c);
    snprintf (c->shop_id, sizeof c->shop_id, "%s", shop->settings.shop_id);
    snprintf (c->order_id, sizeof c->order_id, "%s", o->order_id);
    zlistx_add_end (self->settled, c);
}

void
ordersync_model_forget_settled (ordersync_model_t *self)
{
    int64_t now = kf_clock_now_ms (self->clock);
    for (s_candidate_t *c = zlistx_first (self->settled); c; c = zlistx_next (self->settled)) {
        s_shop_t *shop = zhashx_lookup (self->shops, c->shop_id);
        ordersync_order_t *o = shop ? zhashx_lookup (shop->orders, c->order_id) : NULL;
        if (o && s_settled (shop, o, now)) {
            self->stats.forgotten++;
            if (o->created_at > shop->forgotten_created)
                shop->forgotten_created = o->created_at;
            zhashx_delete (shop->orders, c->order_id);
        }
    }
    zlistx_purge (self->settled);
}

static void
s_arm (ordersync_model_t *self, const s_shop_t *shop, const ordersync_order_t *o)
{
    int64_t due = s_order_due (shop, o);
    if (due < self->next_scan)
        self->next_scan = due;
}

//  ---------------------------------------------------------------------
//  Decisions

static void
s_event (ordersync_model_t *self, const s_shop_t *shop, const ordersync_order_t *o,
         const char *kind, int previous, const char *flag, const char *task, const char *note,
         const char *agent)
{
    if (self->sink.event)
        self->sink.event (self->sink.arg, shop->settings.shop_id, o, kind, previous,
                          flag ? flag : "", task ? task : "", note ? note : "", agent ? agent : "");
}

static void
s_notice (ordersync_model_t *self, const s_shop_t *shop, const ordersync_order_t *o,
          const char *what, const char *audience, int severity, const char *text)
{
    char request_id[ORDERSYNC_ID_MAX + 64];
    snprintf (request_id, sizeof request_id, "%s:%s", what, o->order_id);
    ordersync_command_t c = {.request_id = request_id,
                             .notice = true,
                             .audience = audience,
                             .severity = severity,
                             .text = text};
    if (self->sink.command)
        self->sink.command (self->sink.arg, shop->settings.shop_id, o, &c);
}

//  The reminder text: the shop's template with {order} replaced.
static void
s_remind_text (const s_shop_t *shop, const ordersync_order_t *o, char *buf, size_t size)
{
    const char *tpl = shop->settings.remind_text;
    const char *at = strstr (tpl, "{order}");
    if (!at)
        snprintf (buf, size, "%s", tpl);
    else
        snprintf (buf, size, "%.*s%s%s", (int) (at - tpl), tpl, o->order_id, at + 7);
}

static bool
s_remindable (const s_shop_t *shop, const ordersync_order_t *o)
{
    //  Created in the day before the latest reminder time: an export of
    //  last month's unpaid orders reminds nobody.
    return shop->last_run && o->state == KEFU__V1__ORDER_STATE__ORDER_CREATED &&
           o->payment != KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY && !o->reminded_at &&
           o->created_at < shop->last_run && o->created_at >= shop->last_run - S_DAY_MS;
}

static void
s_remind (ordersync_model_t *self, s_shop_t *shop, ordersync_order_t *o, int64_t now)
{
    o->reminded_at = now;
    self->stats.reminders++;
    char request_id[ORDERSYNC_ID_MAX + 32];
    snprintf (request_id, sizeof request_id, "remind:%s", o->order_id);
    char text[ORDERSYNC_TEXT_MAX + ORDERSYNC_ID_MAX + 1];
    s_remind_text (shop, o, text, sizeof text);
    ordersync_command_t c = {.request_id = request_id,
                             .reminder_kind = KEFU__V1__REMINDER_KIND__REMINDER_UNPAID,
                             .text = text};
    //  The row first: the store writes the decision with the command.
    if (self->sink.changed)
        self->sink.changed (self->sink.arg, shop->settings.shop_id, o, NULL);
    s_event (self, shop, o, "order.flagged", o->state, "blue", "unpaid_reminder", NULL, NULL);
    if (self->sink.command)
        self->sink.command (self->sink.arg, shop->settings.shop_id, o, &c);
}

//  Do what is due for o at now. Returns true if it acted.
static bool
s_check (ordersync_model_t *self, s_shop_t *shop, ordersync_order_t *o, int64_t now)
{
    bool acted = false;
    char text[ORDERSYNC_TEXT_MAX + 1];
    if (s_remindable (shop, o)) {
        s_remind (self, shop, o, now);
        acted = true;
    }
    if (o->cod_opened_at && !o->cod_confirmed_at && !o->cod_escalated_at &&
        now >= s_cod_due (shop, o)) {
        o->cod_escalated_at = now;
        snprintf (text, sizeof text, "货到付款订单 %s 超时未确认（负责人 %s）", o->order_id,
                  o->task_owner);
        s_event (self, shop, o, "order.task_due", o->state, NULL, "cod_confirm", "overdue",
                 o->task_owner);
        s_notice (self, shop, o, "cod-overdue", "supervisors",
                  KEFU__V1__NOTICE_SEVERITY__NOTICE_WARNING, text);
        acted = true;
    }
    if (o->state == KEFU__V1__ORDER_STATE__ORDER_PAID && o->paid_at && !o->late_at &&
        now >= s_late_due (shop, o->paid_at)) {
        o->late_at = now;
        self->stats.late++;
        snprintf (text, sizeof text, "订单 %s 付款后当日未发货", o->order_id);
        s_event (self, shop, o, "order.flagged", o->state, "late", "shipping_delay", NULL, NULL);
        s_notice (self, shop, o, "late", "supervisors", KEFU__V1__NOTICE_SEVERITY__NOTICE_WARNING,
                  text);
        acted = true;
    }
    if (o->state == KEFU__V1__ORDER_STATE__ORDER_SHIPPED && !o->stalled_at) {
        int64_t last = o->shipped_at ? o->shipped_at : o->modified_at;
        if (o->logistics_at > last)
            last = o->logistics_at;
        if (now >= last + shop->settings.stall_ms) {
            o->stalled_at = now;
            self->stats.stalled++;
            snprintf (text, sizeof text, "订单 %s 物流长时间未更新", o->order_id);
            s_event (self, shop, o, "order.flagged", o->state, "stalled", "shipping_delay", NULL,
                     NULL);
            s_notice (self, shop, o, "stalled", "supervisors",
                      KEFU__V1__NOTICE_SEVERITY__NOTICE_WARNING, text);
            acted = true;
        }
    }
    if (acted && self->sink.changed)
        self->sink.changed (self->sink.arg, shop->settings.shop_id, o, NULL);
    return acted;
}

int
ordersync_model_tick (ordersync_model_t *self)
{
    return ordersync_model_tick_at_most (self, INT_MAX);
}

int
ordersync_model_tick_at_most (ordersync_model_t *self, int max_acted)
{
    int64_t now = kf_clock_now_ms (self->clock);
    bool scan = now >= self->next_scan;
    for (s_shop_t *shop = zhashx_first (self->shops); shop; shop = zhashx_next (self->shops))
        if (now >= shop->next_run) {
            shop->last_run = shop->next_run;
            shop->next_run = s_local_at (shop->tz, kf_tz_local_day (shop->tz, shop->last_run) + 1,
                                         shop->settings.remind_minute);
            scan = true;
        }
    if (!scan)
        return 0;
    int acted = 0;
    self->next_scan = INT64_MAX;
    for (s_shop_t *shop = zhashx_first (self->shops); shop; shop = zhashx_next (self->shops))
        for (ordersync_order_t *o = zhashx_first (shop->orders); o;
             o = zhashx_next (shop->orders)) {
            if (acted >= max_acted) {
                self->next_scan = now; //  the rest at the next call
                return acted;
            }
            acted += s_check (self, shop, o, now);
            s_arm (self, shop, o);
            s_maybe_forget (self, shop, o, now);
        }
    return acted;
}

int64_t
ordersync_model_next_deadline (ordersync_model_t *self)
{
    int64_t next = self->next_scan;
    for (s_shop_t *shop = zhashx_first (self->shops); shop; shop = zhashx_next (self->shops))
        if (shop->next_run < next)
            next = shop->next_run;
    return next;
}

//  ---------------------------------------------------------------------
//  Snapshots

bool
ordersync_move_allowed (int from, int to)
{
    enum { C = 1, P, S, D, RI, RD, X };
    if (from == to)
        return true;
    switch (from) {
    case C: //  unpaid: paid, or (COD) shipped and delivered, or closed
        return to == P || to == S || to == D || to == X;
    case P:
    case S:
    case D:
        return to > from;
    case RI: //  a refund may be withdrawn
        return to == P || to == S || to == D || to == RD || to == X;
    case RD:
        return to == X;
    default: //  closed is final
        return false;
    }
}

static const char *
s_state_event (int state)
{
    switch (state) {
    case KEFU__V1__ORDER_STATE__ORDER_PAID:
        return "order.paid";
    case KEFU__V1__ORDER_STATE__ORDER_SHIPPED:
        return "order.shipped";
    case KEFU__V1__ORDER_STATE__ORDER_DELIVERED:
        return "order.delivered";
    case KEFU__V1__ORDER_STATE__ORDER_REFUNDING:
    case KEFU__V1__ORDER_STATE__ORDER_REFUNDED:
        return "order.refund";
    case KEFU__V1__ORDER_STATE__ORDER_CLOSED:
        return "order.closed";
    }
    return NULL;
}

static void
s_copy_snapshot (ordersync_order_t *o, const ordersync_snapshot_t *snap)
{
    o->state = snap->state;
    o->payment = snap->payment ? snap->payment : KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE;
    o->amount_cents = snap->amount_cents;
    snprintf (o->currency, sizeof o->currency, "%s",
              snap->currency && *snap->currency ? snap->currency : "CNY");
    o->created_at = snap->created_at;
    o->paid_at = snap->paid_at;
    o->shipped_at = snap->shipped_at;
    o->delivered_at = snap->delivered_at;
    o->logistics_at = snap->logistics_at;
    o->modified_at = snap->modified_at;
    if (snap->customer_id)
        o->customer_id = snap->customer_id;
    o->channel = snap->channel;
    snprintf (o->channel_customer_id, sizeof o->channel_customer_id, "%s",
              snap->channel_customer_id ? snap->channel_customer_id : "");
}

static s_replies_t *
s_replies (s_shop_t *shop, int64_t customer_id, bool create)
{
    char key[24];
    snprintf (key, sizeof key, S_ORDER_KEY, customer_id);
    s_replies_t *r = zhashx_lookup (shop->replies, key);
    if (!r && create) {
        r = calloc (1, sizeof *r);
        zhashx_insert (shop->replies, key, r);
    }
    return r;
}

//  The reply an order created at `at` by customer is credited to, or NULL.
static const s_reply_t *
s_credit (s_shop_t *shop, int64_t customer_id, int64_t at)
{
    s_replies_t *r = customer_id ? s_replies (shop, customer_id, false) : NULL;
    if (!r)
        return NULL;
    for (int i = r->count - 1; i >= 0; i--)
        if (r->replies[i].at <= at)
            return at - r->replies[i].at <= shop->settings.window_ms ? &r->replies[i] : NULL;
    return NULL;
}

//  Tasks a state change opens, and the events it makes.
static void
s_entered (ordersync_model_t *self, s_shop_t *shop, ordersync_order_t *o, int previous, int64_t now)
{
    const char *kind = s_state_event (o->state);
    if (kind)
        s_event (self, shop, o, kind, previous, NULL, NULL, NULL, o->credited_agent);
    //  Paid, or (COD) on its way: the buyer no longer needs the reminder.
    if (previous == KEFU__V1__ORDER_STATE__ORDER_CREATED && o->reminded_at && self->sink.cancel) {
        char request_id[ORDERSYNC_ID_MAX + 32];
        snprintf (request_id, sizeof request_id, "remind:%s", o->order_id);
        self->sink.cancel (self->sink.arg, shop->settings.shop_id, request_id);
    }
    if (o->state == KEFU__V1__ORDER_STATE__ORDER_PAID && !o->address_opened_at) {
        o->address_opened_at = now;
        s_event (self, shop, o, "order.task_due", previous, NULL, "address_confirm", "open", NULL);
    }
}

ordersync_outcome_t
ordersync_model_on_update (ordersync_model_t *self, const char *shop_id,
                           const ordersync_snapshot_t *snap)
{
    s_shop_t *shop = s_shop (self, shop_id);
    int64_t now = kf_clock_now_ms (self->clock);
    ordersync_order_t *o = zhashx_lookup (shop->orders, snap->order_id);
    if (!o) {
        o = calloc (1, sizeof *o);
        snprintf (o->order_id, sizeof o->order_id, "%s", snap->order_id);
        s_copy_snapshot (o, snap);
        zhashx_insert (shop->orders, o->order_id, o);
        self->stats.applied++;
        const s_reply_t *r = s_credit (shop, o->customer_id, o->created_at);
        if (r) {
            snprintf (o->credited_agent, sizeof o->credited_agent, "%s", r->agent_id);
            o->credited_conversation = r->conversation_id;
            o->credited_reply_at = r->at;
            o->credit_window_ms = shop->settings.window_ms;
            self->stats.credited++;
        }
        s_event (self, shop, o, "order.created", 0, NULL, NULL, NULL, o->credited_agent);
        if (r)
            s_event (self, shop, o, "order.credited", 0, NULL, NULL, "last_reply_within_window",
                     o->credited_agent);
        if (o->payment == KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY &&
            o->state <= KEFU__V1__ORDER_STATE__ORDER_PAID) {
            o->cod_opened_at = now;
            //  First-contact responsibility, while that agent is on shift.
            const s_reply_t *last = s_credit (shop, o->customer_id, now);
            bool on = last && ordersync_model_available (self, shop_id, last->agent_id);
            snprintf (o->task_owner, sizeof o->task_owner, "%s",
                      on ? last->agent_id : shop->settings.cod_group);
            s_event (self, shop, o, "order.task_due", 0, NULL, "cod_confirm", "open",
                     o->task_owner);
            char text[ORDERSYNC_TEXT_MAX + 1];
            snprintf (text, sizeof text, "货到付款订单 %s 请与买家确认", o->order_id);
            s_notice (self, shop, o, "cod", o->task_owner, KEFU__V1__NOTICE_SEVERITY__NOTICE_INFO,
                      text);
        }
        if (o->state != KEFU__V1__ORDER_STATE__ORDER_CREATED)
            s_entered (self, shop, o, KEFU__V1__ORDER_STATE__ORDER_CREATED, now);
        if (self->sink.changed)
            self->sink.changed (self->sink.arg, shop_id, o, snap);
        s_check (self, shop, o, now);
        s_arm (self, shop, o);
        s_maybe_forget (self, shop, o, now);
        return ORDERSYNC_APPLIED;
    }
    ordersync_outcome_t why = ORDERSYNC_APPLIED;
    if (snap->modified_at < o->modified_at)
        why = ORDERSYNC_STALE;
    else if (snap->state != o->state && !ordersync_move_allowed (o->state, snap->state))
        why = ORDERSYNC_REFUSED;
    else if (snap->modified_at == o->modified_at && snap->state <= o->state)
        why = ORDERSYNC_REPEAT;
    if (why == ORDERSYNC_REPEAT) {
        self->stats.repeats++;
        s_maybe_forget (self, shop, o, now);
        return why;
    }
    if (why != ORDERSYNC_APPLIED) {
        o->refused++;
        if (why == ORDERSYNC_STALE)
            self->stats.stale++;
        else
            self->stats.impossible++;
        if (self->sink.refused)
            self->sink.refused (self->sink.arg, shop_id, snap, o, why);
        if (self->sink.changed)
            self->sink.changed (self->sink.arg, shop_id, o, NULL);
        s_maybe_forget (self, shop, o, now);
        return why;
    }
    self->stats.applied++;
    int previous = o->state;
    s_copy_snapshot (o, snap);
    if (o->state != previous)
        s_entered (self, shop, o, previous, now);
    if (self->sink.changed)
        self->sink.changed (self->sink.arg, shop_id, o, snap);
    s_check (self, shop, o, now);
    s_arm (self, shop, o);
    s_maybe_forget (self, shop, o, now);
    return ORDERSYNC_APPLIED;
}

int
ordersync_model_on_flag (ordersync_model_t *self, const char *shop_id, const char *order_id,
                         int colour, int meaning, const char *note, const char *agent_id)
{
    s_shop_t *shop = s_shop (self, shop_id);
    ordersync_order_t *o = zhashx_lookup (shop->orders, order_id);
    if (!o)
        return -1;
    int64_t now = kf_clock_now_ms (self->clock);
    const char *flag = "";
    switch (colour) {
    case KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED:
        flag = "red";
        break;
    case KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_YELLOW:
        flag = "yellow";
        break;
    case KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_GREEN:
        flag = "green";
        break;
    case KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_BLUE:
        flag = "blue";
        break;
    case KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_PURPLE:
        flag = "purple";
        break;
    }
    //  The flag note as supervisors read it: "content _ agent" (小红旗).
    char full[ORDERSYNC_TEXT_MAX + 1];
    snprintf (full, sizeof full, "%s _ %s", note ? note : "", agent_id);
    const char *task = "";
    if (meaning == KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_ADDRESS_CONFIRMED ||
        (meaning == 0 && colour == KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED)) {
        task = "address_confirm";
        if (!o->address_confirmed_at)
            o->address_confirmed_at = now;
        snprintf (o->address_note, sizeof o->address_note, "%s", full);
    } else if (meaning == KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_COD_CONFIRMED) {
        task = "cod_confirm";
        if (!o->cod_confirmed_at)
            o->cod_confirmed_at = now;
    } else if (meaning == KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_REMINDED ||
               (meaning == 0 && colour == KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_BLUE)) {
        task = "unpaid_reminder";
        if (!o->reminded_at)
            o->reminded_at = now; //  reminded by hand: never by kefu
    }
    s_event (self, shop, o, "order.flagged", o->state, flag, task, full, agent_id);
    if (self->sink.changed)
        self->sink.changed (self->sink.arg, shop_id, o, NULL);
    s_maybe_forget (self, shop, o, now);
    return 0;
}

void
ordersync_model_restore_reply (ordersync_model_t *self, const char *shop_id, int64_t customer_id,
                               const char *agent_id, int64_t conversation_id, int64_t at)
{
    s_shop_t *shop = s_shop (self, shop_id);
    s_replies_t *r = s_replies (shop, customer_id, true);
    //  Keep time order; the oldest falls off a full ring.
    int i = r->count;
    if (i == S_REPLIES) {
        if (at < r->replies[0].at)
            return;
        memmove (&r->replies[0], &r->replies[1], sizeof r->replies[0] * (S_REPLIES - 1));
        i = S_REPLIES - 1;
    } else
        r->count++;
    while (i > 0 && r->replies[i - 1].at > at) {
        r->replies[i] = r->replies[i - 1];
        i--;
    }
    snprintf (r->replies[i].agent_id, sizeof r->replies[i].agent_id, "%s", agent_id);
    r->replies[i].conversation_id = conversation_id;
    r->replies[i].at = at;
}

void
ordersync_model_on_reply (ordersync_model_t *self, const char *shop_id, int64_t customer_id,
                          const char *agent_id, int64_t conversation_id, int64_t at)
{
    if (!customer_id || !agent_id || !*agent_id)
        return;
    ordersync_model_restore_reply (self, shop_id, customer_id, agent_id, conversation_id, at);
    if (self->sink.reply_seen)
        self->sink.reply_seen (self->sink.arg, shop_id, customer_id, agent_id, conversation_id, at);
}

//  ---------------------------------------------------------------------
//  Agents

static s_agent_t *
s_agent (s_shop_t *shop, const char *agent_id)
{
    s_agent_t *a = zhashx_lookup (shop->agents, agent_id);
    if (!a) {
        a = calloc (1, sizeof *a);
        zhashx_insert (shop->agents, agent_id, a);
    }
    return a;
}

void
ordersync_model_restore_agent (ordersync_model_t *self, const char *shop_id, const char *agent_id,
                               bool on_shift, bool offline)
{
    s_agent_t *a = s_agent (s_shop (self, shop_id), agent_id);
    a->on_shift = on_shift;
    a->offline = offline;
}

static void
s_agent_set (ordersync_model_t *self, const char *shop_id, const char *agent_id, bool on_shift,
             bool offline)
{
    if (!agent_id || !*agent_id)
        return;
    s_agent_t *a = s_agent (s_shop (self, shop_id), agent_id);
    if (a->on_shift == on_shift && a->offline == offline)
        return;
    a->on_shift = on_shift;
    a->offline = offline;
    if (self->sink.agent_changed)
        self->sink.agent_changed (self->sink.arg, shop_id, agent_id, on_shift, offline);
}

void
ordersync_model_on_shift (ordersync_model_t *self, const char *shop_id, const char *agent_id,
                          bool on_shift)
{
    s_agent_t *a = zhashx_lookup (s_shop (self, shop_id)->agents, agent_id);
    s_agent_set (self, shop_id, agent_id, on_shift, a && a->offline);
}

void
ordersync_model_on_presence (ordersync_model_t *self, const char *shop_id, const char *agent_id,
                             int status)
{
    s_agent_t *a = zhashx_lookup (s_shop (self, shop_id)->agents, agent_id);
    s_agent_set (self, shop_id, agent_id, a && a->on_shift,
                 status == KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE);
}

bool
ordersync_model_available (ordersync_model_t *self, const char *shop_id, const char *agent_id)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    s_agent_t *a = shop ? zhashx_lookup (shop->agents, agent_id) : NULL;
    return a && a->on_shift && !a->offline;
}

int64_t
ordersync_model_after_shop_hours (ordersync_model_t *self, const char *shop_id, int64_t from,
                                  int64_t ms)
{
    return s_after_hours (s_shop (self, shop_id), from, ms);
}

void
ordersync_model_restore_forgotten (ordersync_model_t *self, const char *shop_id, int64_t created_at)
{
    s_shop_t *shop = s_shop (self, shop_id);
    if (created_at > shop->forgotten_created)
        shop->forgotten_created = created_at;
}

bool
ordersync_model_may_be_settled (ordersync_model_t *self, const char *shop_id, int64_t created_at)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    return !created_at || (shop && created_at <= shop->forgotten_created);
}

void
ordersync_model_restore_order (ordersync_model_t *self, const char *shop_id,
                               const ordersync_order_t *o)
{
    s_shop_t *shop = s_shop (self, shop_id);
    ordersync_order_t *copy = malloc (sizeof *copy);
    *copy = *o;
    zhashx_update (shop->orders, copy->order_id, copy);
    s_arm (self, shop, copy);
    //  Read back for a snapshot or flag: it stays until that is applied
    //  (which forgets it again if it is still settled).
}

const ordersync_order_t *
ordersync_model_order (ordersync_model_t *self, const char *shop_id, const char *order_id)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    return shop ? zhashx_lookup (shop->orders, order_id) : NULL;
}

void
ordersync_model_stats (ordersync_model_t *self, ordersync_stats_t *out)
{
    *out = self->stats;
    out->shops = (int) zhashx_size (self->shops);
    out->orders = 0;
    for (s_shop_t *shop = zhashx_first (self->shops); shop; shop = zhashx_next (self->shops))
        out->orders += (int64_t) zhashx_size (shop->orders);
}
