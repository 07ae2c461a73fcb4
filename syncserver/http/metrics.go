package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// readyTimeout bounds /readyz. The store's single writer may be busy with
// a batch; one that keeps it longer than this is reported not ready.
const readyTimeout = 3 * time.Second

// scrapeTimeout bounds the store queries of one /metrics scrape.
const scrapeTimeout = 10 * time.Second

// WithOpenMetrics serves /metrics without a token, for a Prometheus
// scraper on a private network. By default /metrics wants an admin or
// supervisor token, like /api/v1/stats, whose figures it carries.
func WithOpenMetrics(open bool) Option {
	return func(s *Server) { s.metricsOpen = open }
}

// metrics is the server's Prometheus registry: its own, not the global
// default, so two servers in one process (tests) never share counters.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	limited  *prometheus.CounterVec
	handler  http.Handler
}

func newMetrics(st *store.Store, logger *slog.Logger) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		// Labelled by echo's route pattern (/api/v1/persons/:id), never the
		// URL, and by a known method, so a client cannot add series.
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncserver_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "syncserver_http_request_duration_seconds",
			Help: "Time from request to answer, body upload included, by method, route pattern and status code.",
			// Up to a minute: a 2 MiB batch over a field connection is slow, and
			// the hospital feed holds a request open that long.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method", "route", "code"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncserver_http_rate_limited_total",
			Help: "Requests refused with 429, by what was over its limit: a token, or a client address.",
		}, []string{"by"}),
	}
	reg.MustRegister(m.requests, m.duration, m.limited,
		newStoreCollector(st),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError),
		// A store that fails a scrape still leaves the HTTP figures, which
		// are what tells why.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	})
	return m
}

// countRequests records each request's route, status and duration. It is
// the outermost middleware, so the status is the one the client got.
func (s *Server) countRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		code := strconv.Itoa(c.Response().Status)
		method := knownMethod(c.Request().Method)
		s.metrics.requests.WithLabelValues(method, route, code).Inc()
		s.metrics.duration.WithLabelValues(method, route, code).Observe(time.Since(start).Seconds())
		return nil
	}
}

// knownMethod is the method for a label; any other is "other", because
// a client may send any word as a method.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// metricsAuth guards /metrics: a token as for /api/v1/stats, or with
// WithOpenMetrics, nothing but the per-address rate limit.
func (s *Server) metricsAuth() echo.MiddlewareFunc {
	if s.metricsOpen {
		return s.limitClients
	}
	return s.requireRole(schema.RoleAdmin, schema.RoleSupervisor)
}

// handleMetrics serves the registry in Prometheus' text format.
func (s *Server) handleMetrics(c echo.Context) error {
	s.metrics.handler.ServeHTTP(c.Response(), c.Request())
	return nil
}

// handleReadyz answers 200 while the store can be read and written, and
// 503 otherwise, for a load balancer to stop sending work. Unlike
// /healthz (the process is up) it touches the database. The cause goes to
// the log, not to whoever asks.
func (s *Server) handleReadyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := s.store.Ready(ctx); err != nil {
		return fmt.Errorf("%w: %w", schema.Errorf(schema.EUNAVAILABLE, "the store is not ready"), err)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// storeCollector reads the registry's figures from the store at scrape
// time, so they are the database's and not this process's: they survive
// restarts and count what the CLI did too.
type storeCollector struct {
	store *store.Store

	batches, records, match, printed, cards                      *prometheus.Desc
	households, residents, persons, devices, reviewOpen, pending *prometheus.Desc
}

func newStoreCollector(st *store.Store) *storeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &storeCollector{
		store:   st,
		batches: d("syncserver_batches_total", "Batches received from laptops, each counted once however often it was re-sent."),
		records: d("syncserver_records_total", "Records in received batches, by result: accepted, duplicate, stale, rejected.", "result"),
		match: d("syncserver_match_decisions_total", "What the matcher did with residents, by outcome: linked to an existing person, "+
			"new person started, review task opened (a review decision also starts a new person).", "outcome"),
		printed:    d("syncserver_cards_printed_total", "Cards in print jobs a printing centre confirmed printed."),
		cards:      d("syncserver_cards", "Cards by current status.", "status"),
		households: d("syncserver_households", "Live households."),
		residents:  d("syncserver_residents", "Live residents."),
		persons:    d("syncserver_persons", "Active persons."),
		devices:    d("syncserver_devices", "Devices not revoked."),
		reviewOpen: d("syncserver_review_tasks_open", "Review tasks waiting for a supervisor."),
		pending:    d("syncserver_match_pending", "Residents waiting for the matcher."),
	}
}

func (sc *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sc.batches, sc.records, sc.match, sc.printed, sc.cards,
		sc.households, sc.residents, sc.persons, sc.devices, sc.reviewOpen, sc.pending} {
		ch <- d
	}
}

// Collect reports the store's figures, or an error the scrape shows in
// promhttp_metric_handler_errors_total while the HTTP figures still go out.
func (sc *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := sc.store.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(sc.batches, err)
		return
	}
	t, err := sc.store.Tallies(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(sc.match, err)
		return
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter(sc.batches, st.Batches)
	counter(sc.records, st.Records.Accepted, "accepted")
	counter(sc.records, st.Records.Duplicate, "duplicate")
	counter(sc.records, st.Records.Stale, "stale")
	counter(sc.records, st.Records.Rejected, "rejected")
	counter(sc.match, t.MatchLinked, "linked")
	counter(sc.match, t.MatchNew, "new")
	counter(sc.match, t.MatchReview, "review")
	counter(sc.printed, t.CardsPrinted)
	gauge(sc.cards, st.Cards.Queued, store.CardQueued)
	gauge(sc.cards, st.Cards.Printed, store.CardPrinted)
	gauge(sc.cards, st.Cards.Dispatched, store.CardDispatched)
	gauge(sc.cards, st.Cards.Delivered, store.CardDelivered)
	gauge(sc.cards, st.Cards.Revoked, store.CardRevoked)
	gauge(sc.households, st.Households)
	gauge(sc.residents, st.Residents)
	gauge(sc.persons, st.Persons)
	gauge(sc.devices, st.Devices)
	gauge(sc.reviewOpen, st.ReviewOpen)
	gauge(sc.pending, st.MatchPending)
}
