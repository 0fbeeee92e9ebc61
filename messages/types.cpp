#include "messages/types.hpp"

#include <cstdio>

#include <date/date.h>

namespace backfilld {

std::string iso_date(day_number day) {
  if (day == no_day)
    return "none";
  // Called once per stored bar, millions of times in a large backfill:
  // date::format builds a stream and imbues a locale each time, which made
  // it the daemon's largest cost of its own (bench/README.md).
  date::sys_days at{date::days{day}};
  date::year_month_day ymd{at};
  auto year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999)
    return date::format("%F", at);
  char text[16];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02u", year,
                static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return text;
}

const char* to_string(job_kind x) {
  switch (x) {
  case job_kind::backfill:
    return "backfill";
  case job_kind::extend:
    return "extend";
  case job_kind::refresh:
    return "refresh";
  }
  return "unknown";
}

const char* to_string(failure_kind x) {
  switch (x) {
  case failure_kind::transient:
    return "transient";
  case failure_kind::throttled:
    return "throttled";
  case failure_kind::permanent:
    return "permanent";
  }
  return "unknown";
}

const char* to_string(enqueue_outcome x) {
  switch (x) {
  case enqueue_outcome::queued:
    return "queued";
  case enqueue_outcome::already_queued:
    return "already_queued";
  case enqueue_outcome::has_prices:
    return "has_prices";
  case enqueue_outcome::failed_before:
    return "failed_before";
  case enqueue_outcome::unknown_asset:
    return "unknown_asset";
  }
  return "unknown";
}

const char* to_string(verdict_action x) {
  switch (x) {
  case verdict_action::retry:
    return "retry";
  case verdict_action::give_up:
    return "give_up";
  case verdict_action::give_up_permanent:
    return "give_up_permanent";
  }
  return "unknown";
}

const char* to_string(role x) {
  switch (x) {
  case role::tracker:
    return "tracker";
  case role::rate_limiter:
    return "rate-limiter";
  case role::writer:
    return "writer";
  case role::job_queue:
    return "job-queue";
  case role::dedupe:
    return "dedupe";
  case role::fetcher:
    return "fetcher";
  case role::listener:
    return "listener";
  case role::scheduler:
    return "scheduler";
  }
  return "unknown";
}

const char* to_string(hold_reason x) {
  switch (x) {
  case hold_reason::none:
    return "none";
  case hold_reason::no_market_price:
    return "no_market_price";
  case hold_reason::permanent_failure:
    return "permanent_failure";
  case hold_reason::attempts_ran_out:
    return "attempts_ran_out";
  }
  return "unknown";
}

const char* to_string(event_kind x) {
  switch (x) {
  case event_kind::dividend:
    return "dividend";
  case event_kind::split:
    return "split";
  }
  return "unknown";
}

} // namespace backfilld
