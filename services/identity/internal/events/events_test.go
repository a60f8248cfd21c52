package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	svcevents "poet.local/services/identity/internal/events"
	"poet.local/services/identity/internal/seed"
	"poet.local/services/identity/internal/store"
	"poet.local/services/identity/internal/vault"
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
	a := app.New(store.New(db, svcevents.Announcer(publish), relay.Notify), app.Keys{}, app.Options{})
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

// identityEnv is identity's store and application over a migrated SQLite
// file, announcing into the real (schema-validating) outbox.
func identityEnv(t *testing.T) (*gorm.DB, *store.Store, *app.Service) {
	t.Helper()
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
	st := store.New(db, svcevents.Announcer(publish), nil)
	sk, _ := domain.NewSubjectKeyring(map[int][]byte{1: bytes.Repeat([]byte{'s'}, 32)}, 1)
	kk, _ := vault.NewKEKs(map[int][]byte{1: bytes.Repeat([]byte{'k'}, 32)}, 1)
	ix, _ := vault.NewBlindIndex(bytes.Repeat([]byte{'i'}, 32))
	rk, _ := domain.NewPersonKeyring(bytes.Repeat([]byte{'r'}, 32))
	return db, st, app.New(st, app.Keys{Subjects: sk, Vault: kk, Index: ix, Reporting: rk}, app.Options{})
}

// The consumer handler applies each consent decision type in the
// consumer's own transaction; what it cannot apply is permanent (DLQ).
func TestConsentDecisionsHandler(t *testing.T) {
	ctx := context.Background()
	db, st, a := identityEnv(t)
	ids := domain.Identifiers{NHSNumber: "9434765919", NHSNumberVerified: true, DateOfBirth: "2007-11-23"}
	ids.LocalID = "NB-1"
	ra, _ := a.RegisterSubject(ctx, app.Caller{Organisation: "org_children_demo"}, ids)
	ids.LocalID = "AD-1"
	rb, _ := a.RegisterSubject(ctx, app.Caller{Organisation: "org_adult_demo"}, ids)
	h := svcevents.ConsentDecisions(a, st)
	apply := func(typ string, payload map[string]any) error {
		data, _ := json.Marshal(payload)
		return db.Transaction(func(tx *gorm.DB) error {
			return h(ctx, tx, events.Event{ID: "e", Type: typ, Topic: apispecs.TopicConsentDecisions, Data: data})
		})
	}
	recorded := func(org, ref, id string) map[string]any {
		return map[string]any{"consent_id": id, "organisation_id": org, "subject_ref": ref, "scopes": []string{"participation", "cross-service-linkage"},
			"given_by": "self", "method": "online", "policy_version": "1.0", "effective_at": "2025-03-04T10:00:00Z"}
	}
	types := func() []string {
		var out []string
		db.Model(&storage.OutboxMessage{}).Order("id").Pluck("event_type", &out)
		return out
	}
	if err := apply(apispecs.TypeConsentRecorded, recorded("org_children_demo", ra, "cns_A000000000001")); err != nil {
		t.Fatal(err)
	}
	if err := apply(apispecs.TypeConsentRecorded, recorded("org_adult_demo", rb, "cns_B000000000001")); err != nil {
		t.Fatal(err)
	}
	if got := types(); len(got) != 2 || got[0] != apispecs.TypeSubjectLinked {
		t.Fatalf("after both consents: %v", got)
	}
	// A decision naming another organisation for the reference is refused for good.
	err := apply(apispecs.TypeConsentWithdrawn, map[string]any{"consent_id": "cns_B000000000001", "organisation_id": "org_children_demo",
		"subject_ref": rb, "scopes": []string{"cross-service-linkage"}, "effective_at": "2025-03-04T10:00:00Z"})
	if !events.IsPermanent(err) || len(types()) != 2 {
		t.Fatalf("wrong organisation: %v", err)
	}
	if err := apply(apispecs.TypeConsentRecorded, map[string]any{"scopes": "not a list"}); !events.IsPermanent(err) {
		t.Fatalf("malformed payload: %v", err)
	}
	if err := apply(apispecs.TypeOrganisationRegistered, map[string]any{}); err != nil {
		t.Fatalf("another type must be ignored: %v", err)
	}
	if err := apply(apispecs.TypeConsentWithdrawn, map[string]any{"consent_id": "cns_B000000000001", "organisation_id": "org_adult_demo",
		"subject_ref": rb, "scopes": []string{"cross-service-linkage"}, "effective_at": "2025-03-04T10:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	if err := apply(apispecs.TypeErasureRequested, map[string]any{"request_id": "era_0000000000001", "organisation_id": "org_children_demo",
		"subject_ref": ra, "requested_at": "2025-03-04T10:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	want := []string{apispecs.TypeSubjectLinked, apispecs.TypeSubjectLinked, apispecs.TypeSubjectUnlinked, apispecs.TypeSubjectUnlinked, apispecs.TypeSubjectErased}
	if got := types(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("announced %v\nwant %v", got, want)
	}
	if _, err := a.Identifiers(ctx, ra); !errors.Is(err, domain.ErrErased) {
		t.Fatalf("after erasure: %v", err)
	}
}

// The batch linkage worker runs at once, then every interval, and stops
// with its context; an unchanged vault is not linked again.
func TestLinkageJob(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db, st, a := identityEnv(t)
	for _, s := range []struct{ org, local, given string }{{"org_children_demo", "NB-1", "William"}, {"org_adult_demo", "AD-1", "Bill"}} {
		ref, err := a.RegisterSubject(ctx, app.Caller{Organisation: s.org}, domain.Identifiers{LocalID: s.local, GivenName: s.given,
			FamilyName: "Hartley", DateOfBirth: "2003-06-21", Sex: "male", Postcode: "NB7 3HQ"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Do(ctx, func(tx app.Tx) error {
			return a.ApplyConsentRecorded(ctx, tx, app.ConsentRecorded{ConsentID: "cns_" + s.local, OrganisationID: s.org, SubjectRef: ref, Scopes: []string{"cross-service-linkage"}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- svcevents.LinkageJob(a, 20*time.Millisecond, slog.Default())(ctx) }()
	count := func(table string) int64 {
		var n int64
		db.Table(table).Count(&n)
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for count("linkage_runs") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no linkage run")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several more intervals
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var linked int64
	db.Model(&storage.OutboxMessage{}).Where("event_type = ?", apispecs.TypeSubjectLinked).Count(&linked)
	if runs := count("linkage_runs"); runs != 1 || linked != 2 {
		t.Fatalf("%d runs stored, %d subject-linked announced; want 1 and 2", runs, linked)
	}
}
