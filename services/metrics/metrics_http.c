/*  metrics_http — the dashboard, the HTTP JSON API and /metrics over
    libmicrohttpd. Each connection has its own thread; a request that
    needs the service sends the token's SHA-256 and a Query (the packed
    protobuf the ZeroMQ endpoint takes) to the service's bridge socket and
    waits for the packed Answer, so both endpoints share one check and one
    dispatch. */
#include "metrics_http.h"

#include "kefu/v1/control.pb-c.h"
#include "kf_control.h"
#include "kf_error.h"
#include "kf_log.h"
#include "metrics_token.h"
#include "metrics_web.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_URL         1024  //  bytes of a path
#define S_MAX_TOKEN       128   //  bytes of a bearer token
#define S_CALL_TIMEOUT_MS 15000 //  a question to the service
#define S_FREE_FAILURES   5     //  failed logins a source has before it waits
#define S_MAX_WAIT_MS     60000 //  longest wait
#define S_MAX_SOURCES     10000 //  sources remembered
#define S_MAX_SHOPS       100   //  shops in /metrics (bounded label set)
#define S_STATUS_TIMEOUT  1500  //  ms to wait for the services' status

typedef struct {
    int failures;     //  failed logins in a row
    int64_t until_ms; //  refused until then
} s_source_t;

struct _metrics_http_t {
    struct MHD_Daemon *daemon; //  the server
    char *bridge;              //  the service's inproc ROUTER
    char **services;           //  /metrics: service names
    char **endpoints;          //  ... and their control endpoints
    size_t status_count;       //  how many
    kf_clock_t *clock;         //  time (borrowed)
    char *cert_pem;            //  TLS certificate (kept while the daemon runs)
    char *key_pem;             //  TLS key
    pthread_mutex_t lock;      //  guards sources
    zhashx_t *sources;         //  source address -> s_source_t
    _Atomic int64_t requests;  //  counters (metrics_http_stats_t)
    _Atomic int64_t logins_failed;
    _Atomic int64_t logins_throttled;
    _Atomic int64_t forbidden;
    _Atomic int64_t refused;
};

//  ---------------------------------------------------------------------
//  Responses

static enum MHD_Result
s_send (struct MHD_Connection *conn, unsigned int status, const char *type, const void *body,
        size_t len, bool copy)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (
        len, (void *) body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header (r, "Content-Type", type);
    MHD_add_response_header (r, "Cache-Control", "no-store");
    MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header (r, "X-Frame-Options", "DENY");
    MHD_add_response_header (r, "Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data: blob:; "
                             "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header (r, "WWW-Authenticate", "Bearer realm=\"kefu-metrics\"");
    enum MHD_Result rc = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return rc;
}

//  {"error": code, "reason": ...}: never any data.
static enum MHD_Result
s_error (metrics_http_t *self, struct MHD_Connection *conn, unsigned int status, const char *code,
         const char *reason)
{
    if (status == MHD_HTTP_FORBIDDEN)
        self->forbidden++;
    else if (status != MHD_HTTP_UNAUTHORIZED && status != MHD_HTTP_TOO_MANY_REQUESTS &&
             status < 500)
        self->refused++;
    json_t *o = json_pack ("{s:s, s:s}", "error", code, "reason", reason);
    char *text = json_dumps (o, JSON_COMPACT);
    json_decref (o);
    enum MHD_Result rc = s_send (conn, status, "application/json", text, strlen (text), true);
    free (text);
    return rc;
}

//  ---------------------------------------------------------------------
//  Logins: the token, the source, the wait

static void
s_source_of (struct MHD_Connection *conn, char *out, size_t size)
{
    snprintf (out, size, "-");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info && info->client_addr) {
        socklen_t len = info->client_addr->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                                 : sizeof (struct sockaddr_in);
        getnameinfo (info->client_addr, len, out, (socklen_t) size, NULL, 0, NI_NUMERICHOST);
    }
}

//  ms the source must still wait, 0 if none.
static int64_t
s_source_wait (metrics_http_t *self, const char *source)
{
    int64_t now = kf_clock_now_ms (self->clock), wait = 0;
    pthread_mutex_lock (&self->lock);
    s_source_t *s = zhashx_lookup (self->sources, source);
    if (s && s->until_ms > now)
        wait = s->until_ms - now;
    pthread_mutex_unlock (&self->lock);
    return wait;
}

