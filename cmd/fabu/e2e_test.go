package main

// End to end against real mail servers, with faults injected: the built
// `fabu run` binary against a private Postfix + Dovecot (internal/maillab)
// for a whole simulated week, driven by people who answer from their own
// mail clients. Gated: runs with FABU_E2E=1 or CI=true (maillab.Require).
//
//	FABU_E2E=1 go test -race -run TestE2E -v ./cmd/fabu/
//
// FABU_E2E_KILLS sets the number of SIGKILLs of the kill trials (default
// 50). The figures of the last run are in RELIABILITY.md; the test logs
// its rows as lines starting "RELIABILITY |".

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/maillab"
)

// e2eSpeed is how much faster than real time the simulated week runs: a
// week (Friday's cut to Thursday's release) takes about 30 s.
const e2eSpeed = 20000

func TestE2E(t *testing.T) {
	maillab.Require(t)
	bin := buildFabu(t, t.TempDir(), "fabutest")
	table := &reliabilityTable{}
	t.Cleanup(func() { table.log(t) })

	t.Run("week", func(t *testing.T) { testE2EWeek(t, bin, table) })
	t.Run("faults", func(t *testing.T) { testE2EFaults(t, bin, table) })
	t.Run("kills", func(t *testing.T) { testE2EKills(t, bin, table) })
}

// testE2EWeek runs one clean week: no fault, one daemon from Friday's cut
// to ops' confirmation.
func testE2EWeek(t *testing.T, bin string, table *reliabilityTable) {
	lab := e2eLab(t)
	e := newE2EEnv(t, bin, lab, e2eSpeed, e2eConfig{IMAPTLS: "implicit"})
	e.dumpOnFailure()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.importLedger(ctx)
	byTester := e.releaseEntries(ctx)
	e.startReady(ctx)
	if n := e.logCount("TEST CLOCK in use"); n != 1 {
		t.Errorf("the fabutest build logged the test clock warning %d times, want once", n)
	}
	began := time.Now()
	if err := e.driveWeek(ctx, byTester, weekHooks{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("the week took %s (simulated %s)", time.Since(began).Round(time.Millisecond), e.simNow().Sub(e2eWeekStart).Round(time.Minute))
	out := e.finishWeek(ctx)
	out.report(t)
	survived := 0
	if out.ok() {
		survived = 1
	}
	table.add(reliabilityRow{Fault: "none (a clean week)", Trials: 1, Survived: survived, Lost: lostSummary(out.Mail),
		Duplicates: dupSummary(out.Mail), Decisions: decisionSummary(out.Decisions)})
}

// TestRunIgnoresTestClockInNormalBuild: only a binary built with -tags
// fabutest reads FABU_TEST_CLOCK. A normal build of `fabu run` with the
// variable set runs on the real clock and says nothing of a test clock.
// It needs no mail server (SMTP points at a closed port: mail would wait;
// IMAP is off), so it is not gated, only skipped with -short.
func TestRunIgnoresTestClockInNormalBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fabu binary")
	}
	dir := t.TempDir()
	bin := buildFabu(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfgPath := filepath.Join(dir, "fabu.yaml")
	cfg := fmt.Sprintf("http:\n  listen: \"off\"\nsmtp:\n  host: 127.0.0.1\n  port: %d\n  tls: none\n  auth: none\nimap:\n  enabled: false\n", closed)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "run.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--config", cfgPath, "--db", filepath.Join(dir, "fabu.db"), "run")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FABU_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "FABU_TEST_CLOCK=2031-03-07T16:59:00+08:00@100000")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()
	var startsAt time.Time
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = e2ePoll(ctx, 20*time.Millisecond, func() (bool, error) {
		b, _ := os.ReadFile(logPath)
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, `msg="train starts"`) {
				continue
			}
			_, at, ok := strings.Cut(line, " at=")
			if !ok {
				return false, fmt.Errorf("no time in %q", line)
			}
			startsAt, err = time.Parse(time.RFC3339Nano, strings.Fields(at)[0])
			return true, err
		}
		return false, nil
	})
	if err != nil {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("fabu run did not start: %v\n%s", err, b)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("fabu run exited with %v after SIGTERM", err)
		}
	case <-ctx.Done():
		t.Fatal("fabu run did not stop after SIGTERM")
	}
	log, _ := os.ReadFile(logPath)
	if strings.Contains(string(log), "TEST CLOCK") {
		t.Errorf("a normal build logged a test clock:\n%s", log)
	}
	if d := time.Since(startsAt); d < -time.Hour || d > time.Hour {
		t.Errorf("a normal build started its train at %s, not now (%s): it used FABU_TEST_CLOCK\n%s", startsAt, time.Now(), log)
	}
}
