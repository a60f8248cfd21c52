package app

import (
	"errors"

	"poet.local/services/reporting/internal/domain"
)

// ConsentTx is the part of the unit of work behind consent: withdrawn
// contributions and the national exclusion rollups.
type ConsentTx interface {
	// DeleteContribution forgets a contribution taken out of the rollups.
	DeleteContribution(responseID string) error
	// AddNationalExclusion adds delta to the exclusion rollups (what
	// nationally excluded contributions add to the returns and outcome
	// rollups, which national reads subtract).
	AddNationalExclusion(r domain.ReturnsKey, outcomes []domain.OutcomeKey, delta int) error
}

// countNationalExclusion keeps the exclusion rollups with the others: a
// contribution the person keeps out of national figures (they withdrew
// national-benchmarking) is counted there too, so national reads subtract
// it while the site's own reports keep it.
func countNationalExclusion(tx Tx, c domain.Contribution, delta int) error {
	if !c.ExcludedNationally {
		return nil
	}
	return tx.AddNationalExclusion(domain.ReturnsKeyOf(c), domain.OutcomeKeysOf(c), delta)
}

// WithdrawScore takes a scored response out of every rollup and forgets
// it, in the consumer's transaction, when scoring withdraws it (the
// response was withdrawn or erased, or the person withdrew local-reporting
// consent). A response never counted, or withdrawn before, changes nothing.
func (s *Service) WithdrawScore(tx Tx, responseID string) error {
	prev, err := tx.Contribution(responseID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.count(tx, prev, -1); err != nil {
		return err
	}
	if err := tx.DeleteContribution(responseID); err != nil {
		return err
	}
	if err := recountPeople(tx, prev.PersonKey); err != nil {
		return err
	}
	return tx.CountApplied(-1, s.now().UTC())
}