static void
s_source_failed (metrics_http_t *self, const char *source)
{
    int64_t now = kf_clock_now_ms (self->clock);
    pthread_mutex_lock (&self->lock);
    s_source_t *s = zhashx_lookup (self->sources, source);
    if (!s) {
        if (zhashx_size (self->sources) >= S_MAX_SOURCES) {
            //  Forget the sources that wait no more; if every one still
            //  waits, the newcomer is not remembered (its tries are free).
            zlistx_t *keys = zhashx_keys (self->sources);
            for (const char *k = zlistx_first (keys); k; k = zlistx_next (keys)) {
                s_source_t *old = zhashx_lookup (self->sources, k);
                if (old->until_ms <= now)
                    zhashx_delete (self->sources, k);
            }
            zlistx_destroy (&keys);
        }
        if (zhashx_size (self->sources) < S_MAX_SOURCES) {
            s = calloc (1, sizeof *s);
            zhashx_insert (self->sources, source, s);
        }
    }
    int failures = 0;
    int64_t wait = 0;
    if (s) {
        failures = ++s->failures;
        if (failures > S_FREE_FAILURES) {
            int shift = failures - S_FREE_FAILURES - 1;
            wait = shift >= 16 ? S_MAX_WAIT_MS : (int64_t) 1000 << shift;
            if (wait > S_MAX_WAIT_MS)
                wait = S_MAX_WAIT_MS;
            s->until_ms = now + wait;
        }
    }
    pthread_mutex_unlock (&self->lock);
    self->logins_failed++;
    kf_log_warn ("http.login_failed", "source=%s failures=%d wait_ms=%lld", source, failures,
                 (long long) wait);
}

static void
s_source_ok (metrics_http_t *self, const char *source)
{
    pthread_mutex_lock (&self->lock);
    zhashx_delete (self->sources, source);
    pthread_mutex_unlock (&self->lock);
}

//  The SHA-256 of the bearer token into hash; false when there is none
//  (or it is too long to be one).
static bool
s_token_hash (struct MHD_Connection *conn, char *hash)
{
    const char *auth = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp (auth, "Bearer ", 7) != 0)
        return false;
    const char *token = auth + 7;
    while (*token == ' ')
        token++;
    size_t len = strlen (token);
    while (len > 0 && token[len - 1] == ' ')
        len--;
    if (len == 0 || len > S_MAX_TOKEN)
        return false;
    metrics_token_hash (token, len, hash);
    return true;
}

//  ---------------------------------------------------------------------
//  The bridge to the service

//  Send msg, wait for the reply. NULL when the service does not answer.
static zmsg_t *
s_call (metrics_http_t *self, zmsg_t **msg_p)
{
    zsock_t *s = zsock_new_dealer (self->bridge);
    if (!s) {
        zmsg_destroy (msg_p);
        return NULL;
    }
    zmsg_t *reply = NULL;
    if (zmsg_send (msg_p, s) == 0) {
        zpoller_t *poller = zpoller_new (s, NULL);
        if (zpoller_wait (poller, S_CALL_TIMEOUT_MS))
            reply = zmsg_recv (s);
        zpoller_destroy (&poller);
    }
    zmsg_destroy (msg_p);
    zsock_destroy (&s);
    return reply;
}

//  Ask the service who the token is: JSON text (caller frees), or NULL.
static char *
s_whoami (metrics_http_t *self, const char *hash)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "WHO");
    zmsg_addstr (msg, hash);
    zmsg_t *reply = s_call (self, &msg);
    char *json = reply ? zmsg_popstr (reply) : NULL;
    zmsg_destroy (&reply);
    if (json && !*json) {
        free (json);
        json = NULL;
    }
    return json;
}

static ProtobufCBinaryData
s_bytes (const char *s)
{
    return (ProtobufCBinaryData){s ? strlen (s) : 0, (uint8_t *) s};
}

//  Ask a Query as the token's principal. The Answer, or NULL when the
//  service did not answer. Caller owns it.
static Kefu__V1__Answer *
s_query (metrics_http_t *self, const char *hash, const Kefu__V1__Query *q)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "QUERY");
    zmsg_addstr (msg, hash);
    zframe_t *f = zframe_new (NULL, kefu__v1__query__get_packed_size (q));
    kefu__v1__query__pack (q, zframe_data (f));
    zmsg_append (msg, &f);
    zmsg_t *reply = s_call (self, &msg);
    zframe_t *body = reply ? zmsg_pop (reply) : NULL;
    Kefu__V1__Answer *a =
        body ? kefu__v1__answer__unpack (NULL, zframe_size (body), zframe_data (body)) : NULL;
    zframe_destroy (&body);
    zmsg_destroy (&reply);
    return a;
}

