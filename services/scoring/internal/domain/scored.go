package domain

import (
	"errors"
	"time"
)

// Scored is a stored scoring result. PersonKey is set only when identity had
// linked the response's subject (with consent) at scoring time. SubjectRef
// (scoring's own store only, never announced) lets consent withdrawals and
// erasure find the subject's scores. Reported says whether read models
// were told of it and not told to drop it since; National whether it
// counts in national figures.
type Scored struct {
	Result
	PersonKey  string
	SubjectRef string
	Reported   bool
	National   bool
	ScoredAt   time.Time
}

// Link is the latest word from identity about one subject reference: linked
// to a person key, or (PersonKey empty) unlinked or erased.
type Link struct {
	SubjectRef     string
	OrganisationID string
	PersonKey      string
	EffectiveAt    time.Time
}

// Errors that adapters translate.
var (
	ErrNotFound = errors.New("not found")
	// ErrNoRules: no rule set scores the response's instrument version.
	ErrNoRules = errors.New("no scoring rules for this instrument version")
)
