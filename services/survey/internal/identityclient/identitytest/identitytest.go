// Package identitytest is a stand-in for identity's POST /v1/subjects, for
// survey's tests: it follows identity's contract (api-specs/identity/
// openapi.yaml) closely enough that the client and the embedded use case are
// tested against the behaviour they will meet — a real bearer token verified
// against the issuers, the practitioner role required, the caller's
// organisation scoping the reference, strict JSON, local ids of 1 to 200
// characters, and a reference that is "sub_" + 32 characters of
// base64url(HMAC-SHA256(key, organisation 0x00 local id)).
package identitytest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"poet.local/libs/authn"
)

// Server is a running stand-in.
type Server struct {
	*httptest.Server
	verifier *authn.Verifier
	key      []byte
	calls    atomic.Int64
	mu       sync.Mutex
	failures []int // statuses to answer with, one per call, before behaving
}

// Start serves the stand-in on loopback; the caller closes it.
func Start(v *authn.Verifier) *Server {
	s := &Server{verifier: v, key: []byte("identity-standin-subject-key")}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Calls is how many requests reached POST /v1/subjects.
func (s *Server) Calls() int64 { return s.calls.Load() }

// FailNext makes the next calls answer these statuses (a problem body each).
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, statuses...)
}

// Ref is the reference the stand-in gives (organisation, local id).
func (s *Server) Ref(org, localID string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(org))
	m.Write([]byte{0})
	m.Write([]byte(localID))
	return "sub_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:32]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/subjects" {
		problem(w, http.StatusNotFound, "There is nothing at this address.")
		return
	}
	s.calls.Add(1)
	s.mu.Lock()
	var fail int
	if len(s.failures) > 0 {
		fail, s.failures = s.failures[0], s.failures[1:]
	}
	s.mu.Unlock()
	if fail != 0 {
		problem(w, fail, "Stand-in failure")
		return
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		problem(w, http.StatusUnauthorized, "Sign in with your organisation's account: this request needs a bearer token.")
		return
	}
	p, err := s.verifier.Verify(r.Context(), token)
	if err != nil {
		problem(w, http.StatusUnauthorized, "Your token is not valid here.")
		return
	}
	if !p.Has(authn.RolePractitioner) {
		problem(w, http.StatusForbidden, "Your role does not allow this. It needs one of: practitioner.")
		return
	}
	var body struct {
		LocalID string `json:"local_id"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() {
		problem(w, http.StatusBadRequest, "The request body is not valid JSON for a subject")
		return
	}
	local := strings.TrimSpace(body.LocalID)
	if n := utf8.RuneCountInString(local); n < 1 || n > 200 {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": "Your request has problems", "status": 422,
			"errors": []map[string]string{{"pointer": "/local_id", "reason": "Give 1 to 200 characters"}}})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]string{"subject_ref": s.Ref(p.Organisation, local)})
	_, _ = w.Write(buf.Bytes())
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}
