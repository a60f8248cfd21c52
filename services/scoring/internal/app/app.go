// Package app holds the scoring service's use cases: score each submitted
// response by the active rules of its instrument version and announce the
// result, keep identity's subject links so linked responses carry a person
// key, honour consent (a score counts where the subject's consent lets it,
// and withdrawals and erasure take it out again: consent.go), and let an
// organisation's analysts read their own scored responses. Adapters (HTTP,
// store, events) call in here.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"poet.local/apispecs"
	"poet.local/services/scoring/internal/domain"
)

// Announcement is an event to publish with the transaction that caused it.
type Announcement struct {
	Topic, Key, Type, Subject string
	Payload                   any
}

// Tx is the unit of work: everything in one call of Store.Do (or one
// consumed event) commits or rolls back together, announcements included.
type Tx interface {
	// InsertScored stores s unless its response was scored already;
	// inserted is false then, and nothing was written.
	InsertScored(s domain.Scored) (inserted bool, err error)
	Scored(responseID string) (domain.Scored, error)
	// Link returns the latest word on a subject reference; ErrNotFound if none.
	Link(subjectRef string) (domain.Link, error)
	SaveLink(domain.Link) error
	Announce(...Announcement) error

	// Consent (consent.go): the scopes in force of each consent seen, by
	// consent id, and the subject's scored responses.
	SubjectConsent(consentID string) (ConsentScopes, error)
	SaveSubjectConsent(ConsentScopes) error
	// SubjectConsentScopes lists the scopes in force of each of the
	// subject's consents seen.
	SubjectConsentScopes(subjectRef string) ([][]string, error)
	DeleteSubjectConsents(org, subjectRef string) error
	// SubjectScores lists the subject's scored responses, oldest first.
	SubjectScores(subjectRef string) ([]domain.Scored, error)
	// SaveUse records whether a score is reported and counted nationally.
	SaveUse(responseID string, reported, national bool) error
	DeleteScored(responseID string) error
}

// Store opens units of work.
type Store interface {
	Do(ctx context.Context, fn func(Tx) error) error
}

// Caller is the signed-in member of staff.
type Caller struct {
	Organisation string
	Roles        []string
}

// Service is the scoring application.
type Service struct {
	store Store
	rules *domain.Catalogue
	now   func() time.Time
}

// New returns the application over a store and the loaded rules.
func New(store Store, rules *domain.Catalogue, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, rules: rules, now: now}
}

// RuleSet is a loaded rule set and whether it scores new responses.
type RuleSet struct {
	domain.Rules
	Active bool
}

// RuleSets lists every loaded rule set.
func (s *Service) RuleSets() []RuleSet {
	all := s.rules.All()
	out := make([]RuleSet, len(all))
	for i, r := range all {
		out[i] = RuleSet{Rules: r, Active: s.rules.IsActive(r)}
	}
	return out
}

// ScoreResponse scores r by the active rules of its instrument version,
// stores the result and announces response-scored in tx. A response scored
// before (a re-delivery under another event id) is left as it was and not
// announced again. An instrument version without rules is ErrNoRules and an
// unscorable answer a *domain.AnswerError: retrying fixes neither.
func (s *Service) ScoreResponse(tx Tx, r domain.Response) error {
	rules, ok := s.rules.Active(r.InstrumentID, r.InstrumentVersion)
	if !ok {
		return fmt.Errorf("%w: %s@%s", domain.ErrNoRules, r.InstrumentID, r.InstrumentVersion)
	}
	res, err := domain.Score(rules, r)
	if err != nil {
		return err
	}
	scored := domain.Scored{Result: res, SubjectRef: r.SubjectRef, ScoredAt: s.now().UTC()}
	use := domain.Everywhere
	if r.SubjectRef != "" {
		l, err := tx.Link(r.SubjectRef)
		switch {
		case err == nil:
			scored.PersonKey = l.PersonKey // empty once unlinked
		case !errors.Is(err, domain.ErrNotFound):
			return err
		}
		if use, err = s.useOf(tx, r.SubjectRef); err != nil {
			return err
		}
	}
	scored.Reported, scored.National = use.Local, use.National
	inserted, err := tx.InsertScored(scored)
	if err != nil || !inserted || !scored.Reported {
		return err // a score the person's consent keeps out of reports is not announced
	}
	return tx.Announce(responseScored(scored))
}

// RecordLink keeps identity's latest word on a subject reference. Events
// about one subject arrive in order (they share a key), but a replay or a
// re-keyed topic may bring an older one late: it never overrides a newer.
func (s *Service) RecordLink(tx Tx, l domain.Link) error {
	cur, err := tx.Link(l.SubjectRef)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return err
	case l.EffectiveAt.Before(cur.EffectiveAt):
		return nil
	}
	return tx.SaveLink(l)
}

// Score returns a scored response of the caller's organisation. Another
// organisation's response is reported as absent, so ids cannot be probed,
// and so is one the person's consent keeps out of reports.
func (s *Service) Score(ctx context.Context, who Caller, responseID string) (domain.Scored, error) {
	var out domain.Scored
	err := s.store.Do(ctx, func(tx Tx) error {
		sc, err := tx.Scored(responseID)
		if err != nil {
			return err
		}
		if sc.OrganisationID != who.Organisation || !sc.Reported {
			return domain.ErrNotFound // withheld from reports: not shown either
		}
		out = sc
		return nil
	})
	return out, err
}

// responseScored is the announcement of s. Its key is the person key when
// linked, so one person's scores stay in order, else the response id.
func responseScored(s domain.Scored) Announcement {
	payload := scoredPayload{Result: s.Result, National: s.National}
	key := s.ResponseID
	if s.PersonKey != "" {
		payload.PersonKey = s.PersonKey
		key = s.PersonKey
	}
	return Announcement{Topic: apispecs.TopicScoringScores, Key: key, Type: apispecs.TypeResponseScored, Subject: key, Payload: payload}
}

// scoredPayload is api-specs/events/scoring/response-scored.v1.json.
type scoredPayload struct {
	domain.Result
	PersonKey string `json:"person_key,omitempty"`
	National  bool   `json:"national"`
}
