package main

// The end-to-end harness: the built `fabu` binary (-tags fabutest, so it
// reads FABU_TEST_CLOCK) run against a real Postfix + Dovecot
// (internal/maillab), with a simulated clock that is carried over kills
// and restarts. See e2e_test.go for the scenarios.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fabu-team/fabu/cmd/fabu/internal/maillab"
)

// e2eZone is the train's zone (Asia/Shanghai has no DST: a fixed zone
// keeps the test independent of the machine's tzdata).
var e2eZone = time.FixedZone("CST", 8*3600)

// The simulated week: the cut of release 2026-12-03 is due Friday
// 2026-11-27 17:00; the first run starts nine simulated hours before
// (1.6 s of real time at e2eSpeed: fabu records its first start once it
// has opened the store and logged in to SMTP, and skips a week whose cut
// was due before that, so a slow start on a loaded machine must not reach
// 17:00). No public holiday falls
// in it (the working-day calendar would move steps). The date is fixed so
// the scenario is the same on every run; the servers' real dates only
// matter for the watcher's rescan window, which looks back from the
// simulated time (real dates later than it are always inside).
var (
	e2eWeekStart = time.Date(2026, 11, 27, 8, 0, 0, 0, e2eZone)
	e2eRelease   = "2026-12-03"
)

const (
	e2eDomain   = maillab.DefaultDomain
	e2eFabu     = "fabu@" + e2eDomain
	e2eFabuPass = "fabu-lab-pw"
	e2eSecret   = "e2e-token-secret-0123456789abcdef"
)

// e2ePerson is a configured person with a lab mailbox.
type e2ePerson struct {
	Name  string
	Local string
	Roles []string
}

func (p e2ePerson) Email() string { return p.Local + "@" + e2eDomain }

// The people of the sample ledger (testdata/sample-ledger.xlsx names 琳琳,
// 小周 and 王工) and the roles the train needs.
var (
	pLinlin   = e2ePerson{"琳琳", "linlin", []string{"tester", "test_lead"}}
	pXiaozhou = e2ePerson{"小周", "xiaozhou", []string{"tester"}}
	pWanggong = e2ePerson{"王工", "wanggong", []string{"tech_lead"}}
	pManager  = e2ePerson{"李经理", "limanager", []string{"manager"}}
	pOps      = e2ePerson{"运维组", "ops", []string{"ops"}}
	pAdmin    = e2ePerson{"管理员", "admin", []string{"admin"}}
	e2ePeople = []e2ePerson{pLinlin, pXiaozhou, pWanggong, pManager, pOps, pAdmin}
)

// buildFabu builds ./cmd/fabu into dir with the given build tags and
// returns the binary's path.
func buildFabu(t *testing.T, dir string, tags ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "fabu")
	args := []string{"build"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "-o", bin, ".")
	cmd := exec.Command(goBin, args...)
	cmd.Env = os.Environ()
	began := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built %s (tags %v) in %s", bin, tags, time.Since(began).Round(time.Millisecond))
	return bin
}

// e2eLab starts a lab with a mailbox for fabu and each person.
func e2eLab(t *testing.T) *maillab.Lab {
	t.Helper()
	users := []maillab.User{{Email: e2eFabu, Password: e2eFabuPass}}
	for _, p := range e2ePeople {
		users = append(users, maillab.User{Email: p.Email(), Password: "pw-" + p.Local})
	}
	return maillab.StartT(t, maillab.Options{Users: users})
}

// e2eEnv is one scenario: a lab, a config and store for fabu, the
// simulated clock, and the fabu process (at most one at a time, plus the
// short-lived CLI commands).
type e2eEnv struct {
	t       *testing.T
	bin     string
	lab     *maillab.Lab
	dir     string
	cfgPath string
	dbPath  string
	speed   float64

	mu      sync.Mutex
	sim     time.Time // simulated time where the next run starts (frozen while down)
	proc    *fabuProc // nil when no daemon runs
	runs    int
	lastLog string // log of the latest run

	replies *replyBook
	putBack []string // replies put back into a recreated mailbox (Message-IDs with brackets)
	pollers map[string]*mailboxPoller
}

// e2eConfig chooses how fabu talks to the lab.
type e2eConfig struct {
	IMAPTLS string // implicit | starttls
}

