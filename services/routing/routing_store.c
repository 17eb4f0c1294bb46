/*  routing_store — routing's SQL: loading configuration and state, and the
    batched writes of each transaction. */
#include "routing_store.h"

#include "kf_batch.h"
#include "kf_log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_TS(col) "to_timestamp (nullif (" col ", 0) / 1000.0::float8)"

//  One transaction's rows in one statement (a statement costs something of
//  its own, paid per transaction): new conversation rows ($1-$20, plain
//  INSERT: no speculative insertion), changed ones ($21-$40: only what a
//  decision changes; customer, channel and opening stay), the rows of
//  conversations that closed ($41-$42: the table holds open ones only), the
//  assignment audit ($43-$52) and who served whom ($53-$56). A row is new,
//  changed or closed in one transaction, never two of these, so the parts
//  on routing_conversations never touch the same row.
// clang-format off
#define S_CONV_COLUMNS(n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, \
                       n17, n18, n19, n20) \
    "  FROM (SELECT unnest ($" n1 "::text[]) AS shop_id, unnest ($" n2 "::int8[]) AS id, " \
    "unnest ($" n3 "::int8[]) AS customer_id, unnest ($" n4 "::int2[]) AS channel, " \
    "unnest ($" n5 "::text[]) AS ccid, unnest ($" n6 "::text[]) AS grp, " \
    "unnest ($" n7 "::int2[]) AS cls, unnest ($" n8 "::bool[]) AS vip, " \
    "unnest ($" n9 "::int2[]) AS state, unnest ($" n10 "::text[]) AS agent, " \
    "unnest ($" n11 "::int8[]) AS opened, unnest ($" n12 "::int8[]) AS queued, " \
    "unnest ($" n13 "::int8[]) AS since, unnest ($" n14 "::int8[]) AS assigned, " \
    "unnest ($" n15 "::int8[]) AS waiting, unnest ($" n16 "::bool[]) AS breached, " \
    "unnest ($" n17 "::bool[]) AS busy, unnest ($" n18 "::bool[]) AS after_hours, " \
    "unnest ($" n19 "::int4[]) AS seq, unnest ($" n20 "::int4[]) AS hops) AS t"
#define S_WRITE_ROWS \
    "WITH ci AS (" \
    "  INSERT INTO routing_conversations (shop_id, conversation_id, customer_id, channel, " \
    "    channel_customer_id, group_name, class, vip, state, agent_id, opened_at, queued_at, " \
    "    group_since, assigned_at, waiting_since, sla_breached, busy_replied, " \
    "    after_hours_replied, assign_seq, overflow_hops) " \
    "  SELECT shop_id, id, customer_id, channel, ccid, grp, cls, vip, state, " \
    "    nullif (agent, ''), to_timestamp (opened / 1000.0::float8), " S_TS ("queued") ", " \
    "    " S_TS ("since") ", " S_TS ("assigned") ", " S_TS ("waiting") ", " \
    "    breached, busy, after_hours, seq, hops " \
    S_CONV_COLUMNS ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", \
                    "15", "16", "17", "18", "19", "20") "), " \
    "cu AS (" \
    "  UPDATE routing_conversations r SET group_name = t.grp, class = t.cls, vip = t.vip, " \
    "    state = t.state, agent_id = nullif (t.agent, ''), queued_at = " S_TS ("t.queued") ", " \
    "    group_since = " S_TS ("t.since") ", assigned_at = " S_TS ("t.assigned") ", " \
    "    waiting_since = " S_TS ("t.waiting") ", sla_breached = t.breached, " \
    "    busy_replied = t.busy, after_hours_replied = t.after_hours, " \
    "    assign_seq = t.seq, overflow_hops = t.hops " \
    S_CONV_COLUMNS ("21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", \
                    "33", "34", "35", "36", "37", "38", "39", "40") " " \
    "  WHERE r.shop_id = t.shop_id AND r.conversation_id = t.id), " \
    "cd AS (" \
    "  DELETE FROM routing_conversations r " \
    "  USING (SELECT unnest ($41::text[]) AS shop_id, unnest ($42::int8[]) AS id) AS t " \
    "  WHERE r.shop_id = t.shop_id AND r.conversation_id = t.id), " \
    "a AS (" \
    "  INSERT INTO assignments (shop_id, conversation_id, agent_id, previous_agent_id, " \
    "    group_name, reason, note, by_whom, assigned_at, waited_ms) " \
    "  SELECT shop_id, conv, nullif (agent, ''), nullif (prev, ''), grp, reason, " \
    "    nullif (note, ''), by_whom, " \
    "    to_timestamp (at / 1000.0::float8), waited " \
    "  FROM (SELECT unnest ($43::text[]) AS shop_id, unnest ($44::int8[]) AS conv, " \
    "unnest ($45::text[]) AS agent, unnest ($46::text[]) AS prev, unnest ($47::text[]) AS grp, " \
    "unnest ($48::int2[]) AS reason, unnest ($49::text[]) AS note, " \
    "unnest ($50::text[]) AS by_whom, unnest ($51::int8[]) AS at, " \
    "unnest ($52::int8[]) AS waited) AS t), " \
    "s AS (" \
    "  INSERT INTO customer_agents (shop_id, customer_id, agent_id, last_served_at) " \
    "  SELECT shop_id, customer, agent, to_timestamp (at / 1000.0::float8) " \
    "  FROM (SELECT unnest ($53::text[]) AS shop_id, unnest ($54::int8[]) AS customer, " \
    "unnest ($55::text[]) AS agent, unnest ($56::int8[]) AS at) AS t " \
    "  ON CONFLICT (shop_id, customer_id) DO UPDATE SET agent_id = EXCLUDED.agent_id, " \
    "    last_served_at = EXCLUDED.last_served_at) " \
    "SELECT 1"
// clang-format on

static const kf_stmt_t s_statements[] = {
    {"routing_load_shops", "SELECT shop_id, timezone FROM shops ORDER BY shop_id"},
    {"routing_load_groups",
     "SELECT group_name, display_name, coalesce (overflow_to, ''), overflow_after_ms "
     "FROM routing_groups WHERE shop_id = $1 ORDER BY group_name"},
    {"routing_load_shifts",
     "SELECT shift_name, start_minute, end_minute FROM shifts WHERE shop_id = $1 "
     "ORDER BY shift_name"},
    {"routing_load_agents",
     "SELECT a.agent_id, a.name, a.capacity, a.weight, a.vip_capable, a.active, "
     "  coalesce (a.handover_note, ''), "
     "  coalesce ((SELECT string_agg (g.group_name, ',') FROM agent_groups g "
     "    WHERE g.shop_id = a.shop_id AND g.agent_id = a.agent_id), '') "
     "FROM agents a WHERE a.shop_id = $1 ORDER BY a.agent_id"},
    {"routing_load_schedule",
     "SELECT agent_id, shift_name, days, rotation_weeks, rotation_offset FROM agent_schedule "
     "WHERE shop_id = $1"},
    {"routing_load_settings",
     "SELECT busy_reply, after_hours_reply, sticky_days, sla_day_ms, sla_night_ms, night_shift, "
     "  sla_reassign, array_to_string (overflow_order, ',') "
     "FROM routing_settings WHERE shop_id = $1"},
    {"routing_load_intents", "SELECT intent, group_name FROM intent_groups WHERE shop_id = $1"},
    {"routing_load_phrases",
     "SELECT phrase_id, intent, text, '' "
     "FROM routing_phrases WHERE shop_id = $1 "
     "UNION ALL SELECT 0, '', '', name FROM shops WHERE shop_id = $1 ORDER BY 1"},
    {"routing_load_presence",
     "SELECT shop_id, agent_id, status, (extract (epoch FROM since) * 1000)::int8 "
     "FROM agent_presence"},
    {"routing_load_conversations",
     "SELECT shop_id, conversation_id, customer_id, channel, channel_customer_id, group_name, "
     "  class, vip, state, coalesce (agent_id, ''), "
     "  (extract (epoch FROM opened_at) * 1000)::int8, "
     "  coalesce ((extract (epoch FROM queued_at) * 1000)::int8, 0), "
     "  coalesce ((extract (epoch FROM group_since) * 1000)::int8, 0), "
     "  coalesce ((extract (epoch FROM waiting_since) * 1000)::int8, 0), "
     "  sla_breached, busy_replied, after_hours_replied, assign_seq, overflow_hops, "
     //  A conversation waiting after a handover that found nobody free:
     //  its latest assignment is the one to nobody, with the agent who left
     //  it and their note (for whoever takes it from the queue).
     "  coalesce (h.handed_from, ''), coalesce (h.handover_note, '') "
     "FROM routing_conversations r LEFT JOIN LATERAL (SELECT a.agent_id AS to_agent, "
     "  a.previous_agent_id AS handed_from, a.note AS handover_note FROM assignments a "
     "  WHERE r.state = 1 AND a.shop_id = r.shop_id AND a.conversation_id = r.conversation_id "
     "  ORDER BY a.assignment_id DESC LIMIT 1) h ON h.to_agent IS NULL "
     "ORDER BY shop_id, conversation_id"},
    {"routing_load_served",
     "SELECT shop_id, customer_id, agent_id, (extract (epoch FROM last_served_at) * 1000)::int8 "
     "FROM customer_agents WHERE last_served_at > to_timestamp ($1::int8 / 1000.0::float8) "
     "ORDER BY last_served_at"},
    //  routing_outbox holds only what intake has not acknowledged yet.
    {"routing_load_unsubmitted",
     "SELECT shop_id, request_id, payload FROM routing_outbox ORDER BY created_at, request_id"},
    {"routing_load_open",
     "SELECT r.shop_id, r.conversation_id, r.state, r.assign_seq, "
     "  coalesce (a.previous_agent_id, ''), coalesce (a.reason, 0), coalesce (a.note, ''), "
     "  r.busy_replied, r.after_hours_replied, coalesce (a.agent_id, '') "
     "FROM routing_conversations r LEFT JOIN LATERAL (SELECT agent_id, previous_agent_id, reason, "
     "  note "
     "  FROM assignments a WHERE a.shop_id = r.shop_id AND a.conversation_id = r.conversation_id "
     "  ORDER BY a.assignment_id DESC LIMIT 1) a ON true"},
    {"routing_forget_commands",
     "DELETE FROM routing_outbox o USING (SELECT unnest ($1::text[]) AS shop_id, "
     "unnest ($2::text[]) AS request_id) AS u "
     "WHERE o.shop_id = u.shop_id AND o.request_id = u.request_id"},
    {"routing_write_rows", S_WRITE_ROWS},
    {"routing_upsert_presence",
     "INSERT INTO agent_presence (shop_id, agent_id, status, since) "
     "SELECT shop_id, agent, status, to_timestamp (at / 1000.0::float8) "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::text[]) AS agent, "
     "unnest ($3::int2[]) AS status, unnest ($4::int8[]) AS at) AS t "
     "ON CONFLICT (shop_id, agent_id) DO UPDATE SET status = EXCLUDED.status, "
     "  since = EXCLUDED.since"},
    {"routing_insert_commands",
     "INSERT INTO routing_outbox (shop_id, request_id, payload, created_at) "
     "SELECT shop_id, request_id, payload, to_timestamp (at / 1000.0::float8) "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::text[]) AS request_id, "
     "unnest ($3::bytea[]) AS payload, unnest ($4::int8[]) AS at) AS t "
     "ON CONFLICT (shop_id, request_id) DO NOTHING"},
    {NULL, NULL}};

