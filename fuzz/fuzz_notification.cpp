// libFuzzer target: notification payloads are parsed or refused, never a
// crash, and an accepted one always names a valid asset id.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "notify/notification.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload{reinterpret_cast<const char*>(data), size};
  backfilld::asset_seen seen;
  auto f = backfilld::parse_notification(payload, seen);
  if (!f && seen.asset <= 0)
    std::abort();
  if (f && f.code != backfilld::ec::malformed_notification)
    std::abort();
  return 0;
}
