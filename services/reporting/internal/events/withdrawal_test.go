package events_test

import (
	"context"
	"testing"
	"time"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/reporting/internal/app"
	svcevents "poet.local/services/reporting/internal/events"
	"poet.local/services/reporting/internal/store"
)

// Scoring's withdrawals through an in-process broker: a response-scored
// with national false keeps the response in the site's report and out of
// national figures, and a score-withdrawn (keyed like its score) takes it
// out of the rollups altogether.
func TestScoreWithdrawnOverKafka(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	brokers := testkit.Kafka(t, apispecs.TopicScoringScores)
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
	c := libevents.NewConsumer(libevents.ConsumerConfig{Brokers: brokers, GroupID: "reporting.scores", Topics: []string{apispecs.TopicScoringScores},
		Schemas: schemas, MaxAttempts: 2, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}, db, svcevents.Scores(a, st))
	run(t, ctx, "scores", c.Run)
	producer := libevents.NewProducer(libevents.ProducerConfig{Brokers: brokers, ClientID: "scoring"})
	t.Cleanup(func() { _ = producer.Close() })
	send := func(typ, key string, payload map[string]any) {
		t.Helper()
		m, err := libevents.NewOutboxMessage(ctx, schemas, libevents.Message{Topic: apispecs.TopicScoringScores, Key: key, Type: typ, Source: "scoring", Subject: key, Payload: payload})
		if err != nil {
			t.Fatalf("hand-built %s: %v", typ, err)
		}
		if err := producer.Publish(ctx, []storage.OutboxMessage{m}); err != nil {
			t.Fatal(err)
		}
	}
	returns := func() (site, national int) {
		_ = st.Do(ctx, func(tx app.Tx) error {
			site, _ = tx.SiteReturns("site_children_demo", "")
			rows, _ := tx.Returns("")
			for _, r := range rows {
				national += r.Returns
			}
			return nil
		})
		return
	}
	wait := func(what string, site, national int) {
		t.Helper()
		waitFor(t, what, func() bool {
			s, n := returns()
			return s == site && n == national
		})
	}

	linked, anon := "resp_01JD0000000000000000000001", "resp_01JD0000000000000000000002"
	p := scored(linked, "better")
	p["person_key"] = person
	send(apispecs.TypeResponseScored, person, p)
	send(apispecs.TypeResponseScored, anon, scored(anon, "same"))
	wait("both counted", 2, 2)

	p["national"] = false
	send(apispecs.TypeResponseScored, person, p)
	wait("linked out of national figures", 2, 1)

	send(apispecs.TypeScoreWithdrawn, person, map[string]any{"response_id": linked, "organisation_id": "org_children_demo",
		"site_id": "site_children_demo", "reason": "consent-withdrawn", "withdrawn_at": "2026-11-03T00:00:00Z"})
	wait("linked withdrawn", 1, 1)
	send(apispecs.TypeScoreWithdrawn, anon, map[string]any{"response_id": anon, "organisation_id": "org_children_demo",
		"site_id": "site_children_demo", "reason": "erasure"})
	wait("anonymous erased", 0, 0)
	var n int64
	db.Table("contributions").Count(&n)
	if n != 0 {
		t.Fatalf("%d contributions left", n)
	}
}