void
routing_store_register (kf_store_t *store)
{
    kf_store_add_statements (store, s_statements);
}

//  ---------------------------------------------------------------------
//  Loading

typedef struct {
    routing_shop_fn *fn; //  per shop
    void *arg;           //  its argument
} s_shops_t;

static int
s_on_shops (const PGresult *res, void *arg)
{
    s_shops_t *s = arg;
    for (int r = 0; r < PQntuples (res); r++)
        s->fn (s->arg, kf_store_text (res, r, 0), kf_store_text (res, r, 1));
    return 0;
}

int
routing_store_load_shops (kf_store_t *store, routing_shop_fn *fn, void *arg, kf_error_t *err)
{
    s_shops_t s = {fn, arg};
    return kf_store_exec (store, "routing_load_shops", NULL, s_on_shops, &s, err);
}

static bool
s_bool (const PGresult *res, int r, int c)
{
    return strcmp (kf_store_text (res, r, c), "t") == 0;
}

static int
s_on_groups (const PGresult *res, void *arg)
{
    routing_shop_config_t *cfg = arg;
    //  Overflow targets are names until every group is known.
    static char targets[ROUTING_GROUPS_MAX][33];
    cfg->group_count = 0;
    for (int r = 0; r < PQntuples (res) && cfg->group_count < ROUTING_GROUPS_MAX; r++) {
        routing_group_t *g = &cfg->groups[cfg->group_count];
        snprintf (g->name, sizeof g->name, "%s", kf_store_text (res, r, 0));
        snprintf (g->display, sizeof g->display, "%s", kf_store_text (res, r, 1));
        snprintf (targets[cfg->group_count], sizeof targets[0], "%s", kf_store_text (res, r, 2));
        g->overflow_after_ms = kf_store_int (res, r, 3);
        cfg->group_count++;
    }
    for (int i = 0; i < cfg->group_count; i++)
        cfg->groups[i].overflow_to =
            targets[i][0] ? routing_shop_config_group (cfg, targets[i]) : -1;
    return 0;
}

static int
s_on_shifts (const PGresult *res, void *arg)
{
    routing_shop_config_t *cfg = arg;
    cfg->shift_count = 0;
    for (int r = 0; r < PQntuples (res) && cfg->shift_count < ROUTING_SHIFTS_MAX; r++) {
        routing_shift_t *s = &cfg->shifts[cfg->shift_count++];
        snprintf (s->name, sizeof s->name, "%s", kf_store_text (res, r, 0));
        s->start_minute = (int) kf_store_int (res, r, 1);
        s->end_minute = (int) kf_store_int (res, r, 2);
    }
    return 0;
}

static int
s_on_agents (const PGresult *res, void *arg)
{
    routing_shop_config_t *cfg = arg;
    int n = PQntuples (res);
    cfg->agents = calloc ((size_t) (n ? n : 1), sizeof *cfg->agents);
    cfg->agent_count = 0;
    for (int r = 0; r < n; r++) {
        routing_agent_config_t *a = &cfg->agents[cfg->agent_count++];
        snprintf (a->agent_id, sizeof a->agent_id, "%s", kf_store_text (res, r, 0));
        snprintf (a->name, sizeof a->name, "%s", kf_store_text (res, r, 1));
        a->capacity = (int) kf_store_int (res, r, 2);
        a->weight = (int) kf_store_int (res, r, 3);
        a->vip_capable = s_bool (res, r, 4);
        a->active = s_bool (res, r, 5);
        const char *note = kf_store_text (res, r, 6);
        a->handover_note = *note ? strdup (note) : NULL;
        char *list = strdup (kf_store_text (res, r, 7));
        char *save = NULL;
        for (char *g = strtok_r (list, ",", &save); g; g = strtok_r (NULL, ",", &save)) {
            int index = routing_shop_config_group (cfg, g);
            if (index >= 0)
                a->groups |= 1u << index;
        }
        free (list);
    }
    return 0;
}

static int
s_on_schedule (const PGresult *res, void *arg)
{
    routing_shop_config_t *cfg = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        const char *agent_id = kf_store_text (res, r, 0);
        for (int i = 0; i < cfg->agent_count; i++) {
            routing_agent_config_t *a = &cfg->agents[i];
            if (strcmp (a->agent_id, agent_id) != 0 || a->schedule_count == ROUTING_SCHED_MAX)
                continue;
            routing_schedule_t *s = &a->schedule[a->schedule_count++];
            s->shift = routing_shop_config_shift (cfg, kf_store_text (res, r, 1));
            s->days = (int) kf_store_int (res, r, 2);
            s->rotation_weeks = (int) kf_store_int (res, r, 3);
            s->rotation_offset = (int) kf_store_int (res, r, 4);
        }
    }
    return 0;
}

static int
s_on_settings (const PGresult *res, void *arg)
{
    routing_shop_config_t *cfg = arg;
    if (PQntuples (res) == 0)
        return 0; //  no row yet: the defaults
    free (cfg->busy_reply);
    free (cfg->after_hours_reply);
    cfg->busy_reply = strdup (kf_store_text (res, 0, 0));
    cfg->after_hours_reply = strdup (kf_store_text (res, 0, 1));
    cfg->sticky_days = (int) kf_store_int (res, 0, 2);
    cfg->sla_day_ms = kf_store_int (res, 0, 3);
    cfg->sla_night_ms = kf_store_int (res, 0, 4);
    cfg->night_shift = routing_shop_config_shift (cfg, kf_store_text (res, 0, 5));
    cfg->sla_reassign = s_bool (res, 0, 6);
    char *list = strdup (kf_store_text (res, 0, 7));
    char *save = NULL;
    int n = 0;
    for (char *g = strtok_r (list, ",", &save); g && n < ROUTING_GROUPS_MAX - 1;
         g = strtok_r (NULL, ",", &save)) {
        int index = routing_shop_config_group (cfg, g);
        if (index >= 0)
            cfg->overflow_order[n++] = index;
    }
    cfg->overflow_order[n] = -1;
    free (list);
    return 0;
}

static int
s_on_intents (const PGresult *res, void *arg)
{
    routing_shop_config_t *cfg = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        int64_t intent = kf_store_int (res, r, 0);
        int g = routing_shop_config_group (cfg, kf_store_text (res, r, 1));
        if (intent >= 0 && intent < 10 && g >= 0)
            cfg->intent_group[intent] = g;
    }
    return 0;
}

//  The shop's name (the first row, phrase_id 0) and its quick replies.
static int
s_on_phrases (const PGresult *res, void *arg)
{
    routing_shop_config_t *cfg = arg;
    int n = PQntuples (res);
    cfg->phrases = calloc ((size_t) (n ? n : 1), sizeof *cfg->phrases);
    cfg->phrase_count = 0;
    for (int r = 0; r < n; r++) {
        int key = routing_phrase_key (kf_store_text (res, r, 1));
        if (kf_store_int (res, r, 0) == 0)
            snprintf (cfg->shop_name, sizeof cfg->shop_name, "%s", kf_store_text (res, r, 3));
        else if (key >= 0) {
            routing_phrase_t *p = &cfg->phrases[cfg->phrase_count++];
            p->id = kf_store_int (res, r, 0);
            p->key = key;
            p->text = strdup (kf_store_text (res, r, 2));
        }
    }
    return 0;
}

