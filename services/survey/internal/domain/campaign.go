package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
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
	// Cohort is a free label grouping campaigns ("annual reviews 2026").
	Cohort string
	// Modes are the modes of answering the campaign takes; empty means
	// every mode (campaigns made before modes existed).
	Modes         []string
	OpensAt       time.Time
	ClosesAt      *time.Time
	OpenLinkToken string
	CreatedAt     time.Time
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
	// ErrInvitationUsed: the invitation's one response has been given.
	ErrInvitationUsed = errors.New("invitation already used")
	// ErrExpired: an invitation or saved draft is past its expiry.
	ErrExpired = errors.New("expired")
	// ErrConflict: the request clashes with what is stored (an
	// idempotency key reused for a different request, say).
	ErrConflict = errors.New("conflict")
	// ErrDuplicate: a unique key was taken by a concurrent transaction;
	// the use case retries once and then sees the winner's row.
	ErrDuplicate = errors.New("duplicate key")
)

// AcceptsAt reports whether the campaign takes responses at t.
func (c Campaign) AcceptsAt(t time.Time) bool {
	if t.Before(c.OpensAt) {
		return false
	}
	return c.ClosesAt == nil || t.Before(*c.ClosesAt)
}

// AllowsMode reports whether the campaign takes answers given in mode m.
func (c Campaign) AllowsMode(m string) bool {
	return len(c.Modes) == 0 || contains(c.Modes, m)
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
const (
	ModeOnline      = "online"
	ModePaper       = "paper"
	ModeTelephone   = "telephone"
	ModeFaceToFace  = "face-to-face"
	ModeEmbedded    = "embedded-review"
	MaxCohortLength = 100
)

// Modes lists every mode of answering.
var Modes = []string{ModeOnline, ModePaper, ModeTelephone, ModeFaceToFace, ModeEmbedded}

// EntryModes are the modes in which a member of staff enters someone
// else's answers (paper returns, telephone and face-to-face interviews).
var EntryModes = []string{ModePaper, ModeTelephone, ModeFaceToFace}

// ValidMode reports whether m is a known mode of answering.
func ValidMode(m string) bool { return contains(Modes, m) }

// ValidEntryMode reports whether staff may enter answers given in mode m.
func ValidEntryMode(m string) bool { return contains(EntryModes, m) }

// CheckModes validates a campaign's allowed modes and returns them in the
// canonical order of Modes, without repeats; none given means all.
func CheckModes(modes []string) ([]string, string) {
	if len(modes) == 0 {
		return append([]string(nil), Modes...), ""
	}
	for _, m := range modes {
		if !ValidMode(m) {
			return nil, "Each mode must be one of " + strings.Join(Modes, ", ")
		}
	}
	var out []string
	for _, m := range Modes {
		if contains(modes, m) {
			out = append(out, m)
		}
	}
	return out, ""
}

// CheckCohort validates a cohort label: at most MaxCohortLength characters,
// no control characters. Blank is allowed (no cohort).
func CheckCohort(s string) string {
	if utf8.RuneCountInString(s) > MaxCohortLength {
		return "Keep the cohort label to 100 characters or fewer"
	}
	if strings.IndexFunc(s, control) >= 0 {
		return "The cohort label may not contain control characters"
	}
	return ""
}

// Entry records that a member of staff entered a response on someone's
// behalf, and how it was given. It is kept for audit, never announced.
type Entry struct {
	ResponseID     string
	CampaignID     string
	OrganisationID string
	EnteredBy      string // the staff token's subject
	EnteredAt      time.Time
	Mode           string
}

// HashToken is what is stored of a respondent's token (invitation or draft):
// hex SHA-256. Tokens carry 256 random bits, so a plain hash cannot be
// reversed by guessing, and a copy of the database opens nothing.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Invitation is a single-use personal link to a campaign. Only the hash of
// its token is kept; the token itself is shown once, when it is issued.
type Invitation struct {
	ID             string
	CampaignID     string
	OrganisationID string
	TokenHash      string
	ExpiresAt      *time.Time
	UsedAt         *time.Time
	ResponseID     string
	IdempotencyKey string
	CreatedAt      time.Time
}

// Usable reports why the invitation cannot take a response at now: it has
// been used (ErrInvitationUsed) or has expired (ErrExpired); nil if it can.
func (i Invitation) Usable(now time.Time) error {
	switch {
	case i.UsedAt != nil:
		return ErrInvitationUsed
	case i.ExpiresAt != nil && !now.Before(*i.ExpiresAt):
		return ErrExpired
	}
	return nil
}

// Draft is a respondent's saved, unfinished answers, found by the hash of
// the token that opened it (an invitation's, or an open link's draft token).
type Draft struct {
	TokenHash    string
	CampaignID   string
	InvitationID string // empty for an open-link draft
	Answers      map[string]any
	SavedAt      *time.Time // nil until first saved
	ExpiresAt    *time.Time
}

// Expired reports whether the draft has passed its expiry at now.
func (d Draft) Expired(now time.Time) bool { return d.ExpiresAt != nil && !now.Before(*d.ExpiresAt) }
