package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"

	"poet.local/libs/platform/problem"
)

// Probe and scrape routes: excluded from tracing and the access log, since
// they are hit every few seconds and would drown real traffic.
const (
	healthPath  = "/healthz"
	readyPath   = "/readyz"
	metricsPath = "/metrics"
)

// checkTimeout bounds each readiness check so one hung dependency cannot make
// the probe itself time out.
const checkTimeout = 2 * time.Second

// Defaults used when a ServerOptions field is zero.
const (
	defaultAddr            = ":8080"
	defaultRequestTimeout  = 15 * time.Second
	defaultMaxBodyBytes    = 1 << 20
	defaultShutdownTimeout = 20 * time.Second
)

// Check is a readiness check (database, broker). Fn returns nil when ready.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Worker is a background loop (outbox relay, consumers). Run should return
// when ctx is cancelled; returning an error stops the whole process.
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
}

// ServerOptions configures NewServer. Zero durations and sizes take the same
// defaults as Config.
type ServerOptions struct {
	Service         string
	Addr            string
	Logger          *slog.Logger
	Telemetry       *Telemetry    // may be nil in tests => /metrics serves a default registry
	Checks          []Check       // readiness checks (database, broker)
	RequestTimeout  time.Duration // per-request context deadline
	MaxBodyBytes    int64         // larger bodies => 413 problem+json
	ShutdownTimeout time.Duration

	// RouteLimits raise (or lower) the body limit and timeout for single
	// routes, keyed by gin's route template, e.g.
	// "/v1/campaigns/:campaign_id/imports": bulk uploads need more room
	// than ordinary requests, which keep the tight defaults.
	RouteLimits map[string]RouteLimit

	// ReadinessDrain is how long Run keeps serving, with /readyz failing,
	// before it stops accepting connections, so that load balancers notice
	// first. Zero means no pause (use a preStop hook instead).
	ReadinessDrain time.Duration
}

// Server is the HTTP server and lifecycle of one service. Register routes on
// Engine, then call Run.
type Server struct {
	Engine *gin.Engine

	opts         ServerOptions
	log          *slog.Logger
	shuttingDown atomic.Bool
	checkTimeout time.Duration // per readiness check; checkTimeout, shortened only by tests

	mu      sync.Mutex
	closers []closer
	running bool

	bound     chan struct{} // closed once listening (or failing to)
	addr      string
	listenErr error
}

type closer struct {
	name string
	fn   func(context.Context) error
}

var releaseMode sync.Once

// NewServer builds a gin engine (gin.New, release mode) with panic recovery,
// OpenTelemetry tracing, a privacy-safe access log, a request body limit, a
// per-request deadline, problem+json 404/405, and the /healthz, /readyz and
// /metrics endpoints.
func NewServer(opts ServerOptions) *Server {
	releaseMode.Do(func() { gin.SetMode(gin.ReleaseMode) })
	if opts.Service == "" {
		opts.Service = "service"
	}
	if opts.Addr == "" {
		opts.Addr = defaultAddr
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = defaultRequestTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = defaultMaxBodyBytes
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = defaultShutdownTimeout
	}

	s := &Server{opts: opts, log: opts.Logger, bound: make(chan struct{}), checkTimeout: checkTimeout}
	e := gin.New()
	// Handlers may pass *gin.Context as a context.Context: make it carry the
	// request's deadline and span.
	e.ContextWithFallback = true
	e.HandleMethodNotAllowed = true
	// Do not believe X-Forwarded-For from anyone unless a service opts in.
	_ = e.SetTrustedProxies(nil)

	e.Use(
		// Span names are the route template ("GET /v1/responses/:id").
		otelgin.Middleware(opts.Service, otelgin.WithGinFilter(func(c *gin.Context) bool { return !isProbe(c) })),
		s.accessLog,
		s.recovery,
		s.limitBody,
		s.deadline,
	)
	e.NoRoute(func(c *gin.Context) {
		problem.Write(c, problem.New(http.StatusNotFound, "There is nothing at this address."))
	})
	e.NoMethod(func(c *gin.Context) {
		problem.Write(c, problem.New(http.StatusMethodNotAllowed, "This address does not accept the "+c.Request.Method+" method."))
	})

	e.GET(healthPath, func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET(readyPath, s.ready)
	var metrics http.Handler = promhttp.Handler()
	if opts.Telemetry != nil && opts.Telemetry.MetricsHandler != nil {
		metrics = opts.Telemetry.MetricsHandler
	}
	e.GET(metricsPath, gin.WrapH(metrics))

	s.Engine = e
	return s
}

func isProbe(c *gin.Context) bool {
	switch c.FullPath() {
	case healthPath, readyPath, metricsPath:
		return true
	}
	return false
}

// accessLog writes one line per request. It records the route template, not
// the path, and never the query string, headers or body: those can carry
// tokens and personal identifiers.
func (s *Server) accessLog(c *gin.Context) {
	if isProbe(c) {
		c.Next()
		return
	}
	start := time.Now()
	ctx := c.Request.Context() // carries the span started by otelgin
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(unmatched)"
	}
	status := c.Writer.Status()
	level := slog.LevelInfo
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	s.log.LogAttrs(ctx, level, "http request",
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	)
}

