package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/domain"
	svcevents "poet.local/services/scoring/internal/events"
	"poet.local/services/scoring/internal/rules"
	"poet.local/services/scoring/internal/store"
)

const (
	respA   = "resp_01JD00000000000000000000AA"
	respB   = "resp_01JD00000000000000000000BB"
	subject = "sub_abcdefghijklmnopqrstuvwx"
	person  = "pk_0123456789abcdefghijkl"
)

type fixture struct {
	db  *gorm.DB
	st  *store.Store
	app *app.Service
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/scoring.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	schemas, err := libevents.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	// Publish is the runtime's own: it validates each payload against its
	// schema and writes the outbox row in the caller's transaction.
	rt := &runtime.Runtime{Service: "scoring", Schemas: schemas}
	// The shipped rules; rules.Load's check against the instruments is
	// tested in package rules.
	sets, err := rules.Parse(apispecs.ScoringRules())
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := domain.NewCatalogue(sets)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(db, svcevents.Announcer(rt.Publish), nil)
	return fixture{db: db, st: st, app: app.New(st, catalogue, nil)}
}

func submitted(id, subjectRef, version string) domain.Response {
	return domain.Response{
		ID: id, OrganisationID: "org_children_demo", SiteID: "site_children_demo", ServiceLine: "children",
		InstrumentID: "short-set", InstrumentVersion: version, Mode: "online", RespondentRole: "parent-carer",
		SubjectRef: subjectRef, SubmittedAt: time.Date(2026, 10, 14, 8, 0, 0, 0, time.UTC),
		Answers: map[string]any{"respondent-role": "parent-carer", "knew-amount": "yes", "views-included": "no",
			"outcome-quality-of-life": "better", "outcome-safety": "worse"},
	}
}

func (f fixture) score(t *testing.T, r domain.Response) error {
	t.Helper()
	return f.st.Do(context.Background(), func(tx app.Tx) error { return f.app.ScoreResponse(tx, r) })
}

func (f fixture) outbox(t *testing.T) []storage.OutboxMessage {
	t.Helper()
	var msgs []storage.OutboxMessage
	if err := f.db.Order("id").Find(&msgs).Error; err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestScoredOnceStoredAndAnnouncedTogether(t *testing.T) {
	f := newFixture(t)
	if err := f.score(t, submitted(respA, "", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	// A re-delivery under another event id: the primary key keeps it single.
	if err := f.score(t, submitted(respA, "", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	msgs := f.outbox(t)
	if len(msgs) != 1 {
		t.Fatalf("%d outbox messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Topic != apispecs.TopicScoringScores || m.EventType != apispecs.TypeResponseScored || m.Key != respA || m.Source != "scoring" {
		t.Errorf("outbox message %s %s key %s source %s", m.Topic, m.EventType, m.Key, m.Source)
	}
	var payload map[string]any
	if err := json.Unmarshal(m.Data, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["period"] != "2026-Q4" || payload["rules_version"] != "1.0.0" || payload["person_key"] != nil {
		t.Errorf("payload = %v", payload)
	}
	if d := payload["domains"].([]any); len(d) != 2 {
		t.Errorf("domains = %v, want the two answered", d)
	}

	var n int64
	f.db.Table("scored_responses").Where("response_id = ? AND person_key IS NULL AND period = ?", respA, "2026-Q4").Count(&n)
	if n != 1 {
		t.Errorf("scored_responses rows for %s = %d, want 1 unlinked", respA, n)
	}
}

func TestLinkedResponsesCarryThePersonKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	link := func(pk string, when time.Time) {
		t.Helper()
		err := f.st.Do(ctx, func(tx app.Tx) error {
			return f.app.RecordLink(tx, domain.Link{SubjectRef: subject, OrganisationID: "org_children_demo", PersonKey: pk, EffectiveAt: when})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	link(person, at)
	if err := f.score(t, submitted(respA, subject, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	link("", at.Add(time.Hour))          // unlinked
	link(person, at.Add(30*time.Minute)) // an older link arriving late must not relink
	if err := f.score(t, submitted(respB, subject, "1.0.0")); err != nil {
		t.Fatal(err)
	}

	msgs := f.outbox(t)
	if len(msgs) != 2 {
		t.Fatalf("%d outbox messages, want 2", len(msgs))
	}
	var first, second map[string]any
	_ = json.Unmarshal(msgs[0].Data, &first)
	_ = json.Unmarshal(msgs[1].Data, &second)
	if msgs[0].Key != person || first["person_key"] != person {
		t.Errorf("linked response: key %s person_key %v, want %s", msgs[0].Key, first["person_key"], person)
	}
	if msgs[1].Key != respB || second["person_key"] != nil {
		t.Errorf("after unlinking: key %s person_key %v, want the response id and no person key", msgs[1].Key, second["person_key"])
	}
	for _, m := range msgs {
		if strings.Contains(string(m.Data), subject) {
			t.Errorf("response-scored carries the subject reference: %s", m.Data)
		}
	}

	s, err := f.app.Score(ctx, app.Caller{Organisation: "org_children_demo"}, respA)
	if err != nil || s.PersonKey != person || s.Period != "2026-Q4" {
		t.Errorf("Score = %+v, %v", s, err)
	}
}

func TestNoRulesStoresNothing(t *testing.T) {
	f := newFixture(t)
	err := f.score(t, submitted(respA, "", "9.9.9"))
	if !errors.Is(err, domain.ErrNoRules) {
		t.Fatalf("err = %v, want ErrNoRules", err)
	}
	if n := len(f.outbox(t)); n != 0 {
		t.Errorf("%d outbox messages after a refused response", n)
	}
}

func TestAnotherOrganisationCannotReadAScore(t *testing.T) {
	f := newFixture(t)
	if err := f.score(t, submitted(respA, "", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	_, err := f.app.Score(context.Background(), app.Caller{Organisation: "org_adult_demo"}, respA)
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("another organisation: err = %v, want ErrNotFound", err)
	}
}
