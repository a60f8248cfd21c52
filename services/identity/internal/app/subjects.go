package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/vault"
)

// Audit actions and outcomes.
const (
	ActionResolve        = "subject-resolve"
	ActionPersonKey      = "person-key-lookup"
	ActionKEKRotation    = "kek-rotation"
	ActionReviewDecision = "linkage-review-decision"
	ActionLinkageRun     = "linkage-run"

	OutcomeDisclosed = "disclosed"
	OutcomeNotFound  = "not-found"
	OutcomeErased    = "erased"
	OutcomeNoConsent = "no-consent"
	OutcomeNotLinked = "not-linked"
	OutcomeDone      = "done"
)

// Purposes a service may give for a person-key lookup.
var Purposes = []string{"transition-journey", "data-subject-request", "operations"}

var subjectRefPattern = regexp.MustCompile(`^sub_[0-9A-Za-z_-]{16,64}$`)

// RegisterSubject keeps a person's identifiers in the vault and returns the
// caller's organisation's subject reference for them. Registering the same
// local id again returns the same reference (whichever subject key version
// made it) and replaces the vault entry, unless only the local id is given:
// that finds the subject and leaves its identifiers as they are. If the subject has linkage consent,
// it is linked again on the new identifiers. Nothing here is announced,
// logged or stored outside the vault except keyed digests.
func (s *Service) RegisterSubject(ctx context.Context, who Caller, ids domain.Identifiers) (string, error) {
	if !s.keys.complete() {
		return "", ErrNoKeys
	}
	ids = ids.Normalise()
	now := s.timestamp()
	if fields := ids.Validate(now); len(fields) > 0 {
		return "", &ValidationError{Detail: "The subject could not be registered", Fields: fields}
	}
	plaintext, err := json.Marshal(ids)
	if err != nil {
		return "", err
	}
	localDigest := s.keys.Index.LocalID(who.Organisation, ids.LocalID)
	nhsDigest := ""
	if ids.NHSNumber != "" {
		nhsDigest = s.keys.Index.NHSNumber(ids.NHSNumber)
	}
	var ref string
	err = s.store.Do(ctx, func(tx Tx) error {
		sub, created, err := s.findOrMakeSubject(tx, who.Organisation, ids.LocalID, localDigest)
		if err != nil {
			return err
		}
		ref = sub.Ref
		// A local id alone (survey's embedded responses) names the person
		// without re-stating who they are: it must not wipe the identifiers
		// the vault holds, nor the links resting on them.
		if !created && !sub.Erased() && ids.OnlyLocalID() {
			if _, err := tx.VaultEntry(sub.Ref); err == nil {
				return nil
			} else if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		changed := false // did what links this subject change?
		if !created && !sub.Erased() {
			if old, err := s.open(tx, sub.Ref); err == nil {
				changed = old.NHSNumber != ids.NHSNumber || old.NHSNumberVerified != ids.NHSNumberVerified || old.DateOfBirth != ids.DateOfBirth
			} else if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		sealed, err := s.keys.Vault.Seal(sub.Ref, plaintext)
		if err != nil {
			return err
		}
		sub.LocalDigest, sub.NHSDigest, sub.ErasedAt = localDigest, nhsDigest, nil
		if err := tx.SaveSubject(sub, created); err != nil {
			return err
		}
		if err := tx.SaveVaultEntry(sub.Ref, sealed, now); err != nil {
			return err
		}
		return s.relink(ctx, tx, sub, changed)
	})
	if err != nil {
		return "", err
	}
	return ref, nil
}

// findOrMakeSubject finds the subject of (organisation, local id) by its
// blind index, or, for a subject registered before the vault existed, by
// its reference under each configured key version; otherwise it makes a new
// subject with the current version.
func (s *Service) findOrMakeSubject(tx Tx, org, localID, localDigest string) (domain.Subject, bool, error) {
	sub, err := tx.SubjectByLocalDigest(localDigest)
	if err == nil {
		return sub, false, nil
	}
	if !errors.Is(err, domain.ErrNotFound) {
		return domain.Subject{}, false, err
	}
	for _, v := range s.keys.Subjects.Versions() {
		ref, _ := s.keys.Subjects.Ref(v, org, localID)
		sub, err := tx.Subject(ref, true)
		if err == nil && sub.OrganisationID == org {
			return sub, false, nil
		}
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return domain.Subject{}, false, err
		}
	}
	ref, version := s.keys.Subjects.NewRef(org, localID)
	return domain.Subject{Ref: ref, OrganisationID: org, KeyVersion: version}, true, nil
}

// ResolveSubject returns the subject reference of one of the caller's
// organisation's people (the transition team starting a journey), or
// domain.ErrNotFound. Every call is audited, found or not.
func (s *Service) ResolveSubject(ctx context.Context, who Caller, localID string) (string, error) {
	if !s.keys.complete() {
		return "", ErrNoKeys
	}
	localID = domain.NormaliseLocalID(localID)
	if fields := domain.ValidateLocalID(localID); len(fields) > 0 {
		return "", &ValidationError{Detail: "No subject could be looked up", Fields: fields}
	}
	digest := s.keys.Index.LocalID(who.Organisation, localID)
	var ref string
	var found error
	err := s.store.Do(ctx, func(tx Tx) error {
		sub, err := tx.SubjectByLocalDigest(digest)
		outcome := OutcomeDisclosed
		switch {
		case errors.Is(err, domain.ErrNotFound):
			outcome, found = OutcomeNotFound, domain.ErrNotFound
		case err != nil:
			return err
		default:
			ref = sub.Ref
		}
		return tx.Audit(s.audit(who, ActionResolve, ref, "transition-resolve", outcome))
	})
	if err != nil {
		return "", err
	}
	return ref, found
}

// PersonKey returns the reporting person key of a linked subject whose
// consent allows transition sharing, for a service following the person's
// journey. Every lookup is audited with its purpose and outcome, refused
// ones too.
func (s *Service) PersonKey(ctx context.Context, who Caller, ref, purpose string) (string, error) {
	if !s.keys.complete() {
		return "", ErrNoKeys
	}
	if !slices.Contains(Purposes, purpose) {
		return "", &ValidationError{Detail: "Say why you need the person key", Fields: []domain.FieldError{{Pointer: "/purpose", Reason: "Choose one of: transition-journey, data-subject-request, operations"}}}
	}
	if !subjectRefPattern.MatchString(ref) {
		return "", &ValidationError{Detail: "No person key could be looked up", Fields: []domain.FieldError{{Pointer: "/subject_ref", Reason: "This is not a subject reference"}}}
	}
	var key string
	var refused error
	err := s.store.Do(ctx, func(tx Tx) error {
		outcome, err := func() (string, error) {
			sub, err := tx.Subject(ref, false)
			if errors.Is(err, domain.ErrNotFound) {
				refused = domain.ErrNotFound
				return OutcomeNotFound, nil
			}
			if err != nil {
				return "", err
			}
			if sub.Erased() {
				refused = domain.ErrErased
				return OutcomeErased, nil
			}
			ok, err := tx.HasScope(ref, domain.ScopeTransitionSharing, s.timestamp())
			if err != nil {
				return "", err
			}
			if !ok {
				refused = domain.ErrNoConsent
				return OutcomeNoConsent, nil
			}
			if sub.PersonID == "" {
				refused = domain.ErrNotLinked
				return OutcomeNotLinked, nil
			}
			key = s.keys.Reporting.Key(sub.PersonID)
			return OutcomeDisclosed, nil
		}()
		if err != nil {
			return err
		}
		return tx.Audit(s.audit(who, ActionPersonKey, ref, purpose, outcome))
	})
	if err != nil {
		return "", err
	}
	return key, refused
}

// Identifiers opens a subject's vault entry. It is for identity's own
// linkage and checks; no adapter exposes it.
func (s *Service) Identifiers(ctx context.Context, ref string) (domain.Identifiers, error) {
	if !s.keys.complete() {
		return domain.Identifiers{}, ErrNoKeys
	}
	var ids domain.Identifiers
	err := s.store.Do(ctx, func(tx Tx) error {
		sub, err := tx.Subject(ref, false)
		if err != nil {
			return err
		}
		if sub.Erased() {
			return domain.ErrErased
		}
		ids, err = s.open(tx, ref)
		return err
	})
	return ids, err
}

// open decrypts a subject's vault entry.
func (s *Service) open(tx Tx, ref string) (domain.Identifiers, error) {
	sealed, err := tx.VaultEntry(ref)
	if err != nil {
		return domain.Identifiers{}, err
	}
	return s.openSealed(ref, sealed)
}

func (s *Service) audit(who Caller, action, ref, purpose, outcome string) AuditEntry {
	return AuditEntry{At: s.timestamp(), ActorOrganisation: who.Organisation, Actor: who.Subject,
		Action: action, SubjectRef: ref, Purpose: purpose, Outcome: outcome}
}

// checkKEKs is used at start-up and by rotation: every entry must be
// wrapped under a configured version, or it could never be opened again.
func checkKEKs(keks *vault.KEKs, counts map[int]int64) error {
	for v, n := range counts {
		if n > 0 && !keks.Has(v) {
			return fmt.Errorf("%d vault entries are wrapped under key-encryption key version %d, which is not configured: %w", n, v, vault.ErrUnknownKEK)
		}
	}
	return nil
}
