package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// AddCloser registers cleanup run in reverse order after workers stop (close
// DB, flush producer, telemetry shutdown). Each gets a context bounded by
// ShutdownTimeout.
func (s *Server) AddCloser(name string, fn func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, closer{name: name, fn: fn})
}

// ListenAddr returns the bound address after Run started listening (useful
// with ":0" in tests); blocks until bound or ctx done.
func (s *Server) ListenAddr(ctx context.Context) (string, error) {
	select {
	case <-s.bound:
		return s.addr, s.listenErr
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Run serves HTTP and runs the workers until ctx is done or SIGINT/SIGTERM
// arrives, or a worker/server fails.
//
// Graceful shutdown, in order: readiness starts failing (and, with
// ReadinessDrain, the server keeps serving for that long);
// http.Server.Shutdown waits for in-flight requests (bounded by
// ShutdownTimeout); then the workers' context is cancelled and Run waits for
// them (bounded by ShutdownTimeout) — workers outlive HTTP so that, for
// example, the outbox relay can publish what the last requests wrote; then the
// closers run in reverse registration order.
//
// Returns the first fatal error (nil on a clean stop). A worker returning nil
// early is logged and not fatal; returning an error (or panicking) is fatal
// and triggers shutdown. Run may be called once.
func (s *Server) Run(ctx context.Context, workers ...Worker) (err error) {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("platform: Server.Run called twice")
	}
	s.running = true
	s.mu.Unlock()

	// Closers always run, even if we never got as far as listening.
	defer func() { err = errors.Join(err, s.runClosers()) }()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, lerr := (&net.ListenConfig{}).Listen(ctx, "tcp", s.opts.Addr)
	if lerr != nil {
		s.listenErr = fmt.Errorf("listen on %s: %w", s.opts.Addr, lerr)
		close(s.bound)
		return s.listenErr
	}
	s.addr = ln.Addr().String()
	close(s.bound)

	srv := &http.Server{
		Handler:           s.Engine,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// Requests must still finish after Run's ctx is cancelled, so their
		// contexts do not derive from it (they keep its values).
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	var (
		fatalOnce sync.Once
		fatalErr  error
		fatal     = make(chan struct{})
	)
	fail := func(e error) {
		fatalOnce.Do(func() { fatalErr = e; close(fatal) })
	}

	serveDone := make(chan struct{})
	go func() {
		defer close(serveDone)
		if e := srv.Serve(ln); !errors.Is(e, http.ErrServerClosed) {
			fail(fmt.Errorf("http server: %w", e))
		}
	}()

	// Workers outlive ctx: they are stopped only after HTTP has drained.
	wctx, cancelWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWorkers()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			if e := s.runWorker(wctx, w); e != nil {
				fail(e)
			}
		})
	}
	s.log.InfoContext(ctx, "service started", slog.String("addr", s.addr), slog.Int("workers", len(workers)))

	select {
	case <-ctx.Done():
		s.log.InfoContext(ctx, "shutdown requested")
	case <-fatal:
		s.log.ErrorContext(ctx, "shutting down after fatal error", slog.String("error", fatalErr.Error()))
	}

	// 1. Stop advertising readiness, optionally give balancers time to notice.
	s.shuttingDown.Store(true)
	if d := s.opts.ReadinessDrain; d > 0 {
		select {
		case <-time.After(d):
		case <-fatal:
		}
	}

	// 2. Finish in-flight requests.
	var shutdownErrs []error
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	if e := srv.Shutdown(sctx); e != nil {
		s.log.ErrorContext(ctx, "in-flight requests did not finish in time", slog.String("error", e.Error()))
		_ = srv.Close()
		shutdownErrs = append(shutdownErrs, fmt.Errorf("http shutdown: %w", e))
	}
	cancel()
	<-serveDone

	// 3. Stop workers.
	cancelWorkers()
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
	case <-time.After(s.opts.ShutdownTimeout):
		s.log.ErrorContext(ctx, "workers did not stop in time")
		shutdownErrs = append(shutdownErrs, errors.New("workers did not stop within the shutdown timeout"))
	}

	select {
	case <-fatal:
		return fatalErr
	default:
	}
	return errors.Join(shutdownErrs...)
}

// runWorker runs one worker, converting a panic into an error.
func (s *Server) runWorker(ctx context.Context, w Worker) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			s.log.ErrorContext(ctx, "worker panicked", slog.String("worker", w.Name),
				slog.String("panic", fmt.Sprint(rec)), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("worker %s panicked: %v", w.Name, rec)
		}
	}()
	err = w.Run(ctx)
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Reporting the cancellation we asked for is a clean stop.
		err = nil
	case err != nil:
		return fmt.Errorf("worker %s: %w", w.Name, err)
	case ctx.Err() == nil:
		s.log.InfoContext(ctx, "worker finished early", slog.String("worker", w.Name))
	}
	s.log.DebugContext(ctx, "worker stopped", slog.String("worker", w.Name))
	return err
}

// runClosers runs closers in reverse registration order, each bounded by
// ShutdownTimeout, and returns their errors joined.
func (s *Server) runClosers() error {
	s.mu.Lock()
	cs := s.closers
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		if e := c.fn(ctx); e != nil {
			s.log.Error("closer failed", slog.String("closer", c.name), slog.String("error", e.Error()))
			errs = append(errs, fmt.Errorf("close %s: %w", c.name, e))
		}
		cancel()
	}
	return errors.Join(errs...)
}
