package platform

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// order records events from concurrent goroutines.
type order struct {
	mu     sync.Mutex
	events []string
}

func (o *order) add(e string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, e)
}

func (o *order) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.events...)
}

func TestGracefulShutdown(t *testing.T) {
	var ev order
	s, _ := testServer(ServerOptions{ShutdownTimeout: 5 * time.Second})
	inHandler := make(chan struct{})
	s.Engine.GET("/slow", func(c *gin.Context) {
		close(inHandler)
		time.Sleep(300 * time.Millisecond)
		// In-flight requests keep a live context, so their database work is
		// not cut off by the shutdown signal.
		if err := c.Request.Context().Err(); err != nil {
			c.Status(http.StatusInternalServerError)
			return
		}
		ev.add("request done")
		c.JSON(http.StatusOK, gin.H{"done": true})
	})
	s.AddCloser("database", func(context.Context) error { ev.add("close database"); return nil })
	s.AddCloser("producer", func(context.Context) error { ev.add("close producer"); return nil })
	s.AddCloser("telemetry", func(context.Context) error { ev.add("close telemetry"); return nil })

	worker := func(name string) Worker {
		return Worker{Name: name, Run: func(ctx context.Context) error {
			<-ctx.Done()
			ev.add("worker " + name + " cancelled")
			return ctx.Err()
		}}
	}
	r := start(t, s, worker("relay"), worker("consumer"))

	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(r.url + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	<-inHandler
	r.cancel()

	res := <-got
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusOK, res.status)
	require.NoError(t, r.wait(t))

	events := ev.list()
	require.Len(t, events, 6, "%v", events)
	assert.Equal(t, "request done", events[0], "in-flight request finishes before workers stop: %v", events)
	assert.ElementsMatch(t, []string{"worker relay cancelled", "worker consumer cancelled"}, events[1:3])
	assert.Equal(t, []string{"close telemetry", "close producer", "close database"}, events[3:])

	// The listener is closed.
	_, err := net.DialTimeout("tcp", r.url[len("http://"):], time.Second)
	assert.Error(t, err)
}

func TestReadinessFailsDuringDrain(t *testing.T) {
	s, _ := testServer(ServerOptions{ReadinessDrain: 500 * time.Millisecond})
	r := start(t, s)
	resp, _ := get(t, r.url+"/readyz")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	r.cancel()
	require.Eventually(t, func() bool {
		resp, body := get(t, r.url+"/readyz")
		if resp.StatusCode != http.StatusServiceUnavailable {
			return false
		}
		p := requireProblem(t, resp, body, http.StatusServiceUnavailable)
		return assert.Contains(t, p.Detail, "shutting down")
	}, 400*time.Millisecond, 10*time.Millisecond)
	// Liveness is unaffected while draining.
	resp, _ = get(t, r.url+"/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, r.wait(t))
}

func TestWorkerErrorIsFatal(t *testing.T) {
	var ev order
	s, logs := testServer(ServerOptions{})
	s.AddCloser("db", func(context.Context) error { ev.add("closed"); return nil })
	boom := errors.New("consumer lost its group")
	var otherCancelled atomic.Bool

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.Run(ctx,
			Worker{Name: "consumer", Run: func(context.Context) error {
				time.Sleep(50 * time.Millisecond)
				return boom
			}},
			Worker{Name: "relay", Run: func(ctx context.Context) error {
				<-ctx.Done()
				otherCancelled.Store(true)
				return nil
			}},
		)
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, boom)
		assert.Contains(t, err.Error(), "consumer")
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after a worker failed")
	}
	assert.True(t, otherCancelled.Load())
	assert.Equal(t, []string{"closed"}, ev.list())
	assert.Contains(t, logs.String(), "fatal error")
}

func TestWorkerPanicIsFatal(t *testing.T) {
	s, _ := testServer(ServerOptions{})
	err := s.Run(context.Background(), Worker{Name: "relay", Run: func(context.Context) error { panic("nil map") }})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "relay panicked")
}

func TestWorkerReturningNilEarlyIsNotFatal(t *testing.T) {
	s, logs := testServer(ServerOptions{})
	r := start(t, s, Worker{Name: "migrate", Run: func(context.Context) error { return nil }})
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "worker finished early")
	}, 2*time.Second, 10*time.Millisecond)
	resp, _ := get(t, r.url+"/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NoError(t, r.stop(t))
}

func TestCloserErrorsAreReturned(t *testing.T) {
	s, _ := testServer(ServerOptions{})
	s.AddCloser("producer", func(context.Context) error { return errors.New("flush failed") })
	r := start(t, s)
	err := r.stop(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "close producer: flush failed")
}

func TestListenFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	closed := false
	s := NewServer(ServerOptions{Addr: ln.Addr().String(), Logger: NewLogger("t", "error", nil)})
	s.AddCloser("db", func(context.Context) error { closed = true; return nil })
	err = s.Run(context.Background())
	require.Error(t, err)
	assert.True(t, closed, "closers run even when listening fails")

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, lerr := s.ListenAddr(ctx)
	assert.Error(t, lerr)
}

func TestRunTwiceIsRefused(t *testing.T) {
	s, _ := testServer(ServerOptions{})
	r := start(t, s)
	assert.Error(t, s.Run(context.Background()))
	assert.NoError(t, r.stop(t))
}

func TestListenAddrHonoursContext(t *testing.T) {
	s, _ := testServer(ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.ListenAddr(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