int
routing_store_load_config (kf_store_t *store, const char *shop_id, const char *timezone,
                           routing_shop_config_t **out, kf_error_t *err)
{
    routing_shop_config_t *cfg = routing_shop_config_new (shop_id);
    snprintf (cfg->timezone, sizeof cfg->timezone, "%s", timezone);
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    //  Groups and shifts first: agents, schedules and settings refer to them.
    if (kf_store_exec (store, "routing_load_groups", &params, s_on_groups, cfg, err) ||
        kf_store_exec (store, "routing_load_shifts", &params, s_on_shifts, cfg, err)) {
        routing_shop_config_destroy (&cfg);
        return -1;
    }
    routing_shop_config_fill_defaults (cfg);
    if (kf_store_exec (store, "routing_load_agents", &params, s_on_agents, cfg, err) ||
        kf_store_exec (store, "routing_load_schedule", &params, s_on_schedule, cfg, err) ||
        kf_store_exec (store, "routing_load_settings", &params, s_on_settings, cfg, err) ||
        kf_store_exec (store, "routing_load_intents", &params, s_on_intents, cfg, err) ||
        kf_store_exec (store, "routing_load_phrases", &params, s_on_phrases, cfg, err)) {
        routing_shop_config_destroy (&cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

static int
s_on_presence (const PGresult *res, void *arg)
{
    for (int r = 0; r < PQntuples (res); r++)
        routing_model_restore_presence ((routing_model_t *) arg, kf_store_text (res, r, 0),
                                        kf_store_text (res, r, 1), (int) kf_store_int (res, r, 2),
                                        kf_store_int (res, r, 3));
    return 0;
}

static int
s_on_conversations (const PGresult *res, void *arg)
{
    for (int r = 0; r < PQntuples (res); r++) {
        routing_conv_row_t row = {
            .conversation_id = kf_store_int (res, r, 1),
            .customer_id = kf_store_int (res, r, 2),
            .channel = (int) kf_store_int (res, r, 3),
            .channel_customer_id = kf_store_text (res, r, 4),
            .group = kf_store_text (res, r, 5),
            .cls = (int) kf_store_int (res, r, 6),
            .vip = s_bool (res, r, 7),
            .state = (int) kf_store_int (res, r, 8),
            .agent_id = kf_store_text (res, r, 9),
            .opened_at = kf_store_int (res, r, 10),
            .queued_at = kf_store_int (res, r, 11),
            .group_since = kf_store_int (res, r, 12),
            .waiting_since = kf_store_int (res, r, 13),
            .sla_breached = s_bool (res, r, 14),
            .busy_replied = s_bool (res, r, 15),
            .after_hours_replied = s_bool (res, r, 16),
            .assign_seq = (int) kf_store_int (res, r, 17),
            .overflow_hops = (int) kf_store_int (res, r, 18),
            .handed_from = kf_store_text (res, r, 19),
            .handover_note = kf_store_text (res, r, 20),
        };
        routing_model_restore_conversation ((routing_model_t *) arg, kf_store_text (res, r, 0),
                                            &row);
    }
    return 0;
}

static int
s_on_served (const PGresult *res, void *arg)
{
    for (int r = 0; r < PQntuples (res); r++)
        routing_model_restore_served ((routing_model_t *) arg, kf_store_text (res, r, 0),
                                      kf_store_int (res, r, 1), kf_store_text (res, r, 2),
                                      kf_store_int (res, r, 3));
    return 0;
}

int
routing_store_load_state (kf_store_t *store, routing_model_t *model, int64_t now_ms,
                          kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, now_ms - 90LL * 86400000); //  the longest sticky window
    return kf_store_exec (store, "routing_load_presence", NULL, s_on_presence, model, err) ||
                   kf_store_exec (store, "routing_load_conversations", NULL, s_on_conversations,
                                  model, err) ||
                   kf_store_exec (store, "routing_load_served", &params, s_on_served, model, err)
               ? -1
               : 0;
}

typedef struct {
    routing_command_fn *fn; //  per command
    void *arg;              //  its argument
} s_commands_t;

static int
s_on_unsubmitted (const PGresult *res, void *arg)
{
    s_commands_t *c = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        size_t len = 0;
        unsigned char *bytes =
            PQunescapeBytea ((const unsigned char *) kf_store_text (res, r, 2), &len);
        if (!bytes)
            continue;
        c->fn (c->arg, kf_store_text (res, r, 0), kf_store_text (res, r, 1), bytes, len);
        PQfreemem (bytes);
    }
    return 0;
}

int
routing_store_load_unsubmitted (kf_store_t *store, routing_command_fn *fn, void *arg,
                                kf_error_t *err)
{
    s_commands_t c = {fn, arg};
    return kf_store_exec (store, "routing_load_unsubmitted", NULL, s_on_unsubmitted, &c, err);
}

typedef struct {
    routing_open_fn *fn; //  per conversation
    void *arg;           //  its argument
} s_open_t;

static int
s_on_open (const PGresult *res, void *arg)
{
    s_open_t *o = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        routing_open_row_t row = {
            .shop_id = kf_store_text (res, r, 0),
            .conversation_id = kf_store_int (res, r, 1),
            .state = (int) kf_store_int (res, r, 2),
            .assign_seq = (int) kf_store_int (res, r, 3),
            .previous_agent_id = kf_store_text (res, r, 4),
            .reason = (int) kf_store_int (res, r, 5),
            .note = kf_store_text (res, r, 6),
            .busy_replied = s_bool (res, r, 7),
            .after_hours_replied = s_bool (res, r, 8),
            .agent_id = kf_store_text (res, r, 9),
        };
        o->fn (o->arg, &row);
    }
    return 0;
}

int
routing_store_load_open (kf_store_t *store, routing_open_fn *fn, void *arg, kf_error_t *err)
{
    s_open_t o = {fn, arg};
    return kf_store_exec (store, "routing_load_open", NULL, s_on_open, &o, err);
}

void
routing_store_queue_forget (kf_store_t *store, kf_batch_t *acked)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (acked, &params);
    kf_store_pipeline_add (store, "routing_forget_commands", &params, NULL, NULL);
}

//  ---------------------------------------------------------------------
//  Administration (kefuctl)

static void
s_group_row (const PGresult *res, int r, routing_group_row_t *row)
{
    memset (row, 0, sizeof *row);
    snprintf (row->name, sizeof row->name, "%s", kf_store_text (res, r, 0));
    snprintf (row->display, sizeof row->display, "%s", kf_store_text (res, r, 1));
    snprintf (row->overflow_to, sizeof row->overflow_to, "%s", kf_store_text (res, r, 2));
    row->overflow_after_ms = kf_store_int (res, r, 3);
}

typedef struct {
    routing_group_row_t *row; //  the group as stored
    int found;                //  rows returned
} s_put_group_t;

static int
s_on_put_group (const PGresult *res, void *arg)
{
    s_put_group_t *put = arg;
    put->found = PQntuples (res);
    if (put->found == 1)
        s_group_row (res, 0, put->row);
    return 0;
}

int
routing_store_put_group (kf_store_t *store, const char *shop_id, const char *group, bool add,
                         const char *display, bool overflow_given, const char *overflow_to,
                         int64_t overflow_after_ms, routing_group_row_t *row, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, group);
    if (display)
        kf_params_str (&params, display);
    else
        kf_params_null (&params);
    if (overflow_to)
        kf_params_str (&params, overflow_to);
    else
        kf_params_null (&params);
    if (overflow_after_ms >= 0)
        kf_params_int (&params, overflow_after_ms);
    else
        kf_params_null (&params);
    if (!add)
        kf_params_bool (&params, overflow_given);
    s_put_group_t put = {row, 0};
    if (kf_store_exec_sql (
            store,
            add ? "INSERT INTO routing_groups"
                  " (shop_id, group_name, display_name, overflow_to, overflow_after_ms) "
                  "VALUES ($1::text, $2::text, $3::text, $4::text, coalesce ($5::int8, 120000)) "
                  "ON CONFLICT DO NOTHING "
                  "RETURNING group_name, display_name, coalesce (overflow_to, ''), "
                  "overflow_after_ms"
                : "UPDATE routing_groups SET"
                  " display_name = coalesce ($3::text, display_name),"
                  " overflow_to = CASE WHEN $6::bool THEN $4::text ELSE overflow_to END,"
                  " overflow_after_ms = coalesce ($5::int8, overflow_after_ms) "
                  "WHERE shop_id = $1::text AND group_name = $2::text "
                  "RETURNING group_name, display_name, coalesce (overflow_to, ''), "
                  "overflow_after_ms",
            &params, s_on_put_group, &put, err))
        return -1;
    return put.found == 1 ? 1 : 0;
}

typedef struct {
    routing_group_fn *fn; //  per group
    void *arg;            //  its argument
} s_list_groups_t;

static int
s_on_list_groups (const PGresult *res, void *arg)
{
    s_list_groups_t *list = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        routing_group_row_t row;
        s_group_row (res, r, &row);
        row.agents = kf_store_int (res, r, 4);
        row.active_agents = kf_store_int (res, r, 5);
        row.waiting = kf_store_int (res, r, 6);
        list->fn (list->arg, &row);
    }
    return 0;
}

int
routing_store_list_groups (kf_store_t *store, const char *shop_id, routing_group_fn *fn, void *arg,
                           kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    s_list_groups_t list = {fn, arg};
    return kf_store_exec_sql (
        store,
        "SELECT g.group_name, g.display_name, coalesce (g.overflow_to, ''), g.overflow_after_ms,"
        " (SELECT count (*) FROM agent_groups m"
        "  WHERE m.shop_id = g.shop_id AND m.group_name = g.group_name),"
        " (SELECT count (*) FROM agent_groups m JOIN agents a"
        "  ON a.shop_id = m.shop_id AND a.agent_id = m.agent_id"
        "  WHERE m.shop_id = g.shop_id AND m.group_name = g.group_name AND a.active),"
        " (SELECT count (*) FROM routing_conversations c"
        "  WHERE c.shop_id = g.shop_id AND c.state = 1 AND c.group_name = g.group_name) "
        "FROM routing_groups g WHERE g.shop_id = $1::text ORDER BY g.group_name",
        &params, s_on_list_groups, &list, err);
}

