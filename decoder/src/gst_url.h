// URL handling of the live source (private to the decoder): which parts of a URL are secret,
// a URI's scheme, which schemes read the network, and the local-file checks of live inputs.
//
//   const std::vector<std::string> secrets = secrets_of(url);   // scrub these from messages
//   if (network_scheme(scheme_of(uri.c_str()))) only network sources may appear inside it;
//
// Pure functions (scheme_of asks GStreamer, which must be initialised): thread-safe.
#pragma once

#include <string>
#include <vector>

namespace framescribe::decoder {

// What a URL carries that must never reach a message: its user-info ("user:password"), the
// password alone, every query value and the fragment (GStreamer's error texts may quote the URI
// in pieces). Longest first, so a value inside another is not replaced half.
std::vector<std::string> secrets_of(const std::string& url);

// Lower-case scheme of a URI ("" for none).
std::string scheme_of(const char* uri);

// Schemes whose sources read from the network. A stream opened with one of these may only ever
// read from the network: content it downloads (an HLS or DASH playlist, a redirect) names
// further URIs, and GStreamer opens each with whatever element handles its scheme: filesrc for
// file://, so a remote playlist could otherwise play the monitor's own disk into the snapshots,
// the status page and the descriptions.
bool network_scheme(const std::string& scheme);

}  // namespace framescribe::decoder
