package app

import (
	"context"
	"errors"
	"slices"
	"time"

	"poet.local/apispecs"
	"poet.local/services/identity/internal/domain"
)

// ErrWrongOrganisation: a consent decision names another organisation than
// the one the subject reference belongs to. It is never applied.
var ErrWrongOrganisation = errors.New("the decision's organisation does not hold this subject reference")

// ConsentRecorded is the part of consent-recorded.v1 identity acts on.
type ConsentRecorded struct {
	ConsentID, OrganisationID, SubjectRef string
	Scopes                                []string
	LapsesAt                              *time.Time
}

// ConsentWithdrawn is the part of consent-withdrawn.v1 identity acts on.
type ConsentWithdrawn struct {
	ConsentID, OrganisationID, SubjectRef string
	Scopes                                []string // the scopes withdrawn
}

// ErasureRequested is the part of erasure-requested.v1 identity acts on.
type ErasureRequested struct {
	OrganisationID, SubjectRef string
}

// subjectFor returns the subject a decision is about; known is false when
// identity never made the reference (its grants are still kept, harmless
// and ready). A decision from another organisation is refused.
func (s *Service) subjectFor(tx Tx, org, ref string) (sub domain.Subject, known bool, err error) {
	sub, err = tx.Subject(ref, true)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Subject{}, false, nil
	}
	if err != nil {
		return domain.Subject{}, false, err
	}
	if sub.OrganisationID != org {
		return domain.Subject{}, false, ErrWrongOrganisation
	}
	return sub, true, nil
}

// ApplyConsentRecorded keeps the scopes a consent puts in force; with
// cross-service-linkage among them, the subject is linked (in tx, so the
// subject-linked announcements commit with the consumed event).
func (s *Service) ApplyConsentRecorded(ctx context.Context, tx Tx, ev ConsentRecorded) error {
	sub, known, err := s.subjectFor(tx, ev.OrganisationID, ev.SubjectRef)
	if err != nil {
		return err
	}
	var lapses *time.Time
	if ev.LapsesAt != nil {
		t := ev.LapsesAt.UTC().Truncate(time.Microsecond)
		lapses = &t
	}
	if err := tx.GrantScopes(ev.SubjectRef, ev.ConsentID, ev.Scopes, lapses); err != nil {
		return err
	}
	if !known || !slices.Contains(ev.Scopes, domain.ScopeCrossServiceLinkage) {
		return nil
	}
	if !s.keys.complete() {
		return ErrNoKeys
	}
	return s.relink(ctx, tx, sub, false)
}

// ApplyConsentWithdrawn takes the scopes out of force. A subject left
// without cross-service-linkage consent is unlinked and announced in tx.
func (s *Service) ApplyConsentWithdrawn(ctx context.Context, tx Tx, ev ConsentWithdrawn) error {
	sub, known, err := s.subjectFor(tx, ev.OrganisationID, ev.SubjectRef)
	if err != nil {
		return err
	}
	if err := tx.RevokeScopes(ev.SubjectRef, ev.ConsentID, ev.Scopes); err != nil {
		return err
	}
	if !known || sub.PersonID == "" || !slices.Contains(ev.Scopes, domain.ScopeCrossServiceLinkage) {
		return nil
	}
	still, err := tx.HasScope(sub.Ref, domain.ScopeCrossServiceLinkage, s.timestamp())
	if err != nil || still {
		return err
	}
	if err := tx.LockLinkage(); err != nil {
		return err
	}
	return s.unlink(tx, sub, reasonConsentWithdrawn)
}

// ApplyErasure shreds a subject: it is unlinked if still linked, its vault
// entry (wrapped data key and ciphertext) and blind indexes are deleted, its
// consents, reviews and linkage decisions forgotten, and subject-erased is announced, all in
// tx. Only a tombstone remains (reference, organisation, erasure time), so
// a repeat changes nothing and the person-key lookup can say "erased".
func (s *Service) ApplyErasure(ctx context.Context, tx Tx, ev ErasureRequested) error {
	sub, known, err := s.subjectFor(tx, ev.OrganisationID, ev.SubjectRef)
	if err != nil {
		return err
	}
	if err := tx.DeleteGrants(ev.SubjectRef); err != nil {
		return err
	}
	if !known {
		s.log.InfoContext(ctx, "erasure requested for a subject reference identity holds nothing for", "subject_ref", ev.SubjectRef)
		return nil
	}
	if sub.Erased() {
		return nil
	}
	if err := tx.LockLinkage(); err != nil {
		return err
	}
	if err := s.unlink(tx, sub, reasonErasure); err != nil {
		return err
	}
	if err := tx.DeleteVaultEntry(sub.Ref); err != nil {
		return err
	}
	if err := tx.DeleteReviews(sub.Ref); err != nil {
		return err
	}
	if err := tx.DeleteLinkageDecisions(sub.Ref); err != nil {
		return err
	}
	now := s.timestamp()
	sub.PersonID, sub.LocalDigest, sub.NHSDigest, sub.ErasedAt = "", "", "", &now
	if err := tx.SaveSubject(sub, false); err != nil {
		return err
	}
	return tx.Announce(Announcement{Topic: apispecs.TopicIdentityLinks, Key: sub.Ref, Type: apispecs.TypeSubjectErased, Subject: sub.Ref,
		Payload: map[string]any{
			"subject_ref":     sub.Ref,
			"organisation_id": sub.OrganisationID,
			"effective_at":    now.Format(time.RFC3339Nano),
		}})
}

// SweepLapsedConsents unlinks every linked subject whose linkage consent
// has lapsed (a parent's consent for a child ends at 18), announcing
// subject-unlinked with reason consent-lapsed. It returns how many.
func (s *Service) SweepLapsedConsents(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.store.Do(ctx, func(tx Tx) error {
			if err := tx.LockLinkage(); err != nil {
				return err
			}
			lapsed, err := tx.LinkedWithoutScope(domain.ScopeCrossServiceLinkage, s.timestamp(), 100)
			if err != nil {
				return err
			}
			for _, sub := range lapsed {
				if err := s.unlink(tx, sub, reasonConsentLapsed); err != nil {
					return err
				}
			}
			n = len(lapsed)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < 100 {
			return total, nil
		}
	}
}
