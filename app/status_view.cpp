#include "app/status_view.hpp"

#include <cstdio>
#include <ctime>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "policy/stale.hpp"
#include "provider/trading_day.hpp"

namespace backfilld {

namespace {

/// Table cells longer than this are cut (the JSON has them whole).
constexpr size_t max_symbol = 12;
constexpr size_t max_error = 60;

/// `text` cut to `width` bytes, with "..." when cut (never inside a UTF-8
/// sequence).
std::string cut(const std::string& text, size_t width) {
  if (text.size() <= width)
    return text;
  auto end = width - 3;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return text.substr(0, end) + "...";
}

/// "stale", "inactive", "held back 2", comma-separated.
std::string flags_of(const asset_status& a, day_number today,
                     int32_t stale_after) {
  std::string flags;
  auto add = [&](const std::string& flag) {
    flags += (flags.empty() ? "" : ",") + flag;
  };
  // A sold, inactive or cash asset is not kept current: old is expected.
  if (a.kept_current() && is_stale(a.last_day, today, stale_after))
    add("stale");
  if (!a.inactive_since.empty())
    add("inactive");
  if (a.held_back > 0)
    add("held back " + std::to_string(a.held_back));
  return flags;
}

std::string day_or_dash(day_number day) {
  return day == no_day ? "-" : iso_date(day);
}

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

std::string iso_time(int64_t unix_seconds) {
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// One table line; the error column last, so that a long one only runs on.
std::string line(const std::string& symbol, const std::string& id,
                 const std::string& rows, const std::string& first,
                 const std::string& last, const std::string& update,
                 const std::string& source, const std::string& job,
                 const std::string& flags, const std::string& error) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%-12s %7s %7s  %-10s  %-10s  %-17s  %-8s  %-16s  %-14s  %s",
                symbol.c_str(), id.c_str(), rows.c_str(), first.c_str(),
                last.c_str(), update.c_str(), source.c_str(), job.c_str(),
                flags.c_str(), error.c_str());
  std::string result = buf;
  while (!result.empty() && result.back() == ' ')
    result.pop_back();
  return result + "\n";
}

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void string_or_null(json_writer& w, const std::string& text) {
  if (text.empty())
    w.Null();
  else
    w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
}

void key(json_writer& w, const char* name) {
  w.Key(name);
}

// -- providers
// ------------------------------------------------------------------

/// "08:04:10Z" of a Unix time, for "open until" (the date is the header's).
std::string clock_time(int64_t unix_seconds) {
  return iso_time(unix_seconds).substr(11);
}

/// "open until 08:04:10Z, throttled until 08:05:00Z", "off: no API key".
std::string provider_state_text(const provider_state& p) {
  std::string text = p.breaker;
  if (p.breaker == "open" && p.open_until > 0)
    text += " until " + clock_time(p.open_until);
  if (p.breaker == "off" && !p.note.empty())
    text += ": " + p.note;
  if (p.throttled_until > 0)
    text += ", throttled until " + clock_time(p.throttled_until);
  return text;
}

/// "3/40 failed (7.5%) in the last 5 min", or that nothing was asked.
std::string error_ratio_text(const provider_state& p) {
  auto minutes = std::to_string(error_window::seconds / 60);
  if (p.requests == 0)
    return "no requests in the last " + minutes + " min";
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.3g%%",
                100.0 * static_cast<double>(p.errors) /
                  static_cast<double>(p.requests));
  return std::to_string(p.errors) + "/" + std::to_string(p.requests) +
         " failed (" + ratio + ") in the last " + minutes + " min";
}

/// "2 min ago" (rounded down), for a stale snapshot.
std::string ago(double seconds) {
  auto s = static_cast<int64_t>(seconds);
  if (s < 120)
    return std::to_string(s) + " s ago";
  if (s < 7200)
    return std::to_string(s / 60) + " min ago";
  return std::to_string(s / 3600) + " h ago";
}

/// The newest row: whose time and daemon the header names.
const provider_status& newest(const std::vector<provider_status>& rows) {
  const auto* best = &rows.front();
  for (const auto& r : rows)
    if (r.age_seconds < best->age_seconds)
      best = &r;
  return *best;
}

/// The providers' section of the table; nothing before a daemon ever ran.
std::string provider_section(const std::vector<provider_status>& rows) {
  if (rows.empty())
    return {};
  const auto& latest = newest(rows);
  std::string out = "Providers (as of " + iso_time(latest.updated_at);
  if (latest.stale())
    out += ", " + ago(latest.age_seconds) + ": daemon not running?";
  out += "):\n";
  for (const auto& r : rows) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "  %-12s %-44s %s", r.state.provider.c_str(),
                  provider_state_text(r.state).c_str(),
                  error_ratio_text(r.state).c_str());
    out += buf;
    if (r.stale() && !latest.stale())
      out += " (stale: as of " + iso_time(r.updated_at) + ")";
    out += "\n";
  }
  return out;
}

void time_or_null(json_writer& w, int64_t unix_seconds) {
  string_or_null(w, unix_seconds > 0 ? iso_time(unix_seconds) : "");
}

void provider_json(json_writer& w, const std::vector<provider_status>& rows) {
  w.StartArray();
  for (const auto& r : rows) {
    const auto& p = r.state;
    w.StartObject();
    key(w, "provider");
    string_or_null(w, p.provider);
    key(w, "breaker");
    string_or_null(w, p.breaker);
    key(w, "open_until");
    time_or_null(w, p.open_until);
    key(w, "throttled_until");
    time_or_null(w, p.throttled_until);
    key(w, "requests");
    w.Int64(p.requests);
    key(w, "errors");
    w.Int64(p.errors);
    key(w, "error_ratio");
    if (p.requests > 0)
      w.Double(static_cast<double>(p.errors) / static_cast<double>(p.requests));
    else
      w.Null();
    key(w, "window_seconds");
    w.Int64(error_window::seconds);
    key(w, "note");
    string_or_null(w, p.note);
    key(w, "updated_at");
    time_or_null(w, r.updated_at);
    key(w, "stale");
    w.Bool(r.stale());
    key(w, "daemon");
    string_or_null(w, r.daemon);
    w.EndObject();
  }
  w.EndArray();
}

} // namespace

