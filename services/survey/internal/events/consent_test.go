package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	svcevents "poet.local/services/survey/internal/events"
	"poet.local/services/survey/internal/instruments"
	"poet.local/services/survey/internal/store"
)

const (
	erased = "sub_ErasedErasedErasedErasedErased00"
	kept   = "sub_KeptKeptKeptKeptKeptKeptKept0000"
)

// resolver stands in for identity's registration (a port the HTTP client
// implements): it maps local ids to fixed subject references.
type resolver map[string]string

func (r resolver) SubjectRef(_ context.Context, _, localID string) (string, error) {
	return r[localID], nil
}

func shortSet(i int) map[string]any {
	outcomes := []string{"a-lot-better", "better", "same", "worse", "dont-know"}
	return map[string]any{
		"respondent-role": "self", "age-band": "18-25", "budget-holding": "direct-payment",
		"knew-amount": "yes", "views-included": "partly",
		"outcome-quality-of-life": outcomes[i%5], "outcome-health": outcomes[(i+1)%5],
	}
}

// An erasure request deletes every response about the subject in its
// organisation (and only those), takes them out of the campaign's returns
// and announces response-withdrawn, reason erasure, keyed by the subject,
// all in the consumer's transaction; a repeat changes nothing.
func TestErasureDeletesTheSubjectsResponses(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/survey.db")
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
	ins, err := instruments.Load(apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(db, svcevents.Announcer(runtime.Outbox(schemas, "survey")), nil)
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	a := app.New(st, ins, func() time.Time { return now })
	a.SetSubjectResolver(resolver{"A-1": erased, "B-2": kept})
	err = st.Do(ctx, func(tx app.Tx) error {
		return a.RecordOrganisation(tx, app.OrganisationRegistered{OrganisationID: "org_children_demo",
			Sites: []domain.Site{{ID: "site_children_demo", ServiceLine: "children"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	pat := app.Caller{Organisation: "org_children_demo", Subject: "pat", Roles: []string{"practitioner"}}
	c, err := a.CreateCampaign(ctx, pat, app.NewCampaign{SiteID: "site_children_demo", InstrumentID: "short-set", InstrumentVersion: "1.0.0", Name: "Reviews"})
	if err != nil {
		t.Fatal(err)
	}
	var gone []string
	for i, local := range []string{"A-1", "A-1", "B-2"} {
		r, err := a.SubmitEmbedded(ctx, pat, c.ID, app.Embedded{LocalPersonID: local, Answers: shortSet(i)})
		if err != nil {
			t.Fatal(err)
		}
		if local == "A-1" {
			gone = append(gone, r.ID)
		}
	}
	if _, err := a.Submit(ctx, app.Submission{LinkToken: c.OpenLinkToken, Answers: shortSet(3)}); err != nil {
		t.Fatal(err)
	}
	before := outbox(t, db, schemas)

	h := svcevents.ConsentDecisions(a, st)
	apply := func(org string) {
		t.Helper()
		payload := `{"request_id":"era_01JD0000000000000000000000","organisation_id":"` + org + `","subject_ref":"` + erased + `","requested_at":"2026-11-02T10:00:00Z"}`
		if err := schemas.Validate(apispecs.TypeErasureRequested, []byte(payload)); err != nil {
			t.Fatal(err)
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			return h(ctx, tx, libevents.Event{ID: "e-" + org, Type: apispecs.TypeErasureRequested, Data: []byte(payload)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Another organisation's request reaches nothing here.
	apply("org_adult_demo")
	if got := outbox(t, db, schemas); len(got) != len(before) {
		t.Fatalf("another organisation's erasure announced %d events", len(got)-len(before))
	}
	apply("org_children_demo")

	var left []struct {
		ID         string
		SubjectRef *string
	}
	db.Table("responses").Select("id, subject_ref").Order("id").Scan(&left)
	if len(left) != 2 {
		t.Fatalf("responses left: %+v", left)
	}
	for _, r := range left {
		if r.SubjectRef != nil && *r.SubjectRef == erased {
			t.Fatalf("response %s about the erased subject survived", r.ID)
		}
	}
	for _, id := range gone {
		if _, err := a.ExportResponse(ctx, pat, id); err == nil {
			t.Fatalf("response %s still readable", id)
		}
	}
	ret, err := a.Returns(ctx, pat, c.ID)
	if err != nil || ret.Total != 2 || ret.ByMode[domain.ModeEmbedded] != 1 || ret.ByMode[domain.ModeOnline] != 1 {
		t.Fatalf("returns after erasure: %+v %v", ret, err)
	}

	after := outbox(t, db, schemas)[len(before):]
	if len(after) != 2 {
		t.Fatalf("%d events announced, want 2", len(after))
	}
	for i, m := range after {
		raw := map[string]any{}
		_ = json.Unmarshal(m.Data, &raw)
		if m.EventType != apispecs.TypeResponseWithdrawn || m.Key != erased || m.Topic != apispecs.TopicSurveyResponses ||
			raw["response_id"] != gone[i] || raw["reason"] != "erasure" || raw["subject_ref"] != erased || raw["site_id"] != "site_children_demo" {
			t.Fatalf("event %d: %s keyed %s: %s", i, m.EventType, m.Key, m.Data)
		}
	}
	// Redelivered under another id: nothing left to erase, nothing announced.
	apply("org_children_demo")
	if got := outbox(t, db, schemas); len(got) != len(before)+2 {
		t.Fatalf("a repeat announced %d more", len(got)-len(before)-2)
	}
}

// outbox returns the outbox rows, each checked against its schema.
func outbox(t *testing.T, db *gorm.DB, s *libevents.Schemas) []storage.OutboxMessage {
	t.Helper()
	var rows []storage.OutboxMessage
	if err := db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, m := range rows {
		if err := s.Validate(m.EventType, m.Data); err != nil {
			t.Fatalf("%s breaks its schema: %v", m.EventType, err)
		}
	}
	return rows
}
