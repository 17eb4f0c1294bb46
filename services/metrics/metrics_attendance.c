/*  metrics_attendance — shifts worked, from schedules and the record. */
#include "metrics_attendance.h"

#include "kefu/v1/common.pb-c.h"
#include "kf_tz.h"
#include "metrics_report.h"

#include <czmq.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define S_MINUTE_MS 60000LL

//  ---------------------------------------------------------------------
//  Schedules

metrics_att_schedule_t *
metrics_att_schedule_new (int64_t from_ms, const char *timezone)
{
    metrics_att_schedule_t *self = calloc (1, sizeof *self);
    assert (self);
    self->from_ms = from_ms;
    snprintf (self->timezone, sizeof self->timezone, "%s", timezone);
    return self;
}

void
metrics_att_schedule_destroy (metrics_att_schedule_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->agents);
        free (*self_p);
        *self_p = NULL;
    }
}

int
metrics_att_schedule_add_shift (metrics_att_schedule_t *self, const char *name, int start_minute,
                                int end_minute)
{
    if (self->shift_count >= METRICS_ATT_SHIFTS_MAX || start_minute < 0 || start_minute > 1439 ||
        end_minute < 0 || end_minute > 1440 || strlen (name) > METRICS_ATT_NAME_MAX)
        return -1;
    metrics_att_shift_t *s = &self->shifts[self->shift_count];
    snprintf (s->name, sizeof s->name, "%s", name);
    s->start_minute = start_minute;
    s->end_minute = end_minute;
    return self->shift_count++;
}

int
metrics_att_schedule_add_rule (metrics_att_schedule_t *self, const char *agent_id,
                               const char *shift, int days, int rotation_weeks, int rotation_offset)
{
    int index = -1;
    for (int i = 0; i < self->shift_count; i++)
        if (strcmp (self->shifts[i].name, shift) == 0)
            index = i;
    if (index < 0 || strlen (agent_id) > METRICS_ID_MAX || rotation_weeks < 1 ||
        rotation_offset < 0 || rotation_offset >= rotation_weeks)
        return -1;
    metrics_att_agent_t *agent = NULL;
    for (int i = 0; i < self->agent_count; i++)
        if (strcmp (self->agents[i].agent_id, agent_id) == 0)
            agent = &self->agents[i];
    if (!agent) {
        metrics_att_agent_t *grown =
            realloc (self->agents, (size_t) (self->agent_count + 1) * sizeof *grown);
        assert (grown);
        self->agents = grown;
        agent = &self->agents[self->agent_count++];
        memset (agent, 0, sizeof *agent);
        snprintf (agent->agent_id, sizeof agent->agent_id, "%s", agent_id);
    }
    if (agent->rule_count >= METRICS_ATT_RULES_MAX)
        return -1;
    agent->rules[agent->rule_count++] =
        (metrics_att_rule_t){index, days & 127, rotation_weeks, rotation_offset};
    return 0;
}

bool
metrics_att_schedule_equal (const metrics_att_schedule_t *a, const metrics_att_schedule_t *b)
{
    char *x = metrics_att_schedule_to_json (a), *y = metrics_att_schedule_to_json (b);
    bool equal = strcmp (x, y) == 0;
    free (x);
    free (y);
    return equal;
}

char *
metrics_att_schedule_to_json (const metrics_att_schedule_t *self)
{
    json_t *shifts = json_array (), *agents = json_array ();
    for (int i = 0; i < self->shift_count; i++)
        json_array_append_new (shifts, json_pack ("{s:s, s:i, s:i}", "name", self->shifts[i].name,
                                                  "start", self->shifts[i].start_minute, "end",
                                                  self->shifts[i].end_minute));
    for (int i = 0; i < self->agent_count; i++) {
        const metrics_att_agent_t *a = &self->agents[i];
        json_t *rules = json_array ();
        for (int r = 0; r < a->rule_count; r++)
            json_array_append_new (rules,
                                   json_pack ("{s:s, s:i, s:i, s:i}", "shift",
                                              self->shifts[a->rules[r].shift].name, "days",
                                              a->rules[r].days, "weeks", a->rules[r].rotation_weeks,
                                              "offset", a->rules[r].rotation_offset));
        json_array_append_new (agents,
                               json_pack ("{s:s, s:o}", "agent_id", a->agent_id, "rules", rules));
    }
    json_t *root = json_pack ("{s:s, s:o, s:o}", "timezone", self->timezone, "shifts", shifts,
                              "agents", agents);
    char *text = json_dumps (root, JSON_COMPACT);
    json_decref (root);
    assert (text);
    return text;
}

