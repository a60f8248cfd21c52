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
	_ "time/tzdata" // the UK's calendar whatever the host has installed
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

// LapseScopes are the scopes a parent's or carer's consent gives only until
// the young person's 18th birthday (design §4): from then on only the young
// person can give them (given by self).
var LapseScopes = []Scope{ScopeCrossServiceLinkage, ScopeTransitionSharing}

// ReasonLapsedAt18 is the history reason of a withdrawal made because a
// parent's or carer's consent lapsed.
const ReasonLapsedAt18 = "lapsed at 18"

// LapseSweeper is who the history names for a lapse: no member of staff.
const LapseSweeper = "system:consent-lapse-sweep"

// ukTime is the clock of the young person's birthday: a lapse falls at the
// start of the day in the UK, not in UTC.
var ukTime = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err) // time/tzdata is embedded below: absence is a build bug
	}
	return loc
}()

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
	RecordedBy  string // the member of staff (token subject), or LapseSweeper
	Reason      string // why, when not a person's own decision ("lapsed at 18")
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
	// LapsesAt is when a parent's or carer's consent to the LapseScopes
	// ends (the start of the young person's 18th birthday in the UK); nil
	// when nothing lapses. It is the only date about the person kept here.
	LapsesAt *time.Time
	// LapsedAt is when the lapse was applied; nil until then.
	LapsedAt *time.Time
	History  []Change
}

// Decision is what a practitioner records.
type Decision struct {
	SubjectRef    string
	Scopes        []Scope
	GivenBy       GivenBy
	Method        Method
	PolicyVersion string
	EffectiveAt   *time.Time // nil: now
	// SubjectTurns18On is the date of the young person's 18th birthday,
	// given with a parent's or carer's consent so that its LapseScopes
	// lapse then. Only the lapse time derived from it is kept.
	SubjectTurns18On *time.Time
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
	if d.SubjectTurns18On != nil {
		effective := now
		if d.EffectiveAt != nil {
			effective = *d.EffectiveAt
		}
		lapse := LapseTime(*d.SubjectTurns18On)
		switch {
		case d.GivenBy != GivenByParentCarer:
			add("/subject_turns_18_on", "Only a parent's or carer's consent lapses at 18: leave this out when the person or a practitioner gives it")
		case !lapse.After(effective) && d.grantsLapseScopes():
			add("/subject_turns_18_on", "The young person is already 18, so only they can agree to cross-service linkage or transition sharing (given by self)")
		case lapse.After(effective.AddDate(18, 0, 1)):
			add("/subject_turns_18_on", "This is more than 18 years away: give the date of the young person's 18th birthday")
		}
	}
	return errs
}

// LapseTime is when consent given by a parent or carer lapses for a young
// person who turns 18 on the calendar date of turns18: the start of that
// day in the UK, in UTC.
func LapseTime(turns18 time.Time) time.Time {
	y, m, d := turns18.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, ukTime).UTC()
}

func (d Decision) grantsLapseScopes() bool {
	return slices.ContainsFunc(d.Scopes, func(s Scope) bool { return slices.Contains(LapseScopes, s) })
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
	c := Consent{
		ID: id, OrganisationID: organisationID, SubjectRef: d.SubjectRef, Scopes: scopes,
		GivenBy: d.GivenBy, Method: d.Method, PolicyVersion: d.PolicyVersion, Status: StatusActive,
		EffectiveAt: effective, RecordedAt: now, UpdatedAt: now,
		History: []Change{{Sequence: 1, Action: ActionRecorded, Scopes: scopes, Status: StatusActive, EffectiveAt: effective, RecordedAt: now, RecordedBy: by}},
	}
	if d.GivenBy == GivenByParentCarer && d.SubjectTurns18On != nil && d.grantsLapseScopes() {
		lapse := LapseTime(*d.SubjectTurns18On)
		c.LapsesAt = &lapse
	}
	return c
}

// Withdraw takes scopes out of force from now and appends the change to the
// history. Withdrawing participation withdraws every scope, since all rest
// on it; with no scope left the consent is withdrawn. Scopes not in force
// are ignored; when none of the requested ones is, nothing changes and ok
// is false. The returned change lists the scopes actually withdrawn.
func (c *Consent) Withdraw(scopes []Scope, now time.Time, by string) (Change, bool) {
	return c.withdraw(scopes, now, now, by, "")
}

// LapseDue reports whether c has a lapse that has come and not been applied.
func (c *Consent) LapseDue(now time.Time) bool {
	return c.LapsesAt != nil && c.LapsedAt == nil && !now.Before(*c.LapsesAt)
}

// Lapse applies a due lapse: the LapseScopes still in force are withdrawn,
// effective at LapsesAt, with ReasonLapsedAt18, and LapsedAt is set. The
// consent's other scopes stay, and so does a consent the young person gave
// themselves (a separate record). ok is false when none of the scopes was
// still in force; LapsedAt is set even then, so the lapse is applied once.
func (c *Consent) Lapse(now time.Time) (Change, bool) {
	if !c.LapseDue(now) {
		return Change{}, false
	}
	at := now
	c.LapsedAt = &at
	if c.Status != StatusActive {
		return Change{}, false
	}
	return c.withdraw(LapseScopes, *c.LapsesAt, now, LapseSweeper, ReasonLapsedAt18)
}

func (c *Consent) withdraw(scopes []Scope, effective, now time.Time, by, reason string) (Change, bool) {
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
	ch := Change{Sequence: len(c.History) + 1, Action: ActionWithdrawn, Scopes: out, Status: c.Status, EffectiveAt: effective, RecordedAt: now, RecordedBy: by, Reason: reason}
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
