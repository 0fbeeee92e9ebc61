#include "queue/outbox.hpp"

namespace backfilld {

const outcome* outbox::send_next() {
  if (in_flight_ || items_.empty())
    return nullptr;
  in_flight_ = true;
  return &items_.front();
}

void outbox::sent() {
  in_flight_ = false;
  refusals_ = 0;
  items_.pop_front();
}

outbox::retry_or_drop outbox::failed(bool database_away) {
  in_flight_ = false;
  if (database_away || ++refusals_ < max_refusals_)
    return retry_or_drop::retry;
  refusals_ = 0;
  items_.pop_front();
  return retry_or_drop::dropped;
}

} // namespace backfilld
