// At most one `tick` on its way to an actor.
//
// Several roles retry "later" from many places (a failed round trip, a peer
// that was away, the next token): each of those asks for a tick, and asks
// made while one is already scheduled fold into it, so retries never pile up
// timers.

#pragma once

#include <caf/timespan.hpp>

#include "messages/atoms.hpp"

namespace backfilld {

class pending_tick {
 public:
  /// Sends `self` a tick after `delay` unless one is on its way.
  template <class Self, class Duration>
  void schedule(Self* self, Duration delay) {
    if (scheduled_)
      return;
    scheduled_ = true;
    self->delayed_send(self, delay, atom::tick_v);
  }

  /// The tick arrived: the next `schedule` sends a new one.
  void fired() {
    scheduled_ = false;
  }

  bool scheduled() const {
    return scheduled_;
  }

 private:
  bool scheduled_ = false;
};

} // namespace backfilld
