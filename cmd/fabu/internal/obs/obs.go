// Package obs is the daemon's window for the operator: Prometheus metrics
// (client_golang, a registry of its own, no globals) and the /healthz and
// /metrics HTTP listener.
//
// It is not logging (log/slog does that) and decides nothing: the parts of
// the daemon report into it through small methods.
package obs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the daemon's counters and gauges.
type Metrics struct {
	Registry *prometheus.Registry

	MailsSent    *prometheus.CounterVec // by step
	MailsFailed  *prometheus.CounterVec // by step
	MailsRetried *prometheus.CounterVec // by step
	Replies      *prometheus.CounterVec // by verdict
	IMAPUp       prometheus.Gauge
	LastIdle     prometheus.Gauge // unix time of the last IDLE event
	OutboxDepth  prometheus.Gauge
	NextStep     *prometheus.GaugeVec // unix time of the next scheduled step, by step
	StepsFired   *prometheus.CounterVec
}

// NewMetrics builds the metrics on a fresh registry.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry:     r,
		MailsSent:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fabu_mails_sent_total", Help: "Mails accepted by the SMTP server, by train step."}, []string{"step"}),
		MailsFailed:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fabu_mails_failed_total", Help: "Mails (or recipients) that failed permanently, by step."}, []string{"step"}),
		MailsRetried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fabu_mails_retried_total", Help: "Temporary send failures that were scheduled for retry, by step."}, []string{"step"}),
		Replies:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fabu_replies_total", Help: "Mails read from the IMAP mailbox, by verdict."}, []string{"verdict"}),
		IMAPUp:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "fabu_imap_connected", Help: "1 when the IMAP watcher is connected."}),
		LastIdle:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "fabu_imap_last_event_timestamp_seconds", Help: "Unix time of the last IDLE update or check from the IMAP server."}),
		OutboxDepth:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "fabu_outbox_depth", Help: "Mails waiting in the outbox."}),
		NextStep:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fabu_next_step_timestamp_seconds", Help: "Unix time of the next scheduled step."}, []string{"step", "release"}),
		StepsFired:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fabu_steps_total", Help: "Train steps run, by step and outcome."}, []string{"step", "outcome"}),
	}
	r.MustRegister(m.MailsSent, m.MailsFailed, m.MailsRetried, m.Replies, m.IMAPUp, m.LastIdle, m.OutboxDepth, m.NextStep, m.StepsFired,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Check reports the state of one part for /healthz.
type Check func(ctx context.Context) (state string, ok bool)

// Health collects named checks.
type Health struct {
	mu     sync.Mutex
	checks map[string]Check
}

// NewHealth returns an empty set of checks.
func NewHealth() *Health { return &Health{checks: map[string]Check{}} }

// Add registers a check under name (store, smtp, imap, scheduler …).
func (h *Health) Add(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = c
}

// Report runs every check.
func (h *Health) Report(ctx context.Context) (map[string]any, bool) {
	h.mu.Lock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	checks := make(map[string]Check, len(h.checks))
	for n, c := range h.checks {
		checks[n] = c
	}
	h.mu.Unlock()
	sort.Strings(names)
	out := map[string]any{}
	all := true
	for _, n := range names {
		state, ok := checks[n](ctx)
		out[n] = map[string]any{"ok": ok, "state": state}
		all = all && ok
	}
	out["ok"] = all
	return out, all
}

// Handler serves /healthz and /metrics.
func Handler(m *Metrics, h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		rep, ok := h.Report(ctx)
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(rep)
	})
	return mux
}

// Serve listens on addr and serves handler until ctx is done. It returns
// the bound address on ready (useful with port 0).
func Serve(ctx context.Context, addr string, handler http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http listener %s: %w", addr, err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		log.Error("http listener stopped", "err", err)
		return err
	}
}
