/*  metrics_query — checking queries; answering them from memory or from
    the rollups (worker thread). */
#include "metrics_query.h"

#include "kf_log.h"
#include "kf_store.h"
#include "kf_tz.h"
#include "kf_valid.h"
#include "kf_wire.h"
#include "metrics_att_store.h"
#include "metrics_attendance.h"
#include "metrics_desk.h"
#include "metrics_report.h"
#include "metrics_store.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY_MS        86400000LL
#define S_DEFAULT_LIMIT 100
#define S_DUMP_FLAGS    (JSON_COMPACT | JSON_REAL_PRECISION (15))

static const struct {
    const char *name; //  as asked
    int kind;         //  metrics_kind_t
} s_kinds[] = {
    {"kpi.summary", METRICS_KIND_SUMMARY},         {"kpi.series", METRICS_KIND_SERIES},
    {"agents.now", METRICS_KIND_AGENTS_NOW},       {"conversations.waiting", METRICS_KIND_WAITING},
    {"qa.flags", METRICS_KIND_QA_FLAGS},           {"agent.scorecard", METRICS_KIND_SCORECARD},
    {"agent.attendance", METRICS_KIND_ATTENDANCE}, {"phrases.usage", METRICS_KIND_PHRASES},
    {"orders.summary", METRICS_KIND_ORDERS},       {"aftersales.summary", METRICS_KIND_AFTERSALES}};

#define S_KINDS (int) (sizeof s_kinds / sizeof s_kinds[0])

const char *
metrics_kind_name (int kind)
{
    for (int i = 0; i < S_KINDS; i++)
        if (s_kinds[i].kind == kind)
            return s_kinds[i].name;
    return "unknown";
}

bool
metrics_query_is_now (int kind)
{
    return kind == METRICS_KIND_AGENTS_NOW || kind == METRICS_KIND_WAITING;
}

//  ---------------------------------------------------------------------
//  Checking

#define S_REJECT(code, ...) kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_##code, __VA_ARGS__)

//  A period bound from params: a date (its local midnight, or for "to" the
//  end of that day), a UTC time ("2026-11-23T08:30:00Z") or epoch ms.
static int
s_bound (const json_t *v, const kf_tz_t *tz, bool is_to, int64_t *out, kf_error_t *err)
{
    const char *name = is_to ? "to" : "from";
    if (json_is_integer (v)) {
        *out = json_integer_value (v);
        return 0;
    }
    const char *text = json_string_value (v);
    if (!text)
        return S_REJECT (INVALID_VALUE, "params_json.%s must be a date, a UTC time or ms", name);
    int64_t ms = metrics_local_date (tz, text, is_to ? 1 : 0);
    if (ms < 0)
        ms = kf_clock_parse_utc (text);
    if (ms < 0)
        return S_REJECT (INVALID_VALUE,
                         "params_json.%s is neither a date (2026-11-23) nor a UTC time "
                         "(2026-11-23T08:30:00Z)",
                         name);
    *out = ms;
    return 0;
}

//  A string parameter as a bytes field, for kf_valid.
static ProtobufCBinaryData
s_bytes (const json_t *v)
{
    return (ProtobufCBinaryData){json_string_length (v), (uint8_t *) json_string_value (v)};
}

