package app

import (
	"context"
	"time"
)

// lapseBatch bounds one sweep transaction.
const lapseBatch = 100

// SweepLapses applies every lapse that has come: a parent's or carer's
// consent to cross-service linkage and transition sharing ends at the start
// of the young person's 18th birthday. Each lapsed consent loses those
// scopes (history: withdrawn, "lapsed at 18", effective at the birthday)
// and consent-withdrawn is announced in the same transaction, so identity
// unlinks and stops sharing the journey. Only the young person can give
// them again, by a consent of their own (given by self). It returns how
// many consents changed; a lapse that finds its scopes withdrawn already is
// only marked applied.
func (s *Service) SweepLapses(ctx context.Context) (int, error) {
	total := 0
	for {
		n, changed := 0, 0
		err := s.store.Do(ctx, func(tx Tx) error {
			now := s.timestamp()
			due, err := tx.DueLapses(now, lapseBatch)
			if err != nil {
				return err
			}
			n = len(due)
			for _, c := range due {
				ch, ok := c.Lapse(now)
				if !ok {
					if err := tx.SaveState(c); err != nil {
						return err
					}
					continue
				}
				if err := tx.AppendChange(c, ch); err != nil {
					return err
				}
				if err := tx.Announce(consentWithdrawn(c, ch)); err != nil {
					return err
				}
				changed++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += changed
		if n < lapseBatch {
			return total, nil
		}
	}
}

// LapseInterval is how often the sweep runs by default: lapses fall on
// calendar days, so a few minutes' delay is immaterial.
const LapseInterval = 5 * time.Minute
