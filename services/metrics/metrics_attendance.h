/*  metrics_attendance — attendance (漏班) from the record: who was absent,
    late or left early in their scheduled shifts (README "Attendance").

    Two parts, both pure (no sockets, no SQL, time only as arguments):
    - the tracker turns events into facts the service keeps in its own
      rows: presence spans (signed in from .. to), the minutes in which an
      agent replied, and customer rounds (a customer waiting for a human
      reply, from .. answered at);
    - metrics_attendance_day computes one local day of a shop from the
      schedule versions routing published (schedule.changed) and those
      facts: per agent and scheduled shift, present from/to, late start,
      early leave, absent, and the chats of those hours left unanswered.

    Rules:
    - a shift occurrence belongs to the local day it starts on; an
      overnight shift (end <= start) ends the next day;
    - the schedule that counts is the version in force when the
      occurrence starts (the first version a shop ever had counts from
      the beginning of time); rotations as routing reads them
      (kf_tz_week_of_day);
    - signed in = any status but offline (online, busy, away); a reply in
      the shift counts as a sign of presence in its minute;
    - present from = earliest sign that touches the shift, present to =
      latest (a span still open: still present); late = present from after
      start + late grace; early leave (judged when the shift has ended) =
      present to before end − early grace; absent (judged when the shift
      has ended) = no sign at all in the shift;
    - unanswered = the shop's conversations in which a customer began
      waiting during the shift and had no human reply when it ended (or
      by now, while it is under way): the shop holds whoever was on shift
      responsible for them, so everyone on that shift shows the same figure;
    - an agent with no schedule has no rows. */
#ifndef METRICS_ATTENDANCE_H
#define METRICS_ATTENDANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics_model.h"

#define METRICS_ATT_SHIFTS_MAX  16 //  shifts per shop (routing's limit)
#define METRICS_ATT_RULES_MAX   8  //  schedule rows per agent (routing's limit)
#define METRICS_ATT_NAME_MAX    32 //  shift names
#define METRICS_ATT_LATE_GRACE  5  //  default minutes after the start before "late"
#define METRICS_ATT_EARLY_GRACE 5  //  default minutes before the end before "early leave"
#define METRICS_ATT_GRACE_MAX   240

//  ---------------------------------------------------------------------
//  Schedules (routing's schedule.changed)

typedef struct {
    char name[METRICS_ATT_NAME_MAX + 1]; //  shift id, e.g. "day"
    int start_minute;                    //  local minutes after midnight
    int end_minute;                      //  end (<= start: ends the next day)
} metrics_att_shift_t;

typedef struct {
    int shift;           //  index into the schedule's shifts
    int days;            //  bit 0 = Monday .. bit 6 = Sunday
    int rotation_weeks;  //  1 = every week
    int rotation_offset; //  applies when week % weeks == offset
} metrics_att_rule_t;

typedef struct {
    char agent_id[METRICS_ID_MAX + 1];               //  agent
    metrics_att_rule_t rules[METRICS_ATT_RULES_MAX]; //  shifts worked
    int rule_count;                                  //  entries
} metrics_att_agent_t;

typedef struct {
    int64_t from_ms;                                    //  in force from (routing's time)
    char timezone[65];                                  //  the shop's IANA zone
    metrics_att_shift_t shifts[METRICS_ATT_SHIFTS_MAX]; //  shifts
    int shift_count;                                    //  entries
    metrics_att_agent_t *agents;                        //  owned array
    int agent_count;                                    //  entries
} metrics_att_schedule_t;

//  A new, empty schedule. Caller owns return value.
metrics_att_schedule_t *metrics_att_schedule_new (int64_t from_ms, const char *timezone);
void metrics_att_schedule_destroy (metrics_att_schedule_t **self_p);
//  Add a shift (its index, -1 when full).
int metrics_att_schedule_add_shift (metrics_att_schedule_t *self, const char *name,
                                    int start_minute, int end_minute);
//  Add a schedule row to an agent (created on first use); -1 when the shift
//  is unknown or the agent has no room.
int metrics_att_schedule_add_rule (metrics_att_schedule_t *self, const char *agent_id,
                                   const char *shift, int days, int rotation_weeks,
                                   int rotation_offset);
//  The same shifts, zone and rows (from_ms aside).
bool metrics_att_schedule_equal (const metrics_att_schedule_t *a, const metrics_att_schedule_t *b);
//  As JSON text (the row metrics keeps) and back. Caller owns return
//  values; from_json returns NULL for text that is not a schedule.
char *metrics_att_schedule_to_json (const metrics_att_schedule_t *self);
metrics_att_schedule_t *metrics_att_schedule_from_json (int64_t from_ms, const char *text);

//  ---------------------------------------------------------------------
//  Facts

typedef struct {
    char agent_id[METRICS_ID_MAX + 1]; //  agent
    int64_t from_ms;                   //  signed in at
    int64_t to_ms;                     //  signed out at, 0 = still signed in
} metrics_att_span_t;

typedef struct {
    char agent_id[METRICS_ID_MAX + 1]; //  agent
    int64_t minute_ms;                 //  start of a minute with a human reply
} metrics_att_reply_t;

typedef struct {
    int64_t conversation_id; //  conversation
    int64_t started_ms;      //  first customer message of the round
    int64_t answered_ms;     //  first human reply after it, 0 = none
} metrics_att_round_t;

