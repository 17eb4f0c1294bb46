/*  metrics_desk — phrases.usage. */
#include "metrics_desk.h"

#include <czmq.h>

#include "kefu/v1/common.pb-c.h"
#include "metrics_att_store.h"
#include "metrics_attendance.h"
#include "metrics_desk_store.h"
#include "metrics_report.h"
#include "metrics_store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define S_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION (15))

#define S_REVISIT_MS (3 * 86400000LL)

bool
metrics_desk_kind (int kind)
{
    return kind == METRICS_KIND_PHRASES || kind == METRICS_KIND_ORDERS ||
           kind == METRICS_KIND_AFTERSALES;
}

int
metrics_desk_check_by (metrics_query_t *query, const char *kind, const char *by, kf_error_t *err)
{
    if (!*by)
        query->by = METRICS_BY_NONE;
    else if (strcmp (by, "agent") == 0 && query->kind != METRICS_KIND_AFTERSALES)
        query->by = METRICS_BY_AGENT;
    else if (strcmp (by, "phrase") == 0 && query->kind == METRICS_KIND_PHRASES)
        query->by = METRICS_DESK_BY_PHRASE;
    else
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "group_by of %s must be %s", kind,
                             query->kind == METRICS_KIND_PHRASES  ? "empty, agent or phrase"
                             : query->kind == METRICS_KIND_ORDERS ? "empty or agent"
                                                                  : "empty");
    if (query->has_group || query->channel)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "%s takes no group or channel", kind);
    if (query->has_agent && query->kind != METRICS_KIND_PHRASES)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "%s takes no agent (group_by agent gives every agent's row)", kind);
    return 0;
}

//  ---------------------------------------------------------------------
//  Events into rows

const char *
metrics_desk_customer (int channel, const char *channel_customer_id, char *buf, size_t size)
{
    snprintf (buf, size, "%d:%s", channel, channel_customer_id);
    return buf;
}

bool
metrics_desk_order_change (const char *kind, const Kefu__V1__OrderEvent *o, int64_t occurred_ms,
                           char *customer, size_t size, metrics_desk_order_t *out)
{
    memset (out, 0, sizeof *out);
    if (!*o->order_id)
        return false;
    int64_t at = o->at_ms ? o->at_ms : occurred_ms;
    out->order_id = o->order_id;
    if (*o->channel_customer_id)
        out->customer = metrics_desk_customer (o->channel, o->channel_customer_id, customer, size);
    if (strcmp (kind, "order.credited") == 0)
        out->agent_id = o->agent_id;
    out->amount_cents = o->amount_cents;
    if (strcmp (kind, "order.created") == 0)
        out->created_ms = at;
    int state = o->state;
    bool shipped = state == KEFU__V1__ORDER_STATE__ORDER_SHIPPED ||
                   state == KEFU__V1__ORDER_STATE__ORDER_DELIVERED;
    if (shipped || strcmp (kind, "order.paid") == 0 || state == KEFU__V1__ORDER_STATE__ORDER_PAID)
        out->paid_ms = at;
    if (shipped)
        out->shipped_ms = at;
    out->cancelled = state == KEFU__V1__ORDER_STATE__ORDER_REFUNDED ||
                     state == KEFU__V1__ORDER_STATE__ORDER_CLOSED;
    if (strcmp (kind, "order.flagged") == 0) {
        if (strcmp (o->flag, "late") == 0 && strcmp (o->task, "shipping_delay") == 0)
            out->late_ms = at;
        if (strcmp (o->task, "unpaid_reminder") == 0) {
            out->reminded_ms = at;
            out->reminded_by_hand = *o->agent_id != '\0';
        }
    }
    return true;
}

