/*  escalation_model — the rules of complaints and bad reviews, pure.

    A complaint walks the shop's six steps (ARCHITECTURE.md, "Complaints
    and bad reviews"): registered -> judged (valid, or not: closed with the
    reason) -> investigated (responsible party and category) -> remedy
    proposed -> approved (by a supervisor when the amount is above the
    shop's approval limit, else at once) -> carried out (the customer
    confirmed) -> revisited (回访, within 3 days) -> closed. Each stage has
    a deadline; a deadline that passes raises the case one escalation level
    (once per level, up to max_level), and the next level's deadline is one
    stage limit later.

    A bad review (中差评) climbs the contact ladder: a chat message at once
    (with the review-change link), an SMS when the chat message has had no
    answer for sms_delay (0 = together with it), a phone task when
    phone_after has passed since the chat message — moved into the shop's
    next calling window. Any message from the buyer stops the ladder.

    No sockets, no SQL, no clock of its own: every function takes `now`
    (ms since the epoch) and the shop's time zone where calendars matter. */
#ifndef ESCALATION_MODEL_H
#define ESCALATION_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "kefu/v1/complaints.pb-c.h"
#include "kf_error.h"
#include "kf_tz.h"

#define ESC_WINDOWS_MAX 4
#define ESC_STAGES      9 //  ComplaintStage values 0..8

//  A shop's settings (escalation_settings; defaults when it has no row).
typedef struct {
    int64_t approval_limit_cents;        //  remedies above need a supervisor's approval
    int64_t stage_within_ms[ESC_STAGES]; //  deadline of each stage (0 = none)
    int max_level;                       //  escalation levels (notices) at most
    int64_t sms_delay_ms;                //  chat message unanswered -> SMS (0 = with it)
    int64_t phone_after_ms;              //  chat message unanswered -> phone task
    int windows;                         //  calling windows
    int window_from[ESC_WINDOWS_MAX];    //  minute of the day a window opens (shop time)
    int window_to[ESC_WINDOWS_MAX];      //  ... and closes (exclusive)
} esc_settings_t;

//  The defaults: limit 50.00, judge/investigate/propose/close within 24 h,
//  approve within 4 h, carry out within 48 h, revisit within 72 h, 3
//  levels, SMS after 2 h, phone after 48 h, windows 09:30-11:30, 16:00-18:00.
void esc_settings_default (esc_settings_t *s);
//  Parse "09:30-11:30,16:00-18:00" into s's windows. 0, or -1 (s unchanged).
int esc_settings_windows (esc_settings_t *s, const char *spec);
//  Format s's windows as above into buf (returned).
const char *esc_settings_format_windows (const esc_settings_t *s, char *buf, size_t size);

//  A complaint's workflow state (one escalation_cases row).
typedef struct {
    int stage;              //  ComplaintStage
    bool valid;             //  judged valid (stage >= JUDGED)
    int category;           //  ComplaintCategory (0 = not yet)
    int responsible;        //  ResponsibleParty (0 = not yet)
    char agent_id[65];      //  the agent concerned (a service complaint)
    int remedy;             //  Remedy (0 = none yet)
    int64_t amount_cents;   //  the remedy's money
    char approved_by[65];   //  who approved ("" = not yet; "limit" = within the limit)
    int64_t approved_at_ms; //  when
    int level;              //  escalation level, 0 = none
    int64_t stage_at_ms;    //  when the current stage began
    int64_t deadline_ms;    //  when the current stage must be done (0 = none)
} esc_complaint_t;

//  What a person does to a complaint.
typedef enum {
    ESC_JUDGE = 1,   //  valid (or not, with a reason)
    ESC_INVESTIGATE, //  responsible party, category, agent concerned
    ESC_PROPOSE,     //  remedy and amount
    ESC_APPROVE,     //  a supervisor approves the remedy
    ESC_DONE,        //  carried out, the customer confirmed
    ESC_REVISIT,     //  回访 done
    ESC_CLOSE        //  closed
} esc_action_t;

typedef struct {
    esc_action_t action;  //  what
    bool valid;           //  JUDGE: valid?
    const char *reason;   //  JUDGE: why (required when not valid)
    int category;         //  INVESTIGATE (0 = keep the registered one)
    int responsible;      //  INVESTIGATE
    const char *agent_id; //  INVESTIGATE: the agent concerned (service complaints)
    int remedy;           //  PROPOSE
    int64_t amount_cents; //  PROPOSE
    const char *by;       //  who acts
    bool by_supervisor;   //  APPROVE: the actor is a supervisor (or admin) principal
    int finding;          //  INVESTIGATE of a service complaint: ServiceFinding (0 = valid)
} esc_move_t;

