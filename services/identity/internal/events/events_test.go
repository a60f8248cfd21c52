package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/identity/internal/app"
	svcevents "poet.local/services/identity/internal/events"
	"poet.local/services/identity/internal/seed"
	"poet.local/services/identity/internal/store"
)

func openDB(t *testing.T, name string, migrations bool) *gorm.DB {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/"+name+".db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if migrations {
		err = storage.Migrate(ctx, db, store.Migrations())
	} else {
		err = storage.Migrate(ctx, db, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// The seeded demo registry travels outbox -> relay -> Kafka -> a consumer
// as CloudEvents keyed by organisation id, in the shape the survey service
// (and every other follower of the registry) reads.
func TestRegistryReachesConsumersThroughKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	brokers := testkit.Kafka(t, apispecs.TopicIdentityOrganisations)
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, "identity", true)
	publish := func(ctx context.Context, tx *gorm.DB, msgs ...events.Message) error {
		for _, m := range msgs {
			m.Source = "identity"
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
	producer := events.NewProducer(events.ProducerConfig{Brokers: brokers, ClientID: "identity-test"})
	defer producer.Close()
	relay := storage.NewRelay(db, producer, storage.RelayOptions{PollInterval: 20 * time.Millisecond})
	a := app.New(store.New(db, svcevents.Announcer(publish), relay.Notify), nil, app.Options{})
	demo, _ := seed.Demo("http://127.0.0.1:9090")
	if _, err := seed.Apply(ctx, a, demo); err != nil {
		t.Fatal(err)
	}

	got := make(chan events.Event, 10)
	consumer := events.NewConsumer(events.ConsumerConfig{
		Brokers: brokers, GroupID: "identity-test-follower", Topics: []string{apispecs.TopicIdentityOrganisations}, Schemas: schemas,
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

	seen := map[string]events.Event{}
	for len(seen) < len(demo) {
		select {
		case ev := <-got:
			seen[ev.Key] = ev
		case <-ctx.Done():
			t.Fatalf("only %d of %d organisations arrived", len(seen), len(demo))
		}
	}
	ev, ok := seen["org_children_demo"]
	if !ok {
		t.Fatalf("keys seen: %v", seen)
	}
	if ev.Type != apispecs.TypeOrganisationRegistered || ev.Source != "identity" || ev.Subject != "org_children_demo" ||
		ev.Topic != apispecs.TopicIdentityOrganisations || ev.DataSchema == "" {
		t.Fatalf("event attributes: %+v", ev)
	}
	var payload struct {
		OrganisationID string `json:"organisation_id"`
		Issuer         string `json:"issuer"`
		Sites          []struct {
			SiteID      string `json:"site_id"`
			ServiceLine string `json:"service_line"`
		} `json:"sites"`
	}
	if err := json.Unmarshal(ev.Data, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.OrganisationID != "org_children_demo" || payload.Issuer != "http://127.0.0.1:9090/children-demo" ||
		len(payload.Sites) != 1 || payload.Sites[0].SiteID != "site_children_demo" || payload.Sites[0].ServiceLine != "children" {
		t.Fatalf("payload %s", ev.Data)
	}
	if n, err := relay.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("outbox still has %d pending (%v)", n, err)
	}
}
