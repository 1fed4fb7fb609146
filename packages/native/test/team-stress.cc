// Stress test of the thread team (csrc/team.h), built with ThreadSanitizer by
// src/native-team.test.ts: runs of every task count up to seven on teams of two to four members,
// back to back (so that a member waking late meets a later run), checks that every task ran exactly
// once per run, and that an exception thrown by a task reaches the caller. ThreadSanitizer reports
// any data race between the caller and the members; the program prints "team ok" and exits 0 when
// nothing went wrong.
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "team.h"

int main() {
  int wrong = 0;
  for (int size : {2, 3, 4}) {
    dynlab::Team team(size);
    for (int r = 0; r < 5000; r++) {
      const int tasks = 1 + r % 7;
      std::vector<int> ran(tasks, 0);
      team.run(tasks, [&](int k) { ran[k]++; });
      for (int k = 0; k < tasks; k++) wrong += ran[k] != 1;
    }
    try {
      team.run(3, [](int k) {
        if (k == 2) throw std::runtime_error("task 2");
      });
      wrong++;
    } catch (const std::runtime_error&) {
    }
    std::vector<int> after(2, 0);
    team.run(2, [&](int k) { after[k]++; });
    wrong += after[0] != 1 || after[1] != 1;
  }
  if (wrong) {
    std::printf("team: %d wrong\n", wrong);
    return 1;
  }
  std::printf("team ok\n");
  return 0;
}
