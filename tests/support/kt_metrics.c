/*  kt_metrics — kefu-metrics as an in-process actor for tests. */
#include "kt_metrics.h"

#include "kf_outbox.h"
#include "kf_store.h"

#include "kt_db.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "metrics_query.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

void
kt_metrics_init (kt_metrics_t *self, const char *db, const char *intake_events,
                 const char *routing_events)
{
    memset (self, 0, sizeof *self);
    assert_int_equal (metrics_config_defaults (&self->config, &self->common), 0);
    s_set (&self->common.database_url, db);
    s_set (&self->config.intake_events, intake_events);
    s_set (&self->config.routing_events, routing_events);
    s_set (&self->config.query_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.control_endpoint, "tcp://127.0.0.1:*");
    self->config.insecure = true;
    self->config.poll_interval = 50;
    s_set (&self->config.http_endpoint, ""); //  tests that want HTTP set 127.0.0.1:0
    s_set (&self->config.status_endpoints, "");
}

static int
s_port (zactor_t *actor, const char *name)
{
    zstr_sendx (actor, "PORT", name, NULL);
    char *reply = zstr_recv (actor);
    int port = reply ? atoi (reply) : -1;
    free (reply);
    return port;
}

void
kt_metrics_start (kt_metrics_t *self, kf_clock_t *clock)
{
    self->args = (kf_service_args_t){&metrics_config_spec, &self->config, &self->common, clock};
    self->actor = zactor_new (metrics_server, &self->args);
    zstr_send (self->actor, "START");
    char *reply = zstr_recv (self->actor);
    if (!reply || strcmp (reply, "OK") != 0)
        fail_msg ("metrics did not start: %s", reply ? reply : "(no reply)");
    free (reply);
    snprintf (self->query, sizeof self->query, "tcp://127.0.0.1:%d", s_port (self->actor, "query"));
    snprintf (self->control, sizeof self->control, "tcp://127.0.0.1:%d",
              s_port (self->actor, "control"));
    char *http = kt_metrics_command (self, "HTTPPORT");
    self->http_port = http ? atoi (http) : -1;
    free (http);
}

void
kt_metrics_stop (kt_metrics_t *self)
{
    kf_daemon_drain_actor (&self->actor);
}

void
kt_metrics_kill (kt_metrics_t *self)
{
    zactor_destroy (&self->actor);
}

void
kt_metrics_free (kt_metrics_t *self)
{
    kf_config_free (metrics_config_spec.entries, &self->config);
    kf_config_free (kf_common_config_entries, &self->common);
}

int64_t
kt_metrics_counter (kt_metrics_t *self, const char *name)
{
    return kt_control_counter (self->control, name, NULL);
}

char *
kt_metrics_command (kt_metrics_t *self, const char *command)
{
    zstr_send (self->actor, command);
    return zstr_recv (self->actor);
}

void
kt_metrics_settle (kt_metrics_t *self, const char *db)
{
    int64_t deadline = zclock_mono () + 20000;
    while (zclock_mono () < deadline) {
        free (kt_metrics_command (self, "SYNC"));
        long long written = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                             "event_sequences WHERE stream IN ('intake', "
                                             "'routing', 'ordersync', 'escalation')");
        long long applied = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                             "consumer_offsets WHERE consumer = 'metrics' "
                                             "AND stream IN ('intake', 'routing', 'ordersync', "
                                             "'escalation')");
        if (applied >= written)
            return;
        zclock_sleep (10);
    }
    fail_msg ("metrics did not catch up");
}

