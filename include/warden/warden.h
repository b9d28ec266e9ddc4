/*
 * warden/warden.h - the whole public API. Include this, link -lwarden
 * (pkg-config --cflags --libs warden). The numerical kernels and their
 * naive oracles (warden/ops.h) are a lower layer, included on their own by
 * the code that calls kernels directly.
 */
#ifndef WARDEN_H
#define WARDEN_H

#include "warden/base.h"
#include "warden/taxonomy.h"
#include "warden/guard.h"
#include "warden/router.h"
#include "warden/guard_format.h"
#include "warden/certify.h"
#include "warden/serve.h"
#include "warden/checkpoint.h"
#include "warden/config.h"
#include "warden/model.h"
#include "warden/safetensors.h"
#include "warden/gguf.h"
#include "warden/dataset.h"
#include "warden/textclf.h"
#include "warden/train.h"
#include "warden/weights.h"
#include "warden/metrics.h"
#include "warden/attack.h"
#include "warden/report.h"
#include "warden/scorecard.h"
#include "warden/eval.h"
#include "warden/redteam.h"
#include "warden/explain.h"
#include "warden/audit.h"

#include "warden/tokenizer.h"
#include "warden/chat.h"

#endif /* WARDEN_H */