metrics_att_schedule_t *
metrics_att_schedule_from_json (int64_t from_ms, const char *text)
{
    json_t *root = json_loads (text, 0, NULL);
    const char *tz = NULL;
    json_t *shifts = NULL, *agents = NULL;
    if (!root ||
        json_unpack (root, "{s:s, s:o, s:o}", "timezone", &tz, "shifts", &shifts, "agents",
                     &agents) != 0 ||
        !json_is_array (shifts) || !json_is_array (agents)) {
        json_decref (root);
        return NULL;
    }
    metrics_att_schedule_t *self = metrics_att_schedule_new (from_ms, tz);
    size_t i;
    json_t *v;
    json_array_foreach (shifts, i, v)
    {
        const char *name;
        int start, end;
        if (json_unpack (v, "{s:s, s:i, s:i}", "name", &name, "start", &start, "end", &end) ||
            metrics_att_schedule_add_shift (self, name, start, end) < 0)
            goto bad;
    }
    json_array_foreach (agents, i, v)
    {
        const char *agent_id;
        json_t *rules, *r;
        size_t k;
        if (json_unpack (v, "{s:s, s:o}", "agent_id", &agent_id, "rules", &rules) ||
            !json_is_array (rules))
            goto bad;
        json_array_foreach (rules, k, r)
        {
            const char *shift;
            int days, weeks, offset;
            if (json_unpack (r, "{s:s, s:i, s:i, s:i}", "shift", &shift, "days", &days, "weeks",
                             &weeks, "offset", &offset) ||
                metrics_att_schedule_add_rule (self, agent_id, shift, days, weeks, offset))
                goto bad;
        }
    }
    json_decref (root);
    return self;
bad:
    json_decref (root);
    metrics_att_schedule_destroy (&self);
    return NULL;
}

//  ---------------------------------------------------------------------
//  The tracker: what is open now, per shop

struct _metrics_att_tracker_t {
    metrics_att_sink_t sink; //  where facts go
    zhashx_t *spans;         //  "shop\x1f agent" -> int64_t signed in since
    zhashx_t *rounds;        //  "shop\x1f conversation" -> int64_t round began
};

static void
s_free_int64 (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

metrics_att_tracker_t *
metrics_att_tracker_new (const metrics_att_sink_t *sink)
{
    metrics_att_tracker_t *self = calloc (1, sizeof *self);
    assert (self);
    self->sink = *sink;
    self->spans = zhashx_new ();
    self->rounds = zhashx_new ();
    zhashx_set_destructor (self->spans, s_free_int64);
    zhashx_set_destructor (self->rounds, s_free_int64);
    return self;
}

void
metrics_att_tracker_destroy (metrics_att_tracker_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->spans);
        zhashx_destroy (&(*self_p)->rounds);
        free (*self_p);
        *self_p = NULL;
    }
}

void
metrics_att_tracker_reset (metrics_att_tracker_t *self)
{
    zhashx_purge (self->spans);
    zhashx_purge (self->rounds);
}

static void
s_put (zhashx_t *map, const char *key, int64_t value)
{
    int64_t *item = malloc (sizeof *item);
    assert (item);
    *item = value;
    zhashx_update (map, key, item);
}

static void
s_agent_key (char *key, size_t size, const char *shop_id, const char *agent_id)
{
    snprintf (key, size, "%s\x1f%s", shop_id, agent_id);
}

static void
s_conv_key (char *key, size_t size, const char *shop_id, int64_t conversation_id)
{
    snprintf (key, size, "%s\x1f%" PRId64, shop_id, conversation_id);
}

#define S_KEY_MAX (64 + METRICS_ID_MAX + 2)

void
metrics_att_tracker_restore_span (metrics_att_tracker_t *self, const char *shop_id,
                                  const char *agent_id, int64_t from_ms)
{
    char key[S_KEY_MAX];
    s_agent_key (key, sizeof key, shop_id, agent_id);
    s_put (self->spans, key, from_ms);
}

