// Package store is the survey service's gorm adapter: sites, campaigns,
// invitations, drafts and responses, the entry audit and the returns rollup,
// and the outbox announcements written in the same transaction.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
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

// Do runs fn in one transaction and wakes the relay when it committed. The
// returns rollup is written last, just before the commit, so its row locks
// are held for as short a time as possible.
func (s *Store) Do(ctx context.Context, fn func(app.Tx) error) error {
	announced := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := &txn{ctx: ctx, db: tx, announce: s.announce}
		if err := fn(t); err != nil {
			return err
		}
		if err := t.flushReturns(); err != nil {
			return err
		}
		announced = t.announced
		return nil
	})
	if err == nil && announced && s.notify != nil {
		s.notify()
	}
	return translate(err)
}

// InTx adapts a transaction opened elsewhere (an event consumer's) to app.Tx;
// returns are counted at once, since that transaction's commit is not ours.
func (s *Store) InTx(ctx context.Context, tx *gorm.DB) app.Tx {
	return &txn{ctx: ctx, db: tx, announce: s.announce, immediate: true}
}

type txn struct {
	ctx       context.Context
	db        *gorm.DB
	announce  Announcer
	announced bool
	immediate bool
	returns   map[returnKey]int64
}

type returnKey struct{ campaign, day, mode string }

type siteRow struct {
	ID             string `gorm:"primaryKey"`
	OrganisationID string
	ServiceLine    string
	UpdatedAt      time.Time
}

func (siteRow) TableName() string { return "sites" }

type campaignRow struct {
	ID                string `gorm:"primaryKey"`
	OrganisationID    string
	SiteID            string
	ServiceLine       string
	InstrumentID      string
	InstrumentVersion string
	Name              string
	OpensAt           time.Time
	ClosesAt          *time.Time
	OpenLinkToken     string
	IdempotencyKey    *string
	Cohort            string
	Modes             string // comma-separated; empty means all
	CreatedAt         time.Time
}

func (campaignRow) TableName() string { return "campaigns" }

type responseRow struct {
	ID                string `gorm:"primaryKey"`
	CampaignID        string
	OrganisationID    string
	SiteID            string
	ServiceLine       string
	InstrumentID      string
	InstrumentVersion string
	Mode              string
	RespondentRole    string
	SubjectRef        *string
	Answers           []byte
	SubmittedAt       time.Time
	IdempotencyKey    *string
}

func (responseRow) TableName() string { return "responses" }

func (t *txn) UpsertSite(s domain.Site) error {
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"organisation_id", "service_line", "updated_at"}),
	}).Create(&siteRow{ID: s.ID, OrganisationID: s.OrganisationID, ServiceLine: string(s.ServiceLine), UpdatedAt: time.Now().UTC()}).Error
}

func (t *txn) Site(id string) (domain.Site, error) {
	var r siteRow
	if err := t.db.Take(&r, "id = ?", id).Error; err != nil {
		return domain.Site{}, notFound(err)
	}
	return domain.Site{ID: r.ID, OrganisationID: r.OrganisationID, ServiceLine: domain.ServiceLine(r.ServiceLine)}, nil
}

func (t *txn) CampaignByIdempotencyKey(org, key string) (domain.Campaign, error) {
	var r campaignRow
	if err := t.db.Take(&r, "organisation_id = ? AND idempotency_key = ?", org, key).Error; err != nil {
		return domain.Campaign{}, notFound(err)
	}
	return r.domain(), nil
}

func (t *txn) InsertCampaign(c domain.Campaign, idempotencyKey string) error {
	r := campaignRow{ID: c.ID, OrganisationID: c.OrganisationID, SiteID: c.SiteID, ServiceLine: string(c.ServiceLine),
		InstrumentID: c.InstrumentID, InstrumentVersion: c.InstrumentVersion, Name: c.Name, OpensAt: c.OpensAt,
		ClosesAt: c.ClosesAt, OpenLinkToken: c.OpenLinkToken, IdempotencyKey: optional(idempotencyKey),
		Cohort: c.Cohort, Modes: strings.Join(c.Modes, ","), CreatedAt: c.CreatedAt}
	return t.db.Create(&r).Error
}

func (t *txn) CampaignByLinkToken(token string) (domain.Campaign, error) {
	var r campaignRow
	if err := t.db.Take(&r, "open_link_token = ?", token).Error; err != nil {
		return domain.Campaign{}, notFound(err)
	}
	return r.domain(), nil
}

func (t *txn) Campaign(id string) (domain.Campaign, error) {
	var r campaignRow
	if err := t.db.Take(&r, "id = ?", id).Error; err != nil {
		return domain.Campaign{}, notFound(err)
	}
	return r.domain(), nil
}

