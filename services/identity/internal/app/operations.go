package app

import (
	"context"
	"strconv"
)

// rotationBatch bounds one rotation transaction, so a large vault does not
// hold one long lock.
const rotationBatch = 200

// Rotation is the outcome of RotateKEK.
type Rotation struct {
	KEKVersion int           // the current version, now wrapping every entry
	Rewrapped  int           // entries moved in this call
	Entries    map[int]int64 // entries by KEK version afterwards
}

// RotateKEK re-wraps every vault entry's data key under the current KEK
// (IDENTITY_KEK_CURRENT), in batches; ciphertexts are untouched. Run it after
// adding a KEK version; once it reports every entry under the current
// version, older versions can be removed from configuration. It is safe to
// repeat and is audited.
func (s *Service) RotateKEK(ctx context.Context, who Caller) (Rotation, error) {
	if !s.keys.complete() {
		return Rotation{}, ErrNoKeys
	}
	current := s.keys.Vault.Current()
	out := Rotation{KEKVersion: current}
	for {
		n := 0
		err := s.store.Do(ctx, func(tx Tx) error {
			entries, err := tx.VaultEntriesNotUnder(current, rotationBatch)
			if err != nil {
				return err
			}
			now := s.timestamp()
			for _, e := range entries {
				sealed, err := s.keys.Vault.Rewrap(e.SubjectRef, e.Sealed)
				if err != nil {
					return err
				}
				if err := tx.SaveVaultEntry(e.SubjectRef, sealed, now); err != nil {
					return err
				}
			}
			n = len(entries)
			return nil
		})
		if err != nil {
			return out, err
		}
		out.Rewrapped += n
		if n < rotationBatch {
			break
		}
	}
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		if out.Entries, err = tx.VaultVersions(); err != nil {
			return err
		}
		return tx.Audit(s.audit(who, ActionKEKRotation, "", "operations", OutcomeDone+": "+strconv.Itoa(out.Rewrapped)+" re-wrapped"))
	})
	return out, err
}

// CheckVault counts vault entries by KEK version and fails if any version
// in use is not configured: the service then refuses to start rather than
// meet unreadable entries later.
func (s *Service) CheckVault(ctx context.Context) (map[int]int64, error) {
	if !s.keys.complete() {
		return nil, ErrNoKeys
	}
	var counts map[int]int64
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		counts, err = tx.VaultVersions()
		return err
	})
	if err != nil {
		return nil, err
	}
	return counts, checkKEKs(s.keys.Vault, counts)
}