//  The HTTP status of an answer's code.
static unsigned int
s_status_of (int code)
{
    switch (code) {
    case KEFU__V1__ERROR_CODE__ERROR_NONE:
        return MHD_HTTP_OK;
    case KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED:
        return MHD_HTTP_UNAUTHORIZED;
    case KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN:
    case KEFU__V1__ERROR_CODE__ERROR_SHOP_OUT_OF_SCOPE:
        return MHD_HTTP_FORBIDDEN;
    case KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP:
        return MHD_HTTP_NOT_FOUND;
    case KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE:
    case KEFU__V1__ERROR_CODE__ERROR_INTERNAL:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:
        return MHD_HTTP_BAD_REQUEST;
    }
}

//  ---------------------------------------------------------------------
//  CSV

//  One cell of a scalar (or an array of scalars, space-separated).
static char *
s_cell (json_t *v)
{
    if (json_is_string (v))
        return strdup (json_string_value (v));
    if (json_is_null (v) || !v)
        return strdup ("");
    if (json_is_array (v)) {
        char *out = strdup ("");
        size_t i;
        json_t *e;
        json_array_foreach (v, i, e)
        {
            char *c = s_cell (e);
            char *joined;
            if (asprintf (&joined, "%s%s%s", out, i ? " " : "", c) < 0)
                joined = NULL;
            free (out);
            free (c);
            out = joined ? joined : strdup ("");
        }
        return out;
    }
    return json_dumps (v, JSON_ENCODE_ANY | JSON_REAL_PRECISION (10));
}

//  Flatten obj into row (column -> cell), recording new columns in order.
static void
s_flatten (json_t *obj, const char *prefix, zhashx_t *row, zlistx_t *columns, zhashx_t *known)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v)
    {
        char name[256];
        snprintf (name, sizeof name, "%s%s", prefix, key);
        if (json_is_object (v)) {
            char sub[260];
            snprintf (sub, sizeof sub, "%s.", name);
            s_flatten (v, sub, row, columns, known);
            continue;
        }
        if (!zhashx_lookup (known, name)) {
            zhashx_insert (known, name, (void *) 1);
            zlistx_add_end (columns, strdup (name));
        }
        zhashx_update (row, name, s_cell (v));
    }
}

static void
s_csv_field (FILE *out, const char *text)
{
    //  A cell a spreadsheet would take for a formula is written as text.
    char *end = NULL;
    if (text[0] == '-')
        strtod (text, &end);
    bool number = end && end != text && !*end;
    bool formula = text[0] && strchr ("=+-@", text[0]) && !number;
    if (!formula && !strpbrk (text, ",\"\r\n")) {
        fputs (text, out);
        return;
    }
    fputc ('"', out);
    if (formula)
        fputc ('\'', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc ('"', out);
        fputc (*p, out);
    }
    fputc ('"', out);
}

