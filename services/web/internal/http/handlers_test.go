package http

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"poet.local/services/web/internal/app"
	"poet.local/services/web/internal/domain"
)

// The status page asks each part's real /readyz over HTTP and says plainly
// which are not ready; the page itself answers 503 until all are.
func TestStatusPageReportsEachPartsReadiness(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			t.Errorf("probed %s, want /readyz", r.URL.Path)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer ready.Close()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer notReady.Close()

	page := func(parts []domain.Part) (int, string) {
		gin.SetMode(gin.TestMode)
		r := gin.New()
		Register(r, app.New(parts, HTTPProber{Client: &http.Client{Timeout: time.Second}}), nil, nil)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		return w.Code, w.Body.String()
	}

	code, body := page([]domain.Part{{Name: "survey", URL: ready.URL}, {Name: "scoring", URL: ready.URL}})
	if code != http.StatusOK || !strings.Contains(body, "Every part of the platform is ready") {
		t.Fatalf("all ready: %d\n%s", code, body)
	}
	code, body = page([]domain.Part{{Name: "survey", URL: ready.URL}, {Name: "scoring", URL: notReady.URL}, {Name: "reporting", URL: "http://127.0.0.1:1"}})
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not ready (503)") || !strings.Contains(body, "not answering") {
		t.Fatalf("some not ready: %d\n%s", code, body)
	}
	if !strings.Contains(body, `lang="en-GB"`) || !strings.Contains(body, "<caption>") {
		t.Fatal("page lost its language or table caption")
	}
}
