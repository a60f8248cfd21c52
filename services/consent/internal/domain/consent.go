// Package domain holds the consent service's types and rules, after FHIR R4
// Consent: one record per decision about one subject reference, with the
// scopes in force, who gave it, how, when, under which policy version, its
// status, and an append-only history of every change. It does no I/O and
// imports no framework.
//
// The central rule (design §4): participation is the survey's own agreement
// question, and every other scope rests on it. A decision without it is a
// "no", and a "no" stores nothing; withdrawing it withdraws everything.
package domain

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors that use cases translate to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	// ErrIdempotencyMismatch: an Idempotency-Key was reused for another request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused for a different request")
)

// Scope is one thing a person can agree to.
type Scope string

// Scopes, in their canonical order (records and events list them so).
const (
	ScopeParticipation        Scope = "participation"
	ScopeLocalReporting       Scope = "local-reporting"
	ScopeNationalBenchmarking Scope = "national-benchmarking"
	ScopeCrossServiceLinkage  Scope = "cross-service-linkage"
	ScopeTransitionSharing    Scope = "transition-sharing"
)

// AllScopes lists every scope in canonical order.
var AllScopes = []Scope{ScopeParticipation, ScopeLocalReporting, ScopeNationalBenchmarking, ScopeCrossServiceLinkage, ScopeTransitionSharing}

// GivenBy says who made the decision.
type GivenBy string

// Who can give consent.
const (
	GivenBySelf                 GivenBy = "self"
	GivenByParentCarer          GivenBy = "parent-carer"
	GivenByPractitionerOnBehalf GivenBy = "practitioner-on-behalf"
)

// Method says how the decision was taken.
type Method string

// Methods of taking consent.
const (
	MethodOnline     Method = "online"
	MethodPaper      Method = "paper"
	MethodTelephone  Method = "telephone"
	MethodFaceToFace Method = "face-to-face"
)

// Status of a consent record.
type Status string

// Statuses.
const (
	StatusActive    Status = "active"
	StatusWithdrawn Status = "withdrawn"
)

// Action is what one history entry did.
type Action string

// Actions.
const (
	ActionRecorded  Action = "recorded"
	ActionWithdrawn Action = "withdrawn"
)

// clockSkew is how far in the future an effective time may lie, for clocks
// a little ahead of ours.
const clockSkew = 5 * time.Minute

// subjectRefPattern is the event contract's (api-specs/events/common.json).
var subjectRefPattern = regexp.MustCompile(`^sub_[0-9A-Za-z_-]{16,64}$`)

// ValidSubjectRef reports whether s has the shape of identity's references.
func ValidSubjectRef(s string) bool { return subjectRefPattern.MatchString(s) }

// FieldError names a failing field by JSON pointer and says why in plain
// English.
type FieldError struct {
	Pointer string
	Reason  string
}

// NoParticipation explains the refusal of a decision without participation.
const NoParticipation = `The person did not agree to take part (no "participation" scope). A "no" stores nothing, so nothing was recorded.`

// Change is one entry of a consent's append-only history.
type Change struct {
	Sequence    int
	Action      Action
	Scopes      []Scope // granted (recorded) or withdrawn (withdrawn)
	Status      Status  // the consent's status after the change
	EffectiveAt time.Time
	RecordedAt  time.Time
	RecordedBy  string // the member of staff (token subject)
}

// Consent is one decision about one subject in one organisation.
type Consent struct {
	ID             string
	OrganisationID string
	SubjectRef     string
	Scopes         []Scope // in force now, canonical order
	GivenBy        GivenBy
	Method         Method
	PolicyVersion  string
	Status         Status
	EffectiveAt    time.Time
	RecordedAt     time.Time
	UpdatedAt      time.Time
	History        []Change
}

// Decision is what a practitioner records.
type Decision struct {
	SubjectRef    string
	Scopes        []Scope
	GivenBy       GivenBy
	Method        Method
	PolicyVersion string
	EffectiveAt   *time.Time // nil: now
}

// Refuses reports whether the decision is a "no": it lacks participation.
func (d Decision) Refuses() bool { return !slices.Contains(d.Scopes, ScopeParticipation) }

