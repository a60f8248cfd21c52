// Package app holds the identity service's use cases: keep the registry of
// organisations and sites (announcing every change through the outbox, so
// the other services' copies follow), and turn a person's local id into the
// subject reference the rest of the platform knows them by. Adapters (HTTP,
// store, events, start-up seeding) call in here.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"poet.local/apispecs"
	"poet.local/services/identity/internal/domain"
)

// Announcement is an event to publish with the transaction that caused it.
type Announcement struct {
	Topic, Key, Type, Subject string
	Payload                   any
}

// IdempotentResult is what a POST with an Idempotency-Key produced, kept so
// a retry gets the same answer.
type IdempotentResult struct {
	Fingerprint  string // hash of the normalised request
	Created      bool
	Organisation domain.Organisation
}

// Tx is the unit of work: everything in one call of Store.Do commits or
// rolls back together, announcements included.
type Tx interface {
	// Organisation returns the organisation with its sites; forUpdate locks
	// it until commit where the database can (PostgreSQL), so concurrent
	// changes to one organisation apply and announce in order.
	Organisation(id string, forUpdate bool) (domain.Organisation, error)
	Organisations(after string, limit int) ([]domain.Organisation, error)
	// SiteOwner and IssuerOwner return the organisation holding a site or
	// issuer, or domain.ErrNotFound.
	SiteOwner(siteID string) (string, error)
	IssuerOwner(issuer string) (string, error)
	// SaveOrganisation inserts (created) or updates the organisation and
	// upserts its sites.
	SaveOrganisation(o domain.Organisation, created bool) error
	IdempotentResult(scope, key string) (IdempotentResult, error)
	RememberResult(scope, key string, r IdempotentResult, at time.Time) error
	// RecordSubject keeps a subject reference and counts it for its
	// organisation the first time it is seen; it reports whether it was new.
	RecordSubject(ref, organisationID string) (bool, error)
	Announce(...Announcement) error
}

// Store opens units of work.
type Store interface {
	Do(ctx context.Context, fn func(Tx) error) error
}

// Caller is who asks: a signed-in member of staff, or the service itself
// while seeding (System).
type Caller struct {
	Organisation string
	Roles        []string
}

// System is the caller for start-up seeding.
var System = Caller{Organisation: "system"}

// ValidationError carries each failing field to the HTTP adapter.
type ValidationError struct {
	Detail string
	Fields []domain.FieldError
}

func (e *ValidationError) Error() string { return e.Detail }

// Options tune New; zero values are fine.
type Options struct {
	Now func() time.Time
	// OnRegistered runs after the commit of every created or changed
	// organisation (the service registers the issuer with its verifier).
	OnRegistered func(domain.Organisation)
}

// Service is the identity application.
type Service struct {
	store        Store
	keys         *domain.SubjectKeyring
	now          func() time.Time
	onRegistered func(domain.Organisation)
}

// New returns the application over a store and the subject keyring.
func New(store Store, keys *domain.SubjectKeyring, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: store, keys: keys, now: o.Now, onRegistered: o.OnRegistered}
}

// Registration is the outcome of RegisterOrganisation.
type Registration struct {
	Organisation domain.Organisation
	Created      bool // first registration of this id
	Changed      bool // created or changed, hence announced
}

// RegisterOrganisation upserts an organisation by id. A create or change is
// saved and announced in one transaction; an unchanged registration writes
// and announces nothing. With an idempotency key, a retry returns the first
// outcome and a different request under the same key is refused.
func (s *Service) RegisterOrganisation(ctx context.Context, who Caller, o domain.Organisation, idempotencyKey string) (Registration, error) {
	o = o.Normalise()
	if fields := o.Validate(); len(fields) > 0 {
		return Registration{}, &ValidationError{Detail: "The organisation could not be registered", Fields: fields}
	}
	fp := fingerprint(o)
	var out Registration
	err := s.store.Do(ctx, func(tx Tx) error {
		if idempotencyKey != "" {
			prev, err := tx.IdempotentResult(who.Organisation, idempotencyKey)
			switch {
			case err == nil && prev.Fingerprint != fp:
				return domain.ErrIdempotencyMismatch
			case err == nil:
				out = Registration{Organisation: prev.Organisation, Created: prev.Created}
				return nil
			case !errors.Is(err, domain.ErrNotFound):
				return err
			}
		}
		cur, err := tx.Organisation(o.ID, true)
		exists := err == nil
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		if fields, err := s.conflicts(tx, cur, exists, o); err != nil {
			return err
		} else if len(fields) > 0 {
			return &ValidationError{Detail: "The organisation could not be registered", Fields: fields}
		}
		switch {
		case exists && domain.SameState(cur, o):
			out = Registration{Organisation: cur}
		default:
			now := s.now().UTC().Truncate(time.Microsecond)
			o.CreatedAt, o.UpdatedAt = now, now
			if exists {
				o.CreatedAt = cur.CreatedAt
			}
			if err := tx.SaveOrganisation(o, !exists); err != nil {
				return err
			}
			if err := tx.Announce(organisationRegistered(o)); err != nil {
				return err
			}
			out = Registration{Organisation: o, Created: !exists, Changed: true}
		}
		if idempotencyKey != "" {
			return tx.RememberResult(who.Organisation, idempotencyKey,
				IdempotentResult{Fingerprint: fp, Created: out.Created, Organisation: out.Organisation}, s.now().UTC())
		}
		return nil
	})
	if err != nil {
		return Registration{}, err
	}
	if out.Changed && s.onRegistered != nil {
		s.onRegistered(out.Organisation)
	}
	return out, nil
}

