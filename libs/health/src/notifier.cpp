#include "notifier.hpp"

#include <algorithm>
#include <utility>

namespace fairway::health {

void Notifier::subscribe(std::shared_ptr<Observer> observer) {
  std::lock_guard lock(mutex_);
  observers_.push_back(std::move(observer));
}

void Notifier::unsubscribe(const Observer* observer) {
  std::lock_guard lock(mutex_);
  std::erase_if(observers_, [observer](const auto& o) { return o.get() == observer; });
}

void Notifier::enqueue(HealthEvent event) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(event));
}

// One thread delivers at a time, so observers see one order and are never called concurrently.
// A thread that finds another delivering leaves its events to it instead of waiting: waiting
// would deadlock an observer that calls back into the component, and the delivering thread looks
// at the queue again after letting go, so no event is stranded.
void Notifier::deliver() {
  for (;;) {
    std::unique_lock delivery(deliveryMutex_, std::try_to_lock);
    if (!delivery.owns_lock()) {
      return;
    }
    for (;;) {
      std::vector<HealthEvent> batch;
      std::vector<std::shared_ptr<Observer>> observers;
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) {
          break;
        }
        batch.swap(queue_);
        observers = observers_;  // keeps each alive through its calls
      }
      for (const HealthEvent& event : batch) {
        for (const auto& observer : observers) {
          observer->onHealthChange(event);
        }
      }
    }
    delivery.unlock();
    std::lock_guard lock(mutex_);
    if (queue_.empty()) {
      return;
    }
  }
}

}  // namespace fairway::health
