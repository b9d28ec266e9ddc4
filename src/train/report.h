/*
 * train/report.h - the training run's HTML page (report.c).
 */
#ifndef WD_TRAIN_REPORT_H
#define WD_TRAIN_REPORT_H

#include "warden/base.h"

/* Writes out/report.html from out/train.jsonl: loss (and pairwise
 * accuracy) per step as inline SVG, after summary_html (trusted markup the
 * caller built, HTML-escaped where it holds data). */
wd_status wd__train_report(const char *out, const char *summary_html);

#endif
