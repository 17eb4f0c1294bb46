/*  escalation_server — kefu-escalation as a czmq actor.

    Two sources of work. Intake's events arrive through kf_subscriber and
    are applied inside its transaction with the consumer's offsets: a
    customer message classified complaint opens a case (or joins the open
    one of that customer and order), any customer message stops the contact
    ladder of that buyer's bad reviews. And the clock: every tick (and every
    move of a driven clock) the cases whose due_ms has come are read, locked,
    handed to the model, and written back in one transaction together with
    their events and the commands they make (escalation_commands). A case's
    due_ms moves on in the transaction that fires it, so a deadline fires
    once, and one that passed while the service was down fires after the
    restart, late, saying how late. After the commit the commands are handed
    to intake, and again until intake acknowledges them; the row is then
    deleted (intake de-duplicates on the request id, so a resend after a
    crash is harmless). No case state is kept in memory: the record is the
    state, so there is nothing to rebuild after a restart.

    Secure mode (the default), as order-sync: escalation has a key pair of
    its own (a principal of role service, KEFU_ESCALATION_SECRET_KEY_FILE)
    and trusts intake's public key; it is a CURVE client of intake's command
    endpoint and events PUB, and its own events PUB is a CURVE server for
    service and admin keys (kf_zap, read from the principals table before
    anything connects, every KEFU_ESCALATION_AUTH_REFRESH and on SIGHUP; a
    revoked key's subscription is cut). Failed handshakes are counted.
    KEFU_INSECURE=1 (development only) runs plain sockets, loudly. */
#include "escalation_server.h"

#include "escalation_config.h"
#include "escalation_desk.h"
#include "escalation_severity.h"
#include "escalation_model.h"
#include "escalation_store.h"
#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_actor.h"
#include "kf_commands.h"
#include "kf_control.h"
#include "kf_daemon.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kf_subscriber.h"
#include "kf_wire.h"
#include "kf_zap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_TICK_MS 50

typedef struct {
    esc_settings_t settings; //  the shop's
    kf_tz_t *tz;             //  its time zone
} s_shop_t;

typedef struct {
    zsock_t *pipe;                    //  actor pipe
    const kf_config_spec_t *spec;     //  configuration table (reload)
    escalation_config_t *config;      //  settings (borrowed)
    const kf_common_config_t *common; //  shared settings (borrowed)
    kf_clock_t *clock;                //  time (borrowed)
    kf_store_t *store;                //  PostgreSQL
    kf_outbox_t *outbox;              //  escalation's events
    kf_control_t *control;            //  status
    kf_subscriber_t *sub;             //  intake's events
    zsock_t *intake;                  //  DEALER to intake's command endpoint
    kf_commands_t *commands;          //  commands decided, handed in, not acked
    zhashx_t *shops;                  //  shop id -> s_shop_t (settings, cleared every poll)
    esc_severity_t *severity;         //  the severity dictionary in force
    zloop_t *loop;                    //  event loop
    kf_zap_t *zap;                    //  ZAP handler (NULL when insecure)
    zcert_t *cert;                    //  our key pair (NULL when insecure)
    char server_key[41];              //  intake's public key (Z85)
    zsock_t *monitor;                 //  failed handshakes on our events PUB
    int64_t next_refresh;             //  monotonic ms of the next keys re-read
    bool commands_loaded;             //  escalation_commands read after the start
    bool draining;                    //  DRAIN received
    int64_t next_poll;                //  monotonic ms of the next table catch-up
    int64_t *c_registered;            //  counters
    int64_t *c_joined;
    int64_t *c_deadlines;
    int64_t *c_late;
    int64_t *c_contacts;
    int64_t *c_stopped;
    int64_t *c_txn_failed;
    int64_t *c_handshakes;        //  failed handshakes on the events PUB
    int64_t *c_reviews;           //  neutral and negative reviews from gateways (cases opened)
    int64_t *c_good;              //  good reviews from gateways (nothing to do)
    int64_t *c_actions;           //  complaint actions from gateways applied
    int64_t *c_refused;           //  ... refused (complaint.action_refused)
    int64_t *c_dictionary;        //  severity dictionaries loaded
    int64_t *c_dictionary_failed; //  ... refused on reload (the old one kept)
    int64_t *c_follow_ups;        //  promised review changes followed up
} s_server_t;

static int64_t
s_now (s_server_t *self)
{
    return kf_clock_now_ms (self->clock);
}

//  ---------------------------------------------------------------------
//  Shops' settings

static void
s_shop_destroy (void **item_p)
{
    s_shop_t *shop = *item_p;
    if (shop) {
        kf_tz_destroy (&shop->tz);
        free (shop);
        *item_p = NULL;
    }
}

