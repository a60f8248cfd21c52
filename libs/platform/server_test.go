package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"poet.local/libs/platform/problem"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(b.String())
	return logLines(t, &buf)
}

// running is a Server started by start.
type running struct {
	srv      *Server
	url      string
	cancel   context.CancelFunc
	finished chan struct{} // closed when Run returns
	err      error         // Run's result, set before finished closes
}

// wait returns Run's result.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.finished:
		return r.err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// stop cancels Run and returns its result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// start runs s on a loopback port; the test ends by stopping it.
func start(t *testing.T, s *Server, workers ...Worker) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: s, cancel: cancel, finished: make(chan struct{})}
	go func() {
		r.err = s.Run(ctx, workers...)
		close(r.finished)
	}()
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer lcancel()
	addr, err := s.ListenAddr(lctx)
	require.NoError(t, err)
	r.url = "http://" + addr
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

func testServer(opts ServerOptions) (*Server, *syncBuffer) {
	logs := &syncBuffer{}
	opts.Addr = "127.0.0.1:0"
	if opts.Service == "" {
		opts.Service = "test"
	}
	opts.Logger = NewLogger(opts.Service, "debug", logs)
	return NewServer(opts), logs
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, nil)
}

func do(t *testing.T, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// requireProblem asserts an RFC 9457 body with the given status.
func requireProblem(t *testing.T, resp *http.Response, body []byte, status int) problem.Problem {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, string(body))
	require.Equal(t, problem.ContentType, resp.Header.Get("Content-Type"))
	var p problem.Problem
	require.NoError(t, json.Unmarshal(body, &p), string(body))
	require.Equal(t, status, p.Status)
	require.Equal(t, http.StatusText(status), p.Title)
	return p
}