static int
s_check_params (const Kefu__V1__Query *q, const kf_tz_t *tz, const metrics_limits_t *limits,
                metrics_query_t *out, int64_t *from, int64_t *to, kf_error_t *err)
{
    if (q->params_json.len == 0)
        return 0;
    if (kf_valid_text (&q->params_json, "params_json", METRICS_PARAMS_MAX, false, err))
        return -1;
    json_error_t jerr;
    json_t *params = json_loadb ((const char *) q->params_json.data, q->params_json.len,
                                 JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object (params)) {
        json_decref (params);
        return S_REJECT (INVALID_VALUE, "params_json is not a JSON object");
    }
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach (params, key, v)
    {
        if (rc)
            break;
        if (strcmp (key, "shop_id") == 0) {
            //  The question is about Query.shop_id and nothing else.
            if (!json_is_string (v) || strcmp (json_string_value (v), out->shop_id) != 0)
                rc = S_REJECT (SHOP_OUT_OF_SCOPE, "params_json.shop_id names another shop");
        } else if (strcmp (key, "from") == 0)
            rc = s_bound (v, tz, false, from, err);
        else if (strcmp (key, "to") == 0)
            rc = s_bound (v, tz, true, to, err);
        else if (strcmp (key, "threshold_s") == 0) {
            int64_t s = json_is_integer (v) ? json_integer_value (v) : -1;
            if (s < 1 || s > 86400 || !metrics_bucket_is_bound (s * 1000))
                rc = S_REJECT (INVALID_VALUE,
                               "params_json.threshold_s must be a whole number of seconds that "
                               "is a histogram bound: 1-60, 65-300 in steps of 5, 330-1800 in "
                               "steps of 30, then whole 5 minutes to 7200 and hours to 86400");
            else
                out->threshold_ms = s * 1000;
        } else if (strcmp (key, "agent") == 0) {
            ProtobufCBinaryData b = s_bytes (v);
            if (!json_is_string (v))
                rc = S_REJECT (INVALID_VALUE, "params_json.agent must be a string");
            else if (kf_valid_id (&b, "params_json.agent", METRICS_ID_MAX, err) == 0) {
                out->has_agent = true;
                snprintf (out->agent, sizeof out->agent, "%s", json_string_value (v));
            } else
                rc = -1;
        } else if (strcmp (key, "group") == 0) {
            ProtobufCBinaryData b = s_bytes (v);
            if (!json_is_string (v))
                rc = S_REJECT (INVALID_VALUE, "params_json.group must be a string");
            else if (kf_valid_text (&b, "params_json.group", METRICS_GROUP_MAX, false, err) == 0) {
                out->has_group = true;
                snprintf (out->group, sizeof out->group, "%s", json_string_value (v));
            } else
                rc = -1;
        } else if (strcmp (key, "channel") == 0) {
            out->channel = json_is_string (v) ? metrics_channel_parse (json_string_value (v)) : 0;
            if (!out->channel)
                rc = S_REJECT (UNKNOWN_ENUM, "params_json.channel must be platform_chat, "
                                             "wechat, web_chat, email or phone");
        } else if (strcmp (key, "limit") == 0) {
            int64_t n = json_is_integer (v) ? json_integer_value (v) : 0;
            if (n < 1 || n > limits->max_rows)
                rc = S_REJECT (LIMIT_EXCEEDED, "params_json.limit must be 1..%" PRId64,
                               limits->max_rows);
            else
                out->limit = (int) n;
        } else if (strcmp (key, "date") == 0 && out->kind == METRICS_KIND_ATTENDANCE) {
            const char *d = json_string_value (v);
            if (!d || metrics_local_date (tz, d, 0) < 0)
                rc = S_REJECT (INVALID_VALUE, "params_json.date must be a date (2026-11-23)");
            else
                snprintf (out->date, sizeof out->date, "%s", d);
        } else if (strcmp (key, "month") == 0 &&
                   (out->kind == METRICS_KIND_SCORECARD || out->kind == METRICS_KIND_ATTENDANCE)) {
            const char *m = json_string_value (v);
            char first[16];
            snprintf (first, sizeof first, "%.7s-01", m ? m : "");
            if (!m || strlen (m) != 7 || metrics_local_date (tz, first, 0) < 0)
                rc = S_REJECT (INVALID_VALUE, "params_json.month must be a month (2026-11)");
            else
                snprintf (out->month, sizeof out->month, "%s", m);
        } else
            rc = S_REJECT (INVALID_VALUE,
                           "params_json has an unknown key (known: from, to, threshold_s, agent, "
                           "group, channel, limit, shop_id; month for agent.scorecard; date or "
                           "month for agent.attendance)");
    }
    json_decref (params);
    return rc;
}

//  The question's kind from its name.
static int
s_kind (const Kefu__V1__Query *q, kf_error_t *err)
{
    if (kf_valid_text (&q->kind, "kind", 64, true, err))
        return -1;
    for (int i = 0; i < S_KINDS; i++)
        if (q->kind.len == strlen (s_kinds[i].name) &&
            memcmp (q->kind.data, s_kinds[i].name, q->kind.len) == 0)
            return s_kinds[i].kind;
    return S_REJECT (UNKNOWN_ENUM, "unknown kind (known: kpi.summary, kpi.series, agents.now, "
                                   "conversations.waiting, qa.flags, agent.scorecard, "
                                   "agent.attendance, phrases.usage, orders.summary, "
                                   "aftersales.summary)");
}

static int
s_check_period (metrics_query_t *out, const kf_tz_t *tz, const metrics_limits_t *limits,
                kf_error_t *err)
{
    //  Sane instants: the year 2000 to a year from now.
    int64_t lowest = 946684800000LL, highest = out->now_ms + 366 * S_DAY_MS;
    if (out->from_ms < lowest || out->to_ms > highest || out->to_ms < lowest)
        return S_REJECT (TIMESTAMP_OUT_OF_WINDOW,
                         "the period must lie between 2000-01-01 and a year from now");
    if (out->from_ms >= out->to_ms)
        return S_REJECT (INVALID_VALUE, "from must be before to");
    if (out->to_ms - out->from_ms > limits->max_period_ms)
        return S_REJECT (LIMIT_EXCEEDED,
                         "the period is longer than %" PRId64 " days "
                         "(KEFU_METRICS_MAX_PERIOD)",
                         (int64_t) (limits->max_period_ms / S_DAY_MS));
    if (metrics_by_time (out->by)) {
        int64_t buckets = metrics_bucket_count (tz, out->by, out->from_ms, out->to_ms);
        if (buckets > limits->max_rows)
            return S_REJECT (LIMIT_EXCEEDED,
                             "%" PRId64 " %ss in the period, more than %" PRId64
                             " rows (KEFU_METRICS_MAX_ROWS): ask for a shorter period or a "
                             "coarser grouping",
                             buckets, metrics_by_name (out->by), limits->max_rows);
    }
    return 0;
}

