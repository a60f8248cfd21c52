package events_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/reporting/internal/app"
	svcevents "poet.local/services/reporting/internal/events"
	"poet.local/services/reporting/internal/store"
)

const person = "pk_0123456789abcdefghijkl"

// TestConsumesIdentityAndScoring feeds reporting's consumers hand-built
// events of identity's and scoring's schemas (each validated against
// api-specs/events before it is sent) through an in-process Kafka broker,
// and reads the rollups and reports that result.
func TestConsumesIdentityAndScoring(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	brokers := testkit.Kafka(t, apispecs.TopicIdentityOrganisations, apispecs.TopicScoringScores)
	schemas, err := libevents.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/reporting.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	st := store.New(db)
	a, err := app.New(st, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	consume := func(group, topic string, h libevents.Handler) {
		c := libevents.NewConsumer(libevents.ConsumerConfig{Brokers: brokers, GroupID: group, Topics: []string{topic}, Schemas: schemas,
			MaxAttempts: 2, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}, db, h)
		run(t, ctx, group, c.Run)
	}
	consume("reporting.organisations", apispecs.TopicIdentityOrganisations, svcevents.Organisations(a, st))
	consume("reporting.scores", apispecs.TopicScoringScores, svcevents.Scores(a, st))

	producer := libevents.NewProducer(libevents.ProducerConfig{Brokers: brokers, ClientID: "test"})
	t.Cleanup(func() { _ = producer.Close() })
	var msgs []storage.OutboxMessage
	add := func(topic, typ, source, key string, payload map[string]any) {
		m, err := libevents.NewOutboxMessage(ctx, schemas, libevents.Message{Topic: topic, Key: key, Type: typ, Source: source, Subject: key, Payload: payload})
		if err != nil {
			t.Fatalf("hand-built %s is not valid against its schema: %v", typ, err)
		}
		msgs = append(msgs, m)
	}
	add(apispecs.TopicIdentityOrganisations, apispecs.TypeOrganisationRegistered, "identity", "org_children_demo", map[string]any{
		"organisation_id": "org_children_demo", "name": "Northbrook Council children's services", "kind": "local-authority",
		"region": "North West", "issuer": "http://127.0.0.1:9000/children-demo", "audience": "poet-platform", "roles_claim": "roles",
		"sites": []any{map[string]any{"site_id": "site_children_demo", "name": "Children's services", "service_line": "children"}},
	})
	ids := []string{"resp_01JD0000000000000000000001", "resp_01JD0000000000000000000002", "resp_01JD0000000000000000000003",
		"resp_01JD0000000000000000000004", "resp_01JD0000000000000000000005", "resp_01JD0000000000000000000006"}
	for i, id := range ids {
		p := scored(id, "better")
		key := id
		if i == 0 {
			p["person_key"] = person
			key = person
		}
		add(apispecs.TopicScoringScores, apispecs.TypeResponseScored, "scoring", key, p)
	}
	// Valid by schema, but one domain twice: the rollups cannot count it.
	bad := scored("resp_01JD00000000000000000000BAD", "better")
	bad["domains"] = append(bad["domains"].([]any), map[string]any{"domain": "quality-of-life", "wellbeing_area": "social-and-economic", "outcome": "worse"})
	add(apispecs.TopicScoringScores, apispecs.TypeResponseScored, "scoring", "resp_01JD00000000000000000000BAD", bad)
	// The same event delivered twice (the relay is at-least-once).
	msgs = append(msgs, msgs[1])
	if err := producer.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "six contributions applied", func() bool {
		p, err := a.Pipeline(ctx)
		return err == nil && p.ContributionsApplied == 6
	})
	waitFor(t, "organisation registered", func() bool {
		var n int64
		db.Table("sites").Where("id = ? AND organisation_id = ?", "site_children_demo", "org_children_demo").Count(&n)
		return n == 1
	})

	var row struct {
		OrganisationID, SiteID, ServiceLine, InstrumentID, Period, PersonKey, Domains string
		SubmittedAt, CountedAt                                                        time.Time
	}
	if err := db.Table("contributions").Where("response_id = ?", ids[0]).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.OrganisationID != "org_children_demo" || row.SiteID != "site_children_demo" || row.ServiceLine != "children" ||
		row.InstrumentID != "short-set" || row.Period != "2026-Q4" || row.PersonKey != person ||
		!strings.Contains(row.Domains, `"quality-of-life"`) || row.SubmittedAt.IsZero() || row.CountedAt.IsZero() {
		t.Errorf("contribution = %+v", row)
	}
	var better int64
	db.Table("rollup_outcomes").Where("site_id = ? AND period = ? AND domain = ? AND outcome = ?",
		"site_children_demo", "2026-Q4", "quality-of-life", "better").Select("count").Scan(&better)
	if better != 6 {
		t.Errorf("rollup quality-of-life better = %d, want 6 (duplicate delivery counted once, invalid one not at all)", better)
	}

	rep, err := a.SiteReport(ctx, app.Caller{Organisation: "org_children_demo"}, "site_children_demo", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Returns.Value != 6 || rep.Domains[0].Counts["better"].Value != 6 || rep.Domains[0].ShareBetter == nil || *rep.Domains[0].ShareBetter != 1 {
		t.Errorf("report = %+v", rep)
	}

	if reason := readDLQReason(t, brokers, apispecs.TopicScoringScores); !strings.Contains(reason, "appears twice") {
		t.Errorf("dlq reason = %q", reason)
	}
}

func scored(id, outcome string) map[string]any {
	return map[string]any{
		"response_id": id, "organisation_id": "org_children_demo", "site_id": "site_children_demo", "service_line": "children",
		"instrument_id": "short-set", "instrument_version": "1.0.0", "rules_version": "1.0.0", "period": "2026-Q4",
		"submitted_at": "2026-11-02T10:00:00Z",
		"groups":       map[string]any{"mode": "online", "respondent_role": "self", "age_band": "18-25"},
		"domains":      []any{map[string]any{"domain": "quality-of-life", "wellbeing_area": "social-and-economic", "outcome": outcome}},
		"process":      []any{map[string]any{"indicator": "knew-amount", "value": "yes"}},
	}
}

func readDLQReason(t *testing.T, brokers []string, topic string) string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: "dlq-reader", GroupTopics: []string{libevents.DLQTopic(topic)},
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatalf("reading %s: %v", libevents.DLQTopic(topic), err)
	}
	for _, h := range m.Headers {
		if h.Key == libevents.HeaderDLQReason {
			return string(h.Value)
		}
	}
	return ""
}

func run(t *testing.T, ctx context.Context, name string, fn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop", name)
		}
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