// conflicts finds what the registry's other entries forbid: a site or issuer
// held by another organisation, or a registered site left out.
func (s *Service) conflicts(tx Tx, cur domain.Organisation, exists bool, o domain.Organisation) ([]domain.FieldError, error) {
	var fields []domain.FieldError
	for i, site := range o.Sites {
		owner, err := tx.SiteOwner(site.ID)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return nil, err
		}
		if err == nil && owner != o.ID {
			fields = append(fields, domain.FieldError{Pointer: fmt.Sprintf("/sites/%d/id", i), Reason: "This site belongs to another organisation"})
		}
	}
	owner, err := tx.IssuerOwner(o.Issuer)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return nil, err
	}
	if err == nil && owner != o.ID {
		fields = append(fields, domain.FieldError{Pointer: "/issuer", Reason: "Another organisation signs in with this issuer; each organisation has its own"})
	}
	if exists {
		for _, id := range domain.MissingSites(cur, o) {
			fields = append(fields, domain.FieldError{Pointer: "/sites", Reason: fmt.Sprintf("The registered site %s is missing; a site may hold records, so it cannot be removed", id)})
		}
	}
	return fields, nil
}

// Organisation returns one registered organisation.
func (s *Service) Organisation(ctx context.Context, id string) (domain.Organisation, error) {
	var out domain.Organisation
	err := s.store.Do(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Organisation(id, false)
		return err
	})
	return out, err
}

// Organisations pages through the registry by id.
func (s *Service) Organisations(ctx context.Context, after string, limit int) (list []domain.Organisation, next string, err error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	err = s.store.Do(ctx, func(tx Tx) error {
		list, err = tx.Organisations(after, limit+1)
		return err
	})
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	return list, next, err
}

// SubjectRef returns the caller's organisation's reference for a person's
// local id and records it. The local id is used for the HMAC only: it is
// neither stored nor put in any error, log line or event.
func (s *Service) SubjectRef(ctx context.Context, who Caller, localID string) (string, error) {
	if s.keys == nil {
		return "", errors.New("identity: no subject key configured")
	}
	localID = domain.NormaliseLocalID(localID)
	if fields := domain.ValidateLocalID(localID); len(fields) > 0 {
		return "", &ValidationError{Detail: "No subject reference could be made", Fields: fields}
	}
	ref := s.keys.Ref(who.Organisation, localID)
	err := s.store.Do(ctx, func(tx Tx) error {
		_, err := tx.RecordSubject(ref, who.Organisation)
		return err
	})
	if err != nil {
		return "", err
	}
	return ref, nil
}

func organisationRegistered(o domain.Organisation) Announcement {
	sites := make([]map[string]any, len(o.Sites))
	for i, site := range o.Sites {
		sites[i] = map[string]any{"site_id": site.ID, "name": site.Name, "service_line": string(site.ServiceLine)}
	}
	payload := map[string]any{
		"organisation_id": o.ID,
		"name":            o.Name,
		"kind":            string(o.Kind),
		"region":          o.Region,
		"issuer":          o.Issuer,
		"audience":        o.Audience,
		"roles_claim":     o.RolesClaim,
		"sites":           sites,
	}
	// Keyed by organisation id: the topic is compacted to each one's latest state.
	return Announcement{Topic: apispecs.TopicIdentityOrganisations, Key: o.ID, Type: apispecs.TypeOrganisationRegistered, Subject: o.ID, Payload: payload}
}

// fingerprint identifies a normalised registration request, timestamps aside.
func fingerprint(o domain.Organisation) string {
	o.CreatedAt, o.UpdatedAt = time.Time{}, time.Time{}
	b, _ := json.Marshal(o) // plain strings and slices: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
