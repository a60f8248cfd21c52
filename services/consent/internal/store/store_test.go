package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/services/consent/internal/app"
	"poet.local/services/consent/internal/domain"
	svcevents "poet.local/services/consent/internal/events"
	"poet.local/services/consent/internal/store"
)

const (
	ref      = "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF"
	otherRef = "sub_b_LT1e3YMafzWOqaxnN-RS1biRkq3eYA"
)

var pat = app.Caller{Organisation: "org_children_demo", Subject: "pat", Roles: []string{"practitioner"}}

// env is a real SQLite file with the service's migrations and the
// application over it, announcing through schema-validated outbox messages
// exactly as runtime.Publish does.
type env struct {
	db      *gorm.DB
	app     *app.Service
	schemas *events.Schemas
	now     time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, schemas: schemas, now: time.Date(2025, 3, 4, 10, 0, 0, 123456789, time.UTC)}
	publish := func(ctx context.Context, tx *gorm.DB, msgs ...events.Message) error {
		for _, m := range msgs {
			m.Source = "consent"
			om, err := events.NewOutboxMessage(ctx, schemas, m)
			if err != nil {
				return err
			}
			if err := storage.Enqueue(tx, om); err != nil {
				return err
			}
		}
		return nil
	}
	e.app = app.New(store.New(db, svcevents.Announcer(publish), nil), func() time.Time { return e.now })
	return e
}

// outbox returns the announced events, checking each against its schema
// and the topic and key contract.
func (e *env) outbox(t *testing.T) []storage.OutboxMessage {
	t.Helper()
	var rows []storage.OutboxMessage
	if err := e.db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, m := range rows {
		if err := e.schemas.Validate(m.EventType, m.Data); err != nil {
			t.Fatalf("%s breaks its schema: %v", m.EventType, err)
		}
		var p struct {
			SubjectRef string `json:"subject_ref"`
		}
		_ = json.Unmarshal(m.Data, &p)
		if m.Topic != apispecs.TopicConsentDecisions || m.Key != p.SubjectRef || m.Subject != p.SubjectRef || m.Source != "consent" {
			t.Fatalf("message %s: topic %s key %s subject %s source %s", m.EventType, m.Topic, m.Key, m.Subject, m.Source)
		}
	}
	return rows
}

func decision() domain.Decision {
	return domain.Decision{SubjectRef: ref, Scopes: []domain.Scope{domain.ScopeNationalBenchmarking, domain.ScopeParticipation, domain.ScopeLocalReporting},
		GivenBy: domain.GivenByParentCarer, Method: domain.MethodPaper, PolicyVersion: "2025-01"}
}

func TestRecordStoresAndAnnounces(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paper := time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC)
	d := decision()
	d.EffectiveAt = &paper
	c, err := e.app.Record(ctx, pat, d, "")
	if err != nil {
		t.Fatal(err)
	}
	list, next, err := e.app.Consents(ctx, pat, ref, "", 10)
	if err != nil || len(list) != 1 || next != "" {
		t.Fatalf("consents %v next %q err %v", list, next, err)
	}
	if !reflect.DeepEqual(list[0], c) {
		t.Fatalf("read back:\n got %+v\nwant %+v", list[0], c)
	}
	if !c.RecordedAt.Equal(e.now.Truncate(time.Microsecond)) || !c.EffectiveAt.Equal(paper) || c.History[0].RecordedBy != "pat" {
		t.Fatalf("record %+v", c)
	}
	out := e.outbox(t)
	if len(out) != 1 || out[0].EventType != apispecs.TypeConsentRecorded {
		t.Fatalf("outbox %+v", out)
	}
	var p map[string]any
	_ = json.Unmarshal(out[0].Data, &p)
	want := map[string]any{"consent_id": c.ID, "organisation_id": "org_children_demo", "subject_ref": ref,
		"scopes":   []any{"participation", "local-reporting", "national-benchmarking"},
		"given_by": "parent-carer", "method": "paper", "policy_version": "2025-01", "effective_at": "2025-02-28T00:00:00Z"}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("payload\n got %v\nwant %v", p, want)
	}
}

