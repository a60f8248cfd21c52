package events_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/consent/internal/app"
	"poet.local/services/consent/internal/domain"
	svcevents "poet.local/services/consent/internal/events"
	"poet.local/services/consent/internal/store"
)

const ref = "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF"

func openDB(t *testing.T, name string, fsys bool) *gorm.DB {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/"+name+".db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if fsys {
		err = storage.Migrate(ctx, db, store.Migrations())
	} else {
		err = storage.Migrate(ctx, db, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// One subject's decisions travel outbox -> relay -> Kafka -> a consumer in
// the order they were made, keyed by subject reference, as schema-valid
// CloudEvents.
func TestDecisionsReachConsumersInOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	brokers := testkit.Kafka(t, apispecs.TopicConsentDecisions)
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, "consent", true)
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
	producer := events.NewProducer(events.ProducerConfig{Brokers: brokers, ClientID: "consent-test"})
	defer producer.Close()
	relay := storage.NewRelay(db, producer, storage.RelayOptions{PollInterval: 20 * time.Millisecond})
	a := app.New(store.New(db, svcevents.Announcer(publish), relay.Notify), nil)

	pat := app.Caller{Organisation: "org_children_demo", Subject: "pat"}
	c, err := a.Record(ctx, pat, domain.Decision{SubjectRef: ref, Scopes: domain.AllScopes, GivenBy: domain.GivenBySelf,
		Method: domain.MethodOnline, PolicyVersion: "2025-01"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Withdraw(ctx, pat, c.ID, []domain.Scope{domain.ScopeCrossServiceLinkage}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RequestErasure(ctx, pat, ref, ""); err != nil {
		t.Fatal(err)
	}

	got := make(chan events.Event, 10)
	consumer := events.NewConsumer(events.ConsumerConfig{
		Brokers: brokers, GroupID: "consent-test-follower", Topics: []string{apispecs.TopicConsentDecisions}, Schemas: schemas,
	}, openDB(t, "follower", false), func(_ context.Context, _ *gorm.DB, ev events.Event) error {
		got <- ev
		return nil
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- relay.Run(runCtx) }()
	go func() { done <- consumer.Run(runCtx) }()
	defer func() {
		stop()
		_ = consumer.Close()
		<-done
		<-done
	}()

	want := []string{apispecs.TypeConsentRecorded, apispecs.TypeConsentWithdrawn, apispecs.TypeConsentWithdrawn, apispecs.TypeErasureRequested}
	for i, typ := range want {
		select {
		case ev := <-got:
			if ev.Type != typ || ev.Key != ref || ev.Subject != ref || ev.Source != "consent" || ev.DataSchema == "" {
				t.Fatalf("event %d: type %s key %s subject %s source %s, want %s keyed by the subject", i, ev.Type, ev.Key, ev.Subject, ev.Source, typ)
			}
			if err := schemas.Validate(ev.Type, ev.Data); err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d events arrived", i, len(want))
		}
	}
}