void
metrics_att_tracker_restore_round (metrics_att_tracker_t *self, const char *shop_id,
                                   int64_t conversation_id, int64_t started_ms)
{
    char key[S_KEY_MAX];
    s_conv_key (key, sizeof key, shop_id, conversation_id);
    s_put (self->rounds, key, started_ms);
}

void
metrics_att_on_presence (metrics_att_tracker_t *self, const char *shop_id, const char *agent_id,
                         int status, int64_t at_ms)
{
    char key[S_KEY_MAX];
    s_agent_key (key, sizeof key, shop_id, agent_id);
    int64_t *since = zhashx_lookup (self->spans, key);
    bool signed_in = status != KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE &&
                     status != KEFU__V1__AGENT_STATUS__AGENT_STATUS_UNSPECIFIED;
    metrics_att_span_t span = {"", 0, 0};
    snprintf (span.agent_id, sizeof span.agent_id, "%s", agent_id);
    if (signed_in && !since) {
        span.from_ms = at_ms;
        s_put (self->spans, key, at_ms);
        self->sink.span (self->sink.arg, shop_id, &span);
    } else if (!signed_in && since) {
        span.from_ms = *since;
        span.to_ms = at_ms > *since ? at_ms : *since;
        zhashx_delete (self->spans, key);
        self->sink.span (self->sink.arg, shop_id, &span);
    }
    //  Online -> busy -> away: one span; offline twice: nothing new.
}

void
metrics_att_on_line (metrics_att_tracker_t *self, const char *shop_id, int64_t conversation_id,
                     bool from_customer, bool auto_reply, const char *agent_id, int64_t sent_at)
{
    char key[S_KEY_MAX];
    s_conv_key (key, sizeof key, shop_id, conversation_id);
    int64_t *started = zhashx_lookup (self->rounds, key);
    if (from_customer) {
        if (!started) {
            s_put (self->rounds, key, sent_at);
            metrics_att_round_t round = {conversation_id, sent_at, 0};
            self->sink.round (self->sink.arg, shop_id, &round);
        }
        return;
    }
    if (auto_reply)
        return; //  the platform's auto-responder answers nobody
    if (started) {
        metrics_att_round_t round = {conversation_id, *started,
                                     sent_at > *started ? sent_at : *started};
        zhashx_delete (self->rounds, key);
        self->sink.round (self->sink.arg, shop_id, &round);
    }
    if (*agent_id) {
        metrics_att_reply_t reply = {"", sent_at -
                                             ((sent_at % S_MINUTE_MS) + S_MINUTE_MS) % S_MINUTE_MS};
        snprintf (reply.agent_id, sizeof reply.agent_id, "%s", agent_id);
        self->sink.reply (self->sink.arg, shop_id, &reply);
    }
}

void
metrics_att_on_closed (metrics_att_tracker_t *self, const char *shop_id, int64_t conversation_id)
{
    char key[S_KEY_MAX];
    s_conv_key (key, sizeof key, shop_id, conversation_id);
    zhashx_delete (self->rounds, key); //  its row stays: answered_ms 0
}

//  ---------------------------------------------------------------------
//  A day

void
metrics_att_settings_default (metrics_att_settings_t *out)
{
    out->late_grace_min = METRICS_ATT_LATE_GRACE;
    out->early_grace_min = METRICS_ATT_EARLY_GRACE;
}

const char *
metrics_att_status (const metrics_att_row_t *row)
{
    if (row->phase == METRICS_ATT_UPCOMING)
        return "upcoming";
    if (row->absent)
        return "absent";
    if (!row->present_from)
        return "not_in";
    if (row->late && row->early_leave)
        return "late_early_leave";
    if (row->late)
        return "late";
    if (row->early_leave)
        return "early_leave";
    return "present";
}

//  The UTC instant of a local day's minute (minute may be 1440 and more).
static int64_t
s_at (const kf_tz_t *tz, int64_t day, int minute)
{
    int y, m, d;
    metrics_civil_date (day + minute / 1440, &y, &m, &d);
    return kf_tz_to_utc (tz, y, m, d, minute % 1440);
}

int
metrics_attendance_window (const metrics_att_schedule_t *schedule, int64_t day, int64_t *from_ms,
                           int64_t *to_ms)
{
    kf_tz_t *tz = kf_tz_new (schedule->timezone);
    if (!tz)
        return -1;
    *from_ms = s_at (tz, day, 0);
    *to_ms = s_at (tz, day + 2, 0); //  overnight shifts end the next day
    kf_tz_destroy (&tz);
    return 0;
}