// Validate lists every problem with d, judged at now. A decision without
// participation is refused here too, with NoParticipation as the reason.
func (d Decision) Validate(now time.Time) []FieldError {
	var errs []FieldError
	add := func(ptr, reason string) { errs = append(errs, FieldError{ptr, reason}) }
	if !ValidSubjectRef(d.SubjectRef) {
		add("/subject_ref", `Give the subject reference identity made for the person ("sub_" and 16 to 64 letters, digits, "-" or "_")`)
	}
	scopeErrs := ValidateScopes(d.Scopes)
	errs = append(errs, scopeErrs...)
	if len(scopeErrs) == 0 && d.Refuses() {
		add("/scopes", NoParticipation)
	}
	if !slices.Contains([]GivenBy{GivenBySelf, GivenByParentCarer, GivenByPractitionerOnBehalf}, d.GivenBy) {
		add("/given_by", "Choose one of: self, parent-carer, practitioner-on-behalf")
	}
	if !slices.Contains([]Method{MethodOnline, MethodPaper, MethodTelephone, MethodFaceToFace}, d.Method) {
		add("/method", "Choose one of: online, paper, telephone, face-to-face")
	}
	switch pv := d.PolicyVersion; {
	case strings.TrimSpace(pv) == "":
		add("/policy_version", "Give the version of the consent policy the person was shown")
	case pv != strings.TrimSpace(pv) || utf8.RuneCountInString(pv) > 40 || strings.ContainsFunc(pv, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		add("/policy_version", "Use at most 40 characters, without surrounding spaces or control characters")
	}
	if d.EffectiveAt != nil && d.EffectiveAt.After(now.Add(clockSkew)) {
		add("/effective_at", "A decision cannot take effect in the future")
	}
	return errs
}

// ValidateScopes checks a list of scopes: known, each once, at least one.
func ValidateScopes(scopes []Scope) []FieldError {
	if len(scopes) == 0 {
		return []FieldError{{"/scopes", "Give at least one scope"}}
	}
	var errs []FieldError
	seen := map[Scope]bool{}
	for i, s := range scopes {
		ptr := fmt.Sprintf("/scopes/%d", i)
		switch {
		case !slices.Contains(AllScopes, s):
			errs = append(errs, FieldError{ptr, "Choose from: participation, local-reporting, national-benchmarking, cross-service-linkage, transition-sharing"})
		case seen[s]:
			errs = append(errs, FieldError{ptr, "This scope is listed twice"})
		}
		seen[s] = true
	}
	return errs
}

// Record makes the consent for a valid decision: active, scopes in
// canonical order, history starting with the recording.
func Record(id, organisationID string, d Decision, now time.Time, by string) Consent {
	effective := now
	if d.EffectiveAt != nil {
		effective = d.EffectiveAt.UTC()
	}
	scopes := canonical(d.Scopes)
	return Consent{
		ID: id, OrganisationID: organisationID, SubjectRef: d.SubjectRef, Scopes: scopes,
		GivenBy: d.GivenBy, Method: d.Method, PolicyVersion: d.PolicyVersion, Status: StatusActive,
		EffectiveAt: effective, RecordedAt: now, UpdatedAt: now,
		History: []Change{{Sequence: 1, Action: ActionRecorded, Scopes: scopes, Status: StatusActive, EffectiveAt: effective, RecordedAt: now, RecordedBy: by}},
	}
}

// Withdraw takes scopes out of force from now and appends the change to the
// history. Withdrawing participation withdraws every scope, since all rest
// on it; with no scope left the consent is withdrawn. Scopes not in force
// are ignored; when none of the requested ones is, nothing changes and ok
// is false. The returned change lists the scopes actually withdrawn.
func (c *Consent) Withdraw(scopes []Scope, now time.Time, by string) (Change, bool) {
	var out []Scope
	if slices.Contains(scopes, ScopeParticipation) {
		out = slices.Clone(c.Scopes)
	} else {
		for _, s := range c.Scopes {
			if slices.Contains(scopes, s) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		return Change{}, false
	}
	remaining := []Scope{}
	for _, s := range c.Scopes {
		if !slices.Contains(out, s) {
			remaining = append(remaining, s)
		}
	}
	c.Scopes = remaining
	if len(remaining) == 0 {
		c.Status = StatusWithdrawn
	}
	c.UpdatedAt = now
	ch := Change{Sequence: len(c.History) + 1, Action: ActionWithdrawn, Scopes: out, Status: c.Status, EffectiveAt: now, RecordedAt: now, RecordedBy: by}
	c.History = append(c.History, ch)
	return ch, true
}

// ErasureRequest is a subject's request to erase everything about them in
// one organisation.
type ErasureRequest struct {
	ID                string
	OrganisationID    string
	SubjectRef        string
	RequestedAt       time.Time
	RequestedBy       string
	WithdrawnConsents []string // consents this request withdrew
}

func canonical(scopes []Scope) []Scope {
	out := make([]Scope, 0, len(scopes))
	for _, s := range AllScopes {
		if slices.Contains(scopes, s) {
			out = append(out, s)
		}
	}
	return out
}