func TestHealthz(t *testing.T) {
	s, _ := testServer(ServerOptions{})
	r := start(t, s)
	resp, body := get(t, r.url+"/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, string(body))
}

func TestReadyzAllChecksPass(t *testing.T) {
	s, _ := testServer(ServerOptions{Checks: []Check{
		{Name: "database", Fn: func(context.Context) error { return nil }},
		{Name: "broker", Fn: func(context.Context) error { return nil }},
	}})
	r := start(t, s)
	resp, body := get(t, r.url+"/readyz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ready","checks":{"database":"ok","broker":"ok"}}`, string(body))
}

func TestReadyzFailingChecks(t *testing.T) {
	started := time.Now()
	s, logs := testServer(ServerOptions{Checks: []Check{
		{Name: "database", Fn: func(context.Context) error { return nil }},
		{Name: "broker", Fn: func(context.Context) error { return errors.New("dial tcp 10.0.0.7:9092: refused") }},
		{Name: "cache", Fn: func(context.Context) error { panic("boom") }},
	}})
	r := start(t, s)
	resp, body := get(t, r.url+"/readyz")
	p := requireProblem(t, resp, body, http.StatusServiceUnavailable)
	assert.Contains(t, p.Detail, "broker")
	assert.Contains(t, p.Detail, "cache")
	assert.NotContains(t, p.Detail, "database")
	assert.NotContains(t, string(body), "10.0.0.7", "check errors are logged, not returned")
	assert.Contains(t, logs.String(), "10.0.0.7")
	assert.Less(t, time.Since(started), time.Second)
}

func TestReadyzChecksRunConcurrentlyWithTimeout(t *testing.T) {
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	ignoreCtx := func(context.Context) error { time.Sleep(600 * time.Millisecond); return nil }
	s, _ := testServer(ServerOptions{Checks: []Check{
		{Name: "a", Fn: hang}, {Name: "b", Fn: hang}, {Name: "c", Fn: ignoreCtx},
	}})
	require.Equal(t, 2*time.Second, s.checkTimeout, "production bound per check")
	s.checkTimeout = 200 * time.Millisecond
	r := start(t, s)
	began := time.Now()
	resp, body := get(t, r.url+"/readyz")
	took := time.Since(began)
	p := requireProblem(t, resp, body, http.StatusServiceUnavailable)
	assert.Contains(t, p.Detail, "a, b, c")
	assert.GreaterOrEqual(t, took, 200*time.Millisecond)
	assert.Less(t, took, 500*time.Millisecond, "checks run concurrently and each is cut off at its timeout")
}

func TestMetricsExposesMeterCounter(t *testing.T) {
	ctx := context.Background()
	tel, err := SetupTelemetry(ctx, "test", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	counter, err := tel.Meter.Int64Counter("poet_test_widgets")
	require.NoError(t, err)
	counter.Add(ctx, 3)

	s, _ := testServer(ServerOptions{Telemetry: tel})
	r := start(t, s)
	resp, body := get(t, r.url+"/metrics")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text := string(body)
	assert.Contains(t, text, "poet_test_widgets_total")
	assert.Regexp(t, `(?m)^poet_test_widgets_total\{.*\} 3$`, text)
	assert.Contains(t, text, "go_goroutines")
	assert.Contains(t, text, "process_cpu_seconds_total")
}

func TestMetricsWithoutTelemetryUsesDefaultRegistry(t *testing.T) {
	s, _ := testServer(ServerOptions{})
	r := start(t, s)
	resp, body := get(t, r.url+"/metrics")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "go_goroutines")
}

func TestBodyLimit(t *testing.T) {
	s, _ := testServer(ServerOptions{MaxBodyBytes: 1024})
	s.Engine.POST("/echo", func(c *gin.Context) {
		b, err := io.ReadAll(c.Request.Body)
		if err != nil {
			c.Status(http.StatusTeapot)
			return
		}
		c.JSON(http.StatusOK, gin.H{"len": len(b)})
	})
	r := start(t, s)

	resp, body := do(t, http.MethodPost, r.url+"/echo", strings.NewReader(strings.Repeat("x", 1024)))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"len":1024}`, string(body))

	resp, body = do(t, http.MethodPost, r.url+"/echo", strings.NewReader(strings.Repeat("x", 1025)))
	p := requireProblem(t, resp, body, http.StatusRequestEntityTooLarge)
	assert.Contains(t, p.Detail, "1024")

	// Unknown length (chunked): still refused before the handler reads it.
	resp, body = do(t, http.MethodPost, r.url+"/echo", io.MultiReader(strings.NewReader(strings.Repeat("x", 4096))))
	requireProblem(t, resp, body, http.StatusRequestEntityTooLarge)

	resp, body = do(t, http.MethodPost, r.url+"/echo", io.MultiReader(strings.NewReader("small")))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"len":5}`, string(body))
}

func TestRouteLimitRaisesOneRoutesBodyLimitOnly(t *testing.T) {
	s, _ := testServer(ServerOptions{MaxBodyBytes: 1024})
	echo := func(c *gin.Context) {
		b, err := io.ReadAll(c.Request.Body)
		if err != nil {
			c.Status(http.StatusTeapot)
			return
		}
		c.JSON(http.StatusOK, gin.H{"len": len(b)})
	}
	s.Engine.POST("/imports/:id", echo)
	s.Engine.POST("/echo", echo)
	s.SetRouteLimit("/imports/:id", RouteLimit{MaxBodyBytes: 8192})
	r := start(t, s)

	resp, body := do(t, http.MethodPost, r.url+"/imports/42", strings.NewReader(strings.Repeat("x", 8192)))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"len":8192}`, string(body))

	resp, body = do(t, http.MethodPost, r.url+"/imports/42", io.MultiReader(strings.NewReader(strings.Repeat("x", 8193))))
	p := requireProblem(t, resp, body, http.StatusRequestEntityTooLarge)
	assert.Contains(t, p.Detail, "8192")

	// Other routes keep the server's limit.
	resp, body = do(t, http.MethodPost, r.url+"/echo", strings.NewReader(strings.Repeat("x", 2048)))
	p = requireProblem(t, resp, body, http.StatusRequestEntityTooLarge)
	assert.Contains(t, p.Detail, "1024")
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	s, _ := testServer(ServerOptions{})
	s.Engine.GET("/things", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	r := start(t, s)

	resp, body := get(t, r.url+"/nowhere?token=abc")
	p := requireProblem(t, resp, body, http.StatusNotFound)
	assert.Equal(t, "/nowhere", p.Instance)

	resp, body = do(t, http.MethodDelete, r.url+"/things", nil)
	requireProblem(t, resp, body, http.StatusMethodNotAllowed)
	assert.Equal(t, "GET", resp.Header.Get("Allow"))
}

