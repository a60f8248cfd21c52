package seed_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	svcevents "poet.local/services/identity/internal/events"
	"poet.local/services/identity/internal/seed"
	"poet.local/services/identity/internal/store"
)

// The demo seed file (documentation of the IDENTITY_SEED_FILE shape) and
// the built-in demo seed must describe the same organisations.
func TestDemoFileMatchesBuiltInDemo(t *testing.T) {
	f, err := os.Open("testdata/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromFile, err := seed.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	builtIn, err := seed.Demo("http://127.0.0.1:9090/")
	if err != nil {
		t.Fatal(err)
	}
	if len(fromFile) != 4 || len(builtIn) != 4 {
		t.Fatalf("file has %d organisations, built-in %d; want 4", len(fromFile), len(builtIn))
	}
	for i := range builtIn {
		a, b := fromFile[i].Normalise(), builtIn[i].Normalise()
		if !domain.SameState(a, b) {
			t.Errorf("organisation %d:\nfile     %+v\nbuilt-in %+v", i, a, b)
		}
		if errs := b.Validate(); len(errs) > 0 {
			t.Errorf("built-in %s invalid: %v", b.ID, errs)
		}
	}
	if builtIn[0].Issuer != "http://127.0.0.1:9090/children-demo" || builtIn[3].ID != "org_national_demo" || len(builtIn[3].Sites) != 0 {
		t.Fatalf("built-in demo: %+v", builtIn)
	}
}

func TestDecodeRefusesTyposAndNonLists(t *testing.T) {
	for name, text := range map[string]string{
		"unknown field": `[{"id": "org_a1", "nmae": "A"}]`,
		"an object":     `{"id": "org_a1"}`,
		"trailing":      `[] []`,
	} {
		if _, err := seed.Decode(strings.NewReader(text)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	if _, err := seed.Demo("127.0.0.1:9090"); err == nil {
		t.Error("a base without scheme was accepted")
	}
}

func TestApplyIsRepeatable(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, "sqlite:"+t.TempDir()+"/identity.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
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
	a := app.New(store.New(db, svcevents.Announcer(publish), nil), app.Keys{}, app.Options{})
	demo, _ := seed.Demo("http://127.0.0.1:9090")
	if n, err := seed.Apply(ctx, a, demo); err != nil || n != 4 {
		t.Fatalf("first start: %d changed, %v", n, err)
	}
	if n, err := seed.Apply(ctx, a, demo); err != nil || n != 0 {
		t.Fatalf("second start: %d changed, %v; want 0", n, err)
	}
	var outbox int64
	db.Model(&storage.OutboxMessage{}).Count(&outbox)
	if outbox != 4 {
		t.Fatalf("outbox has %d events, want one per organisation", outbox)
	}
	bad := demo[0]
	bad.Kind = "council"
	_, err = seed.Apply(ctx, a, []domain.Organisation{bad})
	if err == nil || !strings.Contains(err.Error(), "org_children_demo") || !strings.Contains(err.Error(), "/kind") {
		t.Fatalf("invalid seed: %v, want an error naming the organisation and field", err)
	}
}