void
kt_metrics_seed_day (const char *db, const char *customer)
{
    kt_sql (db, "INSERT INTO shops (shop_id, name, partition, timezone) VALUES "
                "('demo-shop', '演示店', 0, 'Asia/Shanghai'), "
                "('other-shop', 'Other', 1, 'Asia/Shanghai')");
    char *sql = NULL;
    int n = asprintf (
        &sql,
        "INSERT INTO metrics_hours (shop_id, hour, agent_id, channel, group_name, "
        "conv_customer, conv_after_hours, customer_msgs) VALUES "
        "('demo-shop', '2026-11-23T01:00:00Z', '', 1, 'presales', 6, 2, 20), "
        "('demo-shop', '2026-11-23T02:00:00Z', '', 1, 'aftersales', 3, 0, 9);"
        "INSERT INTO metrics_hours (shop_id, hour, agent_id, channel, group_name, "
        "conv_answered, frt_sum_ms, rounds, round_sum_ms, round_msgs, replies, rating_5, "
        "rating_2) VALUES "
        "('demo-shop', '2026-11-23T01:00:00Z', 'xiaomei', 1, 'presales', 4, 60000, 8, "
        "  120000, 12, 14, 3, 0), "
        "('demo-shop', '2026-11-23T02:00:00Z', 'ajie', 1, 'aftersales', 3, 90000, 5, "
        "  100000, 8, 7, 0, 1);"
        "INSERT INTO metrics_hours (shop_id, hour, agent_id, channel, group_name, "
        "conv_customer) VALUES ('other-shop', '2026-11-23T01:00:00Z', '', 1, '', 99);"
        "INSERT INTO metrics_agents VALUES ('demo-shop', 'xiaomei', 1, 1795395600000), "
        "('demo-shop', 'ajie', 2, 1795395600000);"
        "INSERT INTO metrics_conversations (shop_id, conversation_id, channel, customer, "
        "group_name, intent, vip, first_at_ms, customer_opened, answered_at_ms, first_agent, "
        "round1_msgs, round_at_ms, round_msgs, last_at_ms, last_replier, owner, queued, "
        "ever_queued, after_hours, closed) VALUES "
        "('demo-shop', 42, 1, '%s', 'presales', 2, false, "
        "1795395600000, true, 0, '', 0, 1795395600000, 2, 1795399260000, '', 'xiaomei', "
        "false, false, false, false)",
        customer);
    assert_true (n > 0);
    kt_sql (db, sql);
    free (sql);
}

static ProtobufCBinaryData
s_text (const char *s)
{
    return (ProtobufCBinaryData){s ? strlen (s) : 0, (uint8_t *) s};
}

Kefu__V1__Answer *
kt_metrics_ask (const char *endpoint, const char *kind, const char *shop, int64_t from_ms,
                int64_t to_ms, const char *group_by, const char *params_json)
{
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.request_id = s_text ("kt-1");
    q.kind = s_text (kind);
    q.shop_id = s_text (shop);
    q.from_ms = from_ms;
    q.to_ms = to_ms;
    q.group_by = s_text (group_by);
    q.params_json = s_text (params_json);
    Kefu__V1__Answer *answer = metrics_query_call (endpoint, NULL, NULL, &q, 10000);
    if (!answer)
        fail_msg ("no answer from %s to %s", endpoint, kind);
    return answer;
}

json_t *
kt_metrics_json (const char *endpoint, const char *kind, const char *shop, int64_t from_ms,
                 int64_t to_ms, const char *group_by, const char *params_json)
{
    Kefu__V1__Answer *a =
        kt_metrics_ask (endpoint, kind, shop, from_ms, to_ms, group_by, params_json);
    if (a->status != KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
        fail_msg ("%s: status %d code %d: %s", kind, a->status, a->code, a->reason);
    json_error_t jerr;
    json_t *root = json_loadb ((const char *) a->json.data, a->json.len, 0, &jerr);
    if (!root)
        fail_msg ("%s: not JSON: %s", kind, jerr.text);
    kefu__v1__answer__free_unpacked (a, NULL);
    return root;
}

double
kt_json_num (json_t *root, const char *path)
{
    char *copy = strdup (path);
    char *save = NULL;
    json_t *v = root;
    for (char *seg = strtok_r (copy, ".", &save); seg && v; seg = strtok_r (NULL, ".", &save)) {
        if (seg[0] == '#')
            v = json_array_get (v, (size_t) atoi (seg + 1));
        else if (seg[0] == '@') {
            json_t *found = NULL;
            size_t i;
            json_t *row;
            json_array_foreach (v, i, row)
            {
                const char *key = json_string_value (json_object_get (row, "key"));
                if (key && strcmp (key, seg + 1) == 0)
                    found = row;
            }
            v = found;
        } else
            v = json_object_get (v, seg);
    }
    free (copy);
    if (!v)
        fail_msg ("no %s in the answer", path);
    if (json_is_null (v))
        return -1;
    if (!json_is_number (v))
        fail_msg ("%s is not a number", path);
    return json_number_value (v);
}

void
kt_metrics_write_event (const char *db, const char *stream, const Kefu__V1__Event *ev)
{
    kf_store_t *store = kf_store_new (db, "test");
    assert_int_equal (kf_store_connect (store), 0);
    kf_outbox_t *outbox = kf_outbox_new (stream, store);
    kf_error_t err;
    kf_error_clear (&err);
    assert_int_equal (kf_store_begin (store, &err), 0);
    assert_int_equal (kf_outbox_add (outbox, ev), 0);
    assert_int_equal (kf_outbox_flush (outbox, &err), 0);
    assert_int_equal (kf_store_commit (store, &err), 0);
    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
}