bool
metrics_desk_case_change (const char *kind, const Kefu__V1__ComplaintEvent *c, int64_t occurred_ms,
                          metrics_desk_case_t *out)
{
    memset (out, 0, sizeof *out);
    if (!c->complaint_id)
        return false;
    int64_t at = c->at_ms ? c->at_ms : occurred_ms;
    out->case_id = c->complaint_id;
    out->review = c->negative_review;
    size_t len = strlen (kind);
    if (len > 11 && strcmp (kind + len - 11, ".registered") == 0)
        out->opened_ms = at;
    if (strcmp (kind, "complaint.closed") == 0 || strcmp (kind, "review.resolved") == 0 ||
        (!c->negative_review && c->stage == KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CLOSED))
        out->closed_ms = at;
    if (strcmp (kind, "complaint.deadline_passed") == 0 ||
        (strcmp (kind, "review.contact_due") == 0 && c->contact_step >= 3))
        out->overdue_ms = at;
    bool moved = strcmp (kind, "complaint.stage") == 0 || strcmp (kind, "complaint.closed") == 0;
    if (moved && c->stage == KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CARRIED_OUT) {
        out->carried_ms = at;
        switch (c->remedy) {
        case KEFU__V1__REMEDY__REMEDY_COUPON:
        case KEFU__V1__REMEDY__REMEDY_CASH:
        case KEFU__V1__REMEDY__REMEDY_RETURN_REFUND:
        case KEFU__V1__REMEDY__REMEDY_RESEND:
        case KEFU__V1__REMEDY__REMEDY_EXCHANGE:
            out->compensation_cents = c->amount_cents > 0 ? c->amount_cents : 0;
            break;
        default:
            break;
        }
    }
    if (moved && c->stage == KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REVISITED)
        out->revisited_ms = at;
    return true;
}

const char *
metrics_desk_intent_name (int intent, char *buf, size_t size)
{
    const ProtobufCEnumValue *v =
        intent ? protobuf_c_enum_descriptor_get_value (&kefu__v1__intent__descriptor, intent)
               : NULL;
    const char *name = !intent ? "greeting" : v ? v->name : "unknown";
    if (strncmp (name, "INTENT_", 7) == 0)
        name += 7;
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++)
        buf[i] = (char) tolower ((unsigned char) name[i]);
    buf[i] = '\0';
    return buf;
}

//  ---------------------------------------------------------------------
//  Attendance on the scorecard

#define S_DAY_MS 86400000LL

//  The agent's totals in by_agent, created at zero.
static json_t *
s_att_totals (json_t *by_agent, const char *agent_id)
{
    json_t *t = json_object_get (by_agent, agent_id);
    if (!t) {
        t = json_pack ("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "shifts", 0, "ended", 0, "present", 0,
                       "late", 0, "early_leave", 0, "absent", 0, "unanswered", 0);
        json_object_set_new (by_agent, agent_id, t);
    }
    return t;
}

static void
s_add (json_t *o, const char *key, int n)
{
    json_object_set_new (o, key, json_integer (json_integer_value (json_object_get (o, key)) + n));
}

int
metrics_desk_attendance (kf_store_t *store, const metrics_query_t *q, const kf_tz_t *tz,
                         json_t *root, kf_error_t *err)
{
    metrics_att_input_t in;
    //  As agent.attendance: facts up to two days after the month (an
    //  overnight shift of its last day ends the next morning).
    if (metrics_att_store_input (store, q->shop_id, q->from_ms, q->to_ms + 2 * S_DAY_MS, &in, err))
        return -1;
    json_t *by_agent = json_object ();
    int64_t first = kf_tz_local_day (tz, q->from_ms), last = kf_tz_local_day (tz, q->to_ms - 1);
    for (int64_t day = first; day <= last && in.version_count; day++) {
        metrics_att_row_t *rows = NULL;
        int n = metrics_attendance_day (&in, day, q->now_ms, &rows);
        for (int i = 0; i < n; i++) {
            const metrics_att_row_t *r = &rows[i];
            json_t *t = s_att_totals (by_agent, r->agent_id);
            s_add (t, "shifts", 1);
            s_add (t, "ended", r->phase == METRICS_ATT_ENDED);
            s_add (t, "present", r->present_from != 0);
            s_add (t, "late", r->late);
            s_add (t, "early_leave", r->early_leave);
            s_add (t, "absent", r->absent);
            s_add (t, "unanswered", r->unanswered);
        }
        free (rows);
    }
    metrics_att_input_free (&in);
    size_t i;
    json_t *agent;
    json_array_foreach (json_object_get (root, "agents"), i, agent)
    {
        json_t *t =
            json_object_get (by_agent, json_string_value (json_object_get (agent, "agent_id")));
        json_object_set (agent, "attendance", t ? t : json_null ());
    }
    if (q->has_agent) {
        json_t *only = json_object_get (by_agent, q->agent);
        json_t *kept = json_object ();
        if (only)
            json_object_set (kept, q->agent, only);
        json_decref (by_agent);
        by_agent = kept;
    }
    json_object_set_new (root, "attendance", by_agent);
    return 0;
}

