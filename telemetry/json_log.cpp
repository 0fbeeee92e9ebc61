#include "telemetry/json_log.hpp"

#include <cstdio>
#include <ctime>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace backfilld {

std::pair<std::string_view, std::string_view>
split_logger(std::string_view line) {
  constexpr std::string_view process = "backfilld";
  // Role names are short and plain ("rate-limiter"); anything else in
  // brackets is part of the message.
  auto close = line.find("] ");
  if (line.empty() || line.front() != '[' || close == std::string_view::npos ||
      close < 2 || close > 48)
    return {process, line};
  auto name = line.substr(1, close - 1);
  for (auto ch : name)
    if (!(('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z') ||
          ('0' <= ch && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
      return {process, line};
  return {name, line.substr(close + 2)};
}

std::string iso_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  auto frac = static_cast<int>(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", frac);
  return buf;
}

std::string valid_utf8(std::string_view s) {
  constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if (ok)
      ok = !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
           !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    if (!ok) {
      out += replacement;
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string json_log_line(const log_record& r) {
  auto [logger, message] = split_logger(r.line);
  auto text = valid_utf8(message);
  auto name = valid_utf8(logger);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  auto key_value = [&](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  key_value("time", iso_utc(r.time));
  key_value("level", r.level);
  key_value("logger", name);
  key_value("message", text);
  w.Key("pid");
  w.Int64(r.pid);
  if (!r.host.empty())
    key_value("host", valid_utf8(r.host));
  if (!r.node.empty())
    key_value("node", valid_utf8(r.node));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace backfilld
