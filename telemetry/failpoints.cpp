#include "telemetry/failpoints.hpp"

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>

namespace backfilld {

namespace {

/// Remaining firings per failpoint; negative fires forever.
using table = std::map<std::string, std::unique_ptr<std::atomic<int>>>;

table parse(const char* spec) {
  table result;
  if (spec == nullptr)
    return result;
  std::stringstream in{spec};
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty())
      continue;
    auto colon = item.find(':');
    auto count =
      colon == std::string::npos ? -1 : std::atoi(item.c_str() + colon + 1);
    result.emplace(item.substr(0, colon),
                   std::make_unique<std::atomic<int>>(count));
  }
  return result;
}

} // namespace

bool failpoint(const char* name) {
  static const table points = parse(std::getenv("BACKFILLD_FAILPOINTS"));
  if (points.empty())
    return false;
  auto i = points.find(name);
  if (i == points.end())
    return false;
  auto& left = *i->second;
  auto n = left.load();
  while (n != 0) {
    if (n < 0 || left.compare_exchange_weak(n, n - 1))
      return true;
  }
  return false;
}

} // namespace backfilld