//  The shop's settings (read once per poll interval); NULL (err set) if
//  they cannot be read.
static s_shop_t *
s_shop (s_server_t *self, const char *shop_id, kf_error_t *err)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    if (shop)
        return shop;
    shop = calloc (1, sizeof *shop);
    char tz[65];
    kf_error_t why;
    kf_error_clear (&why);
    if (escalation_store_settings (self->store, shop_id, &shop->settings, tz, &why) ||
        !(shop->tz = kf_tz_new (tz))) {
        kf_log_warn ("escalation.settings_failed", "shop=%s reason=\"%s\"", shop_id, why.reason);
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE, "no settings for shop %s",
                      shop_id);
        s_shop_destroy ((void **) &shop);
        return NULL;
    }
    zhashx_insert (self->shops, shop_id, shop);
    return shop;
}

//  ---------------------------------------------------------------------
//  Commands to intake

//  A command's escalation_commands row, in the current transaction
//  (kf_commands' store callback).
static int
s_store_command (void *arg, const kf_command_t *c, kf_error_t *err)
{
    s_server_t *self = arg;
    return escalation_store_add_command (self->store, c->shop_id, c->request_id,
                                         zchunk_data (c->frame), zchunk_size (c->frame),
                                         s_now (self), err);
}

//  A command decided in the current transaction: stored with it, handed in
//  after the commit.
static int
s_command (s_server_t *self, const esc_case_t *c, int channel, const char *customer,
           const char *request_id, Kefu__V1__Command *cmd, kf_error_t *err)
{
    cmd->shop_id.data = (uint8_t *) c->shop_id;
    cmd->shop_id.len = strlen (c->shop_id);
    cmd->channel = channel;
    cmd->customer_id.data = (uint8_t *) customer;
    cmd->customer_id.len = strlen (customer);
    cmd->origin = "escalation";
    Kefu__V1__CommandSubmit submit = KEFU__V1__COMMAND_SUBMIT__INIT;
    submit.request_id.data = (uint8_t *) request_id;
    submit.request_id.len = strlen (request_id);
    submit.command = cmd;
    size_t size = kefu__v1__command_submit__get_packed_size (&submit);
    uint8_t *frame = malloc (size);
    kefu__v1__command_submit__pack (&submit, frame);
    int rc = kf_commands_decide (self->commands, c->shop_id, request_id, frame, size, true, 0, err);
    free (frame);
    return rc;
}

static void
s_on_stored_command (const char *shop_id, const char *request_id, const void *payload, size_t size,
                     void *arg)
{
    kf_commands_restore (((s_server_t *) arg)->commands, shop_id, request_id, payload, size, true,
                         0);
}

//  Intake acknowledged c (kf_commands' ack callback): forgotten in the
//  record first (in s_handle_acks' transaction); if that fails it is sent
//  again later (intake answers DUPLICATE) and forgotten then.
static int
s_on_acked (void *arg, const kf_command_t *c, bool refused)
{
    (void) refused;
    s_server_t *self = arg;
    kf_error_t err;
    kf_error_clear (&err);
    return kf_store_ensure (self->store) == 0 &&
                   escalation_store_forget_command (self->store, c->shop_id, c->request_id, &err) ==
                       0
               ? 0
               : -1;
}

//  Every acknowledgement ready: the commands acknowledged are forgotten in
//  one transaction, one commit for all of them rather than one each (a
//  notice per deadline fired made that a commit per deadline). If the
//  commit fails, they are forgotten here but stay in escalation_commands:
//  sent again after a restart, answered DUPLICATE, forgotten then.
static void
s_handle_acks (s_server_t *self)
{
    if (!(zsock_events (self->intake) & ZMQ_POLLIN))
        return; //  nothing ready: no transaction
    kf_error_t err;
    kf_error_clear (&err);
    bool txn = kf_store_ensure (self->store) == 0 && kf_store_begin (self->store, &err) == 0;
    kf_commands_handle_acks (self->commands);
    if (txn && kf_store_commit (self->store, &err)) {
        kf_store_rollback (self->store);
        (*self->c_txn_failed)++;
        kf_log_warn ("escalation.forget_failed", "reason=\"%s\"", err.reason);
    }
}

static int
s_handle_intake (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    s_handle_acks ((s_server_t *) arg);
    return 0;
}

//  ---------------------------------------------------------------------
//  What a case's rung or deadline sends

#define S_CHAT_TEXT                                                                                                                              \
    "亲，非常抱歉这次购物没能让您满意。您反馈的问题我们已经在处理，方便时请回复我们；问题解决后，" \
    "如您愿意，可以通过评价修改链接更新您的评价。谢谢您！"