func (t *txn) Campaigns(org, cohort, after string, limit int) ([]domain.Campaign, error) {
	var rows []campaignRow
	q := t.db.Where("organisation_id = ?", org).Order("id").Limit(limit)
	if cohort != "" {
		q = q.Where("cohort = ?", cohort)
	}
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Campaign, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

func (t *txn) ResponseByIdempotencyKey(campaignID, key string) (domain.Response, error) {
	var r responseRow
	if err := t.db.Take(&r, "campaign_id = ? AND idempotency_key = ?", campaignID, key).Error; err != nil {
		return domain.Response{}, notFound(err)
	}
	return domain.Response{ID: r.ID, CampaignID: r.CampaignID, SubmittedAt: r.SubmittedAt}, nil
}

func (t *txn) InsertResponse(r domain.Response) error {
	row, err := toResponseRow(r)
	if err != nil {
		return err
	}
	return t.db.Create(&row).Error
}

// insertBatch is the rows per multi-row INSERT. The pure-Go SQLite driver
// matches each bound parameter to its argument by a linear scan, so a
// statement's cost grows with the square of its parameters: 50 rows of a
// dozen columns keeps that negligible, and PostgreSQL barely notices the
// extra statements.
const insertBatch = 50

// keyLookupBatch is the keys per IN list: one parameter each, so larger.
const keyLookupBatch = 500

func (t *txn) InsertResponses(rs ...domain.Response) error {
	rows := make([]responseRow, len(rs))
	for i, r := range rs {
		var err error
		if rows[i], err = toResponseRow(r); err != nil {
			return err
		}
	}
	return t.db.CreateInBatches(rows, insertBatch).Error
}

func toResponseRow(r domain.Response) (responseRow, error) {
	answers, err := json.Marshal(r.Answers)
	if err != nil {
		return responseRow{}, err
	}
	return responseRow{ID: r.ID, CampaignID: r.CampaignID, OrganisationID: r.OrganisationID, SiteID: r.SiteID,
		ServiceLine: string(r.ServiceLine), InstrumentID: r.InstrumentID, InstrumentVersion: r.InstrumentVersion,
		Mode: r.Mode, RespondentRole: r.RespondentRole, SubjectRef: optional(r.SubjectRef), Answers: answers,
		SubmittedAt: r.SubmittedAt, IdempotencyKey: optional(r.IdempotencyKey)}, nil
}

func (t *txn) ResponseKeys(campaignID string, keys []string) (map[string]bool, error) {
	out := make(map[string]bool, len(keys))
	for start := 0; start < len(keys); start += keyLookupBatch {
		end := min(start+keyLookupBatch, len(keys))
		var found []string
		err := t.db.Model(&responseRow{}).Where("campaign_id = ? AND idempotency_key IN ?", campaignID, keys[start:end]).
			Pluck("idempotency_key", &found).Error
		if err != nil {
			return nil, err
		}
		for _, k := range found {
			out[k] = true
		}
	}
	return out, nil
}

func (t *txn) Response(id string) (domain.Response, error) {
	var r responseRow
	if err := t.db.Take(&r, "id = ?", id).Error; err != nil {
		return domain.Response{}, notFound(err)
	}
	var answers map[string]any
	if err := json.Unmarshal(r.Answers, &answers); err != nil {
		return domain.Response{}, fmt.Errorf("response %s: stored answers: %w", r.ID, err)
	}
	return domain.Response{ID: r.ID, CampaignID: r.CampaignID, OrganisationID: r.OrganisationID, SiteID: r.SiteID,
		ServiceLine: domain.ServiceLine(r.ServiceLine), InstrumentID: r.InstrumentID, InstrumentVersion: r.InstrumentVersion,
		Mode: r.Mode, RespondentRole: r.RespondentRole, SubjectRef: deref(r.SubjectRef), Answers: answers,
		SubmittedAt: r.SubmittedAt.UTC(), IdempotencyKey: deref(r.IdempotencyKey)}, nil
}

func (t *txn) Announce(a ...app.Announcement) error {
	if t.announce == nil {
		return errors.New("store: no announcer configured")
	}
	// In groups of insertBatch, so the outbox's INSERTs stay small too.
	for start := 0; start < len(a); start += insertBatch {
		if err := t.announce(t.ctx, t.db, a[start:min(start+insertBatch, len(a))]...); err != nil {
			return fmt.Errorf("announce: %w", err)
		}
	}
	t.announced = true
	return nil
}

func (r campaignRow) domain() domain.Campaign {
	var modes []string
	if r.Modes != "" {
		modes = strings.Split(r.Modes, ",")
	}
	return domain.Campaign{ID: r.ID, OrganisationID: r.OrganisationID, SiteID: r.SiteID, ServiceLine: domain.ServiceLine(r.ServiceLine),
		InstrumentID: r.InstrumentID, InstrumentVersion: r.InstrumentVersion, Name: r.Name, Cohort: r.Cohort, Modes: modes,
		OpensAt: r.OpensAt.UTC(), ClosesAt: utcPtr(r.ClosesAt), OpenLinkToken: r.OpenLinkToken, CreatedAt: r.CreatedAt.UTC()}
}

// translate maps a unique-key clash to domain.ErrDuplicate, keeping gorm's
// error in the chain.
func translate(err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("%w: %w", domain.ErrDuplicate, err)
	}
	return err
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

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
