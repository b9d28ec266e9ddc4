/*
 * base/log.h - the library's only way to say something: through the sink
 * the caller set with wd_log_set(). Cheap when nobody listens.
 */
#ifndef WD_BASE_LOG_H
#define WD_BASE_LOG_H

#include "warden/base.h"

void wd__log(wd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool wd__log_enabled(wd_log_level level);

#define WD_DEBUG(...) wd__log(WD_LOG_LEVEL_DEBUG, __VA_ARGS__)
#define WD_INFO(...)  wd__log(WD_LOG_LEVEL_INFO, __VA_ARGS__)
#define WD_WARN(...)  wd__log(WD_LOG_LEVEL_WARN, __VA_ARGS__)
#define WD_ERROR(...) wd__log(WD_LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