//  A notice about case c to audience (text borrowed), decided in the
//  current transaction.
static int
s_notice (s_server_t *self, const esc_case_t *c, const char *audience, int severity,
          const char *text, int channel, const char *customer, const char *request_id,
          kf_error_t *err)
{
    Kefu__V1__NoticeCommand notice = KEFU__V1__NOTICE_COMMAND__INIT;
    notice.audience.data = (uint8_t *) audience;
    notice.audience.len = strlen (audience);
    notice.severity = severity;
    notice.text.data = (uint8_t *) text;
    notice.text.len = strlen (text);
    notice.complaint_id = c->case_id;
    notice.order_id.data = (uint8_t *) c->order_id;
    notice.order_id.len = strlen (c->order_id);
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    cmd.kind_case = KEFU__V1__COMMAND__KIND_NOTICE;
    cmd.notice = &notice;
    return s_command (self, c, channel, customer, request_id, &cmd, err);
}

static int
s_contact (s_server_t *self, const esc_case_t *c, esc_step_t step, kf_error_t *err)
{
    char request_id[96];
    snprintf (request_id, sizeof request_id, "review:%" PRId64 ":%d", c->case_id, (int) step);
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    if (step == ESC_STEP_CHAT || step == ESC_STEP_SMS) {
        //  The chat message on the review's channel; the SMS is the same
        //  reminder on the phone channel (the hotline's gateway sends SMS).
        Kefu__V1__ReminderCommand reminder = KEFU__V1__REMINDER_COMMAND__INIT;
        reminder.order_id.data = (uint8_t *) c->order_id;
        reminder.order_id.len = strlen (c->order_id);
        reminder.kind = KEFU__V1__REMINDER_KIND__REMINDER_REVIEW_CHANGE;
        reminder.text.data = (uint8_t *) S_CHAT_TEXT;
        reminder.text.len = strlen (S_CHAT_TEXT);
        cmd.kind_case = KEFU__V1__COMMAND__KIND_REMINDER;
        cmd.reminder = &reminder;
        bool sms = step == ESC_STEP_SMS;
        return s_command (self, c, sms ? KEFU__V1__CHANNEL__CHANNEL_PHONE : c->channel,
                          sms && *c->phone ? c->phone : c->channel_customer_id, request_id, &cmd,
                          err);
    }
    //  The phone task: an after-sales agent calls the buyer.
    char text[512];
    snprintf (text, sizeof text, "请致电买家 %s (电话 %s) 沟通订单 %s 的中差评，严重度 %d",
              c->channel_customer_id, *c->phone ? c->phone : "-", c->order_id, c->severity);
    return s_notice (self, c, "after-sales", KEFU__V1__NOTICE_SEVERITY__NOTICE_WARNING, text,
                     KEFU__V1__CHANNEL__CHANNEL_PHONE, c->channel_customer_id, request_id, err);
}

static int
s_supervisor_notice (s_server_t *self, const esc_case_t *c, int64_t late_ms, kf_error_t *err)
{
    char request_id[96];
    snprintf (request_id, sizeof request_id, "escalated:%" PRId64 ":%d:%d", c->case_id, c->c.stage,
              c->c.level);
    char text[512];
    snprintf (text, sizeof text,
              "投诉 #%" PRId64 " 在 %s 阶段超过期限 (升级第 %d 级, 晚 %" PRId64 " 分钟)，订单 %s",
              c->case_id, esc_stage_name (c->c.stage), c->c.level, late_ms / 60000, c->order_id);
    return s_notice (self, c, "supervisors", KEFU__V1__NOTICE_SEVERITY__NOTICE_CRITICAL, text,
                     c->channel, "", request_id, err);
}

//  A promise to change a review by a time has come due: an after-sales
//  agent checks.
static int
s_follow_up (s_server_t *self, const esc_case_t *c, kf_error_t *err)
{
    char request_id[96], text[512];
    snprintf (request_id, sizeof request_id, "review:%" PRId64 ":follow-up", c->case_id);
    snprintf (text, sizeof text,
              "买家 %s 答应修改订单 %s 的评价，期限已到：请核实是否已修改 (电话 %s)",
              c->channel_customer_id, c->order_id, *c->phone ? c->phone : "-");
    return s_notice (self, c, "after-sales", KEFU__V1__NOTICE_SEVERITY__NOTICE_WARNING, text,
                     KEFU__V1__CHANNEL__CHANNEL_PHONE, c->channel_customer_id, request_id, err);
}

//  ---------------------------------------------------------------------
//  Firing what is due

static void
s_collect (esc_case_t *c, void *arg)
{
    esc_case_t *copy = malloc (sizeof *copy);
    memcpy (copy, c, sizeof *copy);
    zlistx_add_end ((zlistx_t *) arg, copy);
}