std::string status_table(const status_report& report,
                         const status_view_settings& settings) {
  auto today = utc_day(settings.now);
  std::string out;
  if (report.assets.empty()) {
    out += "Nothing is tracked yet. backfilld takes an asset on when a "
           "transaction for it\nis inserted (the tracker's trigger notifies "
           "the running daemon; its catch-up\nscan finds any it missed), or "
           "now with `backfilld backfill SYMBOL`.\n";
  } else {
    out += line("SYMBOL", "ID", "ROWS", "FIRST", "LAST", "LAST UPDATE (UTC)",
                "SOURCE", "JOB", "FLAGS", "LAST ERROR");
    for (const auto& a : report.assets) {
      // "2026-12-01T04:33:10Z" as "2026-12-01 04:33".
      auto update =
        a.last_update.size() >= 16
          ? a.last_update.substr(0, 10) + " " + a.last_update.substr(11, 5)
          : or_dash(a.last_update);
      auto job = a.job_kind.empty() ? "-" : a.job_kind + " " + a.job_state;
      out += line(cut(a.symbol, max_symbol), std::to_string(a.asset),
                  std::to_string(a.rows), day_or_dash(a.first_day),
                  day_or_dash(a.last_day), update, or_dash(a.source), job,
                  or_dash(flags_of(a, today, settings.stale_after)),
                  cut(a.last_error, max_error));
    }
  }
  if (report.jobs.empty()) {
    out += "Jobs by kind and state: none\n";
  } else {
    out += "Jobs by kind and state:\n";
    auto failed = false;
    for (const auto& c : report.jobs) {
      out +=
        "  " + c.kind + " " + c.state + ": " + std::to_string(c.jobs) + "\n";
      failed = failed || c.state == "failed";
    }
    if (failed)
      out += "Failed jobs run again with `backfilld retry SYMBOL` (or "
             "--all-failed).\n";
  }
  out += provider_section(report.providers);
  // One asset: its whole error, and why it is inactive.
  if (report.assets.size() == 1) {
    const auto& a = report.assets.front();
    if (a.last_error.size() > max_error)
      out += "Last error: " + a.last_error + "\n";
    if (!a.inactive_since.empty())
      out += "Inactive since " + a.inactive_since + ": " + a.inactive_reason +
             " (`backfilld retry " + a.symbol + "` revives it)\n";
  }
  return out;
}

std::string status_json(const status_report& report,
                        const status_view_settings& settings) {
  auto today = utc_day(settings.now);
  rapidjson::StringBuffer buffer;
  json_writer w{buffer};
  w.StartObject();
  key(w, "generated_at");
  string_or_null(w, iso_time(settings.now));
  key(w, "stale_after_trading_days");
  w.Int(settings.stale_after);
  key(w, "assets");
  w.StartArray();
  for (const auto& a : report.assets) {
    w.StartObject();
    key(w, "asset_id");
    w.Int(a.asset);
    key(w, "symbol");
    w.String(a.symbol.c_str(),
             static_cast<rapidjson::SizeType>(a.symbol.size()));
    key(w, "rows");
    w.Int64(a.rows);
    key(w, "first_date");
    string_or_null(w, a.first_day == no_day ? "" : iso_date(a.first_day));
    key(w, "last_date");
    string_or_null(w, a.last_day == no_day ? "" : iso_date(a.last_day));
    key(w, "last_update");
    string_or_null(w, a.last_update);
    key(w, "tracking_users");
    if (a.tracking_users < 0)
      w.Null();
    else
      w.Int(a.tracking_users);
    key(w, "source");
    string_or_null(w, a.source);
    key(w, "job");
    if (a.job_kind.empty()) {
      w.Null();
    } else {
      w.StartObject();
      key(w, "kind");
      string_or_null(w, a.job_kind);
      key(w, "state");
      string_or_null(w, a.job_state);
      key(w, "attempts");
      w.Int(a.job_attempts);
      w.EndObject();
    }
    key(w, "last_error");
    string_or_null(w, a.last_error);
    key(w, "missed_trading_days");
    w.Int(missed_weekdays(a.last_day, today));
    key(w, "stale");
    w.Bool(a.kept_current() &&
           is_stale(a.last_day, today, settings.stale_after));
    key(w, "inactive");
    w.Bool(!a.inactive_since.empty());
    key(w, "inactive_since");
    string_or_null(w, a.inactive_since);
    key(w, "inactive_reason");
    string_or_null(w, a.inactive_reason);
    key(w, "held_back");
    w.Int64(a.held_back);
    w.EndObject();
  }
  w.EndArray();
  key(w, "jobs");
  w.StartArray();
  for (const auto& c : report.jobs) {
    w.StartObject();
    key(w, "kind");
    string_or_null(w, c.kind);
    key(w, "state");
    string_or_null(w, c.state);
    key(w, "count");
    w.Int64(c.jobs);
    w.EndObject();
  }
  w.EndArray();
  key(w, "providers");
  provider_json(w, report.providers);
  w.EndObject();
  return std::string{buffer.GetString(), buffer.GetSize()} + "\n";
}

} // namespace backfilld
