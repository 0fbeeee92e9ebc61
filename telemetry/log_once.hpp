// Keeping a failure that repeats from flooding the log: a database that
// refuses us keeps refusing for the same reason, and saying so every few
// seconds (from every role) buries everything else. Log collectors also read
// the log line by line, so a record must never span lines.

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace backfilld {

/// `text` on one line: trailing whitespace dropped (libpq ends its messages
/// with a newline) and every inner line break, with the indentation around
/// it, turned into "; ".
inline std::string one_line(std::string_view text) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  std::string result;
  result.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (c != '\n' && c != '\r') {
      result += c;
      continue;
    }
    while (!result.empty() && (result.back() == ' ' || result.back() == '\t'))
      result.pop_back();
    while (i + 1 < text.size() && is_space(text[i + 1]))
      ++i;
    result += "; ";
  }
  return result;
}

/// Remembers, per source (a role, a connection), the cause of its current
/// failure, so that each cause is said once and its repeats only counted.
/// Plain and single-threaded: each actor keeps its own.
class log_once {
 public:
  /// `source` failed with `cause`; true when that is news worth a log line
  /// (the first failure, or a different cause than the last one).
  bool failed(const std::string& source, const std::string& cause) {
    auto [i, added] = failing_.try_emplace(source, state{cause, 0});
    if (added)
      return true;
    if (i->second.cause != cause) {
      i->second = state{cause, 0};
      return true;
    }
    ++i->second.repeats;
    return false;
  }

  /// `source` works again. When it was failing, returns how many repeats
  /// were kept quiet (worth one line: the state changed); otherwise nothing.
  std::optional<uint64_t> recovered(const std::string& source) {
    auto i = failing_.find(source);
    if (i == failing_.end())
      return std::nullopt;
    auto repeats = i->second.repeats;
    failing_.erase(i);
    return repeats;
  }

  /// Whether `source` is failing right now.
  bool failing(const std::string& source) const {
    return failing_.count(source) != 0;
  }

 private:
  struct state {
    std::string cause;
    uint64_t repeats;
  };
  std::map<std::string, state> failing_;
};

} // namespace backfilld
