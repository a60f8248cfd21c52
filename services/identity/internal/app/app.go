// Package app holds the identity service's use cases: keep the registry of
// organisations and sites (announcing every change through the outbox, so
// the other services' copies follow); keep each subject's identifiers in the
// encrypted vault and answer with the subject reference the rest of the
// platform knows them by; follow consent decisions to link subjects into
// persons (announcing person keys), unlink them on withdrawal and shred the
// vault entry on erasure; give audited journey access; and run the linkage
// review queue and key rotation. Adapters (HTTP, store, events, start-up
// seeding) call in here; identifiers never leave this package except into
// the vault's ciphertext.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"poet.local/apispecs"
	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/domain/linkage"
	"poet.local/services/identity/internal/vault"
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

	// Subject returns a subject by reference (erased ones included);
	// forUpdate locks it where the database can.
	Subject(ref string, forUpdate bool) (domain.Subject, error)
	// SubjectByLocalDigest finds the subject with this (organisation, local
	// id) blind index.
	SubjectByLocalDigest(digest string) (domain.Subject, error)
	// SubjectsByNHSDigest lists the subjects with this NHS-number blind index.
	SubjectsByNHSDigest(digest string) ([]domain.Subject, error)
	// PersonSubjects lists the subjects linked to an internal person id.
	PersonSubjects(personID string) ([]domain.Subject, error)
	// SaveSubject inserts a subject (created, counting it for its
	// organisation) or updates its digests, person and erasure time.
	SaveSubject(s domain.Subject, created bool) error

	VaultEntry(ref string) (vault.Sealed, error)
	SaveVaultEntry(ref string, s vault.Sealed, at time.Time) error
	// DeleteVaultEntry removes the wrapped data key and the ciphertext.
	DeleteVaultEntry(ref string) error
	// VaultEntriesNotUnder returns up to limit entries wrapped under any
	// KEK version but this one.
	VaultEntriesNotUnder(version, limit int) ([]VaultEntry, error)
	// VaultVersions counts entries by KEK version.
	VaultVersions() (map[int]int64, error)

	// GrantScopes records that a consent puts scopes in force for a subject
	// (until lapsesAt, when set); RevokeScopes takes them out.
	GrantScopes(ref, consentID string, scopes []string, lapsesAt *time.Time) error
	RevokeScopes(ref, consentID string, scopes []string) error
	DeleteGrants(ref string) error
	// HasScope reports whether any consent puts scope in force at at.
	HasScope(ref, scope string, at time.Time) (bool, error)
	// LinkedWithoutScope lists up to limit linked subjects for whom no
	// consent puts scope in force at at (lapsed ones).
	LinkedWithoutScope(scope string, at time.Time, limit int) ([]domain.Subject, error)

	// LockLinkage serialises changes to persons across concurrent
	// transactions (an advisory lock on PostgreSQL; SQLite has one writer).
	LockLinkage() error
	Review(id string, forUpdate bool) (domain.Review, error)
	ReviewForPair(a, b string) (domain.Review, error)
	// ReviewPartners lists the subjects paired with ref in reviews decided d.
	ReviewPartners(ref string, d domain.ReviewDecision) ([]string, error)
	SaveReview(r domain.Review, created bool) error
	// Reviews pages through the queue by id: status "pending", "decided" or
	// "" for all.
	Reviews(status, after string, limit int) ([]domain.Review, error)
	DeleteReviews(ref string) error

	// LinkageInputs lists every subject eligible for linkage at at (not
	// erased, scope in force) that has a vault entry, with the entry.
	LinkageInputs(scope string, at time.Time) ([]LinkageInput, error)
	// LastLinkageRun returns the latest stored run, or domain.ErrNotFound.
	LastLinkageRun() (LinkageRun, error)
	// SaveLinkageRun stores a run and its decisions.
	SaveLinkageRun(r LinkageRun, decisions []LinkageDecision) error
	// DeleteLinkageDecisions forgets every decision naming ref (erasure).
	DeleteLinkageDecisions(ref string) error

	Audit(e AuditEntry) error
	Announce(...Announcement) error
}

// VaultEntry is one subject's sealed identifiers.
type VaultEntry struct {
	SubjectRef string
	Sealed     vault.Sealed
}

// AuditEntry is one row of the audit log: who read or changed what, when,
// why and with what outcome. It holds subject references, never identifiers.
type AuditEntry struct {
	At                time.Time
	ActorOrganisation string
	Actor             string // the token's subject: a member of staff or a service client
	Action            string
	SubjectRef        string
	Purpose           string
	Outcome           string
}

// Store opens units of work.
type Store interface {
	Do(ctx context.Context, fn func(Tx) error) error
}

// Caller is who asks: a signed-in member of staff or service client, or the
// service itself while seeding (System).
type Caller struct {
	Organisation string
	Subject      string // the token's subject, for the audit log
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
	// Matcher decides which subjects are the same person; default
	// DeterministicMatcher.
	Matcher Matcher
	// Logger gets pseudonymous operational messages only; default slog.Default().
	Logger *slog.Logger
	// Linkage configures the batch linkage job's engine; zero means
	// linkage.DefaultConfig().
	Linkage linkage.Config
}

// Keys are identity's secrets. The organisation registry needs none of
// them; every subject use case needs all of them.
type Keys struct {
	Subjects  *domain.SubjectKeyring
	Vault     *vault.KEKs
	Index     *vault.BlindIndex
	Reporting *domain.PersonKeyring
}

func (k Keys) complete() bool {
	return k.Subjects != nil && k.Vault != nil && k.Index != nil && k.Reporting != nil
}

// ErrNoKeys: a subject use case ran without keys configured.
var ErrNoKeys = errors.New("identity: subject keys are not configured")

// Service is the identity application.
type Service struct {
	store        Store
	keys         Keys
	now          func() time.Time
	onRegistered func(domain.Organisation)
	matcher      Matcher
	log          *slog.Logger
	linkage      linkage.Config
}

// New returns the application over a store and identity's keys.
func New(store Store, keys Keys, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Matcher == nil {
		o.Matcher = DeterministicMatcher{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Linkage == (linkage.Config{}) {
		o.Linkage = linkage.DefaultConfig()
	}
	return &Service{store: store, keys: keys, now: o.Now, onRegistered: o.OnRegistered, matcher: o.Matcher, log: o.Logger, linkage: o.Linkage}
}

// timestamp is now in UTC at the precision both databases keep.
func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

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
