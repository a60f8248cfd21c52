// Package store is the identity service's gorm adapter: the organisation and
// site registry, idempotency results, subjects (references, blind-index
// digests, person links) with their per organisation count, the vault's
// sealed entries, consent scopes in force, the linkage review queue, the
// audit log, and the outbox announcements written in the same transaction.
// It stores what the application gives it: identifiers reach it only as
// ciphertext.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"poet.local/libs/storage"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the goose migrations, one folder per dialect.
func Migrations() fs.FS {
	f, _ := fs.Sub(migrations, "migrations")
	return f
}

// ErrConflict: a concurrent transaction wrote the same row first; the
// request can be retried.
var ErrConflict = errors.New("store: concurrent change")

// Announcer writes announcements into the outbox inside tx.
type Announcer func(ctx context.Context, tx *gorm.DB, a ...app.Announcement) error

// Store implements app.Store over gorm.
type Store struct {
	db       *gorm.DB
	announce Announcer
	notify   func()
	postgres bool
}

// New returns a Store; notify wakes the outbox relay after each commit that
// announced something.
func New(db *gorm.DB, announce Announcer, notify func()) *Store {
	return &Store{db: db, announce: announce, notify: notify, postgres: storage.Dialect(db) == storage.DialectPostgres}
}

// Do runs fn in one transaction and wakes the relay when it committed.
func (s *Store) Do(ctx context.Context, fn func(app.Tx) error) error {
	announced := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := &txn{ctx: ctx, db: tx, announce: s.announce, postgres: s.postgres}
		if err := fn(t); err != nil {
			return err
		}
		announced = t.announced
		return nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	if err == nil && announced && s.notify != nil {
		s.notify()
	}
	return err
}

// InTx adapts a transaction opened elsewhere (an event consumer's) to
// app.Tx; announcements join that transaction.
func (s *Store) InTx(ctx context.Context, tx *gorm.DB) app.Tx {
	return &txn{ctx: ctx, db: tx, announce: s.announce, postgres: s.postgres}
}

type txn struct {
	ctx       context.Context
	db        *gorm.DB
	announce  Announcer
	announced bool
	postgres  bool
}

type organisationRow struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	Kind       string
	Region     string
	Issuer     string
	Audience   string
	RolesClaim string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (organisationRow) TableName() string { return "organisations" }

type siteRow struct {
	ID             string `gorm:"primaryKey"`
	OrganisationID string
	Name           string
	ServiceLine    string
}

func (siteRow) TableName() string { return "sites" }

