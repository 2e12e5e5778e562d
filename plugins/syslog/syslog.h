// Output `syslog`: RFC 5424 (or RFC 3164) messages over UDP, TCP (octet-counted or newline
// framing) or a Unix socket, with the record's JSON as the message and agent fields as
// STRUCTURED-DATA. Delivery runs on its own thread with a bounded buffer (backpressure),
// reconnects with backoff, at-least-once replay on streams and a shutdown grace period.
#pragma once
#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& syslog_output_plugin();
}
