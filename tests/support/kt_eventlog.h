/*  kt_eventlog — an event log with a history, for tests of pruning.

    A migrated database has one partition for everything up to the end of
    today (events_legacy) and days ahead. These helpers give it the shape
    of a log that has been running for a while: one partition per past day,
    with events stored on the days a test chooses. */
#ifndef KT_EVENTLOG_H
#define KT_EVENTLOG_H

//  Replace events_legacy (which must be empty) by one daily partition per
//  day from `days` days ago up to today (UTC), as kefu_events_ensure_partitions
//  makes them.
void kt_eventlog_days (const char *url, int days);

//  Events seq from..to of (stream, partition), stored `days_ago` days ago
//  (at noon UTC of that day); event_sequences follows.
void kt_eventlog_events (const char *url, const char *stream, int partition, int from, int to,
                         int days_ago);

//  The consumer's offset for (stream, partition), set (inserted or moved).
void kt_eventlog_offset (const char *url, const char *consumer, const char *stream, int partition,
                         int seq);

//  Events kept for (stream, partition), and the partitions kept in all.
long long kt_eventlog_kept (const char *url, const char *stream, int partition);
long long kt_eventlog_partitions (const char *url);

#endif