//  ---------------------------------------------------------------------
//  Shifts and a new shop's defaults (kefuctl shift)

//  Which of names[0..n) the rows' first column holds: flags[i] set.
static void
s_created (const PGresult *res, const char *const *names, bool **flags, int n)
{
    for (int r = 0; r < PQntuples (res); r++)
        for (int i = 0; i < n; i++)
            if (strcmp (kf_store_text (res, r, 0), names[i]) == 0)
                *flags[i] = true;
}

static int
s_on_default_shifts (const PGresult *res, void *arg)
{
    routing_defaults_t *c = arg;
    const char *names[] = {"day", "night"};
    bool *flags[] = {&c->shift_day, &c->shift_night};
    s_created (res, names, flags, 2);
    return 0;
}

static int
s_on_default_groups (const PGresult *res, void *arg)
{
    routing_defaults_t *c = arg;
    const char *names[] = {"presales", "aftersales"};
    bool *flags[] = {&c->group_presales, &c->group_aftersales};
    s_created (res, names, flags, 2);
    return 0;
}

static int
s_on_default_settings (const PGresult *res, void *arg)
{
    ((routing_defaults_t *) arg)->settings = PQntuples (res) > 0;
    return 0;
}

int
routing_store_put_defaults (kf_store_t *store, const char *shop_id, routing_defaults_t *created,
                            kf_error_t *err)
{
    memset (created, 0, sizeof *created);
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    //  The values below are kefu's defaults, not input: literals are fine.
    return kf_store_exec_sql (store,
                              "INSERT INTO shifts (shop_id, shift_name, start_minute, end_minute) "
                              "VALUES ($1::text, 'day', 510, 1050), ($1::text, 'night', 1050, "
                              "1380) ON CONFLICT DO NOTHING RETURNING shift_name",
                              &params, s_on_default_shifts, created, err) ||
                   kf_store_exec_sql (
                       store,
                       "INSERT INTO routing_groups"
                       " (shop_id, group_name, display_name, overflow_to, overflow_after_ms) "
                       "VALUES ($1::text, 'presales', '售前', 'aftersales', 120000),"
                       " ($1::text, 'aftersales', '售后', 'presales', 120000) "
                       "ON CONFLICT DO NOTHING RETURNING group_name",
                       &params, s_on_default_groups, created, err) ||
                   kf_store_exec_sql (store,
                                      "INSERT INTO routing_settings (shop_id) VALUES ($1::text) "
                                      "ON CONFLICT DO NOTHING RETURNING 1",
                                      &params, s_on_default_settings, created, err)
               ? -1
               : 0;
}

typedef struct {
    routing_shift_row_t *row; //  out
    int found;                //  rows
} s_put_shift_t;

static int
s_on_put_shift (const PGresult *res, void *arg)
{
    s_put_shift_t *put = arg;
    put->found = PQntuples (res);
    if (put->found == 1) {
        put->row->start_minute = (int) kf_store_int (res, 0, 0);
        put->row->end_minute = (int) kf_store_int (res, 0, 1);
    }
    return 0;
}

int
routing_store_put_shift (kf_store_t *store, const char *shop_id, const char *name, bool add,
                         int start_minute, int end_minute, routing_shift_row_t *row,
                         kf_error_t *err)
{
    memset (row, 0, sizeof *row);
    row->name = name;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, name);
    if (start_minute >= 0)
        kf_params_int (&params, start_minute);
    else
        kf_params_null (&params);
    if (end_minute >= 0)
        kf_params_int (&params, end_minute);
    else
        kf_params_null (&params);
    s_put_shift_t put = {row, 0};
    if (kf_store_exec_sql (store,
                           add ? "INSERT INTO shifts (shop_id, shift_name, start_minute, "
                                 "end_minute) VALUES ($1::text, $2::text, $3::int4, $4::int4) "
                                 "ON CONFLICT DO NOTHING RETURNING start_minute, end_minute"
                               : "UPDATE shifts SET"
                                 " start_minute = coalesce ($3::int4, start_minute),"
                                 " end_minute = coalesce ($4::int4, end_minute) "
                                 "WHERE shop_id = $1::text AND shift_name = $2::text "
                                 "RETURNING start_minute, end_minute",
                           &params, s_on_put_shift, &put, err))
        return -1;
    return put.found == 1 ? 1 : 0;
}

typedef struct {
    routing_shift_fn *fn; //  per row
    void *arg;            //  its argument
} s_list_shifts_t;

static int
s_on_list_shifts (const PGresult *res, void *arg)
{
    s_list_shifts_t *list = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        routing_shift_row_t row = {kf_store_text (res, i, 0), (int) kf_store_int (res, i, 1),
                                   (int) kf_store_int (res, i, 2), kf_store_int (res, i, 3),
                                   strcmp (kf_store_text (res, i, 4), "t") == 0};
        list->fn (list->arg, &row);
    }
    return 0;
}

int
routing_store_list_shifts (kf_store_t *store, const char *shop_id, routing_shift_fn *fn, void *arg,
                           kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    s_list_shifts_t list = {fn, arg};
    return kf_store_exec_sql (
        store,
        "SELECT s.shift_name, s.start_minute, s.end_minute,"
        " (SELECT count (DISTINCT a.agent_id) FROM agent_schedule a"
        "  WHERE a.shop_id = s.shop_id AND a.shift_name = s.shift_name),"
        " s.shift_name = coalesce ((SELECT r.night_shift FROM routing_settings r"
        "  WHERE r.shop_id = s.shop_id), 'night') "
        "FROM shifts s WHERE s.shop_id = $1::text ORDER BY s.start_minute, s.shift_name",
        &params, s_on_list_shifts, &list, err);
}

//  ---------------------------------------------------------------------
//  Agents (kefuctl agent, kefuctl handover)

typedef struct {
    routing_agent_fn *fn;
    void *arg;
} s_list_agents_t;

static int
s_on_list_agents (const PGresult *res, void *arg)
{
    s_list_agents_t *list = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        routing_agent_row_t row = {
            .agent_id = kf_store_text (res, i, 0),
            .name = kf_store_text (res, i, 1),
            .capacity = (int) kf_store_int (res, i, 2),
            .weight = (int) kf_store_int (res, i, 3),
            .vip = strcmp (kf_store_text (res, i, 4), "t") == 0,
            .active = strcmp (kf_store_text (res, i, 5), "t") == 0,
            .presence = (int) kf_store_int (res, i, 6),
            .since = kf_store_isnull (res, i, 7) ? NULL : kf_store_text (res, i, 7),
            .load = (int) kf_store_int (res, i, 8),
            .groups = kf_store_text (res, i, 9),
            .schedule_json = kf_store_text (res, i, 10),
            .handover_note = kf_store_isnull (res, i, 11) ? NULL : kf_store_text (res, i, 11)};
        list->fn (list->arg, &row);
    }
    return 0;
}

typedef struct {
    routing_agent_row_t *row;
    int found;
} s_room_t;

static int
s_on_room (const PGresult *res, void *arg)
{
    s_room_t *room = arg;
    if (PQntuples (res) != 1)
        return 0;
    room->found = 1;
    room->row->active = strcmp (kf_store_text (res, 0, 0), "t") == 0;
    room->row->presence = (int) kf_store_int (res, 0, 1);
    room->row->capacity = (int) kf_store_int (res, 0, 2);
    room->row->load = (int) kf_store_int (res, 0, 3);
    return 0;
}

int
routing_store_agent_room (kf_store_t *store, const char *shop_id, const char *agent_id,
                          routing_agent_row_t *row, kf_error_t *err)
{
    *row = (routing_agent_row_t){
        .agent_id = agent_id, .name = "", .groups = "", .schedule_json = "[]"};
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, agent_id);
    s_room_t room = {row, 0};
    if (kf_store_exec_sql (store,
                           "SELECT a.active, coalesce (p.status, 4), a.capacity,"
                           " (SELECT count (*) FROM routing_conversations r"
                           "  WHERE r.shop_id = a.shop_id AND r.state = 2"
                           "  AND r.agent_id = a.agent_id) "
                           "FROM agents a LEFT JOIN agent_presence p"
                           " ON p.shop_id = a.shop_id AND p.agent_id = a.agent_id "
                           "WHERE a.shop_id = $1::text AND a.agent_id = $2::text",
                           &params, s_on_room, &room, err))
        return -1;
    return room.found;
}

typedef struct {
    int *state;
    char *agent;
    size_t size;
    int found;
} s_one_open_t;

static int
s_on_one_open (const PGresult *res, void *arg)
{
    s_one_open_t *open = arg;
    if (PQntuples (res) != 1)
        return 0;
    open->found = 1;
    *open->state = (int) kf_store_int (res, 0, 0);
    snprintf (open->agent, open->size, "%s", kf_store_text (res, 0, 1));
    return 0;
}

int
routing_store_open_conversation (kf_store_t *store, const char *shop_id, int64_t id, int *state,
                                 char *agent, size_t size, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, id);
    s_one_open_t open = {state, agent, size, 0};
    *state = 0;
    if (size)
        agent[0] = '\0';
    if (kf_store_exec_sql (store,
                           "SELECT state, coalesce (agent_id, '') FROM routing_conversations"
                           " WHERE shop_id = $1::text AND conversation_id = $2::int8",
                           &params, s_on_one_open, &open, err))
        return -1;
    return open.found;
}