static int
s_fire (s_server_t *self, esc_case_t *c, int64_t now, kf_error_t *err)
{
    s_shop_t *shop = s_shop (self, c->shop_id, err);
    if (!shop)
        return -1;
    if (c->kind == ESC_REVIEW && c->outcome == KEFU__V1__REVIEW_OUTCOME__REVIEW_PROMISED) {
        //  The buyer promised to change the review by now: checked once.
        if (c->r.next_ms > 0 && now >= c->r.next_ms) {
            c->r.next_ms = 0;
            (*self->c_follow_ups)++;
            if (s_follow_up (self, c, err) ||
                escalation_store_event (self->outbox, c, "review.follow_up_due", "escalation", "",
                                        0, now))
                return -1;
        }
    } else if (c->kind == ESC_REVIEW) {
        esc_step_t step;
        while ((step = esc_review_step (&c->r, &shop->settings, shop->tz, now)) != ESC_STEP_NONE) {
            (*self->c_contacts)++;
            kf_log_info ("escalation.contact_due", "shop=%s case=%" PRId64 " step=%d severity=%d",
                         c->shop_id, c->case_id, (int) step, c->severity);
            if (s_contact (self, c, step, err) ||
                escalation_store_event (self->outbox, c, "review.contact_due", "escalation", "", 0,
                                        now))
                return -1;
        }
    } else {
        int64_t due = c->c.deadline_ms;
        int64_t late = esc_complaint_deadline (&c->c, &shop->settings, now);
        if (late >= 0) {
            (*self->c_deadlines)++;
            if (late > 0)
                (*self->c_late)++;
            kf_log_info (
                "escalation.deadline_fired",
                "shop=%s case=%" PRId64 " stage=%s level=%d due=%" PRId64 " late_ms=%" PRId64,
                c->shop_id, c->case_id, esc_stage_name (c->c.stage), c->c.level, due, late);
            if (escalation_store_event (self->outbox, c, "complaint.deadline_passed", "escalation",
                                        "", late, now) ||
                escalation_store_event (self->outbox, c, "complaint.escalated", "escalation", "",
                                        late, now) ||
                s_supervisor_notice (self, c, late, err))
                return -1;
        }
    }
    return escalation_store_save (self->store, c, err);
}

//  One transaction: up to fire_batch due cases. Returns how many, or -1.
static int
s_fire_batch (s_server_t *self, int64_t now)
{
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_ensure (self->store) || kf_store_begin (self->store, &err))
        return -1;
    zlistx_t *due = zlistx_new ();
    zlistx_set_destructor (due, NULL);
    int n = escalation_store_due (self->store, now, (int) self->config->fire_batch, s_collect, due,
                                  &err);
    esc_case_t *c;
    int rc = n;
    while ((c = zlistx_detach (due, NULL))) {
        if (rc >= 0 && s_fire (self, c, now, &err))
            rc = -1;
        free (c);
    }
    zlistx_destroy (&due);
    if (rc < 0 || kf_outbox_flush (self->outbox, &err) || kf_store_commit (self->store, &err)) {
        kf_store_rollback (self->store);
        kf_outbox_discard (self->outbox);
        kf_commands_discard (self->commands);
        (*self->c_txn_failed)++;
        kf_log_warn ("escalation.fire_failed", "reason=\"%s\"", err.reason);
        return -1;
    }
    kf_outbox_publish (self->outbox);
    kf_commands_commit (self->commands);
    return n;
}

static void
s_fire_due (s_server_t *self)
{
    if (self->draining)
        return;
    int64_t now = s_now (self);
    int n;
    while ((n = s_fire_batch (self, now)) >= self->config->fire_batch)
        ;
}

static void
s_on_clock (void *arg)
{
    s_fire_due ((s_server_t *) arg);
}

//  ---------------------------------------------------------------------
//  Intake's events

//  A case of the buyer's, to be registered. Caller frees it.
static esc_case_t *
s_new_case (const char *shop_id, int kind, int64_t customer_id, int channel, const char *buyer)
{
    esc_case_t *c = calloc (1, sizeof *c);
    snprintf (c->shop_id, sizeof c->shop_id, "%s", shop_id);
    c->kind = kind;
    c->customer_id = customer_id;
    c->channel = channel;
    snprintf (c->channel_customer_id, sizeof c->channel_customer_id, "%s", buyer);
    return c;
}

