package http

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// roundTrip saves j as a response and loads it back from a request that
// carries the cookies set (and, when tamper is set, one altered byte).
func roundTrip(t *testing.T, s *Sealer, j *Journey, host string, tamper bool) (*Journey, []*http.Cookie) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://"+host+"/s/x", nil)
	if err := s.Save(w, r, "/s/tok", j); err != nil {
		t.Fatal(err)
	}
	cs := w.Result().Cookies()
	r2 := httptest.NewRequest(http.MethodGet, "/s/x", nil)
	for i, c := range cs {
		if tamper && i == 0 {
			b := []byte(c.Value)
			b[len(b)/2] ^= 1
			c.Value = string(b)
		}
		r2.AddCookie(c)
	}
	return s.Load(r2), cs
}

func TestJourneyCookieIsSealedScopedAndChunked(t *testing.T) {
	s, err := NewSealer([]byte(strings.Repeat("k", 32)), "auto")
	if err != nil {
		t.Fatal(err)
	}
	j := s.NewJourney("adult-person@1.0.0")
	// Text that does not compress forces several chunks.
	var sb strings.Builder
	for i := uint32(1); sb.Len() < 9000; i = i*1103515245 + 12345 {
		sb.WriteByte(byte('a' + i>>16%26))
	}
	j.Answers["more"] = "Zebedee " + sb.String()
	got, cs := roundTrip(t, s, j, "poet.example.org", false)
	if got == nil || got.ID != j.ID || got.Answers["more"] != j.Answers["more"] {
		t.Fatalf("journey did not survive the round trip: %+v", got)
	}
	if len(cs) < 2 {
		t.Fatalf("want the journey split over cookies, got %d", len(cs))
	}
	for _, c := range cs {
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/s/tok" {
			t.Fatalf("cookie attributes: %+v", c)
		}
		if strings.Contains(c.Value, "Zebedee") {
			t.Fatal("answers readable in the cookie")
		}
	}
	// On a loopback address (local runs) auto means not Secure.
	if _, cs := roundTrip(t, s, j, "127.0.0.1:8080", false); cs[0].Secure {
		t.Fatal("loopback cookie marked Secure under auto")
	}
	if got, _ := roundTrip(t, s, j, "poet.example.org", true); got != nil {
		t.Fatal("a tampered cookie was accepted")
	}
	other, _ := NewSealer([]byte(strings.Repeat("o", 32)), "auto")
	w := httptest.NewRecorder()
	_ = s.Save(w, httptest.NewRequest(http.MethodGet, "/", nil), "/s/tok", j)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	if other.Load(r) != nil {
		t.Fatal("a cookie sealed with another key was accepted")
	}
	// Journeys expire.
	s.nowFunc = func() time.Time { return time.Now().Add(journeyTTL + time.Minute) }
	if s.Load(r) != nil {
		t.Fatal("an expired journey was accepted")
	}
}

func TestCSRFTokenIsBoundToTheJourney(t *testing.T) {
	s, _ := NewSealer([]byte(strings.Repeat("k", 32)), "true")
	a, b := s.NewJourney("i@1.0.0"), s.NewJourney("i@1.0.0")
	if !s.CheckCSRF(a, s.CSRF(a)) || s.CheckCSRF(a, s.CSRF(b)) || s.CheckCSRF(a, "") {
		t.Fatal("CSRF token not bound to its journey")
	}
	if _, err := NewSealer([]byte("short"), "auto"); err == nil {
		t.Fatal("short secret accepted")
	}
	if _, err := NewSealer([]byte(strings.Repeat("k", 32)), "maybe"); err == nil {
		t.Fatal("bad WEB_COOKIE_SECURE accepted")
	}
}