//  $1: the cut-off (epoch ms); deletes: $2 at most this many rows. Who
//  served whom also needs now (epoch ms): $2 when counting, $3 in a delete.
//  Assignments of open conversations stay (routing reads the latest on a
//  restart; the trail of a conversation under way stays whole).
#define S_PRUNE_ASSIGNMENTS                                                                        \
    "FROM assignments a WHERE a.assigned_at < to_timestamp ($1::int8 / 1000.0::float8) "           \
    "AND NOT EXISTS (SELECT 1 FROM routing_conversations r "                                       \
    "  WHERE r.shop_id = a.shop_id AND r.conversation_id = a.conversation_id)"
//  Who served whom: also beyond the shop's stickiness window (routing_settings,
//  default 3 days), where routing would no longer use it.
#define S_PRUNE_SERVED(now)                                                                        \
    "FROM customer_agents c LEFT JOIN routing_settings s ON s.shop_id = c.shop_id "                \
    "WHERE c.last_served_at < to_timestamp ($1::int8 / 1000.0::float8) "                           \
    "AND c.last_served_at < to_timestamp (" now "::int8 / 1000.0::float8) "                        \
    "  - make_interval (days => coalesce (s.sticky_days, 3))"

static const struct {
    const char *what;   //  for the report
    const char *count;  //  --dry-run
    const char *delete; //  one batch
    bool now;           //  takes now as its last parameter
} s_prunes[] = {
    {"assignment rows (audit trail of closed conversations)",
     "SELECT count (*) " S_PRUNE_ASSIGNMENTS,
     "DELETE FROM assignments WHERE ctid = ANY (ARRAY (SELECT a.ctid " S_PRUNE_ASSIGNMENTS
     " LIMIT $2::int8))",
     false},
    {"customer_agents rows (who served whom)", "SELECT count (*) " S_PRUNE_SERVED ("$2"),
     "DELETE FROM customer_agents WHERE ctid = ANY (ARRAY (SELECT c.ctid " S_PRUNE_SERVED (
         "$3") " LIMIT $2::int8))",
     true},
};

int
routing_store_prune (kf_store_t *store, int64_t cutoff_ms, int64_t now_ms, bool dry_run,
                     int64_t chunk, routing_pruned_fn *fn, void *arg, kf_error_t *err)
{
    for (size_t k = 0; k < sizeof s_prunes / sizeof s_prunes[0]; k++) {
        int64_t total = 0, n = 0;
        do {
            kf_params_t params;
            kf_params_init (&params);
            kf_params_int (&params, cutoff_ms);
            if (!dry_run)
                kf_params_int (&params, chunk);
            if (s_prunes[k].now)
                kf_params_int (&params, now_ms);
            if (kf_store_exec_sql (store, dry_run ? s_prunes[k].count : s_prunes[k].delete, &params,
                                   dry_run ? kf_store_on_int : kf_store_on_changed, &n, err))
                return -1;
            total += n;
        } while (!dry_run && n == chunk);
        fn (arg, s_prunes[k].what, total);
    }
    return 0;
}

typedef struct {
    routing_queue_fn *fn;
    void *arg;
} s_list_queue_t;

static int
s_on_list_queue (const PGresult *res, void *arg)
{
    s_list_queue_t *list = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        routing_queue_row_t row = {.group = kf_store_text (res, i, 0),
                                   .group_display_name = kf_store_text (res, i, 1),
                                   .position = kf_store_int (res, i, 2),
                                   .conversation_id = kf_store_int (res, i, 3),
                                   .customer_id = kf_store_int (res, i, 4),
                                   .channel = (int) kf_store_int (res, i, 5),
                                   .channel_customer_id = kf_store_text (res, i, 6),
                                   .class_ = (int) kf_store_int (res, i, 7),
                                   .vip = strcmp (kf_store_text (res, i, 8), "t") == 0,
                                   .waited_ms = kf_store_int (res, i, 9),
                                   .waiting_since = kf_store_text (res, i, 10)};
        list->fn (list->arg, &row);
    }
    return 0;
}

int
routing_store_list_queue (kf_store_t *store, const char *shop_id, routing_queue_fn *fn, void *arg,
                          kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    s_list_queue_t list = {fn, arg};
    //  Queue order: class (lower = more urgent), VIP first, then the longest
    //  wait; the conversation id breaks ties so the order is stable.
    return kf_store_exec_sql (
        store,
        "SELECT c.group_name, coalesce (g.display_name, ''),"
        " row_number () OVER (PARTITION BY c.group_name ORDER BY c.class, c.vip DESC,"
        "  coalesce (c.queued_at, c.opened_at), c.conversation_id) AS pos,"
        " c.conversation_id, c.customer_id, c.channel, c.channel_customer_id, c.class, c.vip,"
        " (extract (epoch FROM now () - coalesce (c.queued_at, c.opened_at)) * 1000)::int8,"
        " coalesce (c.queued_at, c.opened_at)::text "
        "FROM routing_conversations c LEFT JOIN routing_groups g"
        " ON g.shop_id = c.shop_id AND g.group_name = c.group_name "
        "WHERE c.shop_id = $1::text AND c.state = 1 ORDER BY c.group_name, pos",
        &params, s_on_list_queue, &list, err);
}

int
routing_store_list_agents (kf_store_t *store, const char *shop_id, routing_agent_fn *fn, void *arg,
                           kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    s_list_agents_t list = {fn, arg};
    return kf_store_exec_sql (
        store,
        "SELECT a.agent_id, a.name, a.capacity, a.weight, a.vip_capable, a.active,"
        " coalesce (p.status, 4), p.since::text,"
        " (SELECT count (*) FROM routing_conversations c"
        "  WHERE c.shop_id = a.shop_id AND c.state = 2 AND c.agent_id = a.agent_id),"
        " coalesce ((SELECT string_agg (g.group_name, ',' ORDER BY g.group_name)"
        "  FROM agent_groups g WHERE g.shop_id = a.shop_id AND g.agent_id = a.agent_id), ''),"
        " coalesce ((SELECT json_agg (json_build_array (s.shift_name, s.days,"
        "  s.rotation_weeks, s.rotation_offset) ORDER BY s.rotation_offset, s.shift_name)"
        "  FROM agent_schedule s WHERE s.shop_id = a.shop_id AND s.agent_id = a.agent_id),"
        "  '[]')::text,"
        " a.handover_note "
        "FROM agents a LEFT JOIN agent_presence p"
        " ON p.shop_id = a.shop_id AND p.agent_id = a.agent_id "
        "WHERE a.shop_id = $1::text ORDER BY a.agent_id",
        &params, s_on_list_agents, &list, err);
}

static int
s_on_rows (const PGresult *res, void *arg)
{
    *(int *) arg = PQntuples (res);
    return 0;
}

//  shop_id and agent_id as $1 and $2.
static void
s_agent_params (kf_params_t *params, const char *shop_id, const char *agent_id)
{
    kf_params_init (params);
    kf_params_str (params, shop_id);
    kf_params_str (params, agent_id);
}

int
routing_store_lock_agent (kf_store_t *store, const char *shop_id, const char *agent_id,
                          kf_error_t *err)
{
    kf_params_t params;
    s_agent_params (&params, shop_id, agent_id);
    int rows = 0;
    if (kf_store_exec_sql (store,
                           "SELECT 1 FROM agents WHERE shop_id = $1::text AND agent_id = $2::text "
                           "FOR UPDATE",
                           &params, s_on_rows, &rows, err))
        return -1;
    return rows > 0 ? 1 : 0;
}

int
routing_store_add_agent (kf_store_t *store, const char *shop_id, const char *agent_id,
                         const char *name, int capacity, int weight, bool vip, kf_error_t *err)
{
    kf_params_t params;
    s_agent_params (&params, shop_id, agent_id);
    kf_params_str (&params, name);
    kf_params_int (&params, capacity);
    kf_params_int (&params, weight);
    kf_params_bool (&params, vip);
    int rows = 0;
    if (kf_store_exec_sql (store,
                           "INSERT INTO agents (shop_id, agent_id, name, capacity, weight, "
                           "vip_capable) VALUES ($1::text, $2::text, $3::text, $4::int4, "
                           "$5::int4, $6::bool) ON CONFLICT DO NOTHING RETURNING 1",
                           &params, s_on_rows, &rows, err))
        return -1;
    return rows > 0 ? 1 : 0;
}

int
routing_store_set_agent (kf_store_t *store, const char *shop_id, const char *agent_id,
                         const char *name, int capacity, int weight, int vip, int active,
                         kf_error_t *err)
{
    kf_params_t params;
    s_agent_params (&params, shop_id, agent_id);
    if (name)
        kf_params_str (&params, name);
    else
        kf_params_null (&params);
    int ints[2] = {capacity, weight};
    for (int i = 0; i < 2; i++)
        if (ints[i] >= 0)
            kf_params_int (&params, ints[i]);
        else
            kf_params_null (&params);
    int flags[2] = {vip, active};
    for (int i = 0; i < 2; i++)
        if (flags[i] >= 0)
            kf_params_bool (&params, flags[i] == 1);
        else
            kf_params_null (&params);
    return kf_store_exec_sql (store,
                              "UPDATE agents SET name = coalesce ($3::text, name),"
                              " capacity = coalesce ($4::int4, capacity),"
                              " weight = coalesce ($5::int4, weight),"
                              " vip_capable = coalesce ($6::bool, vip_capable),"
                              " active = coalesce ($7::bool, active) "
                              "WHERE shop_id = $1::text AND agent_id = $2::text",
                              &params, NULL, NULL, err);
}