static void
s_free_str (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

char *
metrics_http_csv (const char *json)
{
    json_t *root = json_loads (json, 0, NULL);
    if (!json_is_object (root)) {
        json_decref (root);
        return strdup ("");
    }
    //  The table: the first array of objects in the answer.
    json_t *table = NULL;
    const char *key;
    json_t *v;
    json_object_foreach (root, key, v)
    {
        if (!table && json_is_array (v) && json_is_object (json_array_get (v, 0)))
            table = v;
    }
    zlistx_t *rows = zlistx_new ();
    zlistx_t *columns = zlistx_new ();
    zlistx_set_destructor (columns, s_free_str);
    zhashx_t *known = zhashx_new ();
    zlistx_add_end (columns, strdup ("row"));
    json_t *total = json_object_get (root, "total");
    if (json_is_object (total) || !table) {
        zhashx_t *row = zhashx_new ();
        zhashx_set_destructor (row, s_free_str);
        zhashx_insert (row, "row", strdup (table || total ? "total" : "answer"));
        s_flatten (json_is_object (total) ? total : root, "", row, columns, known);
        zlistx_add_end (rows, row);
    }
    size_t i;
    json_t *obj;
    json_array_foreach (table, i, obj)
    {
        if (!json_is_object (obj))
            continue;
        zhashx_t *row = zhashx_new ();
        zhashx_set_destructor (row, s_free_str);
        char n[24];
        snprintf (n, sizeof n, "%zu", i + 1);
        zhashx_insert (row, "row", strdup (n));
        s_flatten (obj, "", row, columns, known);
        zlistx_add_end (rows, row);
    }
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    bool first = true;
    for (const char *c = zlistx_first (columns); c; c = zlistx_next (columns), first = false) {
        if (!first)
            fputc (',', out);
        s_csv_field (out, c);
    }
    fputs ("\r\n", out);
    for (zhashx_t *row = zlistx_first (rows); row; row = zlistx_next (rows)) {
        first = true;
        for (const char *c = zlistx_first (columns); c; c = zlistx_next (columns), first = false) {
            if (!first)
                fputc (',', out);
            const char *cell = zhashx_lookup (row, c);
            s_csv_field (out, cell ? cell : "");
        }
        fputs ("\r\n", out);
        zhashx_destroy (&row);
    }
    fclose (out);
    zlistx_destroy (&rows);
    zlistx_destroy (&columns);
    zhashx_destroy (&known);
    json_decref (root);
    return text;
}

//  ---------------------------------------------------------------------
//  /api/KIND

typedef struct {
    const char *shop;   //  shop (borrowed from MHD)
    const char *by;     //  group_by
    const char *format; //  "csv" or NULL
    json_t *params;     //  everything else, for params_json
    bool bad;           //  an argument twice, or one too long
} s_args_t;

//  Parameters the query module takes as numbers; the others are text.
static const char *const s_numeric[] = {"threshold_s", "limit"};

static enum MHD_Result
s_on_arg (void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value,
          size_t value_size)
{
    (void) kind;
    s_args_t *a = cls;
    if (!value)
        value = "";
    //  A NUL inside (%00) would cut the text short: refused, not truncated.
    if (value_size > 512 || strlen (value) != value_size || strlen (key) != key_size) {
        a->bad = true;
        return MHD_NO;
    }
    const char **slot = strcmp (key, "shop") == 0     ? &a->shop
                        : strcmp (key, "by") == 0     ? &a->by
                        : strcmp (key, "format") == 0 ? &a->format
                                                      : NULL;
    if (slot) {
        if (*slot)
            a->bad = true;
        *slot = value;
        return MHD_YES;
    }
    if (json_object_get (a->params, key)) {
        a->bad = true;
        return MHD_YES;
    }
    json_t *v = NULL;
    for (size_t i = 0; i < sizeof s_numeric / sizeof s_numeric[0] && !v; i++) {
        char *end;
        long long n = strtoll (value, &end, 10);
        if (strcmp (key, s_numeric[i]) == 0 && *value && !*end)
            v = json_integer (n);
    }
    //  Bytes that are not UTF-8 are refused by the query's own checks.
    json_object_set_new (a->params, key, v ? v : json_stringn_nocheck (value, strlen (value)));
    return MHD_YES;
}

static enum MHD_Result
s_api (metrics_http_t *self, struct MHD_Connection *conn, const char *kind, const char *hash,
       const char *source)
{
    s_args_t a = {NULL, NULL, NULL, json_object (), false};
    MHD_get_connection_values_n (conn, MHD_GET_ARGUMENT_KIND, s_on_arg, &a);
    if (a.bad) {
        json_decref (a.params);
        return s_error (self, conn, MHD_HTTP_BAD_REQUEST, "invalid_value",
                        "an argument is repeated, holds a NUL or is longer than 512 bytes");
    }
    bool csv = a.format && strcmp (a.format, "csv") == 0;
    if (a.format && !csv) {
        json_decref (a.params);
        return s_error (self, conn, MHD_HTTP_BAD_REQUEST, "invalid_value",
                        "format is csv, or absent for JSON");
    }
    char *params = json_object_size (a.params) ? json_dumps (a.params, JSON_COMPACT) : NULL;
    bool utf8 = params || !json_object_size (a.params);
    json_decref (a.params);
    if (!utf8)
        return s_error (self, conn, MHD_HTTP_BAD_REQUEST, "invalid_utf8",
                        "an argument is not valid UTF-8");
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.request_id = s_bytes ("http");
    q.kind = s_bytes (kind);
    q.shop_id = s_bytes (a.shop);
    q.group_by = s_bytes (a.by);
    q.params_json = s_bytes (params);
    Kefu__V1__Answer *ans = s_query (self, hash, &q);
    free (params);
    if (!ans)
        return s_error (self, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
                        "kefu-metrics did not answer in time");
    enum MHD_Result rc;
    unsigned int status = s_status_of (ans->code);
    if (status == MHD_HTTP_UNAUTHORIZED) {
        s_source_failed (self, source);
        rc = s_error (self, conn, status, "not_authenticated", "unknown or disabled token");
    } else if (status != MHD_HTTP_OK)
        rc = s_error (self, conn, status, kf_error_code_name (ans->code), ans->reason);
    else {
        s_source_ok (self, source);
        if (csv) {
            char *json = strndup ((const char *) ans->json.data, ans->json.len);
            char *text = metrics_http_csv (json);
            rc = s_send (conn, MHD_HTTP_OK, "text/csv; charset=utf-8", text, strlen (text), true);
            free (text);
            free (json);
        } else
            rc =
                s_send (conn, MHD_HTTP_OK, "application/json", ans->json.data, ans->json.len, true);
    }
    kefu__v1__answer__free_unpacked (ans, NULL);
    return rc;
}

//  ---------------------------------------------------------------------
//  /metrics (Prometheus text exposition format 0.0.4)

static void
s_label (FILE *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            fputc ('\\', out);
        if (*p == '\n')
            fputs ("\\n", out);
        else
            fputc (*p, out);
    }
}

