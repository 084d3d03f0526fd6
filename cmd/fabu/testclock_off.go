//go:build !fabutest

package main

import "github.com/fabu-team/fabu/schedule"

// testClockFromEnv is the test-only fast clock switch. In a normal build it
// does not exist: only a binary built with -tags fabutest reads
// FABU_TEST_CLOCK, so production can never run on a fake clock by accident.
func testClockFromEnv() (schedule.Clock, error) { return nil, nil }
