package identityclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/domain"
	"poet.local/services/reporting/internal/identityclient"
)

const (
	linked    = "sub_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	noConsent = "sub_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	unlinked  = "sub_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
	wrongRole = "sub_DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
	broken    = "sub_EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE"
	personKey = "pk_0123456789abcdefghijklmnopqrstuv"
)

// identity mimics identity's contract: a client-credentials token endpoint
// (basic auth poet-service/dev-secret) and the person-key lookup, which
// needs that token and purpose=transition-journey and answers problems as
// identity does.
func identity(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var tokens atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if err := r.ParseForm(); err != nil || !ok || id != "poet-service" || secret != "dev-secret" || r.Form.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"svc-token","token_type":"Bearer","expires_in":3600}`))
	})
	problem := func(w http.ResponseWriter, status int, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"type":"about:blank","title":"` + http.StatusText(status) + `","status":` + strconv.Itoa(status) + `,"detail":"` + detail + `"}`))
	}
	mux.HandleFunc("GET /v1/subjects/{ref}/person-key", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer svc-token" {
			problem(w, http.StatusUnauthorized, "Sign in to use this")
			return
		}
		if r.URL.Query().Get("purpose") != "transition-journey" {
			problem(w, http.StatusUnprocessableEntity, "Say why you need the person key")
			return
		}
		switch ref := r.PathValue("ref"); ref {
		case linked:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"subject_ref":"` + ref + `","person_key":"` + personKey + `"}`))
		case noConsent:
			problem(w, http.StatusForbidden, "This person has not agreed to their journey being shared (no transition-sharing consent is in force)")
		case wrongRole:
			problem(w, http.StatusForbidden, "Your role does not allow this. It needs one of: service, operator.")
		case broken:
			problem(w, http.StatusInternalServerError, "Something went wrong on our side")
		default:
			problem(w, http.StatusNotFound, "This subject is not linked to a person")
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &tokens
}

func TestPersonKeyAgainstIdentitysContract(t *testing.T) {
	srv, tokens := identity(t)
	c, err := identityclient.New(identityclient.Config{IdentityURL: srv.URL + "/", TokenURL: srv.URL + "/oauth/token",
		ClientID: "poet-service", ClientSecret: "dev-secret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if key, err := c.PersonKey(ctx, linked); err != nil || key != personKey {
		t.Fatalf("linked: %q %v", key, err)
	}
	if _, err := c.PersonKey(ctx, noConsent); !errors.Is(err, app.ErrNoTransitionConsent) {
		t.Fatalf("no consent: %v", err)
	}
	if _, err := c.PersonKey(ctx, unlinked); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("not linked: %v", err)
	}
	// A refusal of reporting's own token is a fault, not a person's choice.
	if _, err := c.PersonKey(ctx, wrongRole); err == nil || errors.Is(err, app.ErrNoTransitionConsent) || !strings.Contains(err.Error(), "service") {
		t.Fatalf("wrong role: %v", err)
	}
	if _, err := c.PersonKey(ctx, broken); err == nil || errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("identity failing: %v", err)
	}
	if n := tokens.Load(); n != 1 {
		t.Fatalf("fetched %d tokens, want 1 (cached)", n)
	}
}

func TestPersonKeyWrongSecretIsAnErrorWithoutTheSubject(t *testing.T) {
	srv, _ := identity(t)
	c, err := identityclient.New(identityclient.Config{IdentityURL: srv.URL, TokenURL: srv.URL + "/oauth/token",
		ClientID: "poet-service", ClientSecret: "wrong"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PersonKey(context.Background(), linked)
	if err == nil || errors.Is(err, domain.ErrNotFound) || strings.Contains(err.Error(), linked) {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestNewNeedsEverything(t *testing.T) {
	if _, err := identityclient.New(identityclient.Config{IdentityURL: "http://identity", ClientID: "poet-service", ClientSecret: "s"}, nil); err == nil {
		t.Fatal("no token URL accepted")
	}
}