int
routing_store_put_agent_groups (kf_store_t *store, const char *shop_id, const char *agent_id,
                                const char *groups_csv, bool replace, kf_error_t *err)
{
    kf_params_t params;
    s_agent_params (&params, shop_id, agent_id);
    if (replace && kf_store_exec_sql (store,
                                      "DELETE FROM agent_groups "
                                      "WHERE shop_id = $1::text AND agent_id = $2::text",
                                      &params, NULL, NULL, err))
        return -1;
    if (!*groups_csv)
        return 0;
    kf_params_str (&params, groups_csv);
    return kf_store_exec_sql (store,
                              "INSERT INTO agent_groups (shop_id, agent_id, group_name) "
                              "SELECT $1::text, $2::text, g "
                              "FROM unnest (string_to_array ($3::text, ',')) AS g",
                              &params, NULL, NULL, err);
}

int
routing_store_put_agent_schedule (kf_store_t *store, const char *shop_id, const char *agent_id,
                                  bool clear, const char *shifts_csv, int days, int weeks,
                                  int offset, kf_error_t *err)
{
    kf_params_t params;
    s_agent_params (&params, shop_id, agent_id);
    if (clear && kf_store_exec_sql (store,
                                    "DELETE FROM agent_schedule "
                                    "WHERE shop_id = $1::text AND agent_id = $2::text",
                                    &params, NULL, NULL, err))
        return -1;
    if (!*shifts_csv)
        return 0;
    kf_params_str (&params, shifts_csv);
    kf_params_int (&params, days);
    kf_params_int (&params, weeks);
    kf_params_int (&params, offset);
    //  The key is (agent, shift, week K): the same shift in the same week
    //  is replaced, another week of a rotation is added beside it.
    return kf_store_exec_sql (
        store,
        "INSERT INTO agent_schedule"
        " (shop_id, agent_id, shift_name, days, rotation_weeks, rotation_offset) "
        "SELECT $1::text, $2::text, s, $4::int4, $5::int4, $6::int4 "
        "FROM unnest (string_to_array ($3::text, ',')) AS s "
        "ON CONFLICT (shop_id, agent_id, shift_name, rotation_offset) DO UPDATE"
        " SET days = EXCLUDED.days, rotation_weeks = EXCLUDED.rotation_weeks",
        &params, NULL, NULL, err);
}

typedef struct {
    routing_schedule_fn *fn; //  per row
    void *arg;               //  its argument
} s_schedule_rows_t;

static int
s_on_schedule_rows (const PGresult *res, void *arg)
{
    s_schedule_rows_t *rows = arg;
    for (int i = 0; i < PQntuples (res); i++)
        rows->fn (rows->arg, kf_store_text (res, i, 0), (int) kf_store_int (res, i, 1),
                  (int) kf_store_int (res, i, 2), (int) kf_store_int (res, i, 3));
    return 0;
}

int
routing_store_agent_schedule (kf_store_t *store, const char *shop_id, const char *agent_id,
                              routing_schedule_fn *fn, void *arg, kf_error_t *err)
{
    kf_params_t params;
    s_agent_params (&params, shop_id, agent_id);
    s_schedule_rows_t rows = {fn, arg};
    return kf_store_exec_sql (
        store,
        "SELECT shift_name, days, rotation_weeks, rotation_offset "
        "FROM agent_schedule WHERE shop_id = $1::text AND agent_id = $2::text "
        "ORDER BY rotation_offset, shift_name",
        &params, s_on_schedule_rows, &rows, err);
}

int
routing_store_set_handover (kf_store_t *store, const char *shop_id, const char *agent_id,
                            const char *note, kf_error_t *err)
{
    kf_params_t params;
    s_agent_params (&params, shop_id, agent_id);
    kf_params_str (&params, note);
    int rows = 0;
    if (kf_store_exec_sql (store,
                           "UPDATE agents SET handover_note = nullif ($3::text, '') "
                           "WHERE shop_id = $1::text AND agent_id = $2::text RETURNING 1",
                           &params, s_on_rows, &rows, err))
        return -1;
    return rows > 0 ? 1 : 0;
}

//  ---------------------------------------------------------------------
//  Routing settings (kefuctl routing set)

static void
s_param_str_or_null (kf_params_t *params, const char *value)
{
    if (value)
        kf_params_str (params, value);
    else
        kf_params_null (params);
}

int
routing_store_put_settings (kf_store_t *store, const char *shop_id,
                            const routing_settings_change_t *change, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    if (kf_store_exec_sql (store,
                           "INSERT INTO routing_settings (shop_id) VALUES ($1::text) "
                           "ON CONFLICT DO NOTHING",
                           &params, NULL, NULL, err))
        return -1;
    s_param_str_or_null (&params, change->busy_reply);
    s_param_str_or_null (&params, change->after_hours_reply);
    int64_t ints[3] = {change->sticky_days, change->sla_day_ms, change->sla_night_ms};
    for (int i = 0; i < 3; i++)
        if (ints[i] >= 0)
            kf_params_int (&params, ints[i]);
        else
            kf_params_null (&params);
    s_param_str_or_null (&params, change->night_shift);
    if (change->sla_reassign >= 0)
        kf_params_bool (&params, change->sla_reassign == 1);
    else
        kf_params_null (&params);
    s_param_str_or_null (&params, change->overflow_order);
    return kf_store_exec_sql (
        store,
        "UPDATE routing_settings SET"
        " busy_reply = coalesce ($2::text, busy_reply),"
        " after_hours_reply = coalesce ($3::text, after_hours_reply),"
        " sticky_days = coalesce ($4::int4, sticky_days),"
        " sla_day_ms = coalesce ($5::int8, sla_day_ms),"
        " sla_night_ms = coalesce ($6::int8, sla_night_ms),"
        " night_shift = coalesce ($7::text, night_shift),"
        " sla_reassign = coalesce ($8::bool, sla_reassign),"
        " overflow_order = coalesce (string_to_array ($9::text, ','), overflow_order) "
        "WHERE shop_id = $1::text",
        &params, NULL, NULL, err);
}

typedef struct {
    routing_settings_fn *fn; //  the row
    void *arg;               //  its argument
    int inserted;            //  the defaults' row was inserted now
} s_read_settings_t;

static int
s_on_defaults_row (const PGresult *res, void *arg)
{
    ((s_read_settings_t *) arg)->inserted = PQntuples (res);
    return 0;
}

static int
s_on_settings_row (const PGresult *res, void *arg)
{
    s_read_settings_t *read = arg;
    if (PQntuples (res) != 1)
        return -1;
    routing_settings_row_t row = {kf_store_text (res, 0, 0),
                                  kf_store_text (res, 0, 1),
                                  kf_store_int (res, 0, 2),
                                  kf_store_int (res, 0, 3),
                                  kf_store_int (res, 0, 4),
                                  kf_store_text (res, 0, 5),
                                  strcmp (kf_store_text (res, 0, 6), "t") == 0,
                                  kf_store_text (res, 0, 7),
                                  strcmp (kf_store_text (res, 0, 8), "t") == 0};
    read->fn (read->arg, &row);
    return 0;
}

int
routing_store_read_settings (kf_store_t *store, const char *shop_id, routing_settings_fn *fn,
                             void *arg, bool *stored, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    s_read_settings_t read = {fn, arg, 0};
    int rc =
        kf_store_begin (store, err) ||
                kf_store_exec_sql (store,
                                   "INSERT INTO routing_settings (shop_id) VALUES ($1::text) "
                                   "ON CONFLICT DO NOTHING RETURNING 1",
                                   &params, s_on_defaults_row, &read, err) ||
                kf_store_exec_sql (store,
                                   "SELECT busy_reply, after_hours_reply, sticky_days, sla_day_ms,"
                                   " sla_night_ms, night_shift, sla_reassign,"
                                   " array_to_string (overflow_order, ','),"
                                   " EXISTS (SELECT 1 FROM shifts s WHERE s.shop_id = r.shop_id"
                                   " AND s.shift_name = r.night_shift) "
                                   "FROM routing_settings r WHERE shop_id = $1::text",
                                   &params, s_on_settings_row, &read, err)
            ? -1
            : 0;
    kf_store_rollback (store);
    *stored = read.inserted == 0;
    return rc;
}

typedef struct {
    routing_intent_group_fn *fn; //  per row
    void *arg;                   //  its argument
} s_intent_groups_t;

static int
s_on_intent_groups (const PGresult *res, void *arg)
{
    s_intent_groups_t *list = arg;
    for (int i = 0; i < PQntuples (res); i++)
        list->fn (list->arg, (int) kf_store_int (res, i, 0), kf_store_text (res, i, 1));
    return 0;
}

int
routing_store_list_intent_groups (kf_store_t *store, const char *shop_id,
                                  routing_intent_group_fn *fn, void *arg, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    s_intent_groups_t list = {fn, arg};
    return kf_store_exec_sql (store,
                              "SELECT intent, group_name FROM intent_groups "
                              "WHERE shop_id = $1::text ORDER BY intent",
                              &params, s_on_intent_groups, &list, err);
}

int
routing_store_put_intent_group (kf_store_t *store, const char *shop_id, int intent,
                                const char *group, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, intent);
    if (group && *group) {
        kf_params_str (&params, group);
        return kf_store_exec_sql (
            store,
            "INSERT INTO intent_groups (shop_id, intent, group_name) "
            "VALUES ($1::text, $2::int2, $3::text) "
            "ON CONFLICT (shop_id, intent) DO UPDATE SET group_name = EXCLUDED.group_name",
            &params, NULL, NULL, err);
    }
    return kf_store_exec_sql (store,
                              "DELETE FROM intent_groups WHERE shop_id = $1::text AND intent = "
                              "$2::int2",
                              &params, NULL, NULL, err);
}

typedef struct {
    char *buf;   //  the names, ", "-separated
    size_t size; //  its size
} s_missing_t;

