// Package request reads what clients send the same way in every service:
// strict JSON bodies and Idempotency-Key headers, with RFC 9457 problems
// for anything wrong. Problems never echo the body, which may hold an
// identifier.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"poet.local/libs/platform/problem"
)

// DecodeJSON reads the body into v strictly: an unknown field is a typo,
// and dropping it silently would record something other than what was
// meant; trailing data is refused too. what names the thing for the
// problem's detail ("a consent"). On failure it writes the problem (400, or
// 413 past the server's body limit) and reports false.
func DecodeJSON(c *gin.Context, v any, what string) bool {
	raw, err := io.ReadAll(c.Request.Body)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err = dec.Decode(v); err == nil && dec.More() {
			err = errors.New("trailing data")
		}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem.Write(c, problem.New(http.StatusRequestEntityTooLarge, "The request body is too large"))
			return false
		}
		detail := "The request body is not valid JSON for " + what
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			detail += ": unknown field " + name
		}
		problem.Write(c, problem.New(http.StatusBadRequest, detail))
		return false
	}
	return true
}

// IdempotencyKey checks an optional Idempotency-Key header value (8 to 200
// characters, as the OpenAPI documents say); nil means none was sent.
func IdempotencyKey(c *gin.Context, k *string) (string, bool) {
	if k == nil {
		return "", true
	}
	if n := len(*k); n < 8 || n > 200 {
		problem.Write(c, problem.New(http.StatusBadRequest, "An Idempotency-Key has 8 to 200 characters"))
		return "", false
	}
	return *k, true
}
