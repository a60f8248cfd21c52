package domain

import (
	"errors"
	"time"
)

// Campaign collects responses to one instrument version at one site.
type Campaign struct {
	ID                string
	OrganisationID    string
	SiteID            string
	ServiceLine       ServiceLine
	InstrumentID      string
	InstrumentVersion string
	Name              string
	OpensAt           time.Time
	ClosesAt          *time.Time
	OpenLinkToken     string
	CreatedAt         time.Time
}

// Site is a site as announced by identity's organisation registry.
type Site struct {
	ID             string
	OrganisationID string
	ServiceLine    ServiceLine
}

// Errors that use cases translate to HTTP statuses.
var (
	ErrNotFound      = errors.New("not found")
	ErrForbidden     = errors.New("forbidden")
	ErrCampaignShut  = errors.New("campaign is not open")
	ErrInvalid       = errors.New("invalid")
	ErrWrongInstance = errors.New("instrument does not serve this site's service line")
)

// AcceptsAt reports whether the campaign takes responses at t.
func (c Campaign) AcceptsAt(t time.Time) bool {
	if t.Before(c.OpensAt) {
		return false
	}
	return c.ClosesAt == nil || t.Before(*c.ClosesAt)
}

// Response is one submitted set of answers.
type Response struct {
	ID                string
	CampaignID        string
	OrganisationID    string
	SiteID            string
	ServiceLine       ServiceLine
	InstrumentID      string
	InstrumentVersion string
	Mode              string
	RespondentRole    string
	SubjectRef        string
	Answers           map[string]any
	SubmittedAt       time.Time
	IdempotencyKey    string
}

// Modes of answering.
var Modes = []string{"online", "paper", "telephone", "face-to-face", "embedded-review"}

// ValidMode reports whether m is a known mode of answering.
func ValidMode(m string) bool { return contains(Modes, m) }