func TestANoStoresNothing(t *testing.T) {
	e := newEnv(t)
	d := decision()
	d.Scopes = []domain.Scope{domain.ScopeLocalReporting}
	_, err := e.app.Record(context.Background(), pat, d, "no-thanks-001")
	var ve *app.ValidationError
	if !errors.As(err, &ve) || ve.Detail != domain.NoParticipation {
		t.Fatalf("err = %v, want the no-participation refusal", err)
	}
	for _, table := range []string{"consents", "consent_changes", "erasure_requests", "outbox_messages"} {
		var n int64
		e.db.Table(table).Count(&n)
		if n != 0 {
			t.Errorf("%s has %d rows after a no", table, n)
		}
	}
}

func TestIdempotentRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, err := e.app.Record(ctx, pat, decision(), "form-0001")
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	reordered := decision()
	reordered.Scopes = []domain.Scope{domain.ScopeLocalReporting, domain.ScopeParticipation, domain.ScopeNationalBenchmarking}
	retry, err := e.app.Record(ctx, pat, reordered, "form-0001")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, retry) {
		t.Fatalf("retry returned another record:\n%+v\n%+v", first, retry)
	}
	if n := len(e.outbox(t)); n != 1 {
		t.Fatalf("retry announced again: %d events", n)
	}
	other := decision()
	other.Method = domain.MethodTelephone
	if _, err := e.app.Record(ctx, pat, other, "form-0001"); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("same key, other decision: %v", err)
	}
	adult := app.Caller{Organisation: "org_adult_demo", Subject: "pat"}
	if c, err := e.app.Record(ctx, adult, other, "form-0001"); err != nil || c.ID == first.ID {
		t.Fatalf("same key in another organisation: %+v %v", c, err)
	}
}

func TestWithdrawAppendsHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, _ := e.app.Record(ctx, pat, decision(), "")
	e.now = e.now.Add(time.Hour)
	after, err := e.app.Withdraw(ctx, pat, c.ID, []domain.Scope{domain.ScopeNationalBenchmarking, domain.ScopeTransitionSharing})
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != domain.StatusActive || !reflect.DeepEqual(after.Scopes, []domain.Scope{domain.ScopeParticipation, domain.ScopeLocalReporting}) || len(after.History) != 2 {
		t.Fatalf("after withdrawal %+v", after)
	}
	// Nothing left to withdraw of these: no change, no event.
	if again, err := e.app.Withdraw(ctx, pat, c.ID, []domain.Scope{domain.ScopeNationalBenchmarking}); err != nil || len(again.History) != 2 {
		t.Fatalf("repeat withdrawal: %+v %v", again, err)
	}
	e.now = e.now.Add(time.Hour)
	final, err := e.app.Withdraw(ctx, pat, c.ID, []domain.Scope{domain.ScopeParticipation})
	if err != nil || final.Status != domain.StatusWithdrawn || len(final.Scopes) != 0 || len(final.History) != 3 {
		t.Fatalf("withdrawing participation: %+v %v", final, err)
	}
	stored, _, _ := e.app.Consents(ctx, pat, ref, "", 10)
	if !reflect.DeepEqual(stored[0], final) {
		t.Fatalf("stored\n%+v\nreturned\n%+v", stored[0], final)
	}
	out := e.outbox(t)
	if len(out) != 3 || out[1].EventType != apispecs.TypeConsentWithdrawn || out[2].EventType != apispecs.TypeConsentWithdrawn {
		t.Fatalf("outbox: %d events", len(out))
	}
	var p struct {
		Scopes []string `json:"scopes"`
	}
	_ = json.Unmarshal(out[1].Data, &p)
	if !reflect.DeepEqual(p.Scopes, []string{"national-benchmarking"}) {
		t.Fatalf("first withdrawal announced %v, want only the scope actually withdrawn", p.Scopes)
	}
	_ = json.Unmarshal(out[2].Data, &p)
	if !reflect.DeepEqual(p.Scopes, []string{"participation", "local-reporting"}) {
		t.Fatalf("withdrawing participation announced %v", p.Scopes)
	}

	// Another organisation cannot touch it.
	adult := app.Caller{Organisation: "org_adult_demo", Subject: "pat"}
	if _, err := e.app.Withdraw(ctx, adult, c.ID, []domain.Scope{domain.ScopeParticipation}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("other organisation: %v, want not found", err)
	}
	if list, _, _ := e.app.Consents(ctx, adult, ref, "", 10); len(list) != 0 {
		t.Fatalf("other organisation sees %d consents", len(list))
	}
	var ve *app.ValidationError
	if _, err := e.app.Withdraw(ctx, pat, c.ID, []domain.Scope{"marketing"}); !errors.As(err, &ve) {
		t.Fatalf("unknown scope: %v", err)
	}
}

