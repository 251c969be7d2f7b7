"""The fault-injection suite: each case breaks something on purpose and checks that nothing
finalized is lost and that the service resumes without anyone touching it."""