//  Does a rule put its agent on its shift on this local day?
static bool
s_rule_applies (const metrics_att_rule_t *rule, int64_t day)
{
    int weekday = (int) (((day + 3) % 7 + 7) % 7); //  1970-01-01 was a Thursday
    if (!(rule->days & (1 << weekday)))
        return false;
    int64_t week = kf_tz_week_of_day (day);
    int weeks = rule->rotation_weeks > 0 ? rule->rotation_weeks : 1;
    return (int) (((week % weeks) + weeks) % weeks) == rule->rotation_offset;
}

static int
s_compare_int64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x == y ? 0 : x < y ? -1 : 1;
}

//  Conversations whose customer began waiting in [start, cutoff) and had
//  no human reply by cutoff.
static int
s_unanswered (const metrics_att_input_t *in, int64_t start, int64_t cutoff)
{
    int64_t *ids = malloc ((size_t) (in->round_count + 1) * sizeof *ids);
    assert (ids);
    int n = 0;
    for (int i = 0; i < in->round_count; i++) {
        const metrics_att_round_t *r = &in->rounds[i];
        if (r->started_ms >= start && r->started_ms < cutoff &&
            (r->answered_ms == 0 || r->answered_ms > cutoff))
            ids[n++] = r->conversation_id;
    }
    qsort (ids, (size_t) n, sizeof *ids, s_compare_int64);
    int distinct = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || ids[i] != ids[i - 1])
            distinct++;
    free (ids);
    return distinct;
}

static void
s_judge (const metrics_att_input_t *in, metrics_att_row_t *row, int64_t now_ms)
{
    int64_t start = row->start_ms, end = row->end_ms;
    row->phase = now_ms < start ? METRICS_ATT_UPCOMING
                 : now_ms < end ? METRICS_ATT_UNDER_WAY
                                : METRICS_ATT_ENDED;
    if (row->phase == METRICS_ATT_UPCOMING)
        return;
    int64_t cutoff = now_ms < end ? now_ms : end;
    int64_t from = 0, to = 0, present_ms = 0;
    bool open = false;
    for (int i = 0; i < in->span_count; i++) {
        const metrics_att_span_t *s = &in->spans[i];
        int64_t s_to = s->to_ms ? s->to_ms : now_ms;
        if (strcmp (s->agent_id, row->agent_id) != 0 || s->from_ms >= cutoff || s_to <= start)
            continue;
        if (!from || s->from_ms < from)
            from = s->from_ms;
        if (!s->to_ms)
            open = true;
        else if (s->to_ms > to)
            to = s->to_ms;
        int64_t a = s->from_ms > start ? s->from_ms : start, b = s_to < cutoff ? s_to : cutoff;
        if (b > a)
            present_ms += b - a;
    }
    for (int i = 0; i < in->reply_count; i++) {
        const metrics_att_reply_t *r = &in->replies[i];
        if (strcmp (r->agent_id, row->agent_id) != 0 || r->minute_ms + S_MINUTE_MS <= start ||
            r->minute_ms >= cutoff)
            continue;
        if (!from || r->minute_ms < from)
            from = r->minute_ms;
        if (r->minute_ms > to)
            to = r->minute_ms;
    }
    row->present_from = from;
    row->still_present = open;
    row->present_to = open ? 0 : to;
    row->present_minutes = (int) (present_ms / S_MINUTE_MS);
    int64_t late_grace = in->settings.late_grace_min * S_MINUTE_MS;
    int64_t early_grace = in->settings.early_grace_min * S_MINUTE_MS;
    if (from && from > start + late_grace) {
        row->late = true;
        row->late_minutes = (int) ((from - start) / S_MINUTE_MS);
    }
    if (row->phase == METRICS_ATT_ENDED) {
        row->absent = !from;
        if (from && !open && to < end - early_grace) {
            row->early_leave = true;
            row->early_minutes = (int) ((end - to) / S_MINUTE_MS);
        }
    }
    row->unanswered = s_unanswered (in, start, cutoff);
}

static int
s_compare_rows (const void *a, const void *b)
{
    const metrics_att_row_t *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    int c = strcmp (x->shift, y->shift);
    return c ? c : strcmp (x->agent_id, y->agent_id);
}

