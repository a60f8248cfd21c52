package request

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

type thing struct {
	Name string `json:"name"`
}

func serve(body string, limit int64) *httptest.ResponseRecorder {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.POST("/", func(c *gin.Context) {
		if limit > 0 {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		var v thing
		if DecodeJSON(c, &v, "a thing") {
			c.String(http.StatusOK, v.Name)
		}
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
	return w
}

func detail(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var p struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("not a problem: %s", w.Body)
	}
	return p.Detail
}

func TestDecodeJSONIsStrictAndNeverEchoesTheBody(t *testing.T) {
	if w := serve(`{"name":"ok"}`, 0); w.Code != 200 || w.Body.String() != "ok" {
		t.Fatalf("good body: %d %s", w.Code, w.Body)
	}
	w := serve(`{"name":"x","nhs_numbr":"9434765919"}`, 0)
	if w.Code != 400 || !strings.Contains(detail(t, w), "nhs_numbr") || strings.Contains(w.Body.String(), "9434765919") {
		t.Fatalf("unknown field: %d %s", w.Code, w.Body)
	}
	if w := serve(`{"name":"x"} {"name":"y"}`, 0); w.Code != 400 {
		t.Fatalf("trailing data: %d", w.Code)
	}
	if w := serve(`{"name":"`+strings.Repeat("x", 100)+`"}`, 20); w.Code != 413 {
		t.Fatalf("over the limit: %d", w.Code)
	}
}

func TestIdempotencyKeyLength(t *testing.T) {
	gin.SetMode(gin.TestMode)
	for _, tc := range []struct {
		key  *string
		want int
	}{{nil, 200}, {ptr("short"), 400}, {ptr("retry-0001"), 200}, {ptr(strings.Repeat("k", 201)), 400}} {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodPost, "/", nil)
		if _, ok := IdempotencyKey(c, tc.key); ok {
			c.Status(http.StatusOK)
		}
		if c.Writer.Status() != tc.want {
			t.Errorf("key %v: status %d, want %d", tc.key, c.Writer.Status(), tc.want)
		}
	}
}

func ptr(s string) *string { return &s }
