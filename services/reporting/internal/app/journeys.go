package app

import (
	"context"
	"errors"
	"slices"

	"poet.local/services/reporting/internal/domain"
)

// PersonKeys is identity's person-key lookup, asked with reporting's own
// service credentials for the purpose of a transition journey. It answers
// ErrNoTransitionConsent when the subject has no transition-sharing consent
// in force and domain.ErrNotFound when the subject is unknown, erased or not
// linked to a person.
type PersonKeys interface {
	PersonKey(ctx context.Context, subjectRef string) (string, error)
}

var (
	// ErrNoTransitionConsent: the person has not agreed to their journey
	// being shared.
	ErrNoTransitionConsent = errors.New("no transition-sharing consent")
	// ErrJourneysUnavailable: reporting has no way to ask identity for
	// person keys (not configured).
	ErrJourneysUnavailable = errors.New("journeys are not configured")
)

// Journey outcomes written to the journey audit log.
const (
	JourneyDisclosed = "disclosed"
	JourneyNoConsent = "no-consent"
	JourneyNotFound  = "not-found"
)

// JourneyRead is one audited read of a journey. It names the caller and the
// outcome, never the subject or the person.
type JourneyRead struct {
	Organisation, Actor, Outcome string
	Entries                      int
}

// JourneyTx is the part of the unit of work behind journeys and the cohort
// rollup.
type JourneyTx interface {
	// PersonContributions are every counted contribution of a person.
	PersonContributions(personKey string) ([]domain.Contribution, error)
	// PersonCohort is the person's standing in the cohort rollup (First ""
	// when none).
	PersonCohort(personKey string) (domain.PersonCohort, error)
	// SavePersonCohort replaces it (First "" forgets the person).
	SavePersonCohort(personKey string, pc domain.PersonCohort) error
	// AddCohortTransition adds delta people to a cohort rollup cell.
	AddCohortTransition(k domain.TransitionKey, delta int) error
	// CohortTransitions is the whole cohort rollup.
	CohortTransitions() (map[domain.TransitionKey]int, error)
	AuditJourneyRead(JourneyRead) error
}

// UsePersonKeys gives the service its way to identity; without one,
// journeys answer ErrJourneysUnavailable.
func (s *Service) UsePersonKeys(p PersonKeys) { s.personKeys = p }

// Journey is the sequence of a consenting person's surveys across services
// and ages, for their transition team. The person key comes from identity,
// which checks transition-sharing consent and audits the lookup; the read
// is audited here too, with the member of staff. A person with no survey at
// any of the caller's organisation's sites is not found: identity's answer
// does not say whose subject reference it was, so this is what keeps a
// team to people their own organisation has surveyed.
func (s *Service) Journey(ctx context.Context, who Caller, subjectRef string) (domain.Journey, error) {
	if s.personKeys == nil {
		return domain.Journey{}, ErrJourneysUnavailable
	}
	key, err := s.personKeys.PersonKey(ctx, subjectRef)
	outcome := JourneyDisclosed
	switch {
	case errors.Is(err, ErrNoTransitionConsent):
		outcome = JourneyNoConsent
	case errors.Is(err, domain.ErrNotFound):
		outcome = JourneyNotFound
	case err != nil:
		return domain.Journey{}, err
	}
	var j domain.Journey
	txErr := s.store.Do(ctx, func(tx Tx) error {
		if outcome == JourneyDisclosed {
			cs, err := tx.PersonContributions(key)
			if err != nil {
				return err
			}
			j = domain.BuildJourney(subjectRef, cs)
			if !j.IncludesOrganisation(who.Organisation) {
				outcome, j = JourneyNotFound, domain.Journey{}
			}
		}
		return tx.AuditJourneyRead(JourneyRead{Organisation: who.Organisation, Actor: who.Subject, Outcome: outcome, Entries: len(j.Entries)})
	})
	switch {
	case txErr != nil:
		return domain.Journey{}, txErr
	case outcome == JourneyNoConsent:
		return domain.Journey{}, ErrNoTransitionConsent
	case outcome == JourneyNotFound:
		return domain.Journey{}, domain.ErrNotFound
	}
	return j, nil
}

// CohortTransitions is the national table of people moving between service
// lines, from the cohort rollup alone, protected and rounded.
func (s *Service) CohortTransitions(ctx context.Context) (domain.CohortTransitions, error) {
	var counts map[domain.TransitionKey]int
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		counts, err = tx.CohortTransitions()
		return err
	})
	if err != nil {
		return domain.CohortTransitions{}, err
	}
	return domain.BuildCohortTransitions(counts, s.threshold), nil
}

// recountPeople brings the cohort rollup up to date for each person whose
// contributions changed in this transaction: their standing is worked out
// again from their contributions (a handful each) and only the difference
// is applied to the rollup, so out-of-order arrivals, re-scoring and
// withdrawals all come out right.
func recountPeople(tx Tx, personKeys ...string) error {
	slices.Sort(personKeys)
	for _, pk := range slices.Compact(personKeys) {
		if pk == "" {
			continue
		}
		cs, err := tx.PersonContributions(pk)
		if err != nil {
			return err
		}
		old, err := tx.PersonCohort(pk)
		if err != nil {
			return err
		}
		now := domain.CohortOf(cs)
		for k, d := range domain.CohortDelta(old.Transitions, now.Transitions) {
			if err := tx.AddCohortTransition(k, d); err != nil {
				return err
			}
		}
		if err := tx.SavePersonCohort(pk, now); err != nil {
			return err
		}
	}
	return nil
}