func newE2EEnv(t *testing.T, bin string, lab *maillab.Lab, speed float64, cc e2eConfig) *e2eEnv {
	t.Helper()
	dir := t.TempDir()
	e := &e2eEnv{t: t, bin: bin, lab: lab, dir: dir, speed: speed, sim: e2eWeekStart,
		cfgPath: filepath.Join(dir, "fabu.yaml"), dbPath: filepath.Join(dir, "fabu.db"), replies: newReplyBook()}
	ca := filepath.Join(dir, "lab-ca.pem")
	if err := os.WriteFile(ca, lab.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if cc.IMAPTLS == "" {
		cc.IMAPTLS = "implicit"
	}
	imapAddr := lab.IMAPSAddr()
	if cc.IMAPTLS == "starttls" {
		imapAddr = lab.IMAPAddr()
	}
	_, subPort, _ := net.SplitHostPort(lab.SubmissionAddr())
	_, imapPort, _ := net.SplitHostPort(imapAddr)
	var people strings.Builder
	for _, p := range e2ePeople {
		fmt.Fprintf(&people, "  - {name: %s, email: %s, roles: [%s]}\n", p.Name, p.Email(), strings.Join(p.Roles, ", "))
	}
	cfg := fmt.Sprintf(`# written by the end-to-end test
store:
  lock_timeout: 1500ms
log:
  format: text
  level: info
http:
  listen: "off"
train:
  name: e2e
  title: 小贷运维
  timezone: Asia/Shanghai
  # A missed cut or report is done late within the grace period. On the
  # fast clock a daemon starved of CPU for 2 s loses 11 simulated hours:
  # a longer grace keeps the week's cut from being skipped on a loaded
  # machine (what a skip does is the schedule package's tests' business).
  grace: 48h
people:
%ssmtp:
  host: 127.0.0.1
  port: %s
  tls: starttls
  auth: plain
  username: %s
  from: %s
  from_name: fabu 发布
  timeout: 10s
  ca_file: %s
imap:
  host: 127.0.0.1
  port: %s
  tls: %s
  auth: login
  username: %s
  ca_file: %s
`, people.String(), subPort, e2eFabu, e2eFabu, ca, imapPort, cc.IMAPTLS, e2eFabu, ca)
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A test that ends early must not leave a daemon behind (cleanups run
	// last-in first-out: this one before the lab stops).
	t.Cleanup(func() {
		if e.running() {
			_ = e.kill()
		}
	})
	return e
}

// env is the environment of every fabu process: the secrets, and the
// test clock when clock is not "".
func (e *e2eEnv) env(clock string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FABU_") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "FABU_SMTP_PASSWORD="+e2eFabuPass, "FABU_IMAP_PASSWORD="+e2eFabuPass, "FABU_TOKEN_SECRET="+e2eSecret)
	if clock != "" {
		out = append(out, "FABU_TEST_CLOCK="+clock)
	}
	return out
}

// cli runs a fabu command to completion (not the daemon) and returns its
// stdout, stderr and exit code.
func (e *e2eEnv) cli(ctx context.Context, args ...string) (string, string, int) {
	e.t.Helper()
	full := append([]string{"--config", e.cfgPath, "--db", e.dbPath}, args...)
	cmd := exec.CommandContext(ctx, e.bin, full...)
	cmd.Env = e.env("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("fabu %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), code
}

// mustCLI is cli that fails the test on a non-zero exit.
func (e *e2eEnv) mustCLI(ctx context.Context, args ...string) string {
	e.t.Helper()
	out, errOut, code := e.cli(ctx, args...)
	if code != 0 {
		e.t.Fatalf("fabu %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// importLedger imports the repository's sample ledger with the binary.
func (e *e2eEnv) importLedger(ctx context.Context) {
	e.t.Helper()
	out := e.mustCLI(ctx, "ledger", "import", filepath.Join("..", "..", "testdata", "sample-ledger.xlsx"))
	e.t.Logf("ledger import: %s", strings.TrimSpace(out))
}

// fabuProc is one `fabu run` process.
type fabuProc struct {
	cmd       *exec.Cmd
	realStart time.Time
	simStart  time.Time
	speed     float64
	logPath   string
	logFile   *os.File
	exited    chan struct{}
	waitErr   error
}

func (p *fabuProc) simAt(real time.Time) time.Time {
	return p.simStart.Add(time.Duration(float64(real.Sub(p.realStart)) * p.speed))
}

// start starts `fabu run` with the clock standing at the current
// simulated time. It does not wait for the daemon to be ready.
func (e *e2eEnv) start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc != nil {
		return errors.New("fabu is already running")
	}
	e.runs++
	logPath := filepath.Join(e.dir, fmt.Sprintf("run-%03d.log", e.runs))
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	clock := e.sim.Format(time.RFC3339Nano) + "@" + fmt.Sprint(e.speed)
	cmd := exec.Command(e.bin, "--config", e.cfgPath, "--db", e.dbPath, "run")
	cmd.Env = e.env(clock)
	cmd.Stdout, cmd.Stderr = f, f
	// Take the daemon down with the test process if the test dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &fabuProc{cmd: cmd, simStart: e.sim, speed: e.speed, logPath: logPath, logFile: f, exited: make(chan struct{})}
	p.realStart = time.Now()
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start fabu run: %w", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	e.proc, e.lastLog = p, logPath
	return nil
}

// simNow is the simulated time: the running daemon's clock, or where it
// stopped.
func (e *e2eEnv) simNow() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == nil {
		return e.sim
	}
	return e.proc.simAt(time.Now())
}

// running reports whether a daemon is up.
func (e *e2eEnv) running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.proc != nil
}

// kill sends SIGKILL to the daemon and waits for it to be gone; the
// simulated time stands where it was killed.
func (e *e2eEnv) kill() error {
	e.mu.Lock()
	p := e.proc
	if p == nil {
		e.mu.Unlock()
		return errors.New("kill: fabu is not running")
	}
	at := time.Now()
	err := p.cmd.Process.Signal(syscall.SIGKILL)
	e.sim = p.simAt(at)
	e.proc = nil
	e.mu.Unlock()
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill fabu: %w", err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("fabu did not die within 10s of SIGKILL")
	}
}

// stop sends SIGTERM and waits for a clean exit (status 0).
func (e *e2eEnv) stop() error {
	e.mu.Lock()
	p := e.proc
	if p == nil {
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop fabu: %w", err)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("fabu did not stop within 20s of SIGTERM\n%s", e2eTailFile(p.logPath, 30))
	}
	e.mu.Lock()
	e.sim = p.simAt(time.Now())
	e.proc = nil
	e.mu.Unlock()
	if p.waitErr != nil {
		return fmt.Errorf("fabu run exited with %v\n%s", p.waitErr, e2eTailFile(p.logPath, 30))
	}
	return nil
}

// exitedEarly reports a daemon that died on its own (not killed by us).
func (e *e2eEnv) exitedEarly() error {
	e.mu.Lock()
	p := e.proc
	e.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.exited:
		return fmt.Errorf("fabu run exited on its own: %v\n%s", p.waitErr, e2eTailFile(p.logPath, 40))
	default:
		return nil
	}
}

