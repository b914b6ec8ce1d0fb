// The server's concurrency limit (server/slot_gate.h): slots, the bounded queue, 503 beyond it,
// a waiting request whose client left, and closing.
#include "server/slot_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "server/api_error.h"

namespace sculpt::server {
namespace {

int status_of(SlotGate& gate, const std::function<bool()>& give_up = {}) {
  try {
    SlotGate::Lease lease = gate.enter(give_up);
    return 200;
  } catch (const ApiError& e) {
    return e.status;
  }
}

TEST(SlotGateTest, ParallelRunQueueWaitsAndTheRestAreTurnedAway) {
  SlotGate gate(/*parallel=*/1, /*queue=*/1);
  std::optional<SlotGate::Lease> running(gate.enter({}));
  EXPECT_EQ(gate.running(), 1);
  std::atomic<int> waited_status{0};
  std::thread waiter([&] { waited_status = status_of(gate); });
  while (gate.waiting() == 0) std::this_thread::yield();
  EXPECT_EQ(status_of(gate), 503);  // the queue's one place is taken
  running.reset();                  // the slot frees: the waiter runs
  waiter.join();
  EXPECT_EQ(waited_status, 200);
  EXPECT_EQ(gate.running(), 0);
  EXPECT_EQ(gate.waiting(), 0);
}

TEST(SlotGateTest, AWaiterWhoseClientLeftAndCloseStopWaiting) {
  SlotGate gate(1, 4);
  std::optional<SlotGate::Lease> running(gate.enter({}));
  EXPECT_EQ(status_of(gate, [] { return true; }), 499);
  std::atomic<int> status{0};
  std::thread waiter([&] { status = status_of(gate); });
  while (gate.waiting() == 0) std::this_thread::yield();
  gate.close();
  waiter.join();
  EXPECT_EQ(status, 503);
  running.reset();
  EXPECT_EQ(status_of(gate), 503);  // closed for good
}

}  // namespace
}  // namespace sculpt::server
