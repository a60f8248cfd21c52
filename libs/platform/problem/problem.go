// Package problem writes RFC 9457 problem details (application/problem+json).
//
// Every HTTP error the platform returns goes through here, so that clients see
// one shape: a title, a status, a plain-English detail and, for validation
// failures, one entry per failing field with a JSON pointer to it.
package problem

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// FieldError names one failing field by JSON pointer (RFC 6901) and says why.
type FieldError struct {
	Pointer string `json:"pointer"`
	Reason  string `json:"reason"`
}

// Problem is an RFC 9457 problem details object, with the "errors" extension
// member for validation problems.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// Error lets a Problem travel as an error from use cases to the HTTP adapter.
func (p Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// New returns a problem whose title is the standard text of the status.
func New(status int, detail string) Problem {
	return Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

// Validation returns a 422 problem listing each failing field.
func Validation(detail string, errs ...FieldError) Problem {
	p := New(http.StatusUnprocessableEntity, detail)
	p.Title = "Your request has problems"
	p.Errors = errs
	return p
}

// Write sends p and aborts the gin chain. The instance is the request path
// (never the query string, which may carry tokens).
func Write(c *gin.Context, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" && c.Request != nil && c.Request.URL != nil {
		p.Instance = c.Request.URL.Path
	}
	// gin's JSON renderer keeps a Content-Type that is already set.
	c.Header("Content-Type", ContentType)
	c.AbortWithStatusJSON(p.Status, p)
}