static int
s_register_complaint (s_server_t *self, const Kefu__V1__Event *ev, kf_error_t *err)
{
    const Kefu__V1__MessageAccepted *m = ev->message_accepted;
    int64_t open = 0;
    if (escalation_store_open_complaint (self->store, ev->shop_id, m->customer_id, m->order_id,
                                         &open, err))
        return -1;
    if (open) {
        (*self->c_joined)++; //  one case per customer and order, not per message
        return 0;
    }
    s_shop_t *shop = s_shop (self, ev->shop_id, err);
    if (!shop)
        return -1;
    esc_case_t *c =
        s_new_case (ev->shop_id, ESC_COMPLAINT, m->customer_id, m->channel, m->channel_customer_id);
    snprintf (c->order_id, sizeof c->order_id, "%s", m->order_id);
    snprintf (c->body, sizeof c->body, "%s", m->body);
    int rc =
        escalation_desk_register (self->store, self->outbox, c, &shop->settings, "escalation",
                                  "from a message classified complaint", m->received_at_ms, err);
    if (rc == 0)
        (*self->c_registered)++;
    free (c);
    return rc;
}

//  The buyer wrote: their reviews' ladders stop (contact made).
static int
s_stop_ladders (s_server_t *self, const Kefu__V1__Event *ev, kf_error_t *err)
{
    const Kefu__V1__MessageAccepted *m = ev->message_accepted;
    zlistx_t *open = zlistx_new ();
    int rc = escalation_store_ladders_of (self->store, ev->shop_id, m->channel,
                                          m->channel_customer_id, s_collect, open, err) < 0
                 ? -1
                 : 0;
    esc_case_t *c;
    while ((c = zlistx_detach (open, NULL))) {
        if (rc == 0 && esc_review_contacted (&c->r)) {
            (*self->c_stopped)++;
            rc = escalation_store_save (self->store, c, err) ||
                         escalation_store_event (self->outbox, c, "review.contacted", "escalation",
                                                 "the buyer answered", 0, s_now (self))
                     ? -1
                     : 0;
        }
        free (c);
    }
    zlistx_destroy (&open);
    return rc;
}

//  A validated bytes field (intake checked it: UTF-8, no NUL, its limit)
//  into dst of size bytes.
static void
s_copy (char *dst, size_t size, const ProtobufCBinaryData *src)
{
    size_t len = src->len < size - 1 ? src->len : size - 1;
    if (len) //  an empty field may have no data at all
        memcpy (dst, src->data, len);
    dst[len] = '\0';
}

//  A review pushed by a gateway: a neutral or negative one (1-3 stars)
//  opens a 中差评 case, its ladder starting at once.
static int
s_open_review (s_server_t *self, const Kefu__V1__Event *ev, kf_error_t *err)
{
    const Kefu__V1__AfterSalesReceived *a = ev->aftersales_received;
    const Kefu__V1__Review *r = a->review;
    if (r->stars ? r->stars >= 4 : r->grade == KEFU__V1__REVIEW_GRADE__REVIEW_GOOD) {
        (*self->c_good)++;
        return 0;
    }
    s_shop_t *shop = s_shop (self, ev->shop_id, err);
    if (!shop)
        return -1;
    esc_case_t *c =
        s_new_case (ev->shop_id, ESC_REVIEW, a->customer_id, a->channel, a->channel_customer_id);
    s_copy (c->order_id, sizeof c->order_id, &r->order_id);
    s_copy (c->phone, sizeof c->phone, &r->phone);
    s_copy (c->item, sizeof c->item, &r->item);
    s_copy (c->body, sizeof c->body, &r->text);
    c->rating = (int) r->stars;
    c->severity = esc_severity_of (self->severity, (int) r->stars,
                                   r->grade == KEFU__V1__REVIEW_GRADE__REVIEW_NEUTRAL, c->body);
    int rc = escalation_desk_register (self->store, self->outbox, c, &shop->settings,
                                       *a->gateway_id ? a->gateway_id : "gateway",
                                       "from a review pushed by a gateway", a->received_at_ms, err);
    if (rc == 0) {
        (*self->c_reviews)++;
        kf_log_info ("escalation.review_registered", "shop=%s case=%" PRId64 " severity=%d",
                     c->shop_id, c->case_id, c->severity);
    }
    free (c);
    return rc;
}

