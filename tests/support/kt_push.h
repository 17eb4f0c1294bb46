/*  kt_push — run the real kefu-push binary from a test: JSON lines in,
    its answers out. */
#ifndef KT_PUSH_H
#define KT_PUSH_H

//  Push `input` (JSON lines) through kefu-push to intake's gateway
//  endpoint, with flags (e.g. "--rebase", "" for none); what it printed on
//  stdout into *out_p (caller frees). Returns its exit code.
int kt_push (const char *endpoint, const char *input, const char *flags, char **out_p);

#endif
