// Package store is the consent service's gorm adapter: consent records (the
// state now), their append-only history, erasure requests, and the outbox
// announcements written in the same transaction. Every query is scoped to
// one organisation.
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
	"poet.local/services/consent/internal/app"
	"poet.local/services/consent/internal/domain"
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

type txn struct {
	ctx       context.Context
	db        *gorm.DB
	announce  Announcer
	announced bool
	postgres  bool
}

type consentRow struct {
	ID                 string `gorm:"primaryKey"`
	OrganisationID     string
	SubjectRef         string
	Scopes             string
	GivenBy            string
	Method             string
	PolicyVersion      string
	Status             string
	EffectiveAt        time.Time
	RecordedAt         time.Time
	UpdatedAt          time.Time
	IdempotencyKey     *string
	RequestFingerprint *string
	LapsesAt           *time.Time
	LapsedAt           *time.Time
}

func (consentRow) TableName() string { return "consents" }

type changeRow struct {
	ConsentID   string `gorm:"primaryKey"`
	Sequence    int    `gorm:"primaryKey;autoIncrement:false"`
	Action      string
	Scopes      string
	Status      string
	EffectiveAt time.Time
	RecordedAt  time.Time
	RecordedBy  string
	Reason      string
}

func (changeRow) TableName() string { return "consent_changes" }

type erasureRow struct {
	ID                string `gorm:"primaryKey"`
	OrganisationID    string
	SubjectRef        string
	RequestedAt       time.Time
	RequestedBy       string
	WithdrawnConsents string
	IdempotencyKey    *string
}

func (erasureRow) TableName() string { return "erasure_requests" }

func (t *txn) ConsentByIdempotencyKey(org, key string) (domain.Consent, string, error) {
	var r consentRow
	if err := t.db.Take(&r, "organisation_id = ? AND idempotency_key = ?", org, key).Error; err != nil {
		return domain.Consent{}, "", notFound(err)
	}
	list, err := t.withHistory([]consentRow{r})
	if err != nil {
		return domain.Consent{}, "", err
	}
	fp := ""
	if r.RequestFingerprint != nil {
		fp = *r.RequestFingerprint
	}
	return list[0], fp, nil
}