//  The KPIs of today, from kpi.summary's total (paths into it).
static const struct {
    const char *name;  //  metric
    const char *path;  //  in the answer's "total"
    const char *label; //  extra label, "" for none
    const char *help;  //  HELP (the first of a family)
} s_kpis[] = {
    {"kefu_shop_conversations", "conversations.customer_opened", "kind=\"customer_opened\"",
     "Conversations today by kind (README: What each number means)."},
    {"kefu_shop_conversations", "conversations.shop_opened", "kind=\"shop_opened\"", NULL},
    {"kefu_shop_conversations", "conversations.after_hours", "kind=\"after_hours\"", NULL},
    {"kefu_shop_conversations", "conversations.answered", "kind=\"answered\"", NULL},
    {"kefu_shop_answer_rate", "conversations.answer_rate", "",
     "接线率 today: answered / customer-opened, after-hours ones apart."},
    {"kefu_shop_first_response_seconds", "first_response.mean_s", "stat=\"mean\"",
     "First response time today."},
    {"kefu_shop_first_response_seconds", "first_response.median_s", "stat=\"median\"", NULL},
    {"kefu_shop_first_response_seconds", "first_response.p90_s", "stat=\"p90\"", NULL},
    {"kefu_shop_first_response_within_20s_rate", "first_response.within_threshold_rate", "",
     "First responses within 20 s today / first responses."},
    {"kefu_shop_response_seconds", "response.mean_s", "stat=\"mean\"",
     "Response time per round today."},
    {"kefu_shop_response_seconds", "response.median_s", "stat=\"median\"", NULL},
    {"kefu_shop_response_seconds", "response.p90_s", "stat=\"p90\"", NULL},
    {"kefu_shop_queued", "queue.queued", "", "Conversations queued today."},
    {"kefu_shop_abandoned", "queue.abandoned", "", "Conversations closed while queued today."},
    {"kefu_shop_csat", "satisfaction.csat", "", "Ratings of 4 or 5 / ratings, today."},
    {"kefu_shop_ratings", "satisfaction.ratings", "", "Ratings today."},
    {"kefu_shop_closed", "resolution.closed", "", "Conversations closed today."},
    {"kefu_shop_qa_flags", "qa.flags", "", "Forbidden phrases found in replies today."},
};

json_t *
metrics_http_json_at (json_t *o, const char *path)
{
    char copy[128];
    snprintf (copy, sizeof copy, "%s", path);
    char *save = NULL;
    for (char *seg = strtok_r (copy, ".", &save); seg && o; seg = strtok_r (NULL, ".", &save))
        o = json_object_get (o, seg);
    return o;
}

typedef struct {
    char shop[65]; //  shop id
    json_t *total; //  kpi.summary's total (today), or NULL
    json_t *now;   //  agents.now, or NULL
} s_shop_kpi_t;

static json_t *
s_answer_json (metrics_http_t *self, const char *hash, const char *kind, const char *shop)
{
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.request_id = s_bytes ("metrics");
    q.kind = s_bytes (kind);
    q.shop_id = s_bytes (shop);
    Kefu__V1__Answer *a = s_query (self, hash, &q);
    json_t *o = a && a->code == KEFU__V1__ERROR_CODE__ERROR_NONE
                    ? json_loadb ((const char *) a->json.data, a->json.len, 0, NULL)
                    : NULL;
    if (a)
        kefu__v1__answer__free_unpacked (a, NULL);
    return o;
}

