package main

// SIGKILL at random points of the week: the killer kills the daemon and
// starts it again at once, with the simulated clock standing where it was
// killed, while the people go on answering their mail.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// killPlan says when the killer strikes.
type killPlan struct {
	points []time.Time // simulated times, ascending
	limit  int         // kills at most
	// afterStep is the chance that a kill follows the daemon's "step
	// runs" log line within afterStepMax of real time: the step's
	// transaction, its commit or the sending of its mail.
	afterStep    float64
	afterStepMax time.Duration
	// afterReply is the chance that a kill follows a reply within
	// afterReplyMax of real time (the reply is then on its way, being
	// read, or acted on).
	afterReply    float64
	afterReplyMax time.Duration
	// inData is the chance of a kill at once when Postfix's log shows it
	// receiving a message from fabu (cleanup logs its Message-ID while
	// the DATA is being taken in): the accept-then-crash window, where
	// the server may keep a mail fabu has not recorded as sent.
	inData float64
}

// weekKillPlan draws a plan of limit kills: half at uniform random
// simulated times between the first run and Thursday 12:00 (the approval
// and the release come later on Thursday), the others triggered by the
// daemon's work: just after a step starts (chance 0.7, within 40 ms),
// just after a reply was sent to it (chance 0.6, within 250 ms), or while
// Postfix takes in one of fabu's mails (chance 0.3, at once).
func weekKillPlan(rng *rand.Rand, limit int) killPlan {
	from := e2eWeekStart.Add(30 * time.Minute)
	to := time.Date(2026, 12, 3, 12, 0, 0, 0, e2eZone)
	pts := make([]time.Time, 0, (limit+1)/2)
	for i := 0; i < (limit+1)/2; i++ {
		pts = append(pts, from.Add(time.Duration(rng.Int64N(int64(to.Sub(from))))))
	}
	slices.SortFunc(pts, func(a, b time.Time) int { return a.Compare(b) })
	return killPlan{points: pts, limit: limit,
		afterStep: 0.7, afterStepMax: 40 * time.Millisecond,
		afterReply: 0.6, afterReplyMax: 250 * time.Millisecond, inData: 0.3}
}

// killer carries out a killPlan on a running scenario.
type killer struct {
	e    *e2eEnv
	plan killPlan
	rng  *rand.Rand // used by run's goroutine only
	soon chan time.Duration

	mu    sync.Mutex
	kills int
	trail []string // "sim time (why)"
	why   []string
}

func newKiller(e *e2eEnv, plan killPlan, rng *rand.Rand) *killer {
	k := &killer{e: e, plan: plan, rng: rng, soon: make(chan time.Duration, 16)}
	return k
}

// afterReply asks for a kill shortly after a reply, by chance (called
// from the people's goroutine: the draw is made here with its own source).
func (k *killer) afterReply(replyRecord) {
	k.mu.Lock()
	coin, d := k.rng.Float64(), time.Duration(k.rng.Int64N(int64(k.plan.afterReplyMax)))
	k.mu.Unlock()
	if coin < k.plan.afterReply {
		select {
		case k.soon <- d:
		default:
		}
	}
}

// reasons counts the kills by what set them off.
func (k *killer) reasons() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]int{}
	for _, w := range k.why {
		out[w]++
	}
	return out
}

func (k *killer) count() (int, []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kills, slices.Clone(k.trail)
}

// draw returns a random float and duration under the killer's lock.
func (k *killer) draw(maxD time.Duration) (float64, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rng.Float64(), time.Duration(k.rng.Int64N(int64(maxD)))
}

// logTail reads the lines a run's log gained since the last call.
type logTail struct {
	path string
	off  int64
	part []byte
}

func (l *logTail) lines(path string) []string {
	if path != l.path {
		*l = logTail{path: path}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(l.off, 0); err != nil {
		return nil
	}
	buf := make([]byte, 64<<10)
	n, _ := f.Read(buf)
	l.off += int64(n)
	data := append(l.part, buf[:n]...)
	i := strings.LastIndexByte(string(data), '\n')
	if i < 0 {
		l.part = data
		return nil
	}
	l.part = append([]byte(nil), data[i+1:]...)
	return strings.Split(string(data[:i]), "\n")
}

// run kills and restarts the daemon until the plan is used up, stop is
// closed or ctx ends. The daemon is left running.
func (k *killer) run(ctx context.Context, stop <-chan struct{}) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	points := slices.Clone(k.plan.points)
	var soonAt time.Time
	soonWhy := ""
	soon := func(d time.Duration, why string) {
		if at := time.Now().Add(d); soonAt.IsZero() || at.Before(soonAt) {
			soonAt, soonWhy = at, why
		}
	}
	var tail, mta logTail
	mtaLog := filepath.Join(k.e.lab.Dir(), "log", "postfix.log")
	mta.lines(mtaLog) // start at its end
	for {
		if n, _ := k.count(); n >= k.plan.limit {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return nil
		case d := <-k.soon:
			soon(d, "just after a reply")
			continue
		case <-tick.C:
		}
		if err := k.e.exitedEarly(); err != nil {
			return err
		}
		k.e.mu.Lock()
		logPath := k.e.lastLog
		k.e.mu.Unlock()
		for _, l := range tail.lines(logPath) {
			if strings.Contains(l, `msg="step runs"`) {
				if coin, d := k.draw(k.plan.afterStepMax); coin < k.plan.afterStep {
					soon(d, "just after a step started")
				}
			}
		}
		for _, l := range mta.lines(mtaLog) {
			if strings.Contains(l, "/cleanup[") && strings.Contains(l, "message-id=<fabu.") {
				if coin, _ := k.draw(time.Millisecond); coin < k.plan.inData {
					soon(0, "while Postfix took in a mail from fabu")
				}
			}
		}
		sim := k.e.simNow()
		why := ""
		switch {
		case len(points) > 0 && !sim.Before(points[0]):
			points = points[1:]
			why = "random point"
		case !soonAt.IsZero() && !time.Now().Before(soonAt):
			soonAt, why = time.Time{}, soonWhy
		default:
			continue
		}
		if err := k.e.kill(); err != nil {
			return err
		}
		k.mu.Lock()
		k.kills++
		k.trail = append(k.trail, fmt.Sprintf("%s (%s)", k.e.simNow().Format("Mon 15:04:05"), why))
		k.why = append(k.why, why)
		k.mu.Unlock()
		if err := k.e.start(); err != nil {
			return err
		}
	}
}