//  A scorecard is a month's (entered scores are per month): the month
//  asked for, default this one, and never from/to.
static int
s_scorecard_period (metrics_query_t *out, const kf_tz_t *tz, int64_t *from, int64_t *to,
                    kf_error_t *err)
{
    if (*from || *to)
        return S_REJECT (INVALID_VALUE, "agent.scorecard is asked for a month (params_json.month: "
                                        "\"2026-11\"), not from/to");
    if (out->has_group || out->channel)
        return S_REJECT (INVALID_VALUE, "agent.scorecard takes no group or channel");
    if (!*out->month)
        metrics_bucket_label (tz, METRICS_BY_MONTH, out->now_ms, out->month, sizeof out->month);
    char first[32];
    snprintf (first, sizeof first, "%s-01", out->month);
    *from = metrics_local_date (tz, first, 0);
    int y = atoi (out->month), m = atoi (out->month + 5);
    snprintf (first, sizeof first, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    *to = metrics_local_date (tz, first, 0);
    return 0;
}

//  Attendance is a day's or a month's (local days, whole): the date or
//  month asked for, default today, and never from/to.
static int
s_attendance_period (metrics_query_t *out, const kf_tz_t *tz, int64_t *from, int64_t *to,
                     kf_error_t *err)
{
    if (*from || *to)
        return S_REJECT (INVALID_VALUE, "agent.attendance is asked for a date or a month "
                                        "(params_json.date, params_json.month), not from/to");
    if (out->has_group || out->channel)
        return S_REJECT (INVALID_VALUE, "agent.attendance takes no group or channel");
    if (*out->date && *out->month)
        return S_REJECT (INVALID_VALUE, "agent.attendance takes a date or a month, not both");
    if (*out->month) {
        char first[32];
        snprintf (first, sizeof first, "%s-01", out->month);
        *from = metrics_local_date (tz, first, 0);
        int y = atoi (out->month), m = atoi (out->month + 5);
        snprintf (first, sizeof first, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
        *to = metrics_local_date (tz, first, 0);
        return 0;
    }
    if (!*out->date)
        metrics_bucket_label (tz, METRICS_BY_DAY, out->now_ms, out->date, sizeof out->date);
    *from = metrics_local_date (tz, out->date, 0);
    *to = metrics_local_date (tz, out->date, 1);
    return 0;
}

int
metrics_query_check (const Kefu__V1__Query *q, const metrics_principal_t *principal,
                     metrics_auth_t *auth, const metrics_limits_t *limits, int64_t now_ms,
                     metrics_query_t *out, kf_error_t *err)
{
    memset (out, 0, sizeof *out);
    out->now_ms = now_ms;
    out->threshold_ms = 20000;
    out->limit = S_DEFAULT_LIMIT < limits->max_rows ? S_DEFAULT_LIMIT : (int) limits->max_rows;
    out->max_rows = limits->max_rows;
    if (!principal)
        return S_REJECT (NOT_AUTHENTICATED, "the key is not (or no longer) a principal's");
    if (strcmp (principal->role, "supervisor") != 0 && strcmp (principal->role, "admin") != 0)
        return S_REJECT (FORBIDDEN, "role %s may not ask metrics (supervisor or admin)",
                         principal->role);
    if (q->request_id.len > METRICS_REQUEST_MAX)
        return S_REJECT (TOO_LONG, "request_id is over %d bytes", METRICS_REQUEST_MAX);
    if ((out->kind = s_kind (q, err)) < 0)
        return -1;
    if (q->shop_id.len == 0)
        return S_REJECT (MISSING_FIELD, "shop_id is missing");
    if (kf_valid_text (&q->shop_id, "shop_id", KF_SHOP_ID_MAX, true, err) ||
        kf_valid_shop_id ((const char *) q->shop_id.data, q->shop_id.len, err))
        return -1;
    snprintf (out->shop_id, sizeof out->shop_id, "%.*s", (int) q->shop_id.len,
              (const char *) q->shop_id.data);
    //  Scope before existence: another shop is out of scope whether or not
    //  it exists, so a supervisor learns nothing about it.
    if (!metrics_auth_in_scope (principal, out->shop_id))
        return S_REJECT (SHOP_OUT_OF_SCOPE, "this key may not see shop %s", out->shop_id);
    const char *tzname = metrics_auth_shop_timezone (auth, out->shop_id);
    if (!tzname)
        return S_REJECT (UNKNOWN_SHOP, "no shop %s", out->shop_id);
    snprintf (out->timezone, sizeof out->timezone, "%s", tzname);
    kf_tz_t *tz = kf_tz_new (tzname);
    if (!tz)
        return S_REJECT (INTERNAL, "shop %s has an unknown time zone %s", out->shop_id, tzname);
    int rc = -1;
    char by[17] = "";
    if (kf_valid_text (&q->group_by, "group_by", 16, false, err))
        goto done;
    snprintf (by, sizeof by, "%.*s", (int) q->group_by.len, (const char *) q->group_by.data);
    out->by = metrics_by_parse (by);
    //  The desk's kinds group their own way (after the parameters).
    if (!metrics_desk_kind (out->kind) &&
        (out->by < 0 || (out->kind == METRICS_KIND_SERIES && *by && !metrics_by_time (out->by)) ||
         (out->kind != METRICS_KIND_SUMMARY && out->kind != METRICS_KIND_SERIES && *by))) {
        S_REJECT (INVALID_VALUE,
                  out->kind == METRICS_KIND_SUMMARY
                      ? "group_by must be empty, agent, group, channel, hour, day, week or month"
                  : out->kind == METRICS_KIND_SERIES
                      ? "group_by (the interval) must be hour, day, week or month"
                      : "group_by is not used by this kind");
        goto done;
    }
    int64_t from = q->from_ms, to = q->to_ms;
    if (s_check_params (q, tz, limits, out, &from, &to, err) ||
        (metrics_desk_kind (out->kind) &&
         metrics_desk_check_by (out, metrics_kind_name (out->kind), by, err)))
        goto done;
    if (out->kind == METRICS_KIND_SCORECARD && (s_scorecard_period (out, tz, &from, &to, err)))
        goto done;
    if (out->kind == METRICS_KIND_ATTENDANCE && s_attendance_period (out, tz, &from, &to, err))
        goto done;
    if (!metrics_query_is_now (out->kind)) {
        if (!from && !to) {
            //  Today, in the shop's time zone.
            char date[32];
            metrics_bucket_label (tz, METRICS_BY_DAY, now_ms, date, sizeof date);
            from = metrics_local_date (tz, date, 0);
            to = metrics_local_date (tz, date, 1);
        } else if (!to)
            to = now_ms;
        else if (!from) {
            S_REJECT (MISSING_FIELD, "from is missing (to without from)");
            goto done;
        }
        out->from_ms = from;
        out->to_ms = to;
        if (out->kind == METRICS_KIND_SERIES && !*by)
            out->by = to - from <= 2 * S_DAY_MS ? METRICS_BY_HOUR : METRICS_BY_DAY;
        if (s_check_period (out, tz, limits, err))
            goto done;
    }
    rc = 0;
done:
    kf_tz_destroy (&tz);
    return rc;
}

//  ---------------------------------------------------------------------
//  Answers

zframe_t *
metrics_query_answer (const void *request_id, size_t request_id_len, const char *json,
                      const kf_error_t *err)
{
    Kefu__V1__Answer answer = KEFU__V1__ANSWER__INIT;
    answer.request_id.data = (uint8_t *) request_id;
    answer.request_id.len = request_id_len;
    if (err && err->code != KEFU__V1__ERROR_CODE__ERROR_NONE) {
        answer.status = kf_error_is_retryable (err->code) ? KEFU__V1__ACK_STATUS__ACK_RETRY_LATER
                                                          : KEFU__V1__ACK_STATUS__ACK_REJECTED;
        answer.code = err->code;
        answer.reason = (char *) err->reason;
    } else {
        answer.status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
        answer.json.data = (uint8_t *) json;
        answer.json.len = json ? strlen (json) : 0;
    }
    return kf_wire_pack (&answer.base);
}

static char *
s_dump (json_t *root)
{
    char *text = json_dumps (root, S_DUMP_FLAGS);
    json_decref (root);
    return text;
}

static json_t *
s_time (const kf_tz_t *tz, int64_t ms)
{
    char buf[48];
    return json_string (metrics_local_time (tz, ms, buf, sizeof buf));
}

//  The head every answer starts with.
static json_t *
s_head (const metrics_query_t *query, const kf_tz_t *tz)
{
    json_t *o = json_pack ("{s:s, s:s, s:s}", "kind", metrics_kind_name (query->kind), "shop_id",
                           query->shop_id, "timezone", query->timezone);
    if (metrics_query_is_now (query->kind)) {
        json_object_set_new (o, "now_ms", json_integer (query->now_ms));
        json_object_set_new (o, "now", s_time (tz, query->now_ms));
    } else {
        json_object_set_new (o, "from_ms", json_integer (query->from_ms));
        json_object_set_new (o, "to_ms", json_integer (query->to_ms));
        json_object_set_new (o, "from", s_time (tz, query->from_ms));
        json_object_set_new (o, "to", s_time (tz, query->to_ms));
    }
    return o;
}

static json_t *
s_text_or_null (const char *s)
{
    return s && *s ? json_string (s) : json_null ();
}

//  ---------------------------------------------------------------------
//  Now

typedef struct {
    const metrics_conv_t **convs; //  waiting conversations
    int count;                    //  used
    int cap;                      //  allocated
    int open;                     //  open conversations
    int queued;                   //  of which queued
} s_open_t;

static void
s_on_open (void *arg, const metrics_conv_t *conv)
{
    s_open_t *o = arg;
    o->open++;
    if (conv->queued)
        o->queued++;
    if (!conv->round_at)
        return;
    if (o->count == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->convs = realloc (o->convs, (size_t) o->cap * sizeof *o->convs);
    }
    o->convs[o->count++] = conv;
}

static int
s_by_wait (const void *a, const void *b)
{
    const metrics_conv_t *x = *(const metrics_conv_t *const *) a;
    const metrics_conv_t *y = *(const metrics_conv_t *const *) b;
    if (x->round_at != y->round_at)
        return x->round_at < y->round_at ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static json_t *
s_waited (int64_t now_ms, int64_t since_ms)
{
    return json_real ((double) (now_ms > since_ms ? now_ms - since_ms : 0) / 1000.0);
}

char *
metrics_query_now (metrics_model_t *model, const metrics_query_t *query)
{
    kf_tz_t *tz = kf_tz_new (query->timezone);
    if (!tz)
        return NULL;
    json_t *root = s_head (query, tz);
    s_open_t open = {NULL, 0, 0, 0, 0};
    metrics_model_each_open (model, query->shop_id, s_on_open, &open);
    if (query->kind == METRICS_KIND_AGENTS_NOW) {
        metrics_agent_now_t *rows = NULL;
        int n = metrics_model_agents_now (model, query->shop_id, &rows);
        json_t *agents = json_array ();
        for (int i = 0; i < n; i++) {
            const metrics_agent_now_t *a = &rows[i];
            if (query->has_agent && strcmp (a->agent_id, query->agent) != 0)
                continue;
            json_array_append_new (
                agents,
                json_pack ("{s:s, s:s, s:I, s:o, s:i, s:i, s:o}", "agent_id", a->agent_id, "status",
                           metrics_status_name (a->status), "since_ms", (json_int_t) a->since_ms,
                           "since", a->since_ms ? s_time (tz, a->since_ms) : json_null (), "load",
                           a->load, "waiting", a->waiting, "longest_wait_s",
                           a->oldest_wait ? s_waited (query->now_ms, a->oldest_wait)
                                          : json_null ()));
        }
        free (rows);
        json_object_set_new (root, "agents", agents);
        json_object_set_new (root, "open", json_integer (open.open));
        json_object_set_new (root, "queued", json_integer (open.queued));
        json_object_set_new (root, "waiting", json_integer (open.count));
    } else {
        if (open.count > 1)
            qsort (open.convs, (size_t) open.count, sizeof *open.convs, s_by_wait);
        json_t *list = json_array ();
        for (int i = 0; i < open.count && (int) json_array_size (list) < query->limit; i++) {
            const metrics_conv_t *c = open.convs[i];
            if ((query->has_agent && strcmp (c->owner, query->agent) != 0) ||
                (query->has_group && strcmp (c->group, query->group) != 0) ||
                (query->channel && c->channel != query->channel))
                continue;
            json_array_append_new (
                list,
                json_pack ("{s:I, s:s, s:s, s:o, s:o, s:b, s:b, s:I, s:o, s:o, s:i}",
                           "conversation_id", (json_int_t) c->id, "channel",
                           metrics_channel_name (c->channel), "customer", c->customer, "group",
                           s_text_or_null (c->group), "owner", s_text_or_null (c->owner), "queued",
                           c->queued, "vip", c->vip, "waiting_since_ms", (json_int_t) c->round_at,
                           "waiting_since", s_time (tz, c->round_at), "waited_s",
                           s_waited (query->now_ms, c->round_at), "customer_messages",
                           c->round_msgs));
        }
        json_object_set_new (root, "count", json_integer (open.count));
        json_object_set_new (root, "conversations", list);
    }
    free (open.convs);
    kf_tz_destroy (&tz);
    return s_dump (root);
}

//  ---------------------------------------------------------------------
//  Rollups (worker)

typedef struct {
    zhashx_t *groups;         //  key -> metrics_sums_t
    metrics_sums_t *total;    //  everything
    const metrics_query_t *q; //  the question
} s_fold_t;

static metrics_sums_t *
s_group (s_fold_t *fold, const char *key)
{
    metrics_sums_t *sums = zhashx_lookup (fold->groups, key);
    if (!sums) {
        sums = calloc (1, sizeof *sums);
        zhashx_insert (fold->groups, key, sums);
    }
    return sums;
}

static void
s_on_sums (void *arg, const char *key, const int64_t *counters)
{
    s_fold_t *fold = arg;
    metrics_sums_add (s_group (fold, key), counters);
    metrics_sums_add (fold->total, counters);
}

static void
s_on_hist (void *arg, const char *key, int hist, int bucket, int64_t n)
{
    s_fold_t *fold = arg;
    metrics_sums_add_hist (s_group (fold, key), hist, bucket, n);
    metrics_sums_add_hist (fold->total, hist, bucket, n);
}

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Rows of a grouping by agent, group or channel: one per key with data.
static json_t *
s_key_rows (s_fold_t *fold)
{
    const metrics_query_t *q = fold->q;
    zlistx_t *keys = zhashx_keys (fold->groups);
    zlistx_set_comparator (keys, (czmq_comparator *) strcmp);
    zlistx_sort (keys);
    json_t *rows = json_array ();
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        const metrics_sums_t *sums = zhashx_lookup (fold->groups, key);
        if (metrics_sums_empty (sums))
            continue;
        json_t *row = metrics_report_kpis (sums, q->threshold_ms, q->by == METRICS_BY_AGENT);
        if (q->by == METRICS_BY_CHANNEL)
            json_object_set_new (row, "key", json_string (metrics_channel_name (atoi (key))));
        else
            json_object_set_new (row, "key", json_string (key));
        json_array_append_new (rows, row);
    }
    zlistx_destroy (&keys);
    return rows;
}

//  Rows of a time grouping: every bucket of the period, in order.
static json_t *
s_time_rows (s_fold_t *fold, const kf_tz_t *tz)
{
    const metrics_query_t *q = fold->q;
    json_t *rows = json_array ();
    metrics_sums_t *bucket = calloc (1, sizeof *bucket);
    char label[32] = "", next[32];
    int64_t start = 0;
    for (int64_t h = metrics_first_hour (q->from_ms);; h += METRICS_HOUR_MS) {
        bool end = h >= q->to_ms;
        if (!end)
            metrics_bucket_label (tz, q->by, h, next, sizeof next);
        if (*label && (end || strcmp (next, label) != 0)) {
            json_t *row = metrics_report_kpis (bucket, q->threshold_ms, false);
            json_object_set_new (row, "key", json_string (label));
            json_object_set_new (row, "from_ms", json_integer (start));
            json_object_set_new (row, "from", s_time (tz, start));
            json_array_append_new (rows, row);
            memset (bucket, 0, sizeof *bucket);
            label[0] = '\0';
        }
        if (end)
            break;
        if (!*label) {
            memcpy (label, next, sizeof label);
            start = h;
        }
        char key[32];
        snprintf (key, sizeof key, "%" PRId64, h);
        const metrics_sums_t *sums = zhashx_lookup (fold->groups, key);
        if (sums)
            metrics_sums_merge (bucket, sums);
    }
    free (bucket);
    return rows;
}

//  kpi.summary and kpi.series.
static char *
s_answer_kpis (kf_store_t *store, const metrics_query_t *q, const kf_tz_t *tz, kf_error_t *err)
{
    static const char *const dims[] = {"", "agent", "group", "channel"};
    metrics_read_t read = {q->shop_id,
                           q->from_ms,
                           q->to_ms,
                           metrics_by_time (q->by) ? "hour" : dims[q->by],
                           q->has_agent ? q->agent : NULL,
                           q->has_group ? q->group : NULL,
                           q->channel};
    s_fold_t fold = {zhashx_new (), calloc (1, sizeof (metrics_sums_t)), q};
    zhashx_set_destructor (fold.groups, s_free);
    char *text = NULL;
    if (metrics_store_sums (store, &read, s_on_sums, &fold, err) == 0 &&
        metrics_store_hists (store, &read, s_on_hist, &fold, err) == 0) {
        if (q->by != METRICS_BY_NONE && !metrics_by_time (q->by) &&
            (int64_t) zhashx_size (fold.groups) > q->max_rows)
            kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_LIMIT_EXCEEDED,
                          "%zu %ss, more than %" PRId64 " rows (KEFU_METRICS_MAX_ROWS)",
                          zhashx_size (fold.groups), metrics_by_name (q->by), q->max_rows);
        else {
            json_t *root = s_head (q, tz);
            json_object_set_new (root, "threshold_s", json_integer (q->threshold_ms / 1000));
            json_t *filters = json_object ();
            if (q->has_agent)
                json_object_set_new (filters, "agent", json_string (q->agent));
            if (q->has_group)
                json_object_set_new (filters, "group", json_string (q->group));
            if (q->channel)
                json_object_set_new (filters, "channel",
                                     json_string (metrics_channel_name (q->channel)));
            json_object_set_new (root, "filters", filters);
            if (q->kind == METRICS_KIND_SERIES) {
                json_object_set_new (root, "interval", json_string (metrics_by_name (q->by)));
                json_object_set_new (root, "points", s_time_rows (&fold, tz));
            } else {
                json_object_set_new (root, "by", s_text_or_null (metrics_by_name (q->by)));
                json_object_set_new (
                    root, "total", metrics_report_kpis (fold.total, q->threshold_ms, q->has_agent));
                if (q->by != METRICS_BY_NONE)
                    json_object_set_new (root, "rows",
                                         metrics_by_time (q->by) ? s_time_rows (&fold, tz)
                                                                 : s_key_rows (&fold));
            }
            text = s_dump (root);
        }
    }
    zhashx_destroy (&fold.groups);
    free (fold.total);
    return text;
}

typedef struct {
    json_t *lines;     //  what goes out
    const kf_tz_t *tz; //  for times
    int limit;         //  most lines
    bool truncated;    //  there were more
} s_qa_t;

static void
s_on_qa_line (void *arg, const metrics_qa_row_t *row)
{
    s_qa_t *qa = arg;
    if ((int) json_array_size (qa->lines) == qa->limit) {
        qa->truncated = true;
        return;
    }
    json_t *flags = json_array ();
    char *copy = strdup (row->flags);
    char *save = NULL;
    for (char *f = strtok_r (copy, "\x1f", &save); f; f = strtok_r (NULL, "\x1f", &save))
        json_array_append_new (flags, json_string (f));
    free (copy);
    json_array_append_new (
        qa->lines,
        json_pack ("{s:I, s:I, s:s, s:s, s:I, s:o, s:o, s:s}", "message_id",
                   (json_int_t) row->message_id, "conversation_id",
                   (json_int_t) row->conversation_id, "agent_id", row->agent_id, "channel",
                   metrics_channel_name (row->channel), "sent_at_ms", (json_int_t) row->sent_at,
                   "sent_at", s_time (qa->tz, row->sent_at), "flags", flags, "body", row->body));
}

static char *
s_answer_qa (kf_store_t *store, const metrics_query_t *q, const kf_tz_t *tz, kf_error_t *err)
{
    metrics_read_t read = {q->shop_id, q->from_ms, q->to_ms, "", q->has_agent ? q->agent : NULL,
                           NULL,       q->channel};
    s_qa_t qa = {json_array (), tz, q->limit, false};
    if (metrics_store_qa_lines (store, &read, q->limit + 1, s_on_qa_line, &qa, err)) {
        json_decref (qa.lines);
        return NULL;
    }
    json_t *root = s_head (q, tz);
    json_object_set_new (root, "count", json_integer ((json_int_t) json_array_size (qa.lines)));
    json_object_set_new (root, "truncated", json_boolean (qa.truncated));
    json_object_set_new (root, "lines", qa.lines);
    return s_dump (root);
}

//  agent.scorecard: the scheme, the team, every agent's items.
static char *
s_answer_scorecard (kf_store_t *store, const metrics_query_t *q, const kf_tz_t *tz, kf_error_t *err)
{
    metrics_scheme_t scheme;
    metrics_score_sources_t sources;
    metrics_score_agent_t *agents = NULL;
    int count = 0;
    if (metrics_store_scheme (store, q->shop_id, &scheme, &sources, err) ||
        metrics_store_scorecard (store, q->shop_id, q->from_ms, q->to_ms, q->month, &agents, &count,
                                 err))
        return NULL;
    json_t *root = s_head (q, tz);
    json_object_set_new (root, "month", json_string (q->month));
    json_t *weights = json_object ();
    for (int k = 0; k < METRICS_ITEMS; k++)
        json_object_set_new (weights, metrics_item_names[k], json_real (scheme.weight[k]));
    json_object_set_new (root, "scheme",
                         json_pack ("{s:o, s:f, s:{s:f, s:f, s:f}}", "weights", weights,
                                    "conversion_coefficient", scheme.coefficient, "deductions",
                                    "valid", scheme.deduct[0], "wrong_explanation",
                                    scheme.deduct[1], "unverifiable", scheme.deduct[2]));
    json_object_set_new (root, "filters",
                         q->has_agent ? json_pack ("{s:s}", "agent", q->agent) : json_object ());
    metrics_score_card (root, &scheme, &sources, agents, count, q->has_agent ? q->agent : NULL);
    free (agents);
    if (metrics_desk_attendance (store, q, tz, root, err)) {
        json_decref (root);
        return NULL;
    }
    return s_dump (root);
}

//  One attendance row as JSON (times local, with their offset).
static json_t *
s_attendance_row (const metrics_att_row_t *r, const kf_tz_t *tz)
{
    char date[32];
    metrics_bucket_label (tz, METRICS_BY_DAY, r->start_ms, date, sizeof date);
    static const char *const phases[] = {"upcoming", "under_way", "ended"};
    json_t *o = json_pack (
        "{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:b, s:i, s:b, s:i, s:b, s:i, s:b, s:i}",
        "date", date, "agent_id", r->agent_id, "shift", r->shift, "start", s_time (tz, r->start_ms),
        "end", s_time (tz, r->end_ms), "phase", phases[r->phase], "status", metrics_att_status (r),
        "present_from", r->present_from ? s_time (tz, r->present_from) : json_null (), "present_to",
        r->present_to ? s_time (tz, r->present_to) : json_null (), "still_present",
        r->still_present, "present_minutes", r->present_minutes, "late", r->late, "late_minutes",
        r->late_minutes, "early_leave", r->early_leave, "early_minutes", r->early_minutes, "absent",
        r->absent, "unanswered", r->unanswered);
    return o;
}

//  agent.attendance: every scheduled shift of the period's days.
static char *
s_answer_attendance (kf_store_t *store, const metrics_query_t *q, const kf_tz_t *tz,
                     kf_error_t *err)
{
    metrics_att_input_t in;
    //  Facts from the first day's midnight to two days after the last
    //  (an overnight shift of the last day ends the next morning).
    if (metrics_att_store_input (store, q->shop_id, q->from_ms, q->to_ms + 2 * S_DAY_MS, &in, err))
        return NULL;
    json_t *root = s_head (q, tz);
    if (*q->date)
        json_object_set_new (root, "date", json_string (q->date));
    if (*q->month)
        json_object_set_new (root, "month", json_string (q->month));
    json_object_set_new (root, "settings",
                         json_pack ("{s:i, s:i}", "late_grace_min", in.settings.late_grace_min,
                                    "early_grace_min", in.settings.early_grace_min));
    json_object_set_new (root, "scheduled", json_boolean (in.version_count > 0));
    json_t *rows = json_array ();
    int totals[4] = {0, 0, 0, 0}; //  late, early leave, absent, rows
    int64_t first = kf_tz_local_day (tz, q->from_ms), last = kf_tz_local_day (tz, q->to_ms - 1);
    for (int64_t day = first; day <= last && json_array_size (rows) <= (size_t) q->max_rows;
         day++) {
        metrics_att_row_t *out = NULL;
        int n = metrics_attendance_day (&in, day, q->now_ms, &out);
        for (int i = 0; i < n; i++) {
            if (q->has_agent && strcmp (out[i].agent_id, q->agent) != 0)
                continue;
            totals[0] += out[i].late;
            totals[1] += out[i].early_leave;
            totals[2] += out[i].absent;
            totals[3]++;
            json_array_append_new (rows, s_attendance_row (&out[i], tz));
        }
        free (out);
    }
    metrics_att_input_free (&in);
    json_object_set_new (root, "totals",
                         json_pack ("{s:i, s:i, s:i, s:i}", "shifts", totals[3], "late", totals[0],
                                    "early_leave", totals[1], "absent", totals[2]));
    json_object_set_new (root, "rows", rows);
    return s_dump (root);
}

//  One question on the worker: the Answer frame, and the code for counting.
static zframe_t *
s_answer (kf_store_t *store, const metrics_query_t *q, const zframe_t *request_id, kf_error_t *err)
{
    char *json = NULL;
    kf_tz_t *tz = kf_tz_new (q->timezone);
    if (!tz)
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "unknown time zone %s",
                      q->timezone);
    else if (kf_store_ensure (store))
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                      "the database is not reachable; ask again later");
    else if (q->kind == METRICS_KIND_QA_FLAGS)
        json = s_answer_qa (store, q, tz, err);
    else if (q->kind == METRICS_KIND_SCORECARD)
        json = s_answer_scorecard (store, q, tz, err);
    else if (q->kind == METRICS_KIND_ATTENDANCE)
        json = s_answer_attendance (store, q, tz, err);
    else if (metrics_desk_kind (q->kind))
        json = metrics_desk_answer (store, q, s_head (q, tz), err);
    else
        json = s_answer_kpis (store, q, tz, err);
    if (!json && err->code == KEFU__V1__ERROR_CODE__ERROR_NONE)
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "no answer");
    if (err->code == KEFU__V1__ERROR_CODE__ERROR_INTERNAL)
        kf_log_error ("metrics.query_failed", "shop=%s kind=%s reason=\"%s\"", q->shop_id,
                      metrics_kind_name (q->kind), err->reason);
    zframe_t *frame = metrics_query_answer (zframe_data ((zframe_t *) request_id),
                                            zframe_size ((zframe_t *) request_id), json, err);
    free (json);
    kf_tz_destroy (&tz);
    return frame;
}