//  Where the tracker's facts go (the service writes rows; tests record).
typedef struct {
    //  A span began (to_ms 0) or ended: upsert keyed by (shop, agent, from_ms).
    void (*span) (void *arg, const char *shop_id, const metrics_att_span_t *span);
    //  A reply minute (idempotent).
    void (*reply) (void *arg, const char *shop_id, const metrics_att_reply_t *reply);
    //  A round began (answered_ms 0) or was answered: upsert keyed by
    //  (shop, conversation, started_ms).
    void (*round) (void *arg, const char *shop_id, const metrics_att_round_t *round);
    void *arg;
} metrics_att_sink_t;

typedef struct _metrics_att_tracker_t metrics_att_tracker_t;

//  sink is borrowed. Caller owns return value.
metrics_att_tracker_t *metrics_att_tracker_new (const metrics_att_sink_t *sink);
void metrics_att_tracker_destroy (metrics_att_tracker_t **self_p);
//  Forget everything (before a reload).
void metrics_att_tracker_reset (metrics_att_tracker_t *self);
//  Restore what is open after a restart: a span still open, a round not answered.
void metrics_att_tracker_restore_span (metrics_att_tracker_t *self, const char *shop_id,
                                       const char *agent_id, int64_t from_ms);
void metrics_att_tracker_restore_round (metrics_att_tracker_t *self, const char *shop_id,
                                        int64_t conversation_id, int64_t started_ms);

//  agent.presence: status is an AgentStatus; at_ms intake's time.
void metrics_att_on_presence (metrics_att_tracker_t *self, const char *shop_id,
                              const char *agent_id, int status, int64_t at_ms);
//  message.accepted: a customer message opens a round if none is open; a
//  human reply (not auto) answers it and marks the agent's minute.
void metrics_att_on_line (metrics_att_tracker_t *self, const char *shop_id, int64_t conversation_id,
                          bool from_customer, bool auto_reply, const char *agent_id,
                          int64_t sent_at);
//  conversation.closed: an open round stays unanswered for good.
void metrics_att_on_closed (metrics_att_tracker_t *self, const char *shop_id,
                            int64_t conversation_id);

//  ---------------------------------------------------------------------
//  A day

//  A shop's tolerances (kefuctl metrics settings).
typedef struct {
    int late_grace_min;  //  minutes after the start still "on time"
    int early_grace_min; //  minutes before the end still "stayed"
} metrics_att_settings_t;
void metrics_att_settings_default (metrics_att_settings_t *out);

typedef enum {
    METRICS_ATT_UPCOMING = 0, //  not started
    METRICS_ATT_UNDER_WAY,    //  started, not ended
    METRICS_ATT_ENDED,        //  ended
} metrics_att_phase_t;

//  One agent in one scheduled shift.
typedef struct {
    char agent_id[METRICS_ID_MAX + 1];    //  agent
    char shift[METRICS_ATT_NAME_MAX + 1]; //  shift name
    int64_t day;                          //  local date it starts on (days since 1970-01-01)
    int64_t start_ms;                     //  scheduled start (UTC ms)
    int64_t end_ms;                       //  scheduled end
    int phase;                            //  metrics_att_phase_t at now
    int64_t present_from;                 //  earliest sign of presence, 0 = none
    int64_t present_to;                   //  latest, 0 = none or still signed in
    bool still_present;                   //  signed in at now (present_to 0)
    int present_minutes;                  //  minutes signed in within the shift
    int late_minutes;                     //  after the start, when late; else 0
    int early_minutes;                    //  before the end, when early; else 0
    bool late;                            //  late start
    bool early_leave;                     //  left early (ended shifts)
    bool absent;                          //  no sign at all (ended shifts)
    int unanswered;                       //  chats of these hours left unanswered
} metrics_att_row_t;

//  The word a row is summed up by: "upcoming", "not_in" (under way, no
//  sign yet), "present", "late", "early_leave", "late_early_leave", "absent".
const char *metrics_att_status (const metrics_att_row_t *row);

typedef struct {
    metrics_att_schedule_t *const *versions; //  oldest first (borrowed)
    int version_count;                       //  entries
    const metrics_att_span_t *spans;         //  the agents' spans near the day, any order
    int span_count;                          //
    const metrics_att_reply_t *replies;      //  reply minutes near the day
    int reply_count;                         //
    const metrics_att_round_t *rounds;       //  rounds near the day
    int round_count;                         //
    metrics_att_settings_t settings;         //  tolerances
} metrics_att_input_t;

//  The rows of one local day (days since 1970-01-01 in the zone of the
//  schedule in force), sorted by start, shift, agent. Returns how many, and
//  the array in *out (caller owns it: free); -1 on an unknown time zone.
int metrics_attendance_day (const metrics_att_input_t *in, int64_t day, int64_t now_ms,
                            metrics_att_row_t **out);
//  The rows of the shifts that ended in (after_ms, upto_ms], judged at
//  upto_ms, in order of their end (for publishing agent.attendance). Returns
//  how many, the array in *out (caller owns it: free) and in *next_end the
//  end of the first shift after upto_ms (INT64_MAX: none in the next two
//  days); -1 on an unknown time zone. Days before upto_ms - 7 days are not
//  looked at.
int metrics_attendance_ended (const metrics_att_input_t *in, int64_t after_ms, int64_t upto_ms,
                              metrics_att_row_t **out, int64_t *next_end);
//  The UTC window in which the day's shifts can start and end (for loading
//  the facts): [*from_ms, *to_ms). -1 on an unknown time zone.
int metrics_attendance_window (const metrics_att_schedule_t *schedule, int64_t day,
                               int64_t *from_ms, int64_t *to_ms);

#endif