static enum MHD_Result
s_prometheus (metrics_http_t *self, struct MHD_Connection *conn, const char *who_json,
              const char *hash)
{
    json_t *who = json_loads (who_json, 0, NULL);
    json_t *shops = json_object_get (who, "shops");
    size_t n = json_array_size (shops);
    if (n > S_MAX_SHOPS)
        n = S_MAX_SHOPS;
    s_shop_kpi_t *kpis = calloc (n ? n : 1, sizeof *kpis);
    for (size_t i = 0; i < n; i++) {
        const char *shop =
            json_string_value (json_object_get (json_array_get (shops, i), "shop_id"));
        snprintf (kpis[i].shop, sizeof kpis[i].shop, "%s", shop ? shop : "");
        json_t *summary = s_answer_json (self, hash, "kpi.summary", kpis[i].shop);
        kpis[i].total = json_incref (json_object_get (summary, "total"));
        json_decref (summary);
        kpis[i].now = s_answer_json (self, hash, "agents.now", kpis[i].shop);
    }
    Kefu__V1__ControlReply **replies = calloc (self->status_count + 1, sizeof *replies);
    kf_control_outcome_t *outcomes = calloc (self->status_count + 1, sizeof *outcomes);
    Kefu__V1__ControlRequest req = KEFU__V1__CONTROL_REQUEST__INIT;
    Kefu__V1__StatusRequest status = KEFU__V1__STATUS_REQUEST__INIT;
    req.body_case = KEFU__V1__CONTROL_REQUEST__BODY_STATUS;
    req.status = &status;
    kf_control_call_all ((const char *const *) self->endpoints, self->status_count, &req,
                         S_STATUS_TIMEOUT, replies, outcomes);

    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    fputs ("# HELP kefu_up 1 if the service answered its control endpoint.\n"
           "# TYPE kefu_up gauge\n",
           out);
    for (size_t i = 0; i < self->status_count; i++)
        fprintf (out, "kefu_up{service=\"%s\"} %d\n", self->services[i], replies[i] != NULL);
    fputs ("# HELP kefu_service_counter A service's counter as kefuctl status shows it "
           "(name: the counter's name).\n"
           "# TYPE kefu_service_counter untyped\n",
           out);
    for (size_t i = 0; i < self->status_count; i++) {
        Kefu__V1__ServiceStatus *st = replies[i] ? replies[i]->status : NULL;
        for (size_t c = 0; st && c < st->n_counters; c++) {
            fprintf (out, "kefu_service_counter{service=\"%s\",name=\"", self->services[i]);
            s_label (out, st->counters[c]->name);
            fprintf (out, "\"} %lld\n", (long long) st->counters[c]->value);
        }
    }
    for (size_t k = 0; k < sizeof s_kpis / sizeof s_kpis[0]; k++) {
        if (s_kpis[k].help)
            fprintf (out, "# HELP %s %s\n# TYPE %s gauge\n", s_kpis[k].name, s_kpis[k].help,
                     s_kpis[k].name);
        for (size_t i = 0; i < n; i++) {
            json_t *v = metrics_http_json_at (kpis[i].total, s_kpis[k].path);
            if (!json_is_number (v))
                continue; //  null: nothing to divide by yet
            fprintf (out, "%s{shop=\"", s_kpis[k].name);
            s_label (out, kpis[i].shop);
            fprintf (out, "\"%s%s} %.17g\n", *s_kpis[k].label ? "," : "", s_kpis[k].label,
                     json_number_value (v));
        }
    }
    static const char *const now_keys[] = {"open", "queued", "waiting"};
    fputs ("# HELP kefu_shop_now Right now: open conversations, queued, customers waiting for a "
           "human reply.\n# TYPE kefu_shop_now gauge\n",
           out);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 3; k++) {
            json_t *v = json_object_get (kpis[i].now, now_keys[k]);
            if (!json_is_integer (v))
                continue;
            fprintf (out, "kefu_shop_now{shop=\"");
            s_label (out, kpis[i].shop);
            fprintf (out, "\",what=\"%s\"} %lld\n", now_keys[k],
                     (long long) json_integer_value (v));
        }
    static const char *const statuses[] = {"online", "busy", "away", "offline"};
    fputs ("# HELP kefu_shop_agents Agents by presence right now.\n"
           "# TYPE kefu_shop_agents gauge\n",
           out);
    for (size_t i = 0; i < n; i++) {
        if (!kpis[i].now)
            continue;
        json_t *agents = json_object_get (kpis[i].now, "agents");
        for (size_t s = 0; s < 4; s++) {
            long count = 0;
            size_t j;
            json_t *agent;
            json_array_foreach (agents, j, agent)
            {
                const char *st = json_string_value (json_object_get (agent, "status"));
                count += st && strcmp (st, statuses[s]) == 0;
            }
            fprintf (out, "kefu_shop_agents{shop=\"");
            s_label (out, kpis[i].shop);
            fprintf (out, "\",status=\"%s\"} %ld\n", statuses[s], count);
        }
    }
    fclose (out);
    for (size_t i = 0; i < n; i++) {
        json_decref (kpis[i].total);
        json_decref (kpis[i].now);
    }
    for (size_t i = 0; i < self->status_count; i++)
        if (replies[i])
            kefu__v1__control_reply__free_unpacked (replies[i], NULL);
    free (replies);
    free (outcomes);
    free (kpis);
    json_decref (who);
    enum MHD_Result rc =
        s_send (conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, size, true);
    free (text);
    return rc;
}

