package train

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabu-team/fabu/ledger"
	"github.com/fabu-team/fabu/mailflow/outbox"
	"github.com/fabu-team/fabu/mailflow/smtptest"
)

// The crash test re-executes this test binary as a child process that runs
// a batch of the train (cut, four reminders, the report) and sends it; the
// parent kills the child with SIGKILL at a random point and starts it
// again, then checks that the sink got every mail exactly once — or twice
// with the same Message-ID, one copy flagged as a possible duplicate, when
// the kill fell between the server's acceptance and fabu's record.

const (
	envCrashDB   = "FABU_CRASH_CHILD_DB"
	envCrashSMTP = "FABU_CRASH_CHILD_SMTP"
)

func TestMain(m *testing.M) {
	if db := os.Getenv(envCrashDB); db != "" {
		if err := crashChild(db, os.Getenv(envCrashSMTP)); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild is the child's whole life: the batch, then sending it.
func crashChild(db, smtpAddr string) error {
	say := func(phase string) { fmt.Println("phase", phase) }
	say("start")
	clock := &testClock{t: friday}
	// The store runs on the test's clock too: the outbox stamps a mail's
	// first attempt with the store's time, which must not be in the future
	// of the worker's clock.
	store, err := ledger.Open(db, ledger.Options{LockTimeout: 10 * time.Second, Now: clock.Now})
	if err != nil {
		return err
	}
	defer store.Close()
	tr := newTrain(childTB{}, store, clock, "zh-CN")
	ctx := context.Background()
	say("cut")
	if _, err := tr.Cut(ctx, R, LateInfo{}); err != nil {
		return err
	}
	for _, r := range tr.Options.Reminders {
		say("remind-" + r.Name)
		if err := tr.Remind(ctx, R, r.Name, r.Env, r.Note, LateInfo{}); err != nil {
			return err
		}
	}
	say("report")
	if err := tr.Report(ctx, R, LateInfo{}); err != nil {
		return err
	}
	host, port, _ := strings.Cut(smtpAddr, ":")
	var p int
	fmt.Sscan(port, &p)
	snd, err := outbox.NewSMTPSender(outbox.SMTPOptions{Host: host, Port: p, TLS: "none", Auth: "none", Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	w := &outbox.Worker{Store: store, Sender: snd, Clock: clock.Now}
	say("send")
	if _, err := w.SendDue(ctx); err != nil {
		return err
	}
	say("done")
	return nil
}

// childTB lets newTrain run outside a test.
type childTB struct{ testing.TB }

func (childTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

func TestCrashAtRandomPointsLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	iterations := 20
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	var dupWindows, killed int
	base := fastDir(t)
	for it := 0; it < iterations; it++ {
		dir, err := os.MkdirTemp(base, "crash")
		if err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(dir, "crash.db")
		seedStore(t, db)
		sink, err := smtptest.New(smtptest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		mode := rng.IntN(3)
		var proc atomic.Pointer[os.Process]
		var once sync.Once
		kill := func() {
			once.Do(func() {
				if p := proc.Load(); p != nil {
					p.Kill() // SIGKILL
				}
			})
		}
		var point string
		phases := []string{"start", "cut", "remind-sit-1", "remind-uat", "report", "send"}
		var phase string
		switch mode {
		case 0: // a random SMTP command: the child is killed before the answer
			k := 1 + rng.IntN(40)
			point = fmt.Sprintf("smtp event %d", k)
			sink.OnEvent(func(ev smtptest.Event) {
				if ev.Seq == k {
					kill()
				}
			})
		case 1: // right after the server accepted message n: the 250 races the kill
			n := 1 + rng.IntN(6)
			point = fmt.Sprintf("after accepting message %d", n)
			seen := 0
			sink.OnEvent(func(ev smtptest.Event) {
				if ev.Kind == smtptest.EvAccepted {
					seen++
					if seen == n {
						go kill()
					}
				}
			})
		default: // a phase of the batch before sending
			phase = phases[rng.IntN(len(phases))]
			point = "phase " + phase
		}
		out := runChild(t, exe, db, sink.Addr(), &proc, phase, kill)
		if !strings.Contains(out, "phase done") {
			killed++ // (a kill point past the last event is never reached)
		}
		sink.OnEvent(nil)
		if out2 := runChild(t, exe, db, sink.Addr(), nil, "", nil); !strings.Contains(out2, "phase done") {
			t.Fatalf("iteration %d (%s): restarted child did not finish:\n%s", it, point, out2)
		}
		sink.Stop()
		dupWindows += checkExactlyOnce(t, db, sink, fmt.Sprintf("iteration %d (%s)", it, point))
	}
	t.Logf("%d iterations, %d children killed, %d mails re-sent after a kill in the accept window", iterations, killed, dupWindows)
}

// fastDir is a folder in memory (/dev/shm) when there is one: a SIGKILL
// does not lose what a process wrote to the page cache, so the crash test
// does not need the disk's fsync, which makes it slow.
func fastDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "fabu-crash-test"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

func seedStore(t *testing.T, db string) {
	t.Helper()
	s, err := ledger.Open(db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must(t, s.Update(func(tx *ledger.Tx) error {
		for _, e := range sampleEntries() {
			if err := tx.PutEntry(e); err != nil {
				return err
			}
		}
		return nil
	}))
}

// runChild runs the child until it exits (or is killed) and returns its
// output. When phase is set, the child is killed as it reports it.
func runChild(t *testing.T, exe, db, smtpAddr string, proc *atomic.Pointer[os.Process], phase string, kill func()) string {
	t.Helper()
	cmd := exec.Command(exe)
	// GORACE: a race-enabled child would otherwise sleep 1 s at exit.
	cmd.Env = append(os.Environ(), envCrashDB+"="+db, envCrashSMTP+"="+smtpAddr, "GORACE=atexit_sleep_ms=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if proc != nil {
		proc.Store(cmd.Process)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if phase != "" && line == "phase "+phase {
			kill()
		}
	}
	err = cmd.Wait()
	if proc == nil && err != nil {
		t.Fatalf("child failed: %v\n%s%s", err, out.String(), stderr.String())
	}
	if err != nil && !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child failed (not killed): %v\n%s%s", err, out.String(), stderr.String())
	}
	return out.String()
}

// checkExactlyOnce checks the sink against the outbox: every mail arrived,
// once, or twice with one copy flagged as a possible duplicate. It returns
// the number of mails that arrived twice.
func checkExactlyOnce(t *testing.T, db string, sink *smtptest.Sink, where string) int {
	t.Helper()
	s, err := ledger.Open(db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mails []*ledger.OutboxMail
	must(t, s.View(func(tx *ledger.Tx) error {
		mails, err = tx.OutboxMails()
		return err
	}))
	if len(mails) != 6 {
		t.Fatalf("%s: %d mails queued, want 6 (test list, 4 reminders, report)", where, len(mails))
	}
	copies := map[string][]smtptest.Message{}
	for _, m := range sink.Messages() {
		copies[m.MessageID] = append(copies[m.MessageID], m)
	}
	if len(copies) != len(mails) {
		t.Errorf("%s: the sink got %d distinct mails, the outbox has %d", where, len(copies), len(mails))
	}
	dups := 0
	for _, m := range mails {
		if m.State != ledger.OutboxDone || len(m.Failed()) != 0 {
			t.Errorf("%s: mail %s (%s) is %s", where, m.ID, m.Step, m.State)
		}
		got := copies[m.MessageID]
		switch len(got) {
		case 1:
		case 2:
			dups++
			flagged := 0
			for _, c := range got {
				if c.Header.Get("X-Fabu-Possible-Duplicate") == "yes" {
					flagged++
				}
			}
			if flagged != 1 {
				t.Errorf("%s: mail %s arrived twice, %d copies flagged as possible duplicate", where, m.Step, flagged)
			}
		default:
			t.Errorf("%s: mail %s (%s) arrived %d times", where, m.ID, m.Step, len(got))
		}
		var rcpts []string
		for _, c := range got {
			rcpts = append(rcpts, c.To...)
		}
		for _, r := range m.Recipients {
			found := false
			for _, x := range rcpts {
				found = found || strings.EqualFold(x, r.Addr)
			}
			if !found {
				t.Errorf("%s: mail %s never reached %s", where, m.Step, r.Addr)
			}
		}
	}
	return dups
}