//  A complaint action pushed by a gateway: the move, or (refused by the
//  workflow) complaint.action_refused naming the stage and what is
//  missing; the case does not change.
static int
s_complaint_action (s_server_t *self, const Kefu__V1__Event *ev, kf_error_t *err)
{
    const Kefu__V1__AfterSalesReceived *a = ev->aftersales_received;
    const Kefu__V1__ComplaintAction *ca = a->complaint_action;
    s_shop_t *shop = s_shop (self, ev->shop_id, err);
    if (!shop)
        return -1;
    static const esc_action_t actions[] = {0,           ESC_JUDGE, ESC_INVESTIGATE,
                                           ESC_PROPOSE, ESC_DONE,  ESC_REVISIT};
    char by[129], note[513], concerned[65];
    s_copy (by, sizeof by, &ca->agent_id);
    s_copy (note, sizeof note, &ca->note);
    s_copy (concerned, sizeof concerned, &ca->concerned_agent_id);
    esc_move_t m = {0};
    m.action = ca->action > 0 && ca->action <= 5 ? actions[ca->action] : 0;
    m.valid = ca->valid;
    m.reason = note;
    m.category = ca->category;
    m.responsible = ca->responsible;
    m.agent_id = concerned;
    m.remedy = ca->remedy;
    m.amount_cents = ca->amount_cents;
    m.by = by;
    esc_moved_t *moved = calloc (1, sizeof *moved);
    kf_error_t refused;
    kf_error_clear (&refused);
    int rc = escalation_desk_move (self->store, self->outbox, ev->shop_id, ca->complaint_id, &m,
                                   note, &shop->settings, a->received_at_ms, moved, &refused);
    if (rc == 0)
        (*self->c_actions)++;
    else if (rc == 1) {
        (*self->c_refused)++;
        kf_log_warn ("escalation.action_refused",
                     "shop=%s case=%" PRId64 " action=%s agent=%s reason=\"%s\"", ev->shop_id,
                     ca->complaint_id, esc_action_name (m.action), by, refused.reason);
        esc_case_t *c = &moved->c;
        snprintf (c->shop_id, sizeof c->shop_id, "%s", ev->shop_id);
        c->case_id = ca->complaint_id;
        c->kind = ESC_COMPLAINT;
        rc = escalation_store_event (self->outbox, c, "complaint.action_refused", by,
                                     refused.reason, 0, s_now (self))
                 ? -1
                 : 0;
    } else
        *err = refused;
    free (moved);
    return rc;
}

static int
s_apply (kf_store_t *store, const Kefu__V1__Event *ev, void *arg, kf_error_t *err)
{
    (void) store;
    s_server_t *self = arg;
    if (ev->payload_case == KEFU__V1__EVENT__PAYLOAD_AFTERSALES_RECEIVED)
        return ev->aftersales_received->item_case == KEFU__V1__AFTER_SALES_RECEIVED__ITEM_REVIEW
                   ? s_open_review (self, ev, err)
                   : s_complaint_action (self, ev, err);
    if (ev->payload_case != KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED)
        return 0;
    const Kefu__V1__MessageAccepted *m = ev->message_accepted;
    if (m->sender != KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER || m->auto_reply)
        return 0;
    if (s_stop_ladders (self, ev, err))
        return -1;
    if (m->intent == KEFU__V1__INTENT__INTENT_COMPLAINT)
        return s_register_complaint (self, ev, err);
    return 0;
}

//  ---------------------------------------------------------------------
//  Loop

static void
s_load_commands (s_server_t *self)
{
    if (self->commands_loaded || kf_store_ensure (self->store))
        return;
    kf_error_t err;
    kf_error_clear (&err);
    if (escalation_store_commands (self->store, s_on_stored_command, self, &err) == 0)
        self->commands_loaded = true;
}

static int
s_handle_events (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    kf_subscriber_handle (((s_server_t *) arg)->sub);
    return 0;
}

//  The keys allowed to read our events (secure mode): a revoked key stops
//  reading at once.
static void
s_refresh_keys (s_server_t *self)
{
    if (!self->zap || kf_store_ensure (self->store))
        return;
    kf_error_t err;
    kf_error_clear (&err);
    int change = kf_zap_load (self->zap, self->store, &err);
    if (change < 0)
        kf_log_warn ("escalation.keys_failed", "reason=\"%s\"", err.reason);
    else if (change == KF_ZAP_REVOKED)
        kf_outbox_rebind (self->outbox);
    self->next_refresh = zclock_mono () + (change < 0 ? 1000 : self->config->auth_refresh);
}

static int
s_handle_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_server_t *self = arg;
    *self->c_handshakes += kf_zap_failures (reader, "escalation.handshake_failed");
    return 0;
}

static int
s_handle_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_server_t *self = arg;
    if (self->draining)
        return 0;
    s_load_commands (self);
    int64_t mono = zclock_mono ();
    if (self->zap && mono >= self->next_refresh)
        s_refresh_keys (self);
    if (mono >= self->next_poll) {
        kf_subscriber_poll (self->sub);
        zhashx_purge (self->shops); //  settings changed by kefuctl apply from here on
        self->next_poll = mono + self->config->poll_interval;
    }
    s_fire_due (self);
    s_handle_acks (self);
    kf_commands_resend (self->commands, self->config->command_timeout);
    return 0;
}

