#include "messages/types.hpp"

namespace backfilld {

const char* to_string(job_kind x) {
  return x == job_kind::backfill ? "backfill" : "extend";
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

} // namespace backfilld