//  Name of an action ("judge") and of a stage ("remedy_proposed"); borrowed.
const char *esc_action_name (esc_action_t action);
const char *esc_stage_name (int stage);
//  The action named (0 if none).
esc_action_t esc_action_parse (const char *name);
//  What ends a stage, naming its deadline in settings (stage_within_ms):
//  "judge" (REGISTERED), "investigate", "propose", "approve", "carry_out",
//  "revisit", "close" (REVISITED); "" for the others. Borrowed.
const char *esc_deadline_name (int stage);
#define ESC_DEADLINE_FIRST KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REGISTERED
#define ESC_DEADLINE_LAST  KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REVISITED

//  Short names of categories (not_as_described, service, missing_items,
//  late_delivery, transit_damage, quality), responsible parties
//  (warehouse, courier, product, service, none) and remedies (apology,
//  coupon, cash, resend, exchange, return_refund): borrowed, "" for 0.
const char *esc_category_name (int category);
const char *esc_party_name (int party);
const char *esc_remedy_name (int remedy);
//  The value named (0 if none).
int esc_category_parse (const char *name);
int esc_party_parse (const char *name);
int esc_remedy_parse (const char *name);
//  The category's standard first step (apologise and explain, read the chat
//  record first, ...): borrowed.
const char *esc_category_first_step (int category);

//  A new complaint at now: stage REGISTERED with its deadline.
void esc_complaint_register (esc_complaint_t *c, int category, const esc_settings_t *s,
                             int64_t now);
//  Apply a move. 0 and c changed, or -1 and c untouched with err naming the
//  stage and what is missing (MISSING_FIELD), the wrong stage
//  (INVALID_VALUE) or the wrong role (FORBIDDEN).
int esc_complaint_move (esc_complaint_t *c, const esc_move_t *m, const esc_settings_t *s,
                        int64_t now, kf_error_t *err);
//  The ServiceFinding against the agent concerned that move m (applied to
//  c) makes, for metrics' scorecard: a service complaint investigated is
//  VALID (or m->finding: WRONG_EXPLANATION, UNVERIFIABLE); another party
//  found, or judged not valid, is NONE (clears an earlier finding); other
//  moves find nothing (UNSPECIFIED).
int esc_complaint_finding (const esc_complaint_t *c, const esc_move_t *m);
//  True when the move's result is a ledger entry (carried out with money).
bool esc_complaint_moves_money (const esc_complaint_t *c, const esc_move_t *m);
//  The deadline has passed (now >= c->deadline_ms > 0): one level up and
//  the next level's deadline (none after max_level). Returns how late the
//  deadline fired (ms, >= 0), or -1 if it was not due.
int64_t esc_complaint_deadline (esc_complaint_t *c, const esc_settings_t *s, int64_t now);

//  The 中差评 contact ladder of one review.
typedef enum {
    ESC_STEP_NONE = 0, //  nothing sent yet
    ESC_STEP_CHAT,     //  已旺旺留言
    ESC_STEP_SMS,      //  已发送短信
    ESC_STEP_PHONE     //  phone task issued (已电话沟通 once the agent calls)
} esc_step_t;

typedef struct {
    int step;           //  esc_step_t: the last step taken
    int64_t chat_at_ms; //  when the chat message went out
    int64_t next_ms;    //  when the next step is due (0 = none: done or stopped)
    bool contacted;     //  the buyer answered: the ladder stopped
} esc_review_t;

//  A new review at now: the chat message is due at once.
void esc_review_open (esc_review_t *r, int64_t now);
//  Take the step due at now (r->next_ms <= now): returns it, and sets when
//  the next one is due; ESC_STEP_NONE if nothing was due.
esc_step_t esc_review_step (esc_review_t *r, const esc_settings_t *s, const kf_tz_t *tz,
                            int64_t now);
//  The buyer wrote: the ladder stops. false if it had already stopped.
bool esc_review_contacted (esc_review_t *r);
//  The earliest time >= t inside one of the shop's calling windows.
int64_t esc_calling_window (const esc_settings_t *s, const kf_tz_t *tz, int64_t t);

//  Ledger entry kinds (escalation_ledger.kind).
typedef enum {
    ESC_LEDGER_COUPON = 1,
    ESC_LEDGER_CASH,
    ESC_LEDGER_REFUND,
    ESC_LEDGER_RESEND_COST
} esc_ledger_kind_t;
//  The ledger kind a remedy's money is (0: a remedy that moves none).
int esc_ledger_kind_of (int remedy);
const char *esc_ledger_kind_name (int kind);

#endif