func (t *txn) InsertConsent(c domain.Consent, idempotencyKey, fingerprint string) error {
	r := consentRow{ID: c.ID, OrganisationID: c.OrganisationID, SubjectRef: c.SubjectRef, Scopes: scopesJSON(c.Scopes),
		GivenBy: string(c.GivenBy), Method: string(c.Method), PolicyVersion: c.PolicyVersion, Status: string(c.Status),
		EffectiveAt: c.EffectiveAt, RecordedAt: c.RecordedAt, UpdatedAt: c.UpdatedAt, LapsesAt: utc(c.LapsesAt), LapsedAt: utc(c.LapsedAt)}
	if idempotencyKey != "" {
		r.IdempotencyKey, r.RequestFingerprint = &idempotencyKey, &fingerprint
	}
	if err := t.db.Create(&r).Error; err != nil {
		return err
	}
	for _, ch := range c.History {
		if err := t.insertChange(c.ID, ch); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) Consent(org, id string, forUpdate bool) (domain.Consent, error) {
	q := t.db
	if forUpdate && t.postgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var r consentRow
	if err := q.Take(&r, "organisation_id = ? AND id = ?", org, id).Error; err != nil {
		return domain.Consent{}, notFound(err)
	}
	list, err := t.withHistory([]consentRow{r})
	if err != nil {
		return domain.Consent{}, err
	}
	return list[0], nil
}

func (t *txn) SubjectConsents(org, subjectRef, after string, limit int, activeOnly bool) ([]domain.Consent, error) {
	q := t.db.Where("organisation_id = ? AND subject_ref = ?", org, subjectRef).Order("id").Limit(limit)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if activeOnly {
		q = q.Where("status = ?", string(domain.StatusActive))
		if t.postgres {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
	}
	var rows []consentRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	return t.withHistory(rows)
}

// withHistory loads the history of rows in one query.
func (t *txn) withHistory(rows []consentRow) ([]domain.Consent, error) {
	out := make([]domain.Consent, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var changes []changeRow
	if err := t.db.Where("consent_id IN ?", ids).Order("consent_id, sequence").Find(&changes).Error; err != nil {
		return nil, err
	}
	byConsent := map[string][]domain.Change{}
	for _, ch := range changes {
		scopes, err := parseScopes(ch.Scopes)
		if err != nil {
			return nil, err
		}
		byConsent[ch.ConsentID] = append(byConsent[ch.ConsentID], domain.Change{Sequence: ch.Sequence, Action: domain.Action(ch.Action),
			Scopes: scopes, Status: domain.Status(ch.Status), EffectiveAt: ch.EffectiveAt.UTC(), RecordedAt: ch.RecordedAt.UTC(), RecordedBy: ch.RecordedBy, Reason: ch.Reason})
	}
	for i, r := range rows {
		scopes, err := parseScopes(r.Scopes)
		if err != nil {
			return nil, err
		}
		out[i] = domain.Consent{ID: r.ID, OrganisationID: r.OrganisationID, SubjectRef: r.SubjectRef, Scopes: scopes,
			GivenBy: domain.GivenBy(r.GivenBy), Method: domain.Method(r.Method), PolicyVersion: r.PolicyVersion, Status: domain.Status(r.Status),
			EffectiveAt: r.EffectiveAt.UTC(), RecordedAt: r.RecordedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
			LapsesAt: utc(r.LapsesAt), LapsedAt: utc(r.LapsedAt), History: byConsent[r.ID]}
	}
	return out, nil
}

func (t *txn) AppendChange(c domain.Consent, ch domain.Change) error {
	if err := t.SaveState(c); err != nil {
		return err
	}
	return t.insertChange(c.ID, ch)
}

func (t *txn) SaveState(c domain.Consent) error {
	res := t.db.Model(&consentRow{}).Where("organisation_id = ? AND id = ?", c.OrganisationID, c.ID).
		Updates(map[string]any{"scopes": scopesJSON(c.Scopes), "status": string(c.Status), "updated_at": c.UpdatedAt, "lapsed_at": utc(c.LapsedAt)})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: consent %s vanished during update", c.ID)
	}
	return nil
}

// DueLapses returns consents, of any organisation, whose lapse has come
// and not been applied, oldest lapse first. On PostgreSQL the rows are
// locked and rows another sweep holds are skipped, so replicas share work.
func (t *txn) DueLapses(now time.Time, limit int) ([]domain.Consent, error) {
	q := t.db.Where("lapses_at IS NOT NULL AND lapsed_at IS NULL AND lapses_at <= ?", now.UTC()).Order("lapses_at, id").Limit(limit)
	if t.postgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
	}
	var rows []consentRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	return t.withHistory(rows)
}

func (t *txn) insertChange(consentID string, ch domain.Change) error {
	return t.db.Create(&changeRow{ConsentID: consentID, Sequence: ch.Sequence, Action: string(ch.Action), Scopes: scopesJSON(ch.Scopes),
		Status: string(ch.Status), EffectiveAt: ch.EffectiveAt, RecordedAt: ch.RecordedAt, RecordedBy: ch.RecordedBy, Reason: ch.Reason}).Error
}

func (t *txn) ErasureByIdempotencyKey(org, key string) (domain.ErasureRequest, error) {
	var r erasureRow
	if err := t.db.Take(&r, "organisation_id = ? AND idempotency_key = ?", org, key).Error; err != nil {
		return domain.ErasureRequest{}, notFound(err)
	}
	withdrawn := []string{}
	if err := json.Unmarshal([]byte(r.WithdrawnConsents), &withdrawn); err != nil {
		return domain.ErasureRequest{}, fmt.Errorf("store: erasure request %s: %w", r.ID, err)
	}
	return domain.ErasureRequest{ID: r.ID, OrganisationID: r.OrganisationID, SubjectRef: r.SubjectRef, RequestedAt: r.RequestedAt.UTC(),
		RequestedBy: r.RequestedBy, WithdrawnConsents: withdrawn}, nil
}

func (t *txn) InsertErasure(e domain.ErasureRequest, idempotencyKey string) error {
	withdrawn := e.WithdrawnConsents
	if withdrawn == nil {
		withdrawn = []string{}
	}
	b, err := json.Marshal(withdrawn)
	if err != nil {
		return err
	}
	r := erasureRow{ID: e.ID, OrganisationID: e.OrganisationID, SubjectRef: e.SubjectRef, RequestedAt: e.RequestedAt,
		RequestedBy: e.RequestedBy, WithdrawnConsents: string(b)}
	if idempotencyKey != "" {
		r.IdempotencyKey = &idempotencyKey
	}
	return t.db.Create(&r).Error
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

func scopesJSON(scopes []domain.Scope) string {
	if scopes == nil {
		scopes = []domain.Scope{}
	}
	b, _ := json.Marshal(scopes) // strings only: cannot fail
	return string(b)
}

func parseScopes(s string) ([]domain.Scope, error) {
	out := []domain.Scope{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: scopes column: %w", err)
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.ErrNotFound
	}
	return err
}