func TestPanicBecomes500(t *testing.T) {
	s, logs := testServer(ServerOptions{})
	s.Engine.POST("/boom", func(c *gin.Context) {
		_, _ = io.ReadAll(c.Request.Body)
		panic("kaboom")
	})
	r := start(t, s)

	resp, body := do(t, http.MethodPost, r.url+"/boom", strings.NewReader(`{"nhs":"9434765919"}`))
	requireProblem(t, resp, body, http.StatusInternalServerError)
	assert.NotContains(t, string(body), "kaboom", "panic values are not returned to clients")

	out := logs.String()
	assert.Contains(t, out, "kaboom")
	assert.Contains(t, out, "goroutine", "stack is logged")
	assert.NotContains(t, out, "9434765919", "request body is never logged")

	// The server keeps serving.
	resp, _ = get(t, r.url+"/healthz")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestRequestTimeout(t *testing.T) {
	s, _ := testServer(ServerOptions{RequestTimeout: 50 * time.Millisecond})
	observed := make(chan error, 1)
	s.Engine.GET("/slow", func(c *gin.Context) {
		dl, ok := c.Request.Context().Deadline()
		if !ok || time.Until(dl) > time.Second {
			observed <- errors.New("no request deadline")
			return
		}
		<-c.Done() // *gin.Context falls back to the request context
		observed <- c.Err()
	})
	r := start(t, s)
	resp, body := get(t, r.url+"/slow")
	requireProblem(t, resp, body, http.StatusServiceUnavailable)
	assert.ErrorIs(t, <-observed, context.DeadlineExceeded)
}

func TestAccessLogNeverContainsQueryOrPathValues(t *testing.T) {
	s, logs := testServer(ServerOptions{})
	s.Engine.GET("/x", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	s.Engine.GET("/v1/people/:id", func(c *gin.Context) { c.Status(http.StatusOK) })
	r := start(t, s)

	req, err := http.NewRequest(http.MethodGet, r.url+"/x?nhs=9434765919", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer secret-token-value")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	get(t, r.url+"/v1/people/9434765919?x=1")
	get(t, r.url+"/unknown/9434765919")
	get(t, r.url+"/healthz")
	get(t, r.url+"/readyz")
	get(t, r.url+"/metrics")

	out := logs.String()
	assert.NotContains(t, out, "9434765919")
	assert.NotContains(t, out, "secret-token-value")

	var access []map[string]any
	for _, l := range logs.lines(t) {
		if l["msg"] == "http request" {
			access = append(access, l)
		}
	}
	require.Len(t, access, 3, "one line per request, probes excluded: %s", out)
	assert.Equal(t, "/x", access[0]["route"])
	assert.Equal(t, "GET", access[0]["method"])
	assert.EqualValues(t, 204, access[0]["status"])
	assert.Contains(t, access[0], "duration_ms")
	assert.Equal(t, "/v1/people/:id", access[1]["route"])
	assert.Equal(t, "(unmatched)", access[2]["route"])
	assert.EqualValues(t, 404, access[2]["status"])
}

func TestAccessLogCarriesIncomingTraceID(t *testing.T) {
	tel, err := SetupTelemetry(context.Background(), "test", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	s, logs := testServer(ServerOptions{Telemetry: tel})
	s.Engine.GET("/x", func(c *gin.Context) { c.Status(http.StatusOK) })
	r := start(t, s)

	req, err := http.NewRequest(http.MethodGet, r.url+"/x", nil)
	require.NoError(t, err)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	lines := logs.lines(t)
	var found bool
	for _, l := range lines {
		if l["msg"] == "http request" {
			found = true
			assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", l["trace_id"])
			assert.NotEqual(t, "00f067aa0ba902b7", l["span_id"], "the server span is a child")
		}
	}
	assert.True(t, found, logs.String())
}
