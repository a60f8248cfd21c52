package survey

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"poet.local/services/web/internal/app"
	"poet.local/services/web/internal/domain"
)

// A stand-in for survey's respondent routes, answering as its contract
// (api-specs/survey/openapi.yaml) says, to pin down how each answer maps
// to the journey's errors. The real survey is exercised in tools/e2e.
func TestClientMapsSurveysAnswers(t *testing.T) {
	instrumentCalls := 0
	var gotKey string
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem := func(status int, body string) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/instruments/t/versions/1.0.0":
			instrumentCalls++
			w.Write([]byte(`{"id":"t","version":"1.0.0","title":"T","sections":[{"id":"a","title":"A","questions":[{"id":"q/1","type":"text","text":"Q","easy_read":"Q"}]}]}`))
		case "POST /v1/campaign-links/good/responses":
			gotKey = r.Header.Get("Idempotency-Key")
			json.NewDecoder(r.Body).Decode(&gotBody)
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"id":"resp_1","campaign_id":"cmp_1","submitted_at":"2026-11-23T12:00:00Z"}`))
		case "POST /v1/campaign-links/bad/responses":
			problem(422, `{"type":"about:blank","title":"Unprocessable","status":422,"detail":"Some answers are not valid","errors":[{"pointer":"/answers/q~11","reason":"Give text of at most 5 characters"}]}`)
		case "POST /v1/campaign-links/shut/responses":
			problem(409, `{"status":409,"title":"Conflict"}`)
		default:
			problem(404, `{"status":404,"title":"Not Found","detail":"There is nothing at this address."}`)
		}
	}))
	defer srv.Close()
	c := New(srv.URL, &http.Client{Timeout: 5 * time.Second})
	ctx := context.Background()

	for i := 0; i < 2; i++ {
		in, err := c.Instrument(ctx, "t", "1.0.0")
		if err != nil || in.Title != "T" || in.Sections[0].Questions[0].ID != "q/1" {
			t.Fatalf("instrument: %+v %v", in, err)
		}
	}
	if instrumentCalls != 1 {
		t.Fatalf("instrument fetched %d times, want once (versions never change)", instrumentCalls)
	}
	if _, err := c.Instrument(ctx, "nope", "1.0.0"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("unknown instrument: %v", err)
	}
	if _, err := c.Link(ctx, "anything"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("link lookup: %v", err)
	}

	rc, err := c.Submit(ctx, "good", "web-abc", domain.Answers{"q/1": "hi"})
	if err != nil || rc.ResponseID != "resp_1" || gotKey != "web-abc" || gotBody["mode"] != "online" || gotBody["answers"].(map[string]any)["q/1"] != "hi" {
		t.Fatalf("submit: %+v %v key=%q body=%v", rc, err, gotKey, gotBody)
	}
	var ve *app.ValidationError
	if _, err := c.Submit(ctx, "bad", "k", nil); !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Question != "q/1" || ve.Fields[0].Message != "Give text of at most 5 characters" {
		t.Fatalf("422: %v %+v", err, ve)
	}
	if _, err := c.Submit(ctx, "shut", "k", nil); !errors.Is(err, app.ErrClosed) {
		t.Fatalf("409: %v", err)
	}
	if _, err := c.Submit(ctx, "gone", "k", nil); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("404: %v", err)
	}
	srv.Close()
	if _, err := c.Submit(ctx, "good", "k", nil); !errors.Is(err, app.ErrUnavailable) {
		t.Fatalf("survey down: %v", err)
	}
}