func TestHistoryIsAppendOnlyInTheDatabase(t *testing.T) {
	e := newEnv(t)
	c, _ := e.app.Record(context.Background(), pat, decision(), "")
	if err := e.db.Exec("UPDATE consent_changes SET scopes = '[]' WHERE consent_id = ?", c.ID).Error; err == nil {
		t.Fatal("the history was updated")
	}
	if err := e.db.Exec("DELETE FROM consent_changes WHERE consent_id = ?", c.ID).Error; err == nil {
		t.Fatal("the history was deleted")
	}
	var n int64
	e.db.Table("consent_changes").Count(&n)
	if n != 1 {
		t.Fatalf("history rows = %d", n)
	}
}

func TestErasureWithdrawsThenAnnounces(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := e.app.Record(ctx, pat, decision(), "")
	b, _ := e.app.Record(ctx, pat, decision(), "")
	_, _ = e.app.Withdraw(ctx, pat, b.ID, []domain.Scope{domain.ScopeParticipation}) // already withdrawn: untouched
	c, _ := e.app.Record(ctx, pat, decision(), "")
	other := decision()
	other.SubjectRef = otherRef
	keep, _ := e.app.Record(ctx, pat, other, "")
	before := len(e.outbox(t))

	req, err := e.app.RequestErasure(ctx, pat, ref, "erase-0001")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(req.WithdrawnConsents, []string{a.ID, c.ID}) || req.OrganisationID != "org_children_demo" {
		t.Fatalf("request %+v", req)
	}
	out := e.outbox(t)[before:]
	types := make([]string, len(out))
	for i, m := range out {
		types[i] = m.EventType
	}
	want := []string{apispecs.TypeConsentWithdrawn, apispecs.TypeConsentWithdrawn, apispecs.TypeErasureRequested}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("announced %v, want %v", types, want)
	}
	list, _, _ := e.app.Consents(ctx, pat, ref, "", 10)
	for _, cns := range list {
		if cns.Status != domain.StatusWithdrawn {
			t.Fatalf("consent %s still %s after erasure", cns.ID, cns.Status)
		}
	}
	if kept, _, _ := e.app.Consents(ctx, pat, otherRef, "", 10); kept[0].Status != domain.StatusActive || kept[0].ID != keep.ID {
		t.Fatal("another subject's consent was withdrawn")
	}
	retry, err := e.app.RequestErasure(ctx, pat, ref, "erase-0001")
	if err != nil || !reflect.DeepEqual(retry, req) {
		t.Fatalf("retry %+v %v, want %+v", retry, err, req)
	}
	if n := len(e.outbox(t)); n != before+3 {
		t.Fatalf("retry announced again: %d events", n-before)
	}
	if _, err := e.app.RequestErasure(ctx, pat, otherRef, "erase-0001"); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("same key for another subject: %v", err)
	}
	// A subject with no consents here can still ask: nothing to withdraw.
	lone, err := e.app.RequestErasure(ctx, app.Caller{Organisation: "org_adult_demo", Subject: "pat"}, ref, "")
	if err != nil || len(lone.WithdrawnConsents) != 0 || lone.WithdrawnConsents == nil {
		t.Fatalf("erasure without consents: %+v %v", lone, err)
	}
}

func TestConsentsPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var made []string
	for range 3 {
		c, err := e.app.Record(ctx, pat, decision(), "")
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, c.ID)
	}
	page, next, err := e.app.Consents(ctx, pat, ref, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != made[0] || next != made[1] {
		t.Fatalf("page 1: %v %q %v", page, next, err)
	}
	page, next, err = e.app.Consents(ctx, pat, ref, next, 2)
	if err != nil || len(page) != 1 || page[0].ID != made[2] || next != "" {
		t.Fatalf("page 2: %v %q %v", page, next, err)
	}
}