//  ---------------------------------------------------------------------
//  Routing

static enum MHD_Result
s_asset (metrics_http_t *self, struct MHD_Connection *conn, const char *path)
{
    const metrics_web_asset_t *asset = metrics_web_find (path);
    if (!asset)
        return s_error (self, conn, MHD_HTTP_NOT_FOUND, "not_found", "no such page");
    return s_send (conn, MHD_HTTP_OK, asset->type, asset->data, asset->size, false);
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    (void) upload_data;
    (void) con_cls;
    metrics_http_t *self = cls;
    self->requests++;
    //  Answered at the first call: a body is never read.
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return s_error (self, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                        "only GET and HEAD");
    if (*upload_data_size > 0 ||
        MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Content-Length") ||
        MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Transfer-Encoding"))
        return s_error (self, conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_long",
                        "requests have no body");
    if (strlen (url) > S_MAX_URL)
        return s_error (self, conn, MHD_HTTP_URI_TOO_LONG, "too_long", "the path is too long");
    if (url[0] != '/' || strstr (url, "..") || strchr (url, '\\'))
        return s_error (self, conn, MHD_HTTP_BAD_REQUEST, "invalid_value", "bad path");
    if (strcmp (url, "/healthz") == 0)
        return s_send (conn, MHD_HTTP_OK, "text/plain", "ok\n", 3, false);
    bool api = strncmp (url, "/api/", 5) == 0;
    if (!api && strcmp (url, "/metrics") != 0)
        return s_asset (self, conn, url);

    char source[64], hash[METRICS_HASH_LEN + 1];
    s_source_of (conn, source, sizeof source);
    int64_t wait = s_source_wait (self, source);
    if (wait > 0) {
        self->logins_throttled++;
        char reason[96];
        snprintf (reason, sizeof reason, "too many failed logins from here: wait %lld s",
                  (long long) (wait + 999) / 1000);
        return s_error (self, conn, MHD_HTTP_TOO_MANY_REQUESTS, "throttled", reason);
    }
    if (!s_token_hash (conn, hash)) {
        s_source_failed (self, source);
        return s_error (self, conn, MHD_HTTP_UNAUTHORIZED, "not_authenticated",
                        "send Authorization: Bearer <token> (kefuctl principal token)");
    }
    if (api && strcmp (url, "/api/whoami") != 0) {
        const char *kind = url + 5;
        if (!*kind || strspn (kind, "abcdefghijklmnopqrstuvwxyz._") != strlen (kind))
            return s_error (self, conn, MHD_HTTP_NOT_FOUND, "unknown_enum", "no such kind");
        return s_api (self, conn, kind, hash, source);
    }
    char *who = s_whoami (self, hash);
    enum MHD_Result rc;
    if (!who) {
        s_source_failed (self, source);
        rc = s_error (self, conn, MHD_HTTP_UNAUTHORIZED, "not_authenticated",
                      "unknown or disabled token");
    } else {
        s_source_ok (self, source);
        rc = api ? s_send (conn, MHD_HTTP_OK, "application/json", who, strlen (who), true)
                 : s_prometheus (self, conn, who, hash);
    }
    free (who);
    return rc;
}

//  ---------------------------------------------------------------------
//  Construction

static char *
s_read_file (const char *path)
{
    char *text = NULL;
    FILE *f = fopen (path, "rb");
    if (f) {
        size_t size = 0;
        FILE *out = open_memstream (&text, &size);
        char buf[4096];
        size_t n;
        while ((n = fread (buf, 1, sizeof buf, f)) > 0)
            fwrite (buf, 1, n, out);
        fclose (out);
        fclose (f);
    }
    return text;
}

static void
s_free_source (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static char **
s_strv (const char *const *v, size_t n)
{
    char **copy = calloc (n + 1, sizeof *copy);
    for (size_t i = 0; i < n; i++)
        copy[i] = strdup (v[i]);
    return copy;
}

static void
s_strv_free (char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free (v[i]);
    free (v);
}

metrics_http_t *
metrics_http_new (const metrics_http_args_t *args, char *why, size_t why_size)
{
    metrics_http_t *self = calloc (1, sizeof *self);
    pthread_mutex_init (&self->lock, NULL);
    self->sources = zhashx_new ();
    zhashx_set_destructor (self->sources, s_free_source);
    self->bridge = strdup (args->bridge);
    self->services = s_strv (args->status_services, args->status_count);
    self->endpoints = s_strv (args->status_endpoints, args->status_count);
    self->status_count = args->status_count;
    self->clock = args->clock;

    //  HOST:PORT, the host numeric (IPv6 in brackets).
    char host[128] = "";
    const char *colon = strrchr (args->endpoint, ':');
    struct sockaddr_storage addr;
    memset (&addr, 0, sizeof addr);
    bool ok = colon && colon > args->endpoint && (size_t) (colon - args->endpoint) < sizeof host;
    int port = ok ? atoi (colon + 1) : -1;
    if (ok) {
        const char *h = args->endpoint;
        size_t len = (size_t) (colon - h);
        if (h[0] == '[' && len >= 2 && h[len - 1] == ']') {
            h++;
            len -= 2;
        }
        memcpy (host, h, len);
        host[len] = 0;
        struct sockaddr_in *v4 = (struct sockaddr_in *) &addr;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &addr;
        if (inet_pton (AF_INET, host, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons ((uint16_t) port);
        } else if (inet_pton (AF_INET6, host, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons ((uint16_t) port);
        } else
            ok = false;
    }
    if (!ok || port < 0 || port > 65535) {
        snprintf (why, why_size, "bad KEFU_METRICS_HTTP_ENDPOINT=%s (HOST:PORT, a numeric address)",
                  args->endpoint);
        metrics_http_destroy (&self);
        return NULL;
    }
    bool tls = args->cert_file && *args->cert_file;
    if (tls) {
        self->cert_pem = s_read_file (args->cert_file);
        self->key_pem = args->key_file && *args->key_file ? s_read_file (args->key_file) : NULL;
        if (!self->cert_pem || !self->key_pem) {
            snprintf (why, why_size,
                      "cannot read KEFU_METRICS_HTTP_CERT_FILE=%s or KEFU_METRICS_HTTP_KEY_FILE=%s",
                      args->cert_file, args->key_file ? args->key_file : "");
            metrics_http_destroy (&self);
            return NULL;
        }
    }
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0);
    struct MHD_OptionItem tls_options[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, self->cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, self->key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    self->daemon = MHD_start_daemon (
        flags, 0, NULL, NULL, s_handle, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 64, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int) 16, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 30,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32768, MHD_OPTION_ARRAY,
        tls ? tls_options : tls_options + 2, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf (why, why_size, "cannot serve HTTP%s on KEFU_METRICS_HTTP_ENDPOINT=%s",
                  tls ? "S" : "", args->endpoint);
        metrics_http_destroy (&self);
        return NULL;
    }
    kf_log_info ("http.listening", "endpoint=%s port=%d tls=%d", host, metrics_http_port (self),
                 tls);
    return self;
}

void
metrics_http_destroy (metrics_http_t **self_p)
{
    if (self_p && *self_p) {
        metrics_http_t *self = *self_p;
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        zhashx_destroy (&self->sources);
        pthread_mutex_destroy (&self->lock);
        s_strv_free (self->services);
        s_strv_free (self->endpoints);
        free (self->bridge);
        free (self->cert_pem);
        free (self->key_pem);
        free (self);
        *self_p = NULL;
    }
}

int
metrics_http_port (metrics_http_t *self)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : -1;
}

void
metrics_http_stats (metrics_http_t *self, metrics_http_stats_t *stats)
{
    stats->requests = self->requests;
    stats->logins_failed = self->logins_failed;
    stats->logins_throttled = self->logins_throttled;
    stats->forbidden = self->forbidden;
    stats->refused = self->refused;
}