// recovery turns a handler panic into a 500 problem and logs the stack (but
// not the request, whose body may hold personal data).
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec) // the client went away; net/http handles this silently
		}
		s.log.LogAttrs(c.Request.Context(), slog.LevelError, "panic serving request",
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.String("panic", fmt.Sprint(rec)),
			slog.String("stack", string(debug.Stack())),
		)
		if c.Writer.Written() {
			c.Abort()
			return
		}
		problem.Write(c, problem.New(http.StatusInternalServerError, "Something went wrong on our side. Please try again later."))
	}()
	c.Next()
}

// RouteLimit overrides ServerOptions' body limit and request timeout for one
// route; a zero field keeps the server's default.
type RouteLimit struct {
	MaxBodyBytes   int64
	RequestTimeout time.Duration
}

// SetRouteLimit sets a route's limits; call it before Run.
func (s *Server) SetRouteLimit(route string, l RouteLimit) {
	if s.opts.RouteLimits == nil {
		s.opts.RouteLimits = map[string]RouteLimit{}
	}
	s.opts.RouteLimits[route] = l
}

func (s *Server) maxBody(c *gin.Context) int64 {
	if l, ok := s.opts.RouteLimits[c.FullPath()]; ok && l.MaxBodyBytes > 0 {
		return l.MaxBodyBytes
	}
	return s.opts.MaxBodyBytes
}

func (s *Server) timeout(c *gin.Context) time.Duration {
	if l, ok := s.opts.RouteLimits[c.FullPath()]; ok && l.RequestTimeout > 0 {
		return l.RequestTimeout
	}
	return s.opts.RequestTimeout
}

// limitBody rejects bodies over MaxBodyBytes with 413 before the handler
// runs. A declared Content-Length is checked directly; a body of unknown
// length is read up to the limit first, so handlers never see a truncated one.
func (s *Server) limitBody(c *gin.Context) {
	max := s.maxBody(c)
	r := c.Request
	if r.ContentLength > max {
		s.tooLarge(c, max)
		return
	}
	if r.Body == nil || r.Body == http.NoBody {
		c.Next()
		return
	}
	if r.ContentLength < 0 {
		buf, err := io.ReadAll(io.LimitReader(r.Body, max+1))
		if err != nil {
			problem.Write(c, problem.New(http.StatusBadRequest, "The request body could not be read."))
			return
		}
		if int64(len(buf)) > max {
			s.tooLarge(c, max)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(buf))
		r.ContentLength = int64(len(buf))
		c.Next()
		return
	}
	r.Body = http.MaxBytesReader(c.Writer, r.Body, max)
	c.Next()
}

func (s *Server) tooLarge(c *gin.Context, max int64) {
	// Close the connection rather than read an unwanted body.
	c.Header("Connection", "close")
	problem.Write(c, problem.New(http.StatusRequestEntityTooLarge,
		fmt.Sprintf("The request body is larger than %d bytes.", max)))
}

// deadline gives each request a context deadline; handlers pass it on to the
// database and broker. A handler that gives up without answering gets 503.
func (s *Server) deadline(c *gin.Context) {
	if isProbe(c) {
		c.Next()
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.timeout(c))
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	if !c.Writer.Written() && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		problem.Write(c, problem.New(http.StatusServiceUnavailable, "The request took too long. Please try again."))
	}
}

// ready runs every check concurrently, each bounded by s.checkTimeout. The
// response names failing checks but not their errors (logged instead), so it
// never exposes internal addresses.
func (s *Server) ready(c *gin.Context) {
	if s.shuttingDown.Load() {
		problem.Write(c, problem.New(http.StatusServiceUnavailable, "The service is shutting down."))
		return
	}
	checks := s.opts.Checks
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(c.Request.Context(), s.checkTimeout)
			defer cancel()
			errs[i] = runCheck(ctx, ch)
		})
	}
	wg.Wait()

	results := make(map[string]string, len(checks))
	var failing []string
	for i, ch := range checks {
		if errs[i] != nil {
			failing = append(failing, ch.Name)
			results[ch.Name] = "failing"
			s.log.WarnContext(c.Request.Context(), "readiness check failed",
				slog.String("check", ch.Name), slog.String("error", errs[i].Error()))
			continue
		}
		results[ch.Name] = "ok"
	}
	if len(failing) > 0 {
		sort.Strings(failing)
		problem.Write(c, problem.New(http.StatusServiceUnavailable, "Not ready; failing checks: "+strings.Join(failing, ", ")))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": results})
}

// runCheck calls ch.Fn, treating a panic or a result after the deadline as a
// failure.
func runCheck(ctx context.Context, ch Check) error {
	if ch.Fn == nil {
		return errors.New("check has no function")
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if rec := recover(); rec != nil {
				done <- fmt.Errorf("check panicked: %v", rec)
			}
		}()
		done <- ch.Fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("check timed out: %w", ctx.Err())
	}
}
