package events_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/runtime"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/consent/internal/app"
	"poet.local/services/consent/internal/domain"
	svcevents "poet.local/services/consent/internal/events"
	"poet.local/services/consent/internal/store"
)

// The sweep worker, on an injected clock, announces a lapse at 18 through
// the outbox and Kafka as consent-withdrawn of the lapsing scopes, keyed by
// the subject, as identity's consumer would receive it.
func TestLapseSweeperAnnouncesOverKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	brokers := testkit.Kafka(t, apispecs.TopicConsentDecisions)
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, "consent", true)
	producer := events.NewProducer(events.ProducerConfig{Brokers: brokers, ClientID: "consent-test"})
	defer producer.Close()
	relay := storage.NewRelay(db, producer, storage.RelayOptions{PollInterval: 20 * time.Millisecond})

	var clock atomic.Pointer[time.Time]
	start := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	clock.Store(&start)
	a := app.New(store.New(db, svcevents.Announcer(runtime.Outbox(schemas, "consent")), relay.Notify), func() time.Time { return *clock.Load() })

	turns18 := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	c, err := a.Record(ctx, app.Caller{Organisation: "org_children_demo", Subject: "pat"}, domain.Decision{SubjectRef: ref,
		Scopes: domain.AllScopes, GivenBy: domain.GivenByParentCarer, Method: domain.MethodPaper, PolicyVersion: "2025-01",
		SubjectTurns18On: &turns18}, "")
	if err != nil {
		t.Fatal(err)
	}
	later := time.Date(2025, 12, 1, 8, 0, 0, 0, time.UTC)
	clock.Store(&later)

	got := make(chan events.Event, 10)
	consumer := events.NewConsumer(events.ConsumerConfig{
		Brokers: brokers, GroupID: "identity-like", Topics: []string{apispecs.TopicConsentDecisions}, Schemas: schemas,
	}, openDB(t, "follower", false), func(_ context.Context, _ *gorm.DB, ev events.Event) error {
		got <- ev
		return nil
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 3)
	go func() { done <- relay.Run(runCtx) }()
	go func() { done <- consumer.Run(runCtx) }()
	go func() {
		done <- svcevents.LapseSweeper(a, 10*time.Millisecond, slog.New(slog.DiscardHandler))(runCtx)
	}()
	defer func() {
		stop()
		_ = consumer.Close()
		for range 3 {
			<-done
		}
	}()

	var types []string
	for len(types) < 2 {
		select {
		case ev := <-got:
			types = append(types, ev.Type)
			if ev.Key != ref {
				t.Fatalf("%s keyed %s", ev.Type, ev.Key)
			}
			if ev.Type != apispecs.TypeConsentWithdrawn {
				continue
			}
			var p struct {
				ConsentID   string   `json:"consent_id"`
				Scopes      []string `json:"scopes"`
				EffectiveAt string   `json:"effective_at"`
			}
			_ = json.Unmarshal(ev.Data, &p)
			if p.ConsentID != c.ID || !reflect.DeepEqual(p.Scopes, []string{"cross-service-linkage", "transition-sharing"}) || p.EffectiveAt != "2025-12-01T00:00:00Z" {
				t.Fatalf("lapse announced %+v", p)
			}
		case <-ctx.Done():
			t.Fatalf("events seen: %v", types)
		}
	}
	if !reflect.DeepEqual(types, []string{apispecs.TypeConsentRecorded, apispecs.TypeConsentWithdrawn}) {
		t.Fatalf("events %v", types)
	}
	// The worker keeps sweeping; nothing more is announced.
	select {
	case ev := <-got:
		t.Fatalf("unexpected %s", ev.Type)
	case <-time.After(300 * time.Millisecond):
	}
}
