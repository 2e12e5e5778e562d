// The ref policy of the Agent Activity Log Format: input_ref and output_ref hold a hash
// or a URI of the content, never the content, and never a secret.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace agentlog::redact {

enum class RefKind {
  HashRef,         // <algorithm>:<hex> with a known algorithm and the right length
  CleanUri,        // scheme://authority... or urn:..., with no credentials
  UriWithSecrets,  // a URI with a userinfo password, secret-looking query parameters, or a webhook path
  Raw,             // anything else: content, which must not be stored
};

bool is_hash_ref(std::string_view v);
RefKind classify_ref(std::string_view v);

// The secret parts of a URI (userinfo password, secret query or fragment parameter values,
// the secret path of a webhook URL): byte ranges of `uri`, in order, without overlaps.
struct UriSecret {
  size_t begin, end;
  const char* rule;  // "ref-uri-password", "ref-webhook-url" or "ref-uri-query-secret"
};
void uri_secret_spans(std::string_view uri, std::vector<UriSecret>& out);

// Replaces the secret parts of a URI (userinfo password, secret query or fragment
// parameter values, the secret path of a webhook URL) with `token(secret)`. `what` receives
// one rule id per replacement: "ref-uri-password", "ref-webhook-url" or "ref-uri-query-secret".
std::string redact_uri(std::string_view uri, const std::function<std::string(std::string_view)>& token,
                       std::vector<std::string>& what);

}  // namespace agentlog::redact