static int
s_on_missing (const PGresult *res, void *arg)
{
    s_missing_t *m = arg;
    size_t used = 0;
    for (int i = 0; i < PQntuples (res) && used < m->size; i++) {
        int n = snprintf (m->buf + used, m->size - used, "%s%s", i ? ", " : "",
                          kf_store_text (res, i, 0));
        if (n < 0)
            break;
        used += (size_t) n;
    }
    return 0;
}

int
routing_store_missing (kf_store_t *store, const char *shop_id, bool groups, const char *csv,
                       char *missing, size_t size, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, csv);
    if (size)
        missing[0] = '\0';
    s_missing_t m = {missing, size};
    return kf_store_exec_sql (
        store,
        groups
            ? "SELECT n FROM unnest (string_to_array ($2::text, ',')) WITH ORDINALITY AS t (n, o) "
              "WHERE NOT EXISTS (SELECT 1 FROM routing_groups g "
              "WHERE g.shop_id = $1::text AND g.group_name = t.n) ORDER BY o"
            : "SELECT n FROM unnest (string_to_array ($2::text, ',')) WITH ORDINALITY AS t (n, o) "
              "WHERE NOT EXISTS (SELECT 1 FROM shifts s "
              "WHERE s.shop_id = $1::text AND s.shift_name = t.n) ORDER BY o",
        &params, s_on_missing, &m, err);
}

//  ---------------------------------------------------------------------
//  Writes of one transaction

//  The key of a shop's row by id (a conversation's, a customer's): the
//  first field of such rows, and the key they are mapped by (no text key to
//  format, copy or compare per change).
typedef struct {
    int64_t id;
    char shop_id[65];
} s_row_key_t;

//  One conversation's row as of the latest change in the transaction.
typedef struct {
    s_row_key_t key; //  conversation id, shop
    int64_t customer, opened, queued, since, assigned, waiting;
    int channel, cls, state, seq, hops;
    bool vip, breached, busy, after_hours;
    bool is_new; //  no row yet: INSERT, else UPDATE
    char ccid[ROUTING_ID_MAX + 1];
    char group[33];
    char agent[ROUTING_ID_MAX + 1];
} s_conv_row_t;

//  A customer's last agent, latest wins.
typedef struct {
    s_row_key_t key; //  customer id, shop
    char agent[ROUTING_ID_MAX + 1];
    int64_t at;
} s_served_row_t;

//  An agent's presence, latest wins.
typedef struct {
    char shop_id[65];
    char agent[ROUTING_ID_MAX + 1];
    int status;
    int64_t at;
} s_presence_row_t;

struct _routing_writes_t {
    zhashx_t *convs;         //  (id, shop) -> s_conv_row_t (latest wins)
    zhashx_t *presence;      //  "shop\x1fagent" -> s_presence_row_t
    zhashx_t *served;        //  (customer, shop) -> s_served_row_t
    kf_batch_t *assignments; //  assignment audit rows, in order
    kf_batch_t *commands;    //  routing_outbox rows, in order
    //  The statements' arrays, built from the hashes at each queue (kept
    //  from one transaction to the next: no allocation per transaction).
    kf_batch_t *conv_inserts;
    kf_batch_t *conv_updates;
    kf_batch_t *conv_deletes;
    kf_batch_t *presence_rows;
    kf_batch_t *served_rows;
};

static const kf_col_type_t s_conv_types[] = {
    KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_INT2, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT2,
    KF_COL_BOOL, KF_COL_INT2, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8, KF_COL_INT8,
    KF_COL_INT8, KF_COL_BOOL, KF_COL_BOOL, KF_COL_BOOL, KF_COL_INT4, KF_COL_INT4};
static const kf_col_type_t s_conv_key_types[] = {KF_COL_TEXT, KF_COL_INT8};
static const kf_col_type_t s_assignment_types[] = {
    KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT,
    KF_COL_INT2, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8};
static const kf_col_type_t s_presence_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT2,
                                                 KF_COL_INT8};
static const kf_col_type_t s_served_types[] = {KF_COL_TEXT, KF_COL_INT8, KF_COL_TEXT, KF_COL_INT8};
static const kf_col_type_t s_command_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_BYTEA,
                                                KF_COL_INT8};

