package events_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
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

const (
	subject = "sub_abcdefghijklmnopqrstuvwx"
	person  = "pk_0123456789abcdefghijkl"
	linked  = "resp_01JD000000000000000000LINK"
	anon    = "resp_01JD000000000000000000ANON"
	retired = "resp_01JD000000000000000000OLDV"
)

// TestConsumesSurveyAndIdentityAndAnnouncesScores runs scoring's consumers,
// outbox relay and producer against an in-process Kafka broker, feeding
// hand-built events of survey's and identity's schemas, and reads what
// scoring announces as a downstream consumer would.
func TestConsumesSurveyAndIdentityAndAnnouncesScores(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	brokers := testkit.Kafka(t, apispecs.TopicSurveyResponses, apispecs.TopicIdentityLinks, apispecs.TopicScoringScores)
	schemas, err := libevents.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, store.Migrations())

	producer := libevents.NewProducer(libevents.ProducerConfig{Brokers: brokers, ClientID: "scoring"})
	t.Cleanup(func() { _ = producer.Close() })
	relay := storage.NewRelay(db, producer, storage.RelayOptions{PollInterval: 20 * time.Millisecond})
	rt := &runtime.Runtime{Service: "scoring", Schemas: schemas}
	st := store.New(db, svcevents.Announcer(rt.Publish), relay.Notify)
	sets, err := rules.Parse(apispecs.ScoringRules())
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := domain.NewCatalogue(sets)
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(st, catalogue, nil)

	fast := func(group string, topic string, h libevents.Handler, d *gorm.DB) *libevents.Consumer {
		return libevents.NewConsumer(libevents.ConsumerConfig{Brokers: brokers, GroupID: group, Topics: []string{topic},
			Schemas: schemas, MaxAttempts: 2, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}, d, h)
	}
	run(t, ctx, "relay", relay.Run)
	run(t, ctx, "links", fast("scoring.links", apispecs.TopicIdentityLinks, svcevents.Links(a, st), db).Run)
	run(t, ctx, "responses", fast("scoring.responses", apispecs.TopicSurveyResponses, svcevents.Responses(a, st), db).Run)

	// Downstream: a consumer in its own database collects response-scored.
	var mu sync.Mutex
	scores := map[string]libevents.Event{}
	run(t, ctx, "downstream", fast("downstream", apispecs.TopicScoringScores, func(_ context.Context, _ *gorm.DB, ev libevents.Event) error {
		mu.Lock()
		defer mu.Unlock()
		var p struct {
			ResponseID string `json:"response_id"`
		}
		_ = json.Unmarshal(ev.Data, &p)
		scores[p.ResponseID] = ev
		return nil
	}, openDB(t, nil)).Run)

	// Identity links the subject; only then does survey's response arrive
	// (the two topics have no order between them).
	publish(t, producer, schemas, apispecs.TopicIdentityLinks, apispecs.TypeSubjectLinked, "identity", subject, map[string]any{
		"subject_ref": subject, "organisation_id": "org_children_demo", "person_key": person, "effective_at": "2026-10-01T00:00:00Z",
	})
	waitFor(t, "link applied", func() bool {
		var n int64
		db.Table("subject_links").Where("subject_ref = ? AND person_key = ?", subject, person).Count(&n)
		return n == 1
	})
	publish(t, producer, schemas, apispecs.TopicSurveyResponses, apispecs.TypeResponseSubmitted, "survey", subject, submitted(linked, "1.0.0", subject))
	publish(t, producer, schemas, apispecs.TopicSurveyResponses, apispecs.TypeResponseSubmitted, "survey", anon, submitted(anon, "1.0.0", ""))
	publish(t, producer, schemas, apispecs.TopicSurveyResponses, apispecs.TypeResponseSubmitted, "survey", retired, submitted(retired, "0.9.0", ""))

	waitFor(t, "two scores announced", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(scores) == 2
	})
	mu.Lock()
	ev, evAnon := scores[linked], scores[anon]
	mu.Unlock()
	if ev.Type != apispecs.TypeResponseScored || ev.Source != "scoring" || ev.Key != person || ev.Subject != person {
		t.Errorf("linked score: type %s source %s key %s subject %s", ev.Type, ev.Source, ev.Key, ev.Subject)
	}
	if evAnon.Key != anon {
		t.Errorf("anonymous score keyed %s, want the response id", evAnon.Key)
	}
	if err := schemas.Validate(apispecs.TypeResponseScored, ev.Data); err != nil {
		t.Errorf("announced payload breaks its schema: %v", err)
	}
	var got struct {
		PersonKey string `json:"person_key"`
		Period    string `json:"period"`
		Groups    struct {
			Mode, RespondentRole, AgeBand string
		} `json:"groups"`
		Domains []struct{ Domain, Outcome string } `json:"domains"`
	}
	if err := json.Unmarshal(ev.Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.PersonKey != person || got.Period != "2026-Q4" || len(got.Domains) != 2 || got.Domains[0].Domain != "quality-of-life" || got.Domains[0].Outcome != "better" {
		t.Errorf("linked score payload = %s", ev.Data)
	}
	if strings.Contains(string(ev.Data), subject) {
		t.Error("response-scored carries the subject reference")
	}

	// The response to an instrument version without rules is dead-lettered
	// with the reason, and nothing was stored for it.
	reason := readDLQReason(t, brokers, apispecs.TopicSurveyResponses)
	if !strings.Contains(reason, "no scoring rules") || !strings.Contains(reason, "short-set@0.9.0") {
		t.Errorf("dlq reason = %q", reason)
	}
	var n int64
	db.Table("scored_responses").Count(&n)
	if n != 2 {
		t.Errorf("%d scored responses stored, want 2", n)
	}
}