void
metrics_query_worker (zsock_t *pipe, void *conninfo)
{
    kf_store_t *store = kf_store_new ((const char *) conninfo, "kefu-metrics-query");
    metrics_store_register (store);
    //  Connected, its statements prepared, before the service starts: the
    //  first question pays no connection (a database that is not there yet
    //  is tried again by the first question).
    if (kf_store_ensure (store))
        kf_log_warn ("metrics.worker_not_connected", "note=\"connecting at the first question\"");
    zsock_signal (pipe, 0);
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        if (zmsg_size (msg) == 1) {
            char *command = zmsg_popstr (msg);
            bool term = command && streq (command, "$TERM");
            free (command);
            zmsg_destroy (&msg);
            if (term)
                break;
            continue;
        }
        //  [routing id][metrics_query_t][request id]: our own thread's
        //  message, so a wrong shape is a bug.
        zframe_t *routing_id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        zframe_t *request_id = zmsg_pop (msg);
        assert (routing_id && body && request_id && zframe_size (body) == sizeof (metrics_query_t));
        metrics_query_t q;
        memcpy (&q, zframe_data (body), sizeof q);
        kf_error_t err;
        kf_error_clear (&err);
        zframe_t *answer = s_answer (store, &q, request_id, &err);
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &routing_id);
        zmsg_addstrf (reply, "%d", (int) err.code);
        zmsg_append (reply, &answer);
        zmsg_send (&reply, pipe);
        zframe_destroy (&body);
        zframe_destroy (&request_id);
        zmsg_destroy (&msg);
    }
    kf_store_destroy (&store);
}

//  ---------------------------------------------------------------------
//  Client

typedef struct {
    const char *server_key; //  metrics' public key, "" = plain
    zcert_t *cert;          //  the client's key pair, may be NULL
} s_client_t;

static void
s_client_setup (zsock_t *sock, void *arg)
{
    s_client_t *c = arg;
    if (c->server_key && *c->server_key) {
        if (c->cert)
            zcert_apply (c->cert, sock);
        zsock_set_curve_serverkey (sock, c->server_key);
    }
}

Kefu__V1__Answer *
metrics_query_call (const char *endpoint, const char *server_key, zcert_t *cert,
                    const Kefu__V1__Query *query, int timeout_ms)
{
    s_client_t client = {server_key, cert};
    zframe_t *in = kf_wire_call (endpoint, &query->base, timeout_ms, s_client_setup, &client);
    Kefu__V1__Answer *answer =
        in ? kefu__v1__answer__unpack (NULL, zframe_size (in), zframe_data (in)) : NULL;
    zframe_destroy (&in);
    return answer;
}