// waitReady waits until the running daemon logged "fabu running".
func (e *e2eEnv) waitReady(ctx context.Context) error {
	e.mu.Lock()
	p := e.proc
	e.mu.Unlock()
	if p == nil {
		return errors.New("waitReady: fabu is not running")
	}
	return e2ePoll(ctx, 10*time.Millisecond, func() (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("fabu run exited before it was ready: %v\n%s", p.waitErr, e2eTailFile(p.logPath, 40))
		default:
		}
		b, _ := os.ReadFile(p.logPath)
		return bytes.Contains(b, []byte("fabu running")), nil
	})
}

// startReady starts the daemon and waits until it runs.
func (e *e2eEnv) startReady(ctx context.Context) {
	e.t.Helper()
	if err := e.start(); err != nil {
		e.t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.waitReady(rctx); err != nil {
		e.t.Fatal(err)
	}
}

// logs returns every run's log, for failure messages and log checks.
func (e *e2eEnv) logs() string {
	var b strings.Builder
	e.mu.Lock()
	n := e.runs
	e.mu.Unlock()
	for i := 1; i <= n; i++ {
		data, _ := os.ReadFile(filepath.Join(e.dir, fmt.Sprintf("run-%03d.log", i)))
		fmt.Fprintf(&b, "==> run %d <==\n%s", i, data)
	}
	return b.String()
}

// logCount counts the lines of every run's log that contain s.
func (e *e2eEnv) logCount(s string) int { return len(e.logLines(s)) }

// logLines returns the lines of every run's log that contain s, in order.
func (e *e2eEnv) logLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(e.logs()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// dumpOnFailure prints the daemon logs when the test failed.
func (e *e2eEnv) dumpOnFailure() {
	e.t.Cleanup(func() {
		if e.t.Failed() {
			logs := e.logs()
			if len(logs) > 60000 {
				logs = "…\n" + logs[len(logs)-60000:]
			}
			e.t.Logf("fabu logs (%s):\n%s", e.dir, logs)
		}
	})
}

// e2ePoll calls cond every interval until it returns true, an error, or
// ctx ends.
func e2ePoll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// waitSim waits until the simulated time reaches at (while the daemon
// runs; a stopped clock never gets there and the wait ends with ctx).
func (e *e2eEnv) waitSim(ctx context.Context, at time.Time) error {
	return e2ePoll(ctx, 2*time.Millisecond, func() (bool, error) {
		return !e.simNow().Before(at), e.exitedEarly()
	})
}

// waitQuiet waits until the running daemon's log has not grown for quiet
// (of real time).
func (e *e2eEnv) waitQuiet(ctx context.Context, quiet time.Duration) error {
	e.mu.Lock()
	path := e.lastLog
	e.mu.Unlock()
	var size int64 = -1
	var since time.Time
	return e2ePoll(ctx, 20*time.Millisecond, func() (bool, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return false, err
		}
		if fi.Size() != size {
			size, since = fi.Size(), time.Now()
			return false, e.exitedEarly()
		}
		return time.Since(since) >= quiet, e.exitedEarly()
	})
}

func e2eTailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