int
metrics_attendance_day (const metrics_att_input_t *in, int64_t day, int64_t now_ms,
                        metrics_att_row_t **out)
{
    metrics_att_row_t *rows = NULL;
    int count = 0, size = 0;
    for (int v = 0; v < in->version_count; v++) {
        const metrics_att_schedule_t *sch = in->versions[v];
        //  The first version counts from the beginning of time.
        int64_t valid_from = v == 0 ? INT64_MIN : sch->from_ms;
        int64_t valid_to = v + 1 < in->version_count ? in->versions[v + 1]->from_ms : INT64_MAX;
        kf_tz_t *tz = kf_tz_new (sch->timezone);
        if (!tz) {
            free (rows);
            *out = NULL;
            return -1;
        }
        for (int a = 0; a < sch->agent_count; a++) {
            const metrics_att_agent_t *agent = &sch->agents[a];
            for (int r = 0; r < agent->rule_count; r++) {
                const metrics_att_rule_t *rule = &agent->rules[r];
                if (!s_rule_applies (rule, day))
                    continue;
                const metrics_att_shift_t *shift = &sch->shifts[rule->shift];
                int end_minute = shift->end_minute > shift->start_minute
                                     ? shift->end_minute
                                     : shift->end_minute + 1440; //  ends the next day
                int64_t start = s_at (tz, day, shift->start_minute);
                if (start < valid_from || start >= valid_to)
                    continue;
                bool seen = false; //  two rows naming the same shift
                for (int k = 0; k < count; k++)
                    if (rows[k].start_ms == start &&
                        strcmp (rows[k].agent_id, agent->agent_id) == 0 &&
                        strcmp (rows[k].shift, shift->name) == 0)
                        seen = true;
                if (seen)
                    continue;
                if (count == size) {
                    size = size ? size * 2 : 16;
                    metrics_att_row_t *grown = realloc (rows, (size_t) size * sizeof *grown);
                    assert (grown);
                    rows = grown;
                }
                metrics_att_row_t *row = &rows[count++];
                memset (row, 0, sizeof *row);
                snprintf (row->agent_id, sizeof row->agent_id, "%s", agent->agent_id);
                snprintf (row->shift, sizeof row->shift, "%s", shift->name);
                row->day = day;
                row->start_ms = start;
                row->end_ms = s_at (tz, day, end_minute);
                s_judge (in, row, now_ms);
            }
        }
        kf_tz_destroy (&tz);
    }
    if (count)
        qsort (rows, (size_t) count, sizeof *rows, s_compare_rows);
    *out = rows;
    return count;
}

static int
s_compare_ends (const void *a, const void *b)
{
    const metrics_att_row_t *x = a, *y = b;
    if (x->end_ms != y->end_ms)
        return x->end_ms < y->end_ms ? -1 : 1;
    return s_compare_rows (a, b);
}

int
metrics_attendance_ended (const metrics_att_input_t *in, int64_t after_ms, int64_t upto_ms,
                          metrics_att_row_t **out, int64_t *next_end)
{
    *out = NULL;
    *next_end = INT64_MAX;
    if (in->version_count == 0)
        return 0;
    kf_tz_t *tz = kf_tz_new (in->versions[in->version_count - 1]->timezone);
    if (!tz)
        return -1;
    int64_t floor_ms = upto_ms - 7 * 1440 * S_MINUTE_MS;
    int64_t first = kf_tz_local_day (tz, after_ms > floor_ms ? after_ms : floor_ms) - 1;
    int64_t last = kf_tz_local_day (tz, upto_ms) + 1;
    kf_tz_destroy (&tz);
    metrics_att_row_t *rows = NULL;
    int count = 0;
    for (int64_t day = first; day <= last; day++) {
        metrics_att_row_t *some = NULL;
        int n = metrics_attendance_day (in, day, upto_ms, &some);
        if (n < 0) {
            free (rows);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            if (some[i].end_ms > upto_ms) {
                if (some[i].end_ms < *next_end)
                    *next_end = some[i].end_ms;
                continue;
            }
            if (some[i].end_ms <= after_ms)
                continue;
            metrics_att_row_t *grown = realloc (rows, (size_t) (count + 1) * sizeof *grown);
            assert (grown);
            rows = grown;
            rows[count++] = some[i];
        }
        free (some);
    }
    if (count)
        qsort (rows, (size_t) count, sizeof *rows, s_compare_ends);
    *out = rows;
    return count;
}
