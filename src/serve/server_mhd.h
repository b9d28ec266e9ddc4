/*
 * serve/server_mhd.h - the libmicrohttpd callbacks of server.c that
 * lifecycle.c registers with each daemon (cls: the daemon's wd__lane;
 * mhd_log's: the wd_server).
 */
#ifndef WD_SERVE_SERVER_MHD_H
#define WD_SERVE_SERVER_MHD_H

#include <microhttpd.h>
#include <stdarg.h>

/* A request's every call: route, auth and limits first, then the body,
 * then the handler (see server.c). */
enum MHD_Result wd__server_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version, const char *upload_data,
                                     size_t *upload_data_size, void **con_cls);
/* A request ended: latency and status into the metrics, its body budget back. */
void wd__server_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                             enum MHD_RequestTerminationCode toe);
/* A connection opened or closed on a lane (the watchdog's list). */
void wd__server_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe);
/* MHD's own messages into warden's log. */
void wd__server_mhd_log(void *cls, const char *fmt, va_list ap);

#endif