//  ---------------------------------------------------------------------
//  phrases.usage

typedef struct {
    char *agent_id;    //  who (owned)
    int64_t phrase_id; //  which phrase
    int intent;        //  its intent
    int64_t uses;      //  how often in the period
} s_use_t;

typedef struct {
    s_use_t *rows; //  in the store's order: agent, then phrase
    size_t count;  //  rows used
    size_t size;   //  rows allocated
} s_uses_t;

static void
s_on_use (void *arg, const char *agent_id, int64_t phrase_id, int intent, int64_t uses)
{
    s_uses_t *u = arg;
    if (u->count == u->size) {
        u->size = u->size ? 2 * u->size : 64;
        u->rows = realloc (u->rows, u->size * sizeof *u->rows);
        assert (u->rows);
    }
    u->rows[u->count++] = (s_use_t){strdup (agent_id), phrase_id, intent, uses};
}

static int
s_by_phrase (const void *a, const void *b)
{
    const s_use_t *x = a, *y = b;
    if (x->phrase_id != y->phrase_id)
        return x->phrase_id < y->phrase_id ? -1 : 1;
    return strcmp (x->agent_id, y->agent_id);
}

static json_t *
s_phrase_fields (json_t *o, const s_use_t *u)
{
    char name[32];
    json_object_set_new (o, "phrase_id", json_integer (u->phrase_id));
    json_object_set_new (o, "intent",
                         json_string (metrics_desk_intent_name (u->intent, name, sizeof name)));
    return o;
}

//  Rows grouped by the first field of the order they are in (agents, or
//  phrases once sorted): uses and how many of the other there were.
static json_t *
s_grouped (const s_uses_t *u, bool by_phrase)
{
    json_t *rows = json_array ();
    for (size_t i = 0; i < u->count;) {
        size_t j = i;
        int64_t uses = 0;
        for (; j < u->count && (by_phrase ? u->rows[j].phrase_id == u->rows[i].phrase_id
                                          : strcmp (u->rows[j].agent_id, u->rows[i].agent_id) == 0);
             j++)
            uses += u->rows[j].uses;
        json_t *row;
        if (by_phrase) {
            char key[32];
            snprintf (key, sizeof key, "%lld", (long long) u->rows[i].phrase_id);
            row = s_phrase_fields (json_pack ("{s:s}", "key", key), &u->rows[i]);
            json_object_set_new (row, "agents", json_integer ((json_int_t) (j - i)));
        } else {
            row = json_pack ("{s:s, s:s, s:I}", "key", u->rows[i].agent_id, "agent_id",
                             u->rows[i].agent_id, "phrases", (json_int_t) (j - i));
        }
        json_object_set_new (row, "uses", json_integer (uses));
        json_array_append_new (rows, row);
        i = j;
    }
    return rows;
}

