// Package app holds the consent service's use cases: record a decision,
// withdraw scopes, take an erasure request, export a record as FHIR, and
// apply the lapse at 18 of a parent's consent to linkage (lapse.go). Each
// change is stored and announced on poet.consent.decisions (keyed by
// subject reference, so one person's decisions stay in order) in one
// transaction. Adapters (HTTP, store, events) call in here.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/platform/ids"
	"poet.local/services/consent/internal/domain"
)

// Announcement is an event to publish with the transaction that caused it.
type Announcement struct {
	Topic, Key, Type, Subject string
	Payload                   any
}

// Tx is the unit of work: everything in one call of Store.Do commits or
// rolls back together, announcements included. Every read is scoped to one
// organisation.
type Tx interface {
	// ConsentByIdempotencyKey returns the consent first made under key and
	// the fingerprint of the request that made it.
	ConsentByIdempotencyKey(org, key string) (domain.Consent, string, error)
	InsertConsent(c domain.Consent, idempotencyKey, fingerprint string) error
	// Consent returns one of org's consents with its history; forUpdate
	// locks it until commit where the database can (PostgreSQL).
	Consent(org, id string, forUpdate bool) (domain.Consent, error)
	// SubjectConsents pages through org's consents for a subject by id;
	// activeOnly keeps those still active (and locks them for update).
	SubjectConsents(org, subjectRef, after string, limit int, activeOnly bool) ([]domain.Consent, error)
	// AppendChange saves c's new state and appends ch to its history.
	AppendChange(c domain.Consent, ch domain.Change) error
	// SaveState saves c's state (scopes, status, lapse) without a change.
	SaveState(c domain.Consent) error
	// DueLapses returns consents of any organisation whose lapse has come
	// by now and has not been applied, locked for update where possible.
	DueLapses(now time.Time, limit int) ([]domain.Consent, error)
	ErasureByIdempotencyKey(org, key string) (domain.ErasureRequest, error)
	InsertErasure(e domain.ErasureRequest, idempotencyKey string) error
	Announce(...Announcement) error
}

// Store opens units of work.
type Store interface {
	Do(ctx context.Context, fn func(Tx) error) error
}

// Caller is the signed-in member of staff.
type Caller struct {
	Organisation string
	Subject      string // token subject, kept in the history as who recorded a change
	Roles        []string
}

// ValidationError carries each failing field to the HTTP adapter.
type ValidationError struct {
	Detail string
	Fields []domain.FieldError
}

func (e *ValidationError) Error() string { return e.Detail }

// Service is the consent application.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the application over a store; now may be nil (time.Now).
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// timestamp is now in UTC at the precision both databases keep, so a value
// returned equals the value read back later.
func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Record stores a consent decision and announces consent-recorded. A
// decision without participation is refused and stores nothing. A retry
// with the same idempotency key returns the first record and announces
// nothing; the same key with another decision is refused.
func (s *Service) Record(ctx context.Context, who Caller, d domain.Decision, idempotencyKey string) (domain.Consent, error) {
	now := s.timestamp()
	if d.EffectiveAt != nil {
		t := d.EffectiveAt.UTC().Truncate(time.Microsecond)
		d.EffectiveAt = &t
	}
	if d.SubjectTurns18On != nil {
		y, m, day := d.SubjectTurns18On.Date()
		t := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
		d.SubjectTurns18On = &t
	}
	if fields := d.Validate(now); len(fields) > 0 {
		detail := "The consent could not be recorded"
		if d.Refuses() && len(domain.ValidateScopes(d.Scopes)) == 0 {
			detail = domain.NoParticipation
		}
		return domain.Consent{}, &ValidationError{Detail: detail, Fields: fields}
	}
	fp := decisionFingerprint(d)
	var out domain.Consent
	err := s.store.Do(ctx, func(tx Tx) error {
		if idempotencyKey != "" {
			prev, prevFP, err := tx.ConsentByIdempotencyKey(who.Organisation, idempotencyKey)
			switch {
			case err == nil && prevFP != fp:
				return domain.ErrIdempotencyMismatch
			case err == nil:
				out = prev
				return nil
			case !errors.Is(err, domain.ErrNotFound):
				return err
			}
		}
		out = domain.Record(ids.New("cns"), who.Organisation, d, now, who.Subject)
		if err := tx.InsertConsent(out, idempotencyKey, fp); err != nil {
			return err
		}
		return tx.Announce(consentRecorded(out))
	})
	return out, err
}

// Withdraw takes scopes of one of the caller's organisation's consents out
// of force and announces consent-withdrawn with the scopes withdrawn. Scopes
// no longer in force change nothing and announce nothing, so a retry is
// harmless. Another organisation's consent is reported as absent.
func (s *Service) Withdraw(ctx context.Context, who Caller, consentID string, scopes []domain.Scope) (domain.Consent, error) {
	if fields := domain.ValidateScopes(scopes); len(fields) > 0 {
		return domain.Consent{}, &ValidationError{Detail: "The withdrawal could not be recorded", Fields: fields}
	}
	var out domain.Consent
	err := s.store.Do(ctx, func(tx Tx) error {
		c, err := tx.Consent(who.Organisation, consentID, true)
		if err != nil {
			return err
		}
		ch, changed := c.Withdraw(scopes, s.timestamp(), who.Subject)
		out = c
		if !changed {
			return nil
		}
		if err := tx.AppendChange(c, ch); err != nil {
			return err
		}
		return tx.Announce(consentWithdrawn(c, ch))
	})
	return out, err
}

