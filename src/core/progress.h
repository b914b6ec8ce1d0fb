// How long work reports itself: durations and rates as short human-readable text, for progress
// lines ("step 120/2000 loss 3.41 2.9k tok/s ETA 11m05s").
#pragma once

#include <string>

namespace sculpt {

std::string format_duration(double seconds);  // "42s", "11m05s", "2h07m"
std::string format_rate(double per_second);   // "950", "2.9k", "1.2M"

}  // namespace sculpt
