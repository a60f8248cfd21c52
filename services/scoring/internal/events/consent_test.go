package events_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/domain"
	svcevents "poet.local/services/scoring/internal/events"
	"poet.local/services/scoring/internal/rules"
	"poet.local/services/scoring/internal/store"
)

// TestConsentAndWithdrawalsOverKafka runs scoring's three consumers against
// an in-process broker: consent decides what is announced, a withdrawal
// of local-reporting and survey's erasure of a response each reach a
// downstream consumer as score-withdrawn, keyed like the score, and an
// erasure request deletes the subject's scores.
func TestConsentAndWithdrawalsOverKafka(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	brokers := testkit.Kafka(t, apispecs.TopicSurveyResponses, apispecs.TopicIdentityLinks, apispecs.TopicConsentDecisions, apispecs.TopicScoringScores)
	schemas, err := libevents.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, store.Migrations())
	producer := libevents.NewProducer(libevents.ProducerConfig{Brokers: brokers, ClientID: "scoring"})
	t.Cleanup(func() { _ = producer.Close() })
	relay := storage.NewRelay(db, producer, storage.RelayOptions{PollInterval: 20 * time.Millisecond})
	st := store.New(db, svcevents.Announcer(runtime.Outbox(schemas, "scoring")), relay.Notify)
	sets, err := rules.Parse(apispecs.ScoringRules())
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := domain.NewCatalogue(sets)
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(st, catalogue, nil)
	consumer := func(group, topic string, h libevents.Handler, d *gorm.DB) *libevents.Consumer {
		return libevents.NewConsumer(libevents.ConsumerConfig{Brokers: brokers, GroupID: group, Topics: []string{topic},
			Schemas: schemas, MaxAttempts: 2, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}, d, h)
	}
	run(t, ctx, "relay", relay.Run)
	run(t, ctx, "responses", consumer("scoring.responses", apispecs.TopicSurveyResponses, svcevents.Responses(a, st), db).Run)
	run(t, ctx, "consent", consumer("scoring.consent", apispecs.TopicConsentDecisions, svcevents.ConsentDecisions(a, st), db).Run)

	var mu sync.Mutex
	var seen []string
	run(t, ctx, "downstream", consumer("downstream", apispecs.TopicScoringScores, func(_ context.Context, _ *gorm.DB, ev libevents.Event) error {
		var p struct {
			ResponseID string `json:"response_id"`
			Reason     string `json:"reason"`
			National   *bool  `json:"national"`
		}
		_ = json.Unmarshal(ev.Data, &p)
		s := ev.Type + " " + p.ResponseID + " " + ev.Key + " " + p.Reason
		if p.National != nil && !*p.National {
			s += " not-national"
		}
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
		return nil
	}, openDB(t, nil)).Run)
	waitSeen := func(n int) []string {
		t.Helper()
		waitFor(t, "downstream events", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) >= n
		})
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
	consent := func(typ string, payload map[string]any) {
		publish(t, producer, schemas, apispecs.TopicConsentDecisions, typ, "consent", subject, payload)
	}

	consent(apispecs.TypeConsentRecorded, map[string]any{"consent_id": "cns_01JD0000000000000000000AAA", "organisation_id": "org_children_demo",
		"subject_ref": subject, "scopes": []string{"participation", "local-reporting", "national-benchmarking"}, "given_by": "self",
		"method": "online", "policy_version": "2025-01", "effective_at": "2026-10-01T00:00:00Z"})
	waitFor(t, "consent kept", func() bool {
		var n int64
		db.Table("subject_consents").Where("subject_ref = ?", subject).Count(&n)
		return n == 1
	})
	publish(t, producer, schemas, apispecs.TopicSurveyResponses, apispecs.TypeResponseSubmitted, "survey", subject, submitted(linked, "1.0.0", subject))
	publish(t, producer, schemas, apispecs.TopicSurveyResponses, apispecs.TypeResponseSubmitted, "survey", anon, submitted(anon, "1.0.0", ""))
	waitSeen(2)

	consent(apispecs.TypeConsentWithdrawn, map[string]any{"consent_id": "cns_01JD0000000000000000000AAA", "organisation_id": "org_children_demo",
		"subject_ref": subject, "scopes": []string{"local-reporting"}, "effective_at": "2026-11-03T00:00:00Z"})
	waitSeen(3)
	publish(t, producer, schemas, apispecs.TopicSurveyResponses, apispecs.TypeResponseWithdrawn, "survey", anon, map[string]any{
		"response_id": anon, "organisation_id": "org_children_demo", "site_id": "site_children_demo", "withdrawn_at": "2026-11-04T00:00:00Z", "reason": "erasure"})
	got := waitSeen(4)
	want := []string{
		apispecs.TypeResponseScored + " " + linked + " " + linked + " ",
		apispecs.TypeResponseScored + " " + anon + " " + anon + " ",
		apispecs.TypeScoreWithdrawn + " " + linked + " " + linked + " consent-withdrawn",
		apispecs.TypeScoreWithdrawn + " " + anon + " " + anon + " erasure",
	}
	// The two first come from one topic's two keys: either order.
	if got[0] > got[1] {
		got[0], got[1] = got[1], got[0]
	}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("downstream saw\n%v\nwant\n%v", got, want)
		}
	}

	consent(apispecs.TypeErasureRequested, map[string]any{"request_id": "era_01JD0000000000000000000000", "organisation_id": "org_children_demo",
		"subject_ref": subject, "requested_at": "2026-11-05T00:00:00Z"})
	waitFor(t, "the subject's scores and consents deleted", func() bool {
		var scores, consents int64
		db.Table("scored_responses").Count(&scores)
		db.Table("subject_consents").Count(&consents)
		return scores == 0 && consents == 0
	})
	// Already withdrawn downstream: the erasure announces nothing more.
	time.Sleep(300 * time.Millisecond)
	if got := waitSeen(4); len(got) != 4 {
		t.Fatalf("after erasure downstream saw %v", got)
	}
}