static void
s_free_row (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static int
s_row_key_compare (const void *a, const void *b)
{
    const s_row_key_t *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return strcmp (x->shop_id, y->shop_id);
}

//  Rows keyed by (id, shop): a row's key is its own first field.
static zhashx_t *
s_row_map_new (void)
{
    zhashx_t *map = zhashx_new ();
    zhashx_set_key_duplicator (map, NULL);
    zhashx_set_key_destructor (map, NULL);
    zhashx_set_key_hasher (map, routing_id_hash);
    zhashx_set_key_comparator (map, s_row_key_compare);
    zhashx_set_destructor (map, s_free_row);
    return map;
}

//  The row of (shop, id) in map; a new zeroed one of size bytes, *created
//  set, if there was none.
static void *
s_row (zhashx_t *map, const char *shop_id, int64_t id, size_t size, bool *created)
{
    s_row_key_t probe = {.id = id};
    size_t len = strlen (shop_id);
    memcpy (probe.shop_id, shop_id, len < sizeof probe.shop_id ? len : sizeof probe.shop_id - 1);
    void *row = zhashx_lookup (map, &probe);
    *created = !row;
    if (!row) {
        row = calloc (1, size);
        memcpy (row, &probe, sizeof probe);
        zhashx_insert (map, row, row);
    }
    return row;
}

routing_writes_t *
routing_writes_new (void)
{
    routing_writes_t *self = calloc (1, sizeof *self);
    self->convs = s_row_map_new ();
    self->presence = zhashx_new ();
    zhashx_set_destructor (self->presence, s_free_row);
    self->served = s_row_map_new ();
    self->assignments = kf_batch_new (10, s_assignment_types);
    self->commands = kf_batch_new (4, s_command_types);
    self->conv_inserts = kf_batch_new (20, s_conv_types);
    self->conv_updates = kf_batch_new (20, s_conv_types);
    self->conv_deletes = kf_batch_new (2, s_conv_key_types);
    self->presence_rows = kf_batch_new (4, s_presence_types);
    self->served_rows = kf_batch_new (4, s_served_types);
    return self;
}

void
routing_writes_destroy (routing_writes_t **self_p)
{
    if (self_p && *self_p) {
        routing_writes_t *self = *self_p;
        zhashx_destroy (&self->convs);
        zhashx_destroy (&self->presence);
        zhashx_destroy (&self->served);
        kf_batch_destroy (&self->assignments);
        kf_batch_destroy (&self->commands);
        kf_batch_destroy (&self->conv_inserts);
        kf_batch_destroy (&self->conv_updates);
        kf_batch_destroy (&self->conv_deletes);
        kf_batch_destroy (&self->presence_rows);
        kf_batch_destroy (&self->served_rows);
        free (self);
        *self_p = NULL;
    }
}

//  A conversation may change several times in one transaction, and one
//  statement cannot touch a row twice: keep only the latest snapshot of
//  each, inserted if the record had no row for it before the transaction.
void
routing_writes_conv (routing_writes_t *self, const char *shop_id, const routing_conv_t *c)
{
    bool created;
    s_conv_row_t *r = s_row (self->convs, shop_id, routing_conv_id (c), sizeof *r, &created);
    if (created)
        r->is_new = !routing_conv_stored (c);
    r->state = routing_conv_state (c);
    if (r->state == ROUTING_CLOSED)
        return; //  its row goes (or never was): nothing more of it is written
    r->customer = routing_conv_customer (c);
    r->channel = routing_conv_channel (c);
    snprintf (r->ccid, sizeof r->ccid, "%s", routing_conv_channel_customer (c));
    snprintf (r->group, sizeof r->group, "%s", routing_conv_group (c));
    r->cls = routing_conv_class (c);
    r->vip = routing_conv_vip (c);
    snprintf (r->agent, sizeof r->agent, "%s", routing_conv_agent (c));
    r->opened = routing_conv_opened_at (c);
    r->queued = routing_conv_queued_at (c);
    r->since = routing_conv_group_since (c);
    r->assigned = routing_conv_assigned_at (c);
    r->waiting = routing_conv_waiting_since (c);
    r->breached = routing_conv_sla_breached (c);
    r->busy = routing_conv_busy_replied (c);
    r->after_hours = routing_conv_after_hours_replied (c);
    r->seq = routing_conv_assign_seq (c);
    r->hops = routing_conv_overflow_hops (c);
}

void
routing_writes_assignment (routing_writes_t *self, const routing_assignment_t *a, int64_t at_ms)
{
    kf_batch_t *b = self->assignments;
    kf_batch_str (b, 0, a->shop_id);
    kf_batch_int (b, 1, routing_conv_id (a->conv));
    kf_batch_str (b, 2, a->agent_id);
    kf_batch_str (b, 3, a->previous_agent_id);
    kf_batch_str (b, 4, a->group);
    kf_batch_int (b, 5, a->reason);
    kf_batch_str (b, 6, a->note);
    kf_batch_str (b, 7, a->by);
    kf_batch_int (b, 8, at_ms);
    kf_batch_int (b, 9, a->waited_ms);
}

void
routing_writes_presence (routing_writes_t *self, const char *shop_id, const char *agent_id,
                         int status, int64_t at_ms)
{
    char key[256];
    snprintf (key, sizeof key, "%s\x1f%s", shop_id, agent_id);
    s_presence_row_t *k = zhashx_lookup (self->presence, key);
    if (!k) {
        k = calloc (1, sizeof *k);
        snprintf (k->shop_id, sizeof k->shop_id, "%s", shop_id);
        zhashx_insert (self->presence, key, k);
    }
    snprintf (k->agent, sizeof k->agent, "%s", agent_id);
    k->status = status;
    k->at = at_ms;
}

void
routing_writes_served (routing_writes_t *self, const char *shop_id, int64_t customer_id,
                       const char *agent_id, int64_t at_ms)
{
    bool created;
    s_served_row_t *k = s_row (self->served, shop_id, customer_id, sizeof *k, &created);
    snprintf (k->agent, sizeof k->agent, "%s", agent_id);
    k->at = at_ms;
}

void
routing_writes_command (routing_writes_t *self, const char *shop_id, const char *request_id,
                        const uint8_t *payload, size_t size, int64_t at_ms)
{
    kf_batch_str (self->commands, 0, shop_id);
    kf_batch_str (self->commands, 1, request_id);
    kf_batch_text (self->commands, 2, payload, size);
    kf_batch_int (self->commands, 3, at_ms);
}

bool
routing_writes_empty (const routing_writes_t *self)
{
    return zhashx_size (self->convs) == 0 && zhashx_size (self->presence) == 0 &&
           zhashx_size (self->served) == 0 && kf_batch_rows (self->assignments) == 0 &&
           kf_batch_rows (self->commands) == 0;
}

//  Queue one batch's statement in the open pipeline (parameters are copied).
static void
s_queue_batch (kf_batch_t *batch, kf_store_t *store, const char *stmt)
{
    if (kf_batch_rows (batch) == 0)
        return;
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    kf_store_pipeline_add (store, stmt, &params, NULL, NULL);
}

int
routing_writes_flush (routing_writes_t *self, kf_store_t *store, kf_error_t *err)
{
    if (kf_store_pipeline_begin (store, err)) {
        routing_writes_clear (self);
        return -1;
    }
    routing_writes_queue (self, store);
    return kf_store_pipeline_run (store, err);
}

void
routing_writes_queue (routing_writes_t *self, kf_store_t *store)
{
    //  New rows are plain inserts, known ones plain updates (no speculative
    //  insertion; no index covers what an update changes, so it can stay on
    //  its page); a closed conversation's row goes, and one that opened and
    //  closed within the transaction never had a row.
    kf_batch_t *inserts = self->conv_inserts;
    kf_batch_t *updates = self->conv_updates;
    kf_batch_t *deletes = self->conv_deletes;
    for (s_conv_row_t *r = zhashx_first (self->convs); r; r = zhashx_next (self->convs)) {
        if (r->state == ROUTING_CLOSED) {
            if (!r->is_new) {
                kf_batch_str (deletes, 0, r->key.shop_id);
                kf_batch_int (deletes, 1, r->key.id);
            }
            continue;
        }
        kf_batch_t *convs = r->is_new ? inserts : updates;
        kf_batch_str (convs, 0, r->key.shop_id);
        kf_batch_int (convs, 1, r->key.id);
        kf_batch_int (convs, 2, r->customer);
        kf_batch_int (convs, 3, r->channel);
        kf_batch_str (convs, 4, r->ccid);
        kf_batch_str (convs, 5, r->group);
        kf_batch_int (convs, 6, r->cls);
        kf_batch_bool (convs, 7, r->vip);
        kf_batch_int (convs, 8, r->state);
        kf_batch_str (convs, 9, r->agent);
        kf_batch_int (convs, 10, r->opened);
        kf_batch_int (convs, 11, r->queued);
        kf_batch_int (convs, 12, r->since);
        kf_batch_int (convs, 13, r->assigned);
        kf_batch_int (convs, 14, r->waiting);
        kf_batch_bool (convs, 15, r->breached);
        kf_batch_bool (convs, 16, r->busy);
        kf_batch_bool (convs, 17, r->after_hours);
        kf_batch_int (convs, 18, r->seq);
        kf_batch_int (convs, 19, r->hops);
    }
    kf_batch_t *presence = self->presence_rows;
    for (s_presence_row_t *k = zhashx_first (self->presence); k; k = zhashx_next (self->presence)) {
        kf_batch_str (presence, 0, k->shop_id);
        kf_batch_str (presence, 1, k->agent);
        kf_batch_int (presence, 2, k->status);
        kf_batch_int (presence, 3, k->at);
    }
    kf_batch_t *served = self->served_rows;
    for (s_served_row_t *k = zhashx_first (self->served); k; k = zhashx_next (self->served)) {
        kf_batch_str (served, 0, k->key.shop_id);
        kf_batch_int (served, 1, k->key.id);
        kf_batch_str (served, 2, k->agent);
        kf_batch_int (served, 3, k->at);
    }
    if (kf_batch_rows (inserts) + kf_batch_rows (updates) + kf_batch_rows (deletes) +
            kf_batch_rows (self->assignments) + kf_batch_rows (served) >
        0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (inserts, &params);
        kf_batch_params (updates, &params);
        kf_batch_params (deletes, &params);
        kf_batch_params (self->assignments, &params);
        kf_batch_params (served, &params);
        kf_store_pipeline_add (store, "routing_write_rows", &params, NULL, NULL);
    }
    s_queue_batch (presence, store, "routing_upsert_presence");
    s_queue_batch (self->commands, store, "routing_insert_commands");
    routing_writes_clear (self);
}

void
routing_writes_clear (routing_writes_t *self)
{
    zhashx_purge (self->convs);
    zhashx_purge (self->presence);
    zhashx_purge (self->served);
    kf_batch_reset (self->assignments);
    kf_batch_reset (self->commands);
    kf_batch_reset (self->conv_inserts);
    kf_batch_reset (self->conv_updates);
    kf_batch_reset (self->conv_deletes);
    kf_batch_reset (self->presence_rows);
    kf_batch_reset (self->served_rows);
}

//  ---------------------------------------------------------------------
//  The quick-reply library

typedef struct {
    int64_t added;    //  the new phrase's id, 0 if none
    int64_t existing; //  the same text's id, 0 if none
} s_add_phrase_t;

static int
s_on_add_phrase (const PGresult *res, void *arg)
{
    s_add_phrase_t *a = arg;
    if (PQntuples (res) == 1) {
        a->added = kf_store_int (res, 0, 0);
        a->existing = kf_store_int (res, 0, 1);
    }
    return 0;
}

int
routing_store_add_phrase (kf_store_t *store, const char *shop_id, const char *intent,
                          const char *text, const char *by, int64_t *id, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, intent);
    kf_params_str (&params, text);
    kf_params_str (&params, by);
    kf_params_int (&params, ROUTING_PHRASES_PER_KEY);
    s_add_phrase_t a = {0, 0};
    //  The same text under the same key is the phrase already there (an
    //  import run twice adds nothing); a full key adds nothing either.
    if (kf_store_exec_sql (
            store,
            "WITH n AS (SELECT count (*) AS c FROM routing_phrases "
            "  WHERE shop_id = $1::text AND intent = $2::text), "
            "old AS (SELECT phrase_id FROM routing_phrases "
            "  WHERE shop_id = $1::text AND intent = $2::text AND text = $3::text), "
            "ins AS (INSERT INTO routing_phrases (shop_id, intent, text, created_by) "
            "  SELECT $1::text, $2::text, $3::text, $4::text FROM n "
            "  WHERE n.c < $5::int8 AND NOT EXISTS (SELECT 1 FROM old) "
            "  ON CONFLICT (shop_id, intent, text) DO NOTHING RETURNING phrase_id) "
            "SELECT coalesce ((SELECT phrase_id FROM ins), 0), "
            "  coalesce ((SELECT phrase_id FROM old), 0)",
            &params, s_on_add_phrase, &a, err))
        return -1;
    *id = a.added ? a.added : a.existing;
    return a.added ? 1 : a.existing ? 0 : 2;
}

typedef struct {
    routing_phrase_row_fn *fn; //  per phrase
    void *arg;                 //  its argument
} s_list_phrases_t;

static int
s_on_list_phrases (const PGresult *res, void *arg)
{
    s_list_phrases_t *list = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        routing_phrase_row_t row = {kf_store_int (res, r, 0), kf_store_text (res, r, 1),
                                    kf_store_text (res, r, 2), kf_store_text (res, r, 3),
                                    kf_store_int (res, r, 4)};
        list->fn (list->arg, &row);
    }
    return 0;
}

int
routing_store_list_phrases (kf_store_t *store, const char *shop_id, routing_phrase_row_fn *fn,
                            void *arg, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    s_list_phrases_t list = {fn, arg};
    //  Greeting first, then the intents in their enum order; within one, the
    //  order suggestions follow.
    return kf_store_exec_sql (
        store,
        "SELECT phrase_id, intent, text, created_by, "
        "  (extract (epoch FROM created_at) * 1000)::int8 FROM routing_phrases "
        "WHERE shop_id = $1::text ORDER BY array_position (ARRAY['greeting', 'other', "
        "  'presales', 'bargaining', 'urge_shipping', 'delivery_time', 'logistics', "
        "  'return_refund', 'complaint', 'negative_review'], intent), phrase_id",
        &params, s_on_list_phrases, &list, err);
}

static int
s_on_count (const PGresult *res, void *arg)
{
    *(int64_t *) arg = PQntuples (res);
    return 0;
}

int
routing_store_remove_phrase (kf_store_t *store, const char *shop_id, int64_t phrase_id,
                             kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_int (&params, phrase_id);
    int64_t removed = 0;
    if (kf_store_exec_sql (store,
                           "DELETE FROM routing_phrases WHERE shop_id = $1::text "
                           "AND phrase_id = $2::int8 RETURNING phrase_id",
                           &params, s_on_count, &removed, err))
        return -1;
    return removed ? 1 : 0;
}
