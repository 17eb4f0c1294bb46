/*  metrics_question — a supervisor's question once checked (metrics_query
    checks it, metrics_query and metrics_desk answer it): its kind and its
    plain fields. */
#ifndef METRICS_QUESTION_H
#define METRICS_QUESTION_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics_model.h"

typedef enum {
    METRICS_KIND_SUMMARY = 1, //  kpi.summary
    METRICS_KIND_SERIES,      //  kpi.series
    METRICS_KIND_AGENTS_NOW,  //  agents.now
    METRICS_KIND_WAITING,     //  conversations.waiting
    METRICS_KIND_QA_FLAGS,    //  qa.flags
    METRICS_KIND_SCORECARD,   //  agent.scorecard
    METRICS_KIND_ATTENDANCE,  //  agent.attendance
    METRICS_KIND_PHRASES,     //  phrases.usage (metrics_desk)
    METRICS_KIND_ORDERS,      //  orders.summary (metrics_desk)
    METRICS_KIND_AFTERSALES,  //  aftersales.summary (metrics_desk)
} metrics_kind_t;

#define METRICS_PARAMS_MAX  4096 //  bytes of params_json
#define METRICS_REQUEST_MAX 128  //  bytes of request_id

//  A checked question (plain data: it crosses to the worker by value).
typedef struct {
    int kind;                          //  metrics_kind_t
    char shop_id[65];                  //  shop
    char timezone[65];                 //  its time zone
    int64_t from_ms;                   //  period: hours starting in [from, to)
    int64_t to_ms;                     //
    int by;                            //  metrics_by_t: grouping, or a series' interval
    int64_t threshold_ms;              //  the X of the X-second rates
    bool has_agent;                    //  filter on one agent
    char agent[METRICS_ID_MAX + 1];    //
    bool has_group;                    //  filter on one group ("" = no group)
    char group[METRICS_GROUP_MAX + 1]; //
    int channel;                       //  filter on one channel, 0 = all
    int limit;                         //  most rows (lines, conversations)
    int64_t max_rows;                  //  KEFU_METRICS_MAX_ROWS
    int64_t now_ms;                    //  the service's clock when asked
    char month[8];                     //  agent.scorecard, agent.attendance: "2026-11"
    char date[11];                     //  agent.attendance: "2026-11-23"
} metrics_query_t;

#endif
