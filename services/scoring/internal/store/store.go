// Package store is the scoring service's gorm adapter: scored responses,
// subject links, and the outbox announcements written in the same
// transaction.
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

	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/domain"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the goose migrations, one folder per dialect.
func Migrations() fs.FS {
	f, _ := fs.Sub(migrations, "migrations")
	return f
}

// Announcer writes announcements into the outbox inside tx.
type Announcer func(ctx context.Context, tx *gorm.DB, a ...app.Announcement) error

// Store implements app.Store over gorm.
type Store struct {
	db       *gorm.DB
	announce Announcer
	notify   func()
}

// New returns a Store; notify wakes the outbox relay after each commit.
func New(db *gorm.DB, announce Announcer, notify func()) *Store {
	return &Store{db: db, announce: announce, notify: notify}
}

// Do runs fn in one transaction and wakes the relay when it committed
// announcements.
func (s *Store) Do(ctx context.Context, fn func(app.Tx) error) error {
	announced := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := &txn{ctx: ctx, db: tx, announce: s.announce}
		if err := fn(t); err != nil {
			return err
		}
		announced = t.announced
		return nil
	})
	if err == nil && announced && s.notify != nil {
		s.notify()
	}
	return err
}

// InTx adapts a transaction opened elsewhere (an event consumer's) to app.Tx.
// The consumer commits it; the relay's poll then picks up announcements.
func (s *Store) InTx(ctx context.Context, tx *gorm.DB) app.Tx {
	return &txn{ctx: ctx, db: tx, announce: s.announce}
}

type txn struct {
	ctx       context.Context
	db        *gorm.DB
	announce  Announcer
	announced bool
}

type scoredRow struct {
	ResponseID        string `gorm:"primaryKey"`
	OrganisationID    string
	SiteID            string
	ServiceLine       string
	InstrumentID      string
	InstrumentVersion string
	RulesVersion      string
	Period            string
	Result            []byte
	PersonKey         *string
	SubjectRef        *string // scoring's own store only; never announced
	Reported          bool
	National          bool
	SubmittedAt       time.Time
	ScoredAt          time.Time
}

func (scoredRow) TableName() string { return "scored_responses" }

type linkRow struct {
	SubjectRef     string `gorm:"primaryKey"`
	OrganisationID string
	PersonKey      *string
	EffectiveAt    time.Time
	UpdatedAt      time.Time
}

func (linkRow) TableName() string { return "subject_links" }

func (t *txn) InsertScored(s domain.Scored) (bool, error) {
	result, err := json.Marshal(s.Result)
	if err != nil {
		return false, err
	}
	row := scoredRow{ResponseID: s.ResponseID, OrganisationID: s.OrganisationID, SiteID: s.SiteID, ServiceLine: s.ServiceLine,
		InstrumentID: s.InstrumentID, InstrumentVersion: s.InstrumentVersion, RulesVersion: s.RulesVersion, Period: s.Period,
		Result: result, PersonKey: optional(s.PersonKey), SubjectRef: optional(s.SubjectRef), Reported: s.Reported, National: s.National,
		SubmittedAt: s.SubmittedAt.UTC(), ScoredAt: s.ScoredAt.UTC()}
	res := t.db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "response_id"}}, DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

func (t *txn) Scored(responseID string) (domain.Scored, error) {
	var r scoredRow
	if err := t.db.Take(&r, "response_id = ?", responseID).Error; err != nil {
		return domain.Scored{}, notFound(err)
	}
	return r.domain()
}

func (r scoredRow) domain() (domain.Scored, error) {
	var res domain.Result
	if err := json.Unmarshal(r.Result, &res); err != nil {
		return domain.Scored{}, fmt.Errorf("scored response %s: %w", r.ResponseID, err)
	}
	return domain.Scored{Result: res, PersonKey: deref(r.PersonKey), SubjectRef: deref(r.SubjectRef), Reported: r.Reported,
		National: r.National, ScoredAt: r.ScoredAt.UTC()}, nil
}

func (t *txn) Link(subjectRef string) (domain.Link, error) {
	var r linkRow
	if err := t.db.Take(&r, "subject_ref = ?", subjectRef).Error; err != nil {
		return domain.Link{}, notFound(err)
	}
	return domain.Link{SubjectRef: r.SubjectRef, OrganisationID: r.OrganisationID, PersonKey: deref(r.PersonKey), EffectiveAt: r.EffectiveAt.UTC()}, nil
}

func (t *txn) SaveLink(l domain.Link) error {
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "subject_ref"}},
		DoUpdates: clause.AssignmentColumns([]string{"organisation_id", "person_key", "effective_at", "updated_at"}),
	}).Create(&linkRow{SubjectRef: l.SubjectRef, OrganisationID: l.OrganisationID, PersonKey: optional(l.PersonKey),
		EffectiveAt: l.EffectiveAt.UTC(), UpdatedAt: time.Now().UTC()}).Error
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

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