static char *
s_answer_phrases (kf_store_t *store, const metrics_query_t *q, json_t *root, kf_error_t *err)
{
    s_uses_t u = {NULL, 0, 0};
    char *text = NULL;
    if (metrics_desk_store_phrases (store, q->shop_id, q->from_ms, q->to_ms,
                                    q->has_agent ? q->agent : NULL, s_on_use, &u, err) == 0) {
        int64_t uses = 0;
        size_t agents = 0;
        zhashx_t *phrases = zhashx_new ();
        for (size_t i = 0; i < u.count; i++) {
            uses += u.rows[i].uses;
            if (i == 0 || strcmp (u.rows[i].agent_id, u.rows[i - 1].agent_id) != 0)
                agents++;
            char key[32];
            snprintf (key, sizeof key, "%lld", (long long) u.rows[i].phrase_id);
            zhashx_insert (phrases, key, (void *) 1);
        }
        json_object_set_new (root, "by",
                             q->by == METRICS_BY_AGENT         ? json_string ("agent")
                             : q->by == METRICS_DESK_BY_PHRASE ? json_string ("phrase")
                                                               : json_null ());
        json_object_set_new (root, "filters",
                             q->has_agent ? json_pack ("{s:s}", "agent", q->agent)
                                          : json_object ());
        json_object_set_new (root, "total",
                             json_pack ("{s:I, s:I, s:I}", "uses", (json_int_t) uses, "agents",
                                        (json_int_t) agents, "phrases",
                                        (json_int_t) zhashx_size (phrases)));
        zhashx_destroy (&phrases);
        json_t *rows;
        if (q->by == METRICS_BY_AGENT)
            rows = s_grouped (&u, false);
        else if (q->by == METRICS_DESK_BY_PHRASE) {
            qsort (u.rows, u.count, sizeof *u.rows, s_by_phrase);
            rows = s_grouped (&u, true);
        } else {
            rows = json_array ();
            for (size_t i = 0; i < u.count; i++) {
                json_t *row =
                    s_phrase_fields (json_pack ("{s:s, s:I}", "agent_id", u.rows[i].agent_id,
                                                "uses", (json_int_t) u.rows[i].uses),
                                     &u.rows[i]);
                json_array_append_new (rows, row);
            }
        }
        if ((int64_t) json_array_size (rows) > q->max_rows) {
            json_decref (rows);
            kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_LIMIT_EXCEEDED,
                          "more than %lld rows (KEFU_METRICS_MAX_ROWS): ask for a shorter "
                          "period, one agent or a grouping",
                          (long long) q->max_rows);
        } else {
            json_object_set_new (root, "rows", rows);
            text = json_dumps (root, S_DUMP_FLAGS);
        }
    }
    for (size_t i = 0; i < u.count; i++)
        free (u.rows[i].agent_id);
    free (u.rows);
    json_decref (root);
    return text;
}

//  ---------------------------------------------------------------------
//  orders.summary, aftersales.summary

//  n / d, null when d is 0.
static json_t *
s_rate (int64_t n, int64_t d)
{
    return d ? json_real ((double) n / (double) d) : json_null ();
}

static void
s_on_agent_orders (void *arg, const metrics_desk_agent_orders_t *a)
{
    json_array_append_new (
        (json_t *) arg,
        json_pack ("{s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:I}", "key", a->agent_id,
                   "agent_id", a->agent_id, "served_customers", (json_int_t) a->served,
                   "ordered_customers", (json_int_t) a->ordered, "paid_customers",
                   (json_int_t) a->ordered_paid, "conversion_rate", s_rate (a->ordered, a->served),
                   "paid_conversion_rate", s_rate (a->ordered_paid, a->served), "orders_credited",
                   (json_int_t) a->credited, "sales_cents", (json_int_t) a->sales_cents,
                   "sales_orders", (json_int_t) a->sales_orders));
}

