package app_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	svcevents "poet.local/services/survey/internal/events"
	"poet.local/services/survey/internal/instruments"
	"poet.local/services/survey/internal/store"
)

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	ctx   context.Context
	app   *app.Service
	store *store.Store
	db    *gorm.DB
	dsn   string
	clock *clock
}

var (
	children = app.Caller{Organisation: "org_children_demo", Subject: "pat-subject", Roles: []string{"practitioner"}}
	adult    = app.Caller{Organisation: "org_adult_demo", Subject: "pat-adult", Roles: []string{"practitioner"}}
)

func setup(t *testing.T) *env {
	t.Helper()
	return setupDSN(t, testkit.SQLiteDSN(t))
}

// setupDSN is setup on the database dsn names (SQLite or PostgreSQL).
func setupDSN(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	ins, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(db, svcevents.Announcer(runtime.Outbox(schemas, "survey")), nil)
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	a := app.New(st, ins, clk.Now)
	err = st.Do(ctx, func(tx app.Tx) error {
		for _, o := range []app.OrganisationRegistered{
			{OrganisationID: "org_children_demo", Sites: []domain.Site{{ID: "site_children_demo", ServiceLine: domain.ServiceLineChildren}}},
			{OrganisationID: "org_adult_demo", Sites: []domain.Site{{ID: "site_adult_demo", ServiceLine: domain.ServiceLineAdult}}},
		} {
			if err := a.RecordOrganisation(tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, app: a, store: st, db: db, dsn: dsn, clock: clk}
}

func (e *env) campaign(req app.NewCampaign) domain.Campaign {
	e.t.Helper()
	if req.SiteID == "" {
		req.SiteID = "site_children_demo"
	}
	if req.InstrumentID == "" {
		req.InstrumentID, req.InstrumentVersion = "short-set", "1.0.0"
	}
	if req.Name == "" {
		req.Name = "Annual reviews"
	}
	c, err := e.app.CreateCampaign(e.ctx, children, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) count(table string) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Table(table).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) outbox() []map[string]any {
	e.t.Helper()
	var msgs []storage.OutboxMessage
	if err := e.db.Order("id").Find(&msgs).Error; err != nil {
		e.t.Fatal(err)
	}
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		if err := json.Unmarshal(m.Data, &out[i]); err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

// answers is a complete, valid short-set response; i varies it.
func answers(i int) map[string]any {
	return map[string]any{
		"respondent-role":         []string{"self", "parent-carer", "carer"}[i%3],
		"knew-amount":             []string{"yes", "partly", "no"}[i%3],
		"views-included":          "yes",
		"outcome-quality-of-life": []string{"better", "same", "worse"}[i%3],
	}
}
