// content_ref without simdjson's minifier, which copies escaped text a byte at a time (slow
// on long multi-line texts such as tool observations).
#pragma once
#include <string>

#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {

// "sha256:<hex>" of a value: of a string's bytes, else of its minified JSON text, byte for
// byte what content_ref gives (simdjson's escapes; values with numbers go through json_ref).
std::string minified_content_ref(element v);

}  // namespace agentlog::plugins::normalize