static char *
s_answer_orders (kf_store_t *store, const metrics_query_t *q, json_t *root, kf_error_t *err)
{
    metrics_desk_orders_t o;
    metrics_scheme_t scheme;
    metrics_score_sources_t sources;
    json_t *rows = json_array ();
    char *text = NULL;
    if (metrics_store_scheme (store, q->shop_id, &scheme, &sources, err) == 0 &&
        metrics_desk_store_orders (store, q->shop_id, q->from_ms, q->to_ms, &o, err) == 0 &&
        (q->by != METRICS_BY_AGENT ||
         metrics_desk_store_agent_orders (store, q->shop_id, q->from_ms, q->to_ms,
                                          s_on_agent_orders, rows, err) == 0)) {
        json_object_set_new (root, "by",
                             q->by == METRICS_BY_AGENT ? json_string ("agent") : json_null ());
        json_object_set_new (root, "source", json_boolean (sources.orders));
        json_t *conversion =
            json_pack ("{s:I, s:I, s:I, s:o, s:o}", "inquiring_customers", (json_int_t) o.inquiring,
                       "ordered_customers", (json_int_t) o.ordered, "paid_customers",
                       (json_int_t) o.ordered_paid, "rate", s_rate (o.ordered, o.inquiring),
                       "paid_rate", s_rate (o.ordered_paid, o.inquiring));
        json_t *orders =
            json_pack ("{s:I, s:I, s:I, s:I}", "created", (json_int_t) o.created, "credited",
                       (json_int_t) o.credited, "sales_cents", (json_int_t) o.sales_cents,
                       "sales_orders", (json_int_t) o.sales_orders);
        json_t *timeliness =
            json_pack ("{s:I, s:I, s:I, s:o, s:f, s:o}", "due", (json_int_t) o.due, "on_time",
                       (json_int_t) o.on_time, "late", (json_int_t) (o.due - o.on_time), "rate",
                       s_rate (o.on_time, o.due), "target", 0.95, "met",
                       o.due ? json_boolean (o.on_time * 100 >= o.due * 95) : json_null ());
        json_t *reminders = json_pack ("{s:I, s:I}", "sent", (json_int_t) o.reminders, "by_hand",
                                       (json_int_t) o.reminders_hand);
        json_object_set_new (root, "total",
                             json_pack ("{s:o, s:o, s:o, s:o}", "conversion", conversion, "orders",
                                        orders, "timeliness", timeliness, "reminders", reminders));
        if (q->by == METRICS_BY_AGENT)
            json_object_set (root, "rows", rows);
        if ((int64_t) json_array_size (rows) > q->max_rows)
            kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_LIMIT_EXCEEDED,
                          "more than %lld rows (KEFU_METRICS_MAX_ROWS)", (long long) q->max_rows);
        else
            text = json_dumps (root, S_DUMP_FLAGS);
    }
    json_decref (rows);
    json_decref (root);
    return text;
}

static json_t *
s_cases (const metrics_desk_cases_t *c)
{
    json_t *revisit = json_pack ("{s:I, s:I, s:o}", "judged", (json_int_t) c->revisit_judged,
                                 "within_3_days", (json_int_t) c->revisited_in_3d, "rate",
                                 s_rate (c->revisited_in_3d, c->revisit_judged));
    return json_pack ("{s:I, s:I, s:I, s:I, s:I, s:o, s:I}", "opened", (json_int_t) c->opened,
                      "closed", (json_int_t) c->closed, "overdue", (json_int_t) c->overdue,
                      "open_at_end", (json_int_t) c->open_at_end, "carried_out",
                      (json_int_t) c->carried_out, "revisit", revisit, "compensation_cents",
                      (json_int_t) c->compensation_cents);
}

static char *
s_answer_aftersales (kf_store_t *store, const metrics_query_t *q, json_t *root, kf_error_t *err)
{
    metrics_desk_cases_t c[2];
    metrics_scheme_t scheme;
    metrics_score_sources_t sources;
    char *text = NULL;
    if (metrics_store_scheme (store, q->shop_id, &scheme, &sources, err) == 0 &&
        metrics_desk_store_cases (store, q->shop_id, q->from_ms, q->to_ms, q->now_ms, c, err) ==
            0) {
        json_object_set_new (root, "source", json_boolean (sources.complaints));
        json_object_set_new (root, "complaints", s_cases (&c[0]));
        json_object_set_new (root, "reviews", s_cases (&c[1]));
        text = json_dumps (root, S_DUMP_FLAGS);
    }
    json_decref (root);
    return text;
}

char *
metrics_desk_answer (kf_store_t *store, const metrics_query_t *query, json_t *root, kf_error_t *err)
{
    switch (query->kind) {
    case METRICS_KIND_ORDERS:
        return s_answer_orders (store, query, root, err);
    case METRICS_KIND_AFTERSALES:
        return s_answer_aftersales (store, query, root, err);
    default:
        return s_answer_phrases (store, query, root, err);
    }
}