static void
s_refresh_status (kf_control_t *control, void *arg)
{
    s_server_t *self = arg;
    kf_control_set_store_connected (control, kf_store_connected (self->store));
    kf_control_set_draining (control, self->draining);
    *kf_control_counter (control, "commands.unacked") =
        (int64_t) kf_commands_unacked (self->commands);
    kf_subscriber_stats_t ss;
    kf_subscriber_stats (self->sub, &ss);
    *kf_control_counter (control, "events.applied") = ss.applied;
    *kf_control_counter (control, "events.gaps") = ss.gaps;
    *kf_control_counter (control, "events.published") = kf_outbox_published (self->outbox);
    *kf_control_counter (control, "events.from_pub") = ss.from_pub;
}

//  ---------------------------------------------------------------------
//  Construction and actor commands

static void
s_server_destroy (s_server_t **self_p)
{
    if (*self_p) {
        s_server_t *self = *self_p;
        kf_subscriber_destroy (&self->sub);
        kf_commands_destroy (&self->commands);
        if (self->monitor)
            kf_zap_monitor_destroy (kf_outbox_socket (self->outbox), &self->monitor);
        zhashx_destroy (&self->shops);
        esc_severity_destroy (&self->severity);
        zsock_destroy (&self->intake);
        kf_outbox_destroy (&self->outbox);
        kf_control_destroy (&self->control);
        kf_zap_destroy (&self->zap);
        zcert_destroy (&self->cert);
        kf_store_destroy (&self->store);
        free (self);
        *self_p = NULL;
    }
}

static s_server_t *
s_server_new (zsock_t *pipe, kf_service_args_t *args)
{
    s_server_t *self = calloc (1, sizeof *self);
    self->pipe = pipe;
    self->spec = args->spec;
    self->config = args->config;
    self->common = args->common;
    self->clock = args->clock;
    self->store = kf_store_new (args->common->database_url, "kefu-escalation");
    escalation_store_register (self->store);
    self->outbox = kf_outbox_new ("escalation", self->store);
    self->control = kf_control_new ("escalation", self->clock);
    kf_control_set_insecure (self->control, self->config->insecure);
    kf_control_set_refresh (self->control, s_refresh_status, self);
    kf_control_set_on_clock (self->control, s_on_clock, self);
    self->shops = zhashx_new ();
    zhashx_set_destructor (self->shops, s_shop_destroy);
    self->sub = kf_subscriber_new ("escalation", self->store, s_apply, self);
    kf_subscriber_set_outbox (self->sub, self->outbox);
    self->intake = kf_wire_socket (KF_SOCK_DEALER_CLIENT, 1 << 20);
    zsock_set_immediate (self->intake, 0); //  commands wait until intake is reachable
    kf_control_t *c = self->control;
    self->c_registered = kf_control_counter (c, "complaints.registered");
    self->c_joined = kf_control_counter (c, "complaints.joined");
    self->c_deadlines = kf_control_counter (c, "deadlines.fired");
    self->c_late = kf_control_counter (c, "deadlines.late");
    self->c_contacts = kf_control_counter (c, "reviews.contacts");
    self->c_stopped = kf_control_counter (c, "reviews.answered");
    self->c_txn_failed = kf_control_counter (c, "transactions.failed");
    self->c_handshakes = kf_control_counter (c, "auth.handshake_failures");
    self->c_reviews = kf_control_counter (c, "reviews.registered");
    self->c_good = kf_control_counter (c, "reviews.good");
    self->c_actions = kf_control_counter (c, "actions.applied");
    self->c_refused = kf_control_counter (c, "actions.refused");
    self->c_dictionary = kf_control_counter (c, "dictionary.loaded");
    self->c_follow_ups = kf_control_counter (c, "reviews.follow_ups");
    self->c_dictionary_failed = kf_control_counter (c, "dictionary.invalid");
    self->commands =
        kf_commands_new ("escalation", self->intake, c, s_store_command, s_on_acked, self);
    return self;
}

//  CURVE towards intake and for our events (unless insecure). The keys
//  allowed in are read before anything connects: in one process (tests)
//  this handler also judges the handshakes with intake's stand-in.
static int
s_secure (s_server_t *self, char *why, size_t why_size)
{
    if (self->config->insecure) {
        kf_log_warn ("escalation.insecure",
                     "reason=\"KEFU_INSECURE=1: plain sockets, no authentication: anyone who "
                     "reaches the events endpoint reads complaints and reviews\"");
        return 0;
    }
    self->cert = kf_zap_key_pair (self->config->secret_key_file, why, why_size);
    if (!self->cert ||
        kf_zap_public_key (self->config->server_key, self->config->server_key_file,
                           self->server_key, why, why_size) ||
        !(self->zap = kf_zap_new (why, why_size)))
        return -1;
    kf_zap_curve_client (self->intake, self->cert, self->server_key);
    kf_outbox_secure (self->outbox, self->cert);
    s_refresh_keys (self);
    return 0;
}

