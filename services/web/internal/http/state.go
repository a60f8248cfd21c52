package http

import (
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"poet.local/services/web/internal/domain"
)

// Journey is a respondent's progress, kept only in their browser: the web
// service has no database, and nothing reaches survey until they submit.
// It travels in an AES-GCM sealed cookie (so it is both secret and
// tamper-proof), scoped to the link's path.
type Journey struct {
	ID         string         `json:"id"` // random; the Idempotency-Key and the CSRF token derive from it
	Instrument string         `json:"in"` // id@version
	Agreed     bool           `json:"ok,omitempty"`
	Easy       bool           `json:"easy,omitempty"`
	Answers    domain.Answers `json:"a,omitempty"`
	Reached    int            `json:"r,omitempty"` // sections completed, so change links and "back" stay in bounds
	Checking   bool           `json:"chk,omitempty"`
	ResponseID string         `json:"resp,omitempty"` // set once survey has stored the response
	Started    time.Time      `json:"t"`
}

// journeyTTL bounds how long unfinished answers live in the browser.
const journeyTTL = 24 * time.Hour

// Cookie chunks: browsers keep about 4 KB per cookie, and long free-text
// answers can need more, so the sealed journey is split.
const (
	cookieName  = "poet_journey"
	chunkSize   = 3800
	maxChunks   = 8
	csrfField   = "csrf_token"
	purposeCSRF = "poet-web-csrf:"
)

// Sealer seals journeys into cookies and makes CSRF tokens.
type Sealer struct {
	aead    cipher.AEAD
	macKey  []byte
	secure  string // "true", "false" or "auto" (secure unless the host is loopback)
	nowFunc func() time.Time
}

// NewSealer derives the cookie and CSRF keys from a 32-byte secret.
func NewSealer(secret []byte, secure string) (*Sealer, error) {
	if len(secret) < 32 {
		return nil, errors.New("the cookie secret must be at least 32 bytes")
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("poet-web-cookie-aes"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	switch secure {
	case "true", "false", "auto":
	default:
		return nil, fmt.Errorf("WEB_COOKIE_SECURE: %q is not true, false or auto", secure)
	}
	return &Sealer{aead: aead, macKey: derive("poet-web-csrf-hmac"), secure: secure, nowFunc: time.Now}, nil
}

// NewJourney starts a journey for an instrument.
func (s *Sealer) NewJourney(instrument string) *Journey {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return &Journey{ID: base64.RawURLEncoding.EncodeToString(b), Instrument: instrument, Answers: domain.Answers{}, Started: s.nowFunc().UTC()}
}

// CSRF is the token every form of this journey carries: an HMAC of the
// journey's secret id, so only a page this journey rendered can post.
func (s *Sealer) CSRF(j *Journey) string {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte(purposeCSRF + j.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF compares a posted token in constant time.
func (s *Sealer) CheckCSRF(j *Journey, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.CSRF(j)))
}

// Load reads the journey for path, or nil if there is none or it has
// expired or been tampered with.
func (s *Sealer) Load(r *http.Request) *Journey {
	var sb strings.Builder
	for i := 0; i < maxChunks; i++ {
		c, err := r.Cookie(cookieName + strconv.Itoa(i))
		if err != nil {
			break
		}
		sb.WriteString(c.Value)
	}
	if sb.Len() == 0 {
		return nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(sb.String())
	ns := s.aead.NonceSize()
	if err != nil || len(sealed) < ns {
		return nil
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(cookieName))
	if err != nil {
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(plain)), 1<<20))
	if err != nil {
		return nil
	}
	var j Journey
	if json.Unmarshal(raw, &j) != nil || j.ID == "" || s.nowFunc().Sub(j.Started) > journeyTTL {
		return nil
	}
	if j.Answers == nil {
		j.Answers = domain.Answers{}
	}
	return &j
}

// Save writes the journey's cookies for path (the link's pages only).
func (s *Sealer) Save(w http.ResponseWriter, r *http.Request, path string, j *Journey) error {
	raw, err := json.Marshal(j)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(raw)
	fw.Close()
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	value := base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, buf.Bytes(), []byte(cookieName)))
	n := (len(value) + chunkSize - 1) / chunkSize
	if n > maxChunks {
		return errTooLarge
	}
	for i := 0; i < maxChunks; i++ {
		c := s.cookie(r, path, i)
		switch {
		case i < n:
			c.Value = value[i*chunkSize : min(len(value), (i+1)*chunkSize)]
			c.MaxAge = int(journeyTTL / time.Second)
		default:
			if _, err := r.Cookie(c.Name); err != nil {
				continue
			}
			c.MaxAge = -1
		}
		http.SetCookie(w, c)
	}
	return nil
}

// Clear deletes the journey's cookies.
func (s *Sealer) Clear(w http.ResponseWriter, r *http.Request, path string) {
	for i := 0; i < maxChunks; i++ {
		if _, err := r.Cookie(cookieName + strconv.Itoa(i)); err == nil {
			c := s.cookie(r, path, i)
			c.MaxAge = -1
			http.SetCookie(w, c)
		}
	}
}

var errTooLarge = errors.New("the answers are too long to keep between pages")

func (s *Sealer) cookie(r *http.Request, path string, i int) *http.Cookie {
	return &http.Cookie{Name: cookieName + strconv.Itoa(i), Path: path, HttpOnly: true, Secure: s.isSecure(r), SameSite: http.SameSiteLaxMode}
}

func (s *Sealer) isSecure(r *http.Request) bool {
	switch s.secure {
	case "true":
		return true
	case "false":
		return false
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