// Consent returns one of the caller's organisation's consents with its
// history; another organisation's is reported as absent.
func (s *Service) Consent(ctx context.Context, who Caller, consentID string) (domain.Consent, error) {
	var out domain.Consent
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Consent(who.Organisation, consentID, false)
		return err
	})
	return out, err
}

// Consents pages through the caller's organisation's consents for a subject,
// oldest first. Another organisation's records are never seen.
func (s *Service) Consents(ctx context.Context, who Caller, subjectRef, after string, limit int) (list []domain.Consent, next string, err error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	err = s.store.Do(ctx, func(tx Tx) error {
		list, err = tx.SubjectConsents(who.Organisation, subjectRef, after, limit+1, false)
		return err
	})
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, err
}

// RequestErasure withdraws every active consent of the subject in the
// caller's organisation (announcing each withdrawal), then announces
// erasure-requested so survey, identity and reporting erase what they hold.
// Processing on the strength of a consent must stop before the data goes,
// hence the withdrawals first on the same key. The consent history stays:
// it is the record of what was agreed and holds no identifier. A retry with
// the same idempotency key returns the first request and announces nothing.
func (s *Service) RequestErasure(ctx context.Context, who Caller, subjectRef, idempotencyKey string) (domain.ErasureRequest, error) {
	if !domain.ValidSubjectRef(subjectRef) {
		return domain.ErasureRequest{}, &ValidationError{Detail: "No erasure could be requested", Fields: []domain.FieldError{{Pointer: "/subject_ref", Reason: "This is not a subject reference"}}}
	}
	var out domain.ErasureRequest
	err := s.store.Do(ctx, func(tx Tx) error {
		if idempotencyKey != "" {
			prev, err := tx.ErasureByIdempotencyKey(who.Organisation, idempotencyKey)
			switch {
			case err == nil && prev.SubjectRef != subjectRef:
				return domain.ErrIdempotencyMismatch
			case err == nil:
				out = prev
				return nil
			case !errors.Is(err, domain.ErrNotFound):
				return err
			}
		}
		now := s.timestamp()
		out = domain.ErasureRequest{ID: ids.New("era"), OrganisationID: who.Organisation, SubjectRef: subjectRef,
			RequestedAt: now, RequestedBy: who.Subject, WithdrawnConsents: []string{}}
		for after := ""; ; {
			active, err := tx.SubjectConsents(who.Organisation, subjectRef, after, 200, true)
			if err != nil {
				return err
			}
			for _, c := range active {
				ch, changed := c.Withdraw(slices.Clone(domain.AllScopes), now, who.Subject)
				if !changed {
					continue
				}
				if err := tx.AppendChange(c, ch); err != nil {
					return err
				}
				if err := tx.Announce(consentWithdrawn(c, ch)); err != nil {
					return err
				}
				out.WithdrawnConsents = append(out.WithdrawnConsents, c.ID)
			}
			if len(active) < 200 {
				break
			}
			after = active[len(active)-1].ID
		}
		if err := tx.InsertErasure(out, idempotencyKey); err != nil {
			return err
		}
		return tx.Announce(erasureRequested(out))
	})
	return out, err
}

func consentRecorded(c domain.Consent) Announcement {
	payload := map[string]any{
		"consent_id":      c.ID,
		"organisation_id": c.OrganisationID,
		"subject_ref":     c.SubjectRef,
		"scopes":          c.Scopes,
		"given_by":        c.GivenBy,
		"method":          c.Method,
		"policy_version":  c.PolicyVersion,
		"effective_at":    c.EffectiveAt.Format(time.RFC3339Nano),
	}
	if c.LapsesAt != nil {
		payload["lapses_at"] = c.LapsesAt.UTC().Format(time.RFC3339Nano)
	}
	return Announcement{Topic: apispecs.TopicConsentDecisions, Key: c.SubjectRef, Type: apispecs.TypeConsentRecorded, Subject: c.SubjectRef, Payload: payload}
}

func consentWithdrawn(c domain.Consent, ch domain.Change) Announcement {
	return Announcement{Topic: apispecs.TopicConsentDecisions, Key: c.SubjectRef, Type: apispecs.TypeConsentWithdrawn, Subject: c.SubjectRef,
		Payload: map[string]any{
			"consent_id":      c.ID,
			"organisation_id": c.OrganisationID,
			"subject_ref":     c.SubjectRef,
			"scopes":          ch.Scopes,
			"effective_at":    ch.EffectiveAt.Format(time.RFC3339Nano),
		}}
}

func erasureRequested(e domain.ErasureRequest) Announcement {
	return Announcement{Topic: apispecs.TopicConsentDecisions, Key: e.SubjectRef, Type: apispecs.TypeErasureRequested, Subject: e.SubjectRef,
		Payload: map[string]any{
			"request_id":      e.ID,
			"organisation_id": e.OrganisationID,
			"subject_ref":     e.SubjectRef,
			"requested_at":    e.RequestedAt.Format(time.RFC3339Nano),
		}}
}

// decisionFingerprint identifies a decision request, so a reused
// idempotency key with another decision is caught. Scope order is not part
// of the decision.
func decisionFingerprint(d domain.Decision) string {
	var effective string
	if d.EffectiveAt != nil {
		effective = d.EffectiveAt.UTC().Format(time.RFC3339Nano)
	}
	scopes := slices.Clone(d.Scopes)
	slices.Sort(scopes)
	var turns18 string
	if d.SubjectTurns18On != nil {
		turns18 = d.SubjectTurns18On.Format(time.DateOnly)
	}
	b, _ := json.Marshal([]any{d.SubjectRef, scopes, d.GivenBy, d.Method, d.PolicyVersion, effective, turns18})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