func submitted(id, version, subjectRef string) map[string]any {
	p := map[string]any{
		"response_id": id, "organisation_id": "org_children_demo", "site_id": "site_children_demo",
		"service_line": "children", "instrument_id": "short-set", "instrument_version": version,
		"campaign_id": "cmp_01JD0000000000000000000000", "mode": "online", "respondent_role": "self",
		"submitted_at": "2026-11-02T10:00:00Z",
		"answers": map[string]any{"respondent-role": "self", "age-band": "18-25", "knew-amount": "yes", "views-included": "partly",
			"outcome-quality-of-life": "better", "outcome-health": "same"},
	}
	if subjectRef != "" {
		p["subject_ref"] = subjectRef
	}
	return p
}

func publish(t *testing.T, p *libevents.Producer, s *libevents.Schemas, topic, typ, source, key string, payload any) {
	t.Helper()
	m, err := libevents.NewOutboxMessage(context.Background(), s, libevents.Message{Topic: topic, Key: key, Type: typ, Source: source, Subject: key, Payload: payload})
	if err != nil {
		t.Fatalf("hand-built %s is not valid against its schema: %v", typ, err)
	}
	if err := p.Publish(context.Background(), []storage.OutboxMessage{m}); err != nil {
		t.Fatal(err)
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

// openDB opens a fresh SQLite file with the platform's tables and, unless
// nil, the service's migrations.
func openDB(t *testing.T, migrations fs.FS) *gorm.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), "sqlite:"+t.TempDir()+"/db.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(context.Background(), db, migrations); err != nil {
		t.Fatal(err)
	}
	return db
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

// TestLinksHandlerAppliesUnlinkAndErasure calls the links handler in a real
// SQLite transaction with each of identity's event types.
func TestLinksHandlerAppliesUnlinkAndErasure(t *testing.T) {
	db := openDB(t, store.Migrations())
	schemas, err := libevents.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	rt := &runtime.Runtime{Service: "scoring", Schemas: schemas}
	st := store.New(db, svcevents.Announcer(rt.Publish), nil)
	catalogue, err := domain.NewCatalogue(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := svcevents.Links(app.New(st, catalogue, nil), st)
	personKey := func() (string, bool) {
		var pk []*string
		db.Table("subject_links").Where("subject_ref = ?", subject).Pluck("person_key", &pk)
		if len(pk) == 0 || pk[0] == nil {
			return "", len(pk) == 1
		}
		return *pk[0], true
	}
	apply := func(typ string, payload string) {
		t.Helper()
		if err := schemas.Validate(typ, []byte(payload)); err != nil {
			t.Fatalf("hand-built %s: %v", typ, err)
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			return h(context.Background(), tx, libevents.Event{ID: typ, Type: typ, Data: []byte(payload)})
		})
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	apply(apispecs.TypeSubjectLinked, `{"subject_ref":"`+subject+`","organisation_id":"org_adult_demo","person_key":"`+person+`","effective_at":"2026-10-01T00:00:00Z"}`)
	if pk, _ := personKey(); pk != person {
		t.Fatalf("after subject-linked: person key %q", pk)
	}
	apply(apispecs.TypeSubjectUnlinked, `{"subject_ref":"`+subject+`","organisation_id":"org_adult_demo","effective_at":"2026-10-02T00:00:00Z","reason":"consent-withdrawn"}`)
	if pk, known := personKey(); pk != "" || !known {
		t.Fatalf("after subject-unlinked: person key %q (row kept: %v)", pk, known)
	}
	apply(apispecs.TypeSubjectLinked, `{"subject_ref":"`+subject+`","organisation_id":"org_adult_demo","person_key":"`+person+`","effective_at":"2026-10-03T00:00:00Z"}`)
	apply(apispecs.TypeSubjectErased, `{"subject_ref":"`+subject+`","organisation_id":"org_adult_demo","effective_at":"2026-10-04T00:00:00Z"}`)
	if pk, _ := personKey(); pk != "" {
		t.Fatalf("after subject-erased: person key %q", pk)
	}
}
