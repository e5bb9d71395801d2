#pragma once

// Delivers a component's HealthEvents to its observers in the order of the changes, outside the
// component's locks.

#include <memory>
#include <mutex>
#include <vector>

#include <fairway/health/observer.hpp>

namespace fairway::health {

class Notifier {
 public:
  void subscribe(std::shared_ptr<Observer> observer);
  void unsubscribe(const Observer* observer);

  // Queues one event. Call it under the component's lock, so that queue order is change order.
  void enqueue(HealthEvent event);

  // Delivers queued events. Call it with no lock of the component held.
  void deliver();

 private:
  std::mutex mutex_;  // guards queue_ and observers_
  std::vector<HealthEvent> queue_;
  std::vector<std::shared_ptr<Observer>> observers_;
  std::mutex deliveryMutex_;  // held by the one thread delivering
};

}  // namespace fairway::health
