/*  metrics_web — the dashboard's files, embedded in the binary at build
    time from services/metrics/web/ (web/embed.cmake writes the table). */
#ifndef METRICS_WEB_H
#define METRICS_WEB_H

#include <stddef.h>

typedef struct {
    const char *path;          //  URL path ("/", "/assets/app.js")
    const char *type;          //  Content-Type
    const unsigned char *data; //  the bytes
    size_t size;               //  how many
} metrics_web_asset_t;

//  The asset served at path (exact match), or NULL.
const metrics_web_asset_t *metrics_web_find (const char *path);

#endif
