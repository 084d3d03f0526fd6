package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/config"
	"github.com/fabu-team/fabu/cmd/fabu/internal/demo"
	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/schedule"
)

// Sizes of the big store for the start-up benchmark: ten years of a busy
// train.
const (
	benchEntries  = 50000
	benchReleases = 500
	mailsPerWeek  = 12 // outbox mails (sent) and inbox records per release
)

// bigStore fills a store at path with benchEntries entries and
// benchReleases released releases (each with its step states, sent mails
// and read replies), the last one a week before now.
func bigStore(tb testing.TB, path, train string, now time.Time) {
	tb.Helper()
	s, err := ledger.Open(path, ledger.Options{Train: train, Now: func() time.Time { return now }})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	systems := []string{"小贷", "核心", "信贷", "网银", "支付", "理财", "票据", "国际", "清算", "渠道"}
	es := make([]*ledger.Entry, benchEntries)
	for i := range es {
		es[i] = &ledger.Entry{ID: strconv.Itoa(1000 + i), System: systems[i%len(systems)], Subsystem: "账务", Module: "接口",
			Function: fmt.Sprintf("功能 %d", i), Category: "新功能", Description: "每日生成对账文件并推送至核心系统，需兼容节假日。",
			HasSQL: ledger.No, Proposer: "琳琳", Priority: ledger.Medium, Status: ledger.StatusReleased,
			TechLead: "王工", TestLead: "琳琳", RequirementDoc: fmt.Sprintf("docs/req-%d.docx", i)}
	}
	if err := s.Update(func(tx *ledger.Tx) error { return tx.PutEntries(es) }); err != nil {
		tb.Fatal(err)
	}
	perRelease := benchEntries / benchReleases
	lastDay := now.AddDate(0, 0, -7)
	for batch := 0; batch < benchReleases; batch += 50 {
		err := s.Update(func(tx *ledger.Tx) error {
			for r := batch; r < min(batch+50, benchReleases); r++ {
				day := lastDay.AddDate(0, 0, -7*(benchReleases-1-r))
				name := day.Format("2006-01-02")
				rel := &ledger.Release{Name: name, Train: train, State: ledger.ReleaseReleased, CutAt: day.AddDate(0, 0, -6),
					ReportedAt: day, ApprovedAt: day, ReleasedAt: day}
				for k := 0; k < perRelease; k++ {
					rel.Entries = append(rel.Entries, es[r*perRelease+k].ID)
				}
				rel.Digest = ledger.ListDigest(rel.Entries)
				rel.Decisions = []ledger.Decision{{Who: "李经理", Email: "limanager@example.com", Role: "manager", At: day, MessageID: "r" + name + "@example.com", Words: "同意", Verdict: ledger.VerdictApprove}}
				if err := tx.PutRelease(rel); err != nil {
					return err
				}
				for _, st := range []string{"cut", "sit-1", "sit-2", "uat", "preprod", "report", "escalate"} {
					if err := tx.PutStepState(name, st, ledger.StepState{Status: ledger.StepDone, ScheduledAt: day, FiredAt: day, FinishedAt: day, Attempts: 1}); err != nil {
						return err
					}
				}
				for m := 0; m < mailsPerWeek; m++ {
					id := fmt.Sprintf("bench%s-%02d", name, m)
					om := &ledger.OutboxMail{ID: id, MessageID: "fabu." + id + "@example.com", Release: name, Step: "reminder", Kind: "reminder",
						Subject: "【fabu】" + name + " 期 提醒", From: "fabu@example.com", Recipients: []ledger.OutboxRecipient{{Addr: "linlin@example.com", State: ledger.RcptPending}}}
					if _, err := tx.Enqueue(om, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
						return err
					}
					// Sent, as the outbox worker records it.
					om.Recipients[0].State, om.Recipients[0].At = ledger.RcptSent, day
					om.Attempts = 1
					om.Settle(day)
					if err := tx.PutOutboxMail(om); err != nil {
						return err
					}
					if err := tx.PutReceived(&ledger.Received{MessageID: "<reply." + id + "@example.com>", Mailbox: "INBOX", UID: uint32(r*mailsPerWeek + m + 1),
						From: "linlin@example.com", Subject: "回复", ReceivedAt: day, Verdict: "results", ProcessedAt: day}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// readyClock is the system clock that tells when fabu's scheduler first
// waits: its first pass over the timetable is done.
type readyClock struct {
	schedule.SystemClock
	once  sync.Once
	ready chan struct{}
}

func (c *readyClock) After(d time.Duration) <-chan time.Time {
	if pc, _, _, ok := runtime.Caller(1); ok {
		if fn := runtime.FuncForPC(pc); fn != nil && strings.Contains(fn.Name(), "schedule.(*Runner).Run") {
			c.once.Do(func() { close(c.ready) })
		}
	}
	return c.SystemClock.After(d)
}

// benchConfig is the demo's configuration on a loopback post office, with
// the HTTP listener on a free port.
func benchConfig(tb testing.TB, storePath string, post *demo.PostOffice, sec demo.Secrets) *config.Config {
	tb.Helper()
	cfg, err := demo.Config(storePath, post.SMTPAddr(), post.IMAPAddr(), sec)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	return cfg
}

func benchPostOffice(tb testing.TB) (*demo.PostOffice, demo.Secrets) {
	tb.Helper()
	post, err := demo.NewPostOffice(nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(post.Close)
	sec, err := demo.NewSecrets()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := post.AddAccount("fabu", "fabu@example.com", sec.FabuPassword); err != nil {
		tb.Fatal(err)
	}
	for _, p := range demo.People {
		if _, err := post.AddAccount(p.Name, p.Email(), sec.Passwords[p.Login]); err != nil {
			tb.Fatal(err)
		}
	}
	return post, sec
}

// BenchmarkDaemonStart times fabu's start on a store of 50,000 entries and
// 500 releases: newDaemon (open the store, templates, train, intake,
// watcher), then Run until the scheduler's first pass is done and the
// HTTP listener is up. Reported: new-ms (newDaemon), run-ms (Run to
// ready); ns/op is both.
func BenchmarkDaemonStart(b *testing.B) {
	dir := b.TempDir()
	storePath := filepath.Join(dir, "fabu.db")
	post, sec := benchPostOffice(b)
	cfg := benchConfig(b, storePath, post, sec)
	bigStore(b, storePath, cfg.Train.Name, time.Now())
	if fi, err := os.Stat(storePath); err == nil {
		b.Logf("store: %d entries, %d releases, %.1f MB", benchEntries, benchReleases, float64(fi.Size())/1e6)
	}
	var newTotal, runTotal time.Duration
	b.ResetTimer()
	for b.Loop() {
		clock := &readyClock{ready: make(chan struct{})}
		listening := make(chan struct{})
		began := time.Now()
		d, err := newDaemon(cfg, storePath, daemonOptions{Clock: clock, Logger: slog.New(slog.DiscardHandler),
			HTTPReady: func(net.Addr) { close(listening) }})
		if err != nil {
			b.Fatal(err)
		}
		built := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		for _, ch := range []chan struct{}{clock.ready, listening} {
			select {
			case <-ch:
			case err := <-done:
				b.Fatalf("fabu stopped: %v", err)
			case <-time.After(time.Minute):
				b.Fatal("fabu was not ready within a minute")
			}
		}
		ready := time.Now()
		newTotal += built.Sub(began)
		runTotal += ready.Sub(built)
		b.StopTimer()
		cancel()
		<-done
		d.Close()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(newTotal.Microseconds())/1000/n, "new-ms")
	b.ReportMetric(float64(runTotal.Microseconds())/1000/n, "run-ms")
}

// BenchmarkDaemonIdle runs the fabu binary (`fabu run`) against the demo's
// loopback SMTP and IMAP servers, lets it settle, and measures it idle for
// FABU_IDLE_SECONDS (default 20): peak RSS (VmHWM) and CPU use. Linux only.
func BenchmarkDaemonIdle(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	secs := 20
	if v, err := strconv.Atoi(os.Getenv("FABU_IDLE_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "fabu")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	post, sec := benchPostOffice(b)
	smtpHost, smtpPort, _ := net.SplitHostPort(post.SMTPAddr())
	imapHost, imapPort, _ := net.SplitHostPort(post.IMAPAddr())
	var people strings.Builder
	for _, p := range demo.People {
		fmt.Fprintf(&people, "  - {name: %s, email: %s, roles: [%s]}\n", p.Name, p.Email(), strings.Join(p.Roles, ", "))
	}
	cfgPath := filepath.Join(dir, "fabu.yaml")
	yaml := fmt.Sprintf(`store: {path: %s}
http: {listen: "off"}
people:
%ssmtp: {host: %s, port: %s, tls: none, auth: plain, username: fabu@example.com, from: fabu@example.com}
imap: {host: %s, port: %s, tls: none, auth: login, username: fabu@example.com}
`, filepath.Join(dir, "fabu.db"), people.String(), smtpHost, smtpPort, imapHost, imapPort)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cmd := exec.Command(bin, "--config", cfgPath, "run")
		cmd.Env = append(os.Environ(), "FABU_SMTP_PASSWORD="+sec.FabuPassword, "FABU_IMAP_PASSWORD="+sec.FabuPassword, "FABU_TOKEN_SECRET="+sec.TokenSecret)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		idling := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stderr)
			once := sync.Once{}
			for sc.Scan() {
				if l := sc.Text(); strings.Contains(l, "IMAP connected") && strings.Contains(l, "mode=idle") {
					once.Do(func() { close(idling) })
				}
			}
		}()
		select {
		case <-idling:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			b.Fatal("fabu run did not start and connect to IMAP (IDLE) within a minute")
		}
		time.Sleep(time.Second) // let the start-up settle (a measurement, not a test)
		t0, cpu0 := time.Now(), procCPU(b, cmd.Process.Pid)
		time.Sleep(time.Duration(secs) * time.Second)
		t1, cpu1 := time.Now(), procCPU(b, cmd.Process.Pid)
		hwm, rss := procMem(b, cmd.Process.Pid)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		b.ReportMetric(100*(cpu1-cpu0).Seconds()/t1.Sub(t0).Seconds(), "cpu-%")
		b.ReportMetric(float64(hwm)/1024, "VmHWM-MB")
		b.ReportMetric(float64(rss)/1024, "VmRSS-MB")
	}
}

// procCPU is the user+system CPU time of pid so far.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64) // field 14 of stat
	stime, _ := strconv.ParseInt(fields[12], 10, 64) // field 15
	const clkTck = 100                               // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck
}

// procMem returns VmHWM and VmRSS of pid in kB.
func procMem(tb testing.TB, pid int) (hwm, rss int64) {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v
		case "VmRSS:":
			rss = v
		}
	}
	return hwm, rss
}