// e2eKills is the number of SIGKILLs of the kill trials: FABU_E2E_KILLS,
// default 50.
func e2eKills(t *testing.T) int {
	t.Helper()
	v := os.Getenv("FABU_E2E_KILLS")
	if v == "" {
		return 50
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("FABU_E2E_KILLS=%q: want a number of kills, e.g. 10", v)
	}
	return n
}

// e2eSeed is FABU_E2E_SEED, or a seed from the clock (logged, so a plan
// can be replayed).
func e2eSeed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("FABU_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("FABU_E2E_SEED=%q: want a number", v)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// killsPerWeek bounds the kills of one simulated week (about one every
// 1.5 s of real time).
const killsPerWeek = 20

// testE2EKills runs weeks with SIGKILLs until FABU_E2E_KILLS kills are
// done, each week on a fresh lab and store, and checks every week.
func testE2EKills(t *testing.T, bin string, table *reliabilityTable) {
	total := e2eKills(t)
	if total == 0 {
		t.Skip("FABU_E2E_KILLS=0")
	}
	seed := e2eSeed(t)
	t.Logf("kill plan seed %d (FABU_E2E_SEED=%d replays the plan)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var mail mailTally
	var dec decisionTally
	var hits killHits
	done, survived, weeks, weeksOK := 0, 0, 0, 0
	for done < total && weeks < 6 {
		weeks++
		limit := min(killsPerWeek, total-done)
		plan := weekKillPlan(rng, limit)
		var out weekOutcome
		var kills int
		t.Run(fmt.Sprintf("week-%d", weeks), func(t *testing.T) {
			out, kills = runKillWeek(t, bin, plan, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
		})
		done += kills
		mail.add(out.Mail)
		dec.add(out.Decisions)
		hits.Steps += out.Hits.Steps
		hits.Data += out.Hits.Data
		for why, n := range out.Hits.Why {
			if hits.Why == nil {
				hits.Why = map[string]int{}
			}
			hits.Why[why] += n
		}
		if out.ok() && kills > 0 {
			survived += kills
			weeksOK++
		}
	}
	t.Logf("%d kills in %d weeks; %d weeks passed every check; %d kills interrupted a running step, %d a mail in the DATA window; set off by: %v",
		done, weeks, weeksOK, hits.Steps, hits.Data, hits.Why)
	if done < total {
		t.Errorf("only %d of %d kills done in %d weeks", done, total, weeks)
	}
	dups := dupSummary(mail)
	if hits.Data > 0 {
		dups += fmt.Sprintf(", from the %d kills that fell between DATA and fabu recording the answer", hits.Data)
	}
	table.add(reliabilityRow{Fault: fmt.Sprintf("SIGKILL at a random point, restart at once (%d weeks)", weeks),
		Trials: done, Survived: survived, Lost: lostSummary(mail), Duplicates: dups, Decisions: decisionSummary(dec)})
}

// runKillWeek plays one week while the killer follows plan.
func runKillWeek(t *testing.T, bin string, plan killPlan, rng *rand.Rand) (weekOutcome, int) {
	lab := e2eLab(t)
	e := newE2EEnv(t, bin, lab, e2eSpeed, e2eConfig{IMAPTLS: "implicit"})
	e.dumpOnFailure()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.importLedger(ctx)
	byTester := e.releaseEntries(ctx)
	e.startReady(ctx)
	k := newKiller(e, plan, rng)
	stop := make(chan struct{})
	killed := make(chan error, 1)
	go func() { killed <- k.run(ctx, stop) }()
	weekErr := e.driveWeek(ctx, byTester, weekHooks{afterReply: k.afterReply})
	close(stop)
	kerr := <-killed
	n, trail := k.count()
	t.Logf("%d kills at simulated %v", n, trail)
	if kerr != nil {
		t.Fatalf("killer: %v", kerr)
	}
	if weekErr != nil {
		t.Fatal(weekErr)
	}
	// The daemon may have been restarted by the last kill: let it settle.
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	if err := e.waitReady(rctx); err != nil {
		t.Fatal(err)
	}
	hits := killHits{
		Steps: e.logCount("step was interrupted; running it again"),
		Data:  e.logCount("sending it again flagged as a possible duplicate"),
		Why:   k.reasons(),
	}
	t.Logf("kills that interrupted a running step: %d; a mail between DATA and fabu recording the answer: %d", hits.Steps, hits.Data)
	out := e.finishWeek(ctx)
	out.report(t)
	out.Hits = hits
	return out, n
}

// killHits counts kills that landed in the windows that matter, as the
// restarted daemon logged them.
type killHits struct {
	Steps int // a scheduled step was running (state "running" found at start)
	Data  int // a mail was "sending": handed over with DATA, answer not yet recorded
	// Why counts the kills by what set them off.
	Why map[string]int
}
