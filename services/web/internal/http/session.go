package http

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Staff cookies. The session and the sign-in in progress are sealed with the
// same AES-GCM key as respondents' journeys, each with its name as the
// additional data so one cannot be replayed as another.
const (
	sessionCookie = "poet_staff"       // path /, the signed-in member of staff
	loginCookie   = "poet_staff_login" // path /auth, one sign-in in progress
	browserCookie = "poet_staff_b"     // path /, random: binds the CSRF token of pages before sign-in
	loginTTL      = 10 * time.Minute
	sessionMaxTTL = 8 * time.Hour
	purposeStaff  = "poet-web-staff-csrf:"
)

// Session is a signed-in member of staff, kept only in their browser.
type Session struct {
	ID           string    `json:"id"` // random; the staff CSRF token derives from it
	Organisation string    `json:"org"`
	Name         string    `json:"name"`
	AccessToken  string    `json:"at"`
	Expires      time.Time `json:"exp"`
}

// pendingLogin is what the callback needs to finish a sign-in safely.
type pendingLogin struct {
	Organisation string    `json:"org"`
	State        string    `json:"state"`
	Nonce        string    `json:"nonce"`
	Verifier     string    `json:"cv"`
	Started      time.Time `json:"t"`
}

func randomID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// seal encrypts v for the cookie called name.
func (s *Sealer) seal(name string, v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, raw, []byte(name)))
	if len(out) > chunkSize {
		return "", errTooLarge
	}
	return out, nil
}

// open decrypts the cookie called name into v; false if absent or altered.
func (s *Sealer) open(r *http.Request, name string, v any) bool {
	c, err := r.Cookie(name)
	if err != nil {
		return false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	ns := s.aead.NonceSize()
	if err != nil || len(sealed) < ns {
		return false
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(name))
	return err == nil && json.Unmarshal(plain, v) == nil
}

func (s *Sealer) setCookie(w http.ResponseWriter, r *http.Request, name, path, value string, ttl time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: s.isSecure(r), SameSite: http.SameSiteLaxMode, MaxAge: int(ttl / time.Second)}
	if ttl <= 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// SaveSession writes the session cookie, lasting as long as its token.
func (s *Sealer) SaveSession(w http.ResponseWriter, r *http.Request, sess *Session) error {
	v, err := s.seal(sessionCookie, sess)
	if err != nil {
		return err
	}
	ttl := sess.Expires.Sub(s.nowFunc())
	if ttl <= 0 {
		return errors.New("the session has already expired")
	}
	s.setCookie(w, r, sessionCookie, "/", v, ttl)
	return nil
}

// LoadSession returns the signed-in session, or nil.
func (s *Sealer) LoadSession(r *http.Request) *Session {
	var sess Session
	if !s.open(r, sessionCookie, &sess) || sess.ID == "" || !s.nowFunc().Before(sess.Expires) {
		return nil
	}
	return &sess
}

// StaffCSRF is the token staff forms carry: an HMAC of a random id held in
// an HttpOnly cookie (the session's, or before sign-in the browser cookie's).
func (s *Sealer) StaffCSRF(id string) string {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte(purposeStaff + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckStaffCSRF compares a posted token in constant time.
func (s *Sealer) CheckStaffCSRF(id, token string) bool {
	return id != "" && token != "" && hmac.Equal([]byte(token), []byte(s.StaffCSRF(id)))
}
