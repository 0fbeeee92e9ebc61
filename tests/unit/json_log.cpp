#define CAF_SUITE json_log
#include <caf/test/unit_test.hpp>

#include <string>

#include <rapidjson/document.h>

#include "telemetry/json_log.hpp"

using namespace backfilld;
using namespace std::chrono_literals;

namespace {

log_record record(std::string_view line) {
  log_record r;
  r.time = std::chrono::system_clock::time_point{1764563559123ms};
  r.level = "info";
  r.line = line;
  r.pid = 4242;
  r.host = "node-1";
  return r;
}

/// The line parsed back; fails the test when it is not one JSON object.
rapidjson::Document parsed(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  CAF_REQUIRE(!doc.HasParseError());
  CAF_REQUIRE(doc.IsObject());
  return doc;
}

std::string field(const rapidjson::Document& doc, const char* key) {
  CAF_REQUIRE(doc.HasMember(key));
  CAF_REQUIRE(doc[key].IsString());
  return {doc[key].GetString(), doc[key].GetStringLength()};
}

} // namespace

CAF_TEST(the line of a role carries the role as its logger) {
  auto line = json_log_line(record("[writer] Backfilled AMD: 251 records"));
  auto doc = parsed(line);
  CAF_CHECK_EQUAL(field(doc, "time"), "2025-12-01T04:32:39.123Z");
  CAF_CHECK_EQUAL(field(doc, "level"), "info");
  CAF_CHECK_EQUAL(field(doc, "logger"), "writer");
  CAF_CHECK_EQUAL(field(doc, "message"), "Backfilled AMD: 251 records");
  CAF_CHECK_EQUAL(doc["pid"].GetInt64(), 4242);
  CAF_CHECK_EQUAL(field(doc, "host"), "node-1");
  CAF_CHECK(!doc.HasMember("node"));
}

CAF_TEST(the lines of a cluster node carry its node name) {
  auto r = record("[fetcher] Fetched AMD");
  r.node = "fetch-a\"\n";
  auto doc = parsed(json_log_line(r));
  CAF_CHECK_EQUAL(field(doc, "node"), "fetch-a\"\n");
  CAF_CHECK_EQUAL(field(doc, "logger"), "fetcher");
}

CAF_TEST(lines without a role prefix belong to the process) {
  for (auto line : {"backfilld starting: database x", "[] empty",
                    "[a b] spaces are not a role", "[writer]no space",
                    "[\"quoted\"] not a role", ""}) {
    auto [logger, message] = split_logger(line);
    CAF_CHECK_EQUAL(logger, "backfilld");
    CAF_CHECK_EQUAL(message, line);
  }
  auto [logger, message] = split_logger("[rate-limiter] pausing");
  CAF_CHECK_EQUAL(logger, "rate-limiter");
  CAF_CHECK_EQUAL(message, "pausing");
}

CAF_TEST(hostile messages stay one valid JSON line) {
  std::string nasty = "[fetcher] say \"hi\" \\ back\\slash\nnew line\r\t tab";
  nasty += '\0';
  nasty += "\x01\x1f\x7f end";
  auto line = json_log_line(record(nasty));
  CAF_CHECK_EQUAL(line.find('\n'), std::string::npos);
  CAF_CHECK_EQUAL(line.find('\r'), std::string::npos);
  for (auto ch : line)
    CAF_CHECK(static_cast<unsigned char>(ch) >= 0x20);
  auto doc = parsed(line);
  auto expected = nasty.substr(10);
  CAF_CHECK_EQUAL(field(doc, "message"), expected);
}

CAF_TEST(invalid UTF-8 is replaced and valid UTF-8 kept) {
  CAF_CHECK_EQUAL(valid_utf8("Zürich €"), "Zürich €");
  CAF_CHECK_EQUAL(valid_utf8("a\xff"
                             "b"),
                  "a\xEF\xBF\xBD"
                  "b");
  // Truncated, overlong, a surrogate, past U+10FFFF.
  CAF_CHECK_EQUAL(valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  CAF_CHECK_EQUAL(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  CAF_CHECK_EQUAL(valid_utf8("\xED\xA0\x80"),
                  "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  CAF_CHECK_EQUAL(valid_utf8("\xF4\x90\x80\x80").size(), 12u);
  auto line = json_log_line(record("[listener] payload \xff\xfe{"));
  auto doc = parsed(line);
  CAF_CHECK_EQUAL(field(doc, "message"), "payload \xEF\xBF\xBD\xEF\xBF\xBD{");
}

CAF_TEST(times are UTC with milliseconds) {
  using clock = std::chrono::system_clock;
  CAF_CHECK_EQUAL(iso_utc(clock::time_point{}), "1970-01-01T00:00:00.000Z");
  CAF_CHECK_EQUAL(iso_utc(clock::time_point{86'400'007ms}),
                  "1970-01-02T00:00:00.007Z");
}