type idempotencyRow struct {
	Scope          string `gorm:"primaryKey"`
	IdempotencyKey string `gorm:"primaryKey"`
	Fingerprint    string
	Created        bool
	Result         []byte
	CreatedAt      time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

type subjectRefRow struct {
	SubjectRef     string `gorm:"primaryKey"`
	OrganisationID string
	KeyVersion     int
	LocalDigest    *string
	NHSDigest      *string `gorm:"column:nhs_digest"`
	PersonID       *string
	ErasedAt       *time.Time
}

func (subjectRefRow) TableName() string { return "subject_refs" }

type subjectCountRow struct {
	OrganisationID string `gorm:"primaryKey"`
	Subjects       int64
}

func (subjectCountRow) TableName() string { return "subject_counts" }

func (t *txn) Organisation(id string, forUpdate bool) (domain.Organisation, error) {
	q := t.db
	if forUpdate && t.postgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var r organisationRow
	if err := q.Take(&r, "id = ?", id).Error; err != nil {
		return domain.Organisation{}, notFound(err)
	}
	list, err := t.withSites([]organisationRow{r})
	if err != nil {
		return domain.Organisation{}, err
	}
	return list[0], nil
}

func (t *txn) Organisations(after string, limit int) ([]domain.Organisation, error) {
	var rows []organisationRow
	q := t.db.Order("id").Limit(limit)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	return t.withSites(rows)
}

// withSites loads the sites of rows in one query.
func (t *txn) withSites(rows []organisationRow) ([]domain.Organisation, error) {
	out := make([]domain.Organisation, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var sites []siteRow
	if err := t.db.Where("organisation_id IN ?", ids).Order("id").Find(&sites).Error; err != nil {
		return nil, err
	}
	byOrg := map[string][]domain.Site{}
	for _, s := range sites {
		byOrg[s.OrganisationID] = append(byOrg[s.OrganisationID], domain.Site{ID: s.ID, OrganisationID: s.OrganisationID, Name: s.Name, ServiceLine: domain.ServiceLine(s.ServiceLine)})
	}
	for i, r := range rows {
		sites := byOrg[r.ID]
		if sites == nil {
			sites = []domain.Site{}
		}
		out[i] = domain.Organisation{ID: r.ID, Name: r.Name, Kind: domain.Kind(r.Kind), Region: r.Region, Issuer: r.Issuer,
			Audience: r.Audience, RolesClaim: r.RolesClaim, Sites: sites, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out, nil
}

func (t *txn) SiteOwner(siteID string) (string, error) {
	var r siteRow
	if err := t.db.Select("organisation_id").Take(&r, "id = ?", siteID).Error; err != nil {
		return "", notFound(err)
	}
	return r.OrganisationID, nil
}

func (t *txn) IssuerOwner(issuer string) (string, error) {
	var r organisationRow
	if err := t.db.Select("id").Take(&r, "issuer = ?", issuer).Error; err != nil {
		return "", notFound(err)
	}
	return r.ID, nil
}

func (t *txn) SaveOrganisation(o domain.Organisation, created bool) error {
	r := organisationRow{ID: o.ID, Name: o.Name, Kind: string(o.Kind), Region: o.Region, Issuer: o.Issuer,
		Audience: o.Audience, RolesClaim: o.RolesClaim, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if created {
		if err := t.db.Create(&r).Error; err != nil {
			return err
		}
	} else {
		res := t.db.Model(&organisationRow{}).Where("id = ?", o.ID).Updates(map[string]any{
			"name": r.Name, "kind": r.Kind, "region": r.Region, "issuer": r.Issuer,
			"audience": r.Audience, "roles_claim": r.RolesClaim, "updated_at": r.UpdatedAt,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("store: organisation %s vanished during update", o.ID)
		}
	}
	for _, s := range o.Sites {
		err := t.db.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "id"}},
			// The owner is not updated: the use case refused a site owned elsewhere.
			DoUpdates: clause.AssignmentColumns([]string{"name", "service_line"}),
		}).Create(&siteRow{ID: s.ID, OrganisationID: o.ID, Name: s.Name, ServiceLine: string(s.ServiceLine)}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// snapshot is the stored form of an idempotent result.
type snapshot struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Region     string    `json:"region"`
	Issuer     string    `json:"issuer"`
	Audience   string    `json:"audience"`
	RolesClaim string    `json:"roles_claim"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Sites      []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		ServiceLine string `json:"service_line"`
	} `json:"sites"`
}

func (t *txn) IdempotentResult(scope, key string) (app.IdempotentResult, error) {
	var r idempotencyRow
	if err := t.db.Take(&r, "scope = ? AND idempotency_key = ?", scope, key).Error; err != nil {
		return app.IdempotentResult{}, notFound(err)
	}
	var s snapshot
	if err := json.Unmarshal(r.Result, &s); err != nil {
		return app.IdempotentResult{}, fmt.Errorf("store: idempotent result: %w", err)
	}
	o := domain.Organisation{ID: s.ID, Name: s.Name, Kind: domain.Kind(s.Kind), Region: s.Region, Issuer: s.Issuer,
		Audience: s.Audience, RolesClaim: s.RolesClaim, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(), Sites: []domain.Site{}}
	for _, site := range s.Sites {
		o.Sites = append(o.Sites, domain.Site{ID: site.ID, OrganisationID: s.ID, Name: site.Name, ServiceLine: domain.ServiceLine(site.ServiceLine)})
	}
	return app.IdempotentResult{Fingerprint: r.Fingerprint, Created: r.Created, Organisation: o}, nil
}

func (t *txn) RememberResult(scope, key string, res app.IdempotentResult, at time.Time) error {
	o := res.Organisation
	s := snapshot{ID: o.ID, Name: o.Name, Kind: string(o.Kind), Region: o.Region, Issuer: o.Issuer, Audience: o.Audience,
		RolesClaim: o.RolesClaim, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	for _, site := range o.Sites {
		s.Sites = append(s.Sites, struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			ServiceLine string `json:"service_line"`
		}{site.ID, site.Name, string(site.ServiceLine)})
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return t.db.Create(&idempotencyRow{Scope: scope, IdempotencyKey: key, Fingerprint: res.Fingerprint, Created: res.Created, Result: b, CreatedAt: at}).Error
}

// SubjectCount is how many distinct subject references an organisation has
// been given.
func (s *Store) SubjectCount(ctx context.Context, organisationID string) (int64, error) {
	var r subjectCountRow
	err := s.db.WithContext(ctx).Take(&r, "organisation_id = ?", organisationID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	return r.Subjects, err
}

func (t *txn) Announce(a ...app.Announcement) error {
	if t.announce == nil {
		return errors.New("store: no announcer configured")
	}
	if err := t.announce(t.ctx, t.db, a...); err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	t.announced = true
	return nil
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.ErrNotFound
	}
	return err
}
