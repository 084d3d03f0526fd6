//go:build fabutest

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fabu-team/fabu/schedule"
)

// testClockFromEnv reads FABU_TEST_CLOCK=START@SPEED (START in RFC 3339,
// SPEED the factor time runs faster), for the end-to-end tests. This file
// is compiled only with -tags fabutest.
func testClockFromEnv() (schedule.Clock, error) {
	v := os.Getenv("FABU_TEST_CLOCK")
	if v == "" {
		return nil, nil
	}
	startS, speedS, ok := strings.Cut(v, "@")
	if !ok {
		return nil, fmt.Errorf("FABU_TEST_CLOCK=%q: write START@SPEED, e.g. 2026-11-27T16:59:00+08:00@20000", v)
	}
	start, err := time.Parse(time.RFC3339, startS)
	if err != nil {
		return nil, fmt.Errorf("FABU_TEST_CLOCK start: %w", err)
	}
	speed, err := strconv.ParseFloat(speedS, 64)
	if err != nil {
		return nil, fmt.Errorf("FABU_TEST_CLOCK speed: %w", err)
	}
	return schedule.NewScaledClock(start, speed)
}