//  The severity dictionary named by the settings: at start (0, or -1 with
//  the reason in why) and on SIGHUP (an invalid file keeps the one in
//  force).
static int
s_load_severity (s_server_t *self, char *why, size_t why_size)
{
    const char *path =
        *self->config->dictionary ? self->config->dictionary : esc_severity_default_path ();
    esc_severity_t *loaded = esc_severity_load (path, why, why_size);
    if (!loaded) {
        kf_log_warn ("escalation.dictionary_invalid", "path=%s reason=\"%s\" kept=%d", path, why,
                     self->severity != NULL);
        return -1;
    }
    esc_severity_destroy (&self->severity);
    self->severity = loaded;
    (*self->c_dictionary)++;
    kf_log_info ("escalation.dictionary_loaded", "path=%s words=%d", path,
                 esc_severity_word_count (loaded));
    return 0;
}

static int
s_start (s_server_t *self, char *why, size_t why_size)
{
    if (s_load_severity (self, why, why_size) || s_secure (self, why, why_size))
        return -1;
    if (zsock_connect (self->intake, "%s", self->config->intake_commands) == -1) {
        snprintf (why, why_size, "bad KEFU_ESCALATION_INTAKE_COMMANDS=%s",
                  self->config->intake_commands);
        return -1;
    }
    if (kf_outbox_bind (self->outbox, self->config->events_endpoint) == -1 ||
        kf_control_bind (self->control, self->config->control_endpoint) == -1) {
        snprintf (why, why_size, "cannot bind the events or control endpoint");
        return -1;
    }
    int rc = self->cert
                 ? kf_subscriber_follow_curve (self->sub, "intake", self->config->intake_events,
                                               self->cert, self->server_key)
                 : kf_subscriber_follow (self->sub, "intake", self->config->intake_events);
    if (rc) {
        snprintf (why, why_size, "bad KEFU_ESCALATION_INTAKE_EVENTS=%s",
                  self->config->intake_events);
        return -1;
    }
    //  The database may be down: the tick retries both.
    s_load_commands (self);
    kf_subscriber_start (self->sub);
    zloop_reader (self->loop, kf_subscriber_socket (self->sub), s_handle_events, self);
    zloop_reader (self->loop, self->intake, s_handle_intake, self);
    zloop_reader (self->loop, kf_control_socket (self->control), kf_control_on_readable,
                  self->control);
    zloop_timer (self->loop, S_TICK_MS, 0, s_handle_tick, self);
    if (self->zap) {
        self->monitor = kf_zap_monitor (kf_outbox_socket (self->outbox), KF_ZAP_FAILED);
        if (self->monitor)
            zloop_reader (self->loop, self->monitor, s_handle_monitor, self);
    }
    kf_log_info ("escalation.listening",
                 "intake_events=%s intake_commands=%s events=%d control=%d insecure=%d",
                 self->config->intake_events, self->config->intake_commands,
                 kf_wire_port (kf_outbox_socket (self->outbox)),
                 kf_wire_port (kf_control_socket (self->control)), self->config->insecure);
    return 0;
}

static int
s_op_start (void *server, char *why, size_t why_size)
{
    return s_start ((s_server_t *) server, why, why_size);
}

static zsock_t *
s_op_socket (void *server, const char *name)
{
    s_server_t *self = server;
    return streq (name, "events")    ? kf_outbox_socket (self->outbox)
           : streq (name, "control") ? kf_control_socket (self->control)
                                     : NULL;
}

static void
s_op_reload (void *server)
{
    s_server_t *self = server;
    kf_config_reload (self->spec, self->config);
    zhashx_purge (self->shops);
    s_refresh_keys (self);
    char why[256];
    if (s_load_severity (self, why, sizeof why))
        (*self->c_dictionary_failed)++;
}

static void
s_op_drain (void *server)
{
    s_server_t *self = server;
    self->draining = true;
    zloop_reader_end (self->loop, kf_subscriber_socket (self->sub));
    kf_commands_resend (self->commands, 0);
}

//  SYNC (tests): apply everything in the events table now, fire what is
//  due, hand in commands; then answer.
static const char *
s_op_other (void *server, const char *command)
{
    s_server_t *self = server;
    if (!streq (command, "SYNC"))
        return NULL;
    s_load_commands (self);
    kf_subscriber_poll (self->sub);
    zhashx_purge (self->shops);
    s_fire_due (self);
    return "OK";
}

static const kf_actor_ops_t s_ops = {s_op_start, s_op_socket, s_op_reload, s_op_drain, s_op_other};

void
escalation_server (zsock_t *pipe, void *args)
{
    s_server_t *self = s_server_new (pipe, (kf_service_args_t *) args);
    self->loop = zloop_new ();
    kf_actor_run (pipe, self->loop, &s_ops, self);
    zloop_destroy (&self->loop);
    s_server_destroy (&self);
}
