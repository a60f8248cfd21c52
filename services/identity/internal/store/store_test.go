package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	svcevents "poet.local/services/identity/internal/events"
	"poet.local/services/identity/internal/store"
	"poet.local/services/identity/internal/vault"
)

// env is a real SQLite file with the service's migrations, and the
// application over it, announcing through schema-validated outbox messages
// exactly as runtime.Publish does.
type env struct {
	db      *gorm.DB
	st      *store.Store
	app     *app.Service
	schemas *events.Schemas
	keys    app.Keys
	now     time.Time
	seen    []domain.Organisation // OnRegistered calls
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	if err := storage.Migrate(ctx, db, store.Migrations()); err != nil {
		t.Fatal(err)
	}
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, schemas: schemas, now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
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
	e.st = store.New(db, svcevents.Announcer(publish), nil)
	e.keys = testKeys(t, map[int][]byte{1: []byte("0123456789abcdef0123456789abcdef")}, map[int][]byte{1: bytes.Repeat([]byte{1}, 32)})
	e.app = e.newApp(e.keys, nil)
	return e
}

// testKeys builds identity's keys: subject keys and KEKs by version (the
// highest current), fixed index and reporting keys.
func testKeys(t *testing.T, subjects, keks map[int][]byte) app.Keys {
	t.Helper()
	cur := func(m map[int][]byte) int {
		c := 0
		for v := range m {
			c = max(c, v)
		}
		return c
	}
	sk, err := domain.NewSubjectKeyring(subjects, cur(subjects))
	if err != nil {
		t.Fatal(err)
	}
	kk, err := vault.NewKEKs(keks, cur(keks))
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := vault.NewBlindIndex([]byte("a-store-test-blind-index-key-32b"))
	rk, _ := domain.NewPersonKeyring([]byte("a-store-test-reporting-key-32byt"))
	return app.Keys{Subjects: sk, Vault: kk, Index: ix, Reporting: rk}
}

// newApp is the application over e's store with keys (and a matcher, nil
// for the deterministic one), on e's clock.
func (e *env) newApp(keys app.Keys, m app.Matcher) *app.Service {
	return app.New(e.st, keys, app.Options{
		Now:          func() time.Time { return e.now },
		OnRegistered: func(o domain.Organisation) { e.seen = append(e.seen, o) },
		Matcher:      m,
	})
}

func (e *env) outbox(t *testing.T) []storage.OutboxMessage {
	t.Helper()
	var rows []storage.OutboxMessage
	if err := e.db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

var operator = app.Caller{Organisation: "org_national_demo", Roles: []string{"operator"}}

func children() domain.Organisation {
	return domain.Organisation{
		ID: "org_children_demo", Name: "Northbrook Council children's services", Kind: domain.KindLocalAuthority,
		Region: "North West", Issuer: "http://127.0.0.1:9090/children-demo", Audience: "poet-platform",
		Sites: []domain.Site{{ID: "site_children_demo", Name: "Children's services", ServiceLine: domain.ServiceLineChildren}},
	}
}

func TestRegisterCreatesAndAnnouncesOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reg, err := e.app.RegisterOrganisation(ctx, operator, children(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !reg.Created || !reg.Changed || reg.Organisation.RolesClaim != "roles" || !reg.Organisation.CreatedAt.Equal(e.now) {
		t.Fatalf("registration = %+v", reg)
	}
	got, err := e.app.Organisation(ctx, "org_children_demo")
	if err != nil {
		t.Fatal(err)
	}
	if !domain.SameState(got, reg.Organisation) || got.Sites[0].OrganisationID != "org_children_demo" || !got.UpdatedAt.Equal(e.now) {
		t.Fatalf("stored %+v, want %+v", got, reg.Organisation)
	}

	out := e.outbox(t)
	if len(out) != 1 {
		t.Fatalf("outbox has %d messages, want 1", len(out))
	}
	m := out[0]
	if m.Topic != apispecs.TopicIdentityOrganisations || m.Key != "org_children_demo" || m.Subject != "org_children_demo" ||
		m.EventType != apispecs.TypeOrganisationRegistered || m.Source != "identity" {
		t.Fatalf("outbox message %+v", m)
	}
	if err := e.schemas.Validate(m.EventType, m.Data); err != nil {
		t.Fatalf("payload breaks its schema: %v", err)
	}
	var payload map[string]any
	_ = json.Unmarshal(m.Data, &payload)
	sites, _ := payload["sites"].([]any)
	if payload["issuer"] != "http://127.0.0.1:9090/children-demo" || len(sites) != 1 ||
		sites[0].(map[string]any)["service_line"] != "children" {
		t.Fatalf("payload %s", m.Data)
	}
	if len(e.seen) != 1 {
		t.Fatalf("OnRegistered called %d times, want 1", len(e.seen))
	}

	// Unchanged (even with the sites given in another order): nothing new.
	e.now = e.now.Add(time.Hour)
	again, err := e.app.RegisterOrganisation(ctx, operator, children(), "")
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Changed || !again.Organisation.UpdatedAt.Equal(reg.Organisation.UpdatedAt) {
		t.Fatalf("unchanged re-registration = %+v", again)
	}
	if n := len(e.outbox(t)); n != 1 || len(e.seen) != 1 {
		t.Fatalf("unchanged re-registration announced: outbox %d, OnRegistered %d", n, len(e.seen))
	}

	// A change (new name, extra site) is saved and announced.
	changed := children()
	changed.Name = "Northbrook children's services"
	changed.Sites = append(changed.Sites, domain.Site{ID: "site_children_east", Name: "East", ServiceLine: domain.ServiceLineChildren})
	reg2, err := e.app.RegisterOrganisation(ctx, operator, changed, "")
	if err != nil {
		t.Fatal(err)
	}
	if reg2.Created || !reg2.Changed || !reg2.Organisation.CreatedAt.Equal(reg.Organisation.CreatedAt) || !reg2.Organisation.UpdatedAt.Equal(e.now) {
		t.Fatalf("change = %+v", reg2)
	}
	out = e.outbox(t)
	if len(out) != 2 {
		t.Fatalf("outbox has %d messages after a change, want 2", len(out))
	}
	if err := e.schemas.Validate(out[1].EventType, out[1].Data); err != nil {
		t.Fatal(err)
	}
	got, _ = e.app.Organisation(ctx, "org_children_demo")
	if got.Name != "Northbrook children's services" || len(got.Sites) != 2 {
		t.Fatalf("after change: %+v", got)
	}
}

func TestRegisterRefusesConflicts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.app.RegisterOrganisation(ctx, operator, children(), ""); err != nil {
		t.Fatal(err)
	}
	type conflict struct {
		org domain.Organisation
		ptr string
	}
	cases := map[string]conflict{}
	takeSite := domain.Organisation{ID: "org_adult_demo", Name: "Adult", Kind: domain.KindLocalAuthority, Region: "North West",
		Issuer: "http://127.0.0.1:9090/adult-demo", Audience: "poet-platform",
		Sites: []domain.Site{{ID: "site_children_demo", Name: "Mine now", ServiceLine: domain.ServiceLineAdult}}}
	cases["site of another organisation"] = conflict{takeSite, "/sites/0/id"}
	shareIssuer := takeSite
	shareIssuer.Sites = nil
	shareIssuer.Issuer = "http://127.0.0.1:9090/children-demo"
	cases["issuer of another organisation"] = conflict{shareIssuer, "/issuer"}
	dropSite := children()
	dropSite.Sites = nil
	cases["registered site left out"] = conflict{dropSite, "/sites"}
	invalid := children()
	invalid.Kind = "council"
	cases["invalid"] = conflict{invalid, "/kind"}

	for name, c := range cases {
		_, err := e.app.RegisterOrganisation(ctx, operator, c.org, "")
		var ve *app.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Pointer != c.ptr {
			t.Errorf("%s: err = %v (%+v), want one field error at %s", name, err, ve, c.ptr)
		}
	}
	if n := len(e.outbox(t)); n != 1 {
		t.Fatalf("refused registrations announced: outbox has %d", n)
	}
	if _, err := e.app.Organisation(ctx, "org_adult_demo"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("refused organisation was stored: %v", err)
	}
}

func TestRegisterIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, err := e.app.RegisterOrganisation(ctx, operator, children(), "key-00000001")
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	retry, err := e.app.RegisterOrganisation(ctx, operator, children(), "key-00000001")
	if err != nil {
		t.Fatal(err)
	}
	if !retry.Created || retry.Changed || !domain.SameState(first.Organisation, retry.Organisation) ||
		!retry.Organisation.CreatedAt.Equal(first.Organisation.CreatedAt) {
		t.Fatalf("retry = %+v, want the first result %+v", retry, first)
	}
	if n := len(e.outbox(t)); n != 1 {
		t.Fatalf("retry announced again: outbox has %d", n)
	}
	other := children()
	other.Name = "Something else"
	if _, err := e.app.RegisterOrganisation(ctx, operator, other, "key-00000001"); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("reused key with another body: err = %v", err)
	}
	// Keys are scoped to the caller's organisation.
	elsewhere := app.Caller{Organisation: "org_other"}
	if reg, err := e.app.RegisterOrganisation(ctx, elsewhere, other, "key-00000001"); err != nil || !reg.Changed {
		t.Fatalf("same key from another organisation: %+v, %v", reg, err)
	}
}

func TestOrganisationsPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, id := range []string{"org_c3", "org_a1", "org_b2"} {
		o := domain.Organisation{ID: id, Name: id, Kind: domain.KindProvider, Region: "R", Issuer: "https://login.example/" + id, Audience: "a"}
		if _, err := e.app.RegisterOrganisation(ctx, operator, o, ""); err != nil {
			t.Fatal(err)
		}
	}
	page, next, err := e.app.Organisations(ctx, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != "org_a1" || page[1].ID != "org_b2" || next != "org_b2" {
		t.Fatalf("first page %v next %q err %v", page, next, err)
	}
	if page[0].Sites == nil {
		t.Error("an organisation without sites must have an empty list, not nil")
	}
	page, next, err = e.app.Organisations(ctx, next, 2)
	if err != nil || len(page) != 1 || page[0].ID != "org_c3" || next != "" {
		t.Fatalf("second page %v next %q err %v", page, next, err)
	}
}

func TestSubjectRefsAreCountedOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pat := app.Caller{Organisation: "org_children_demo"}
	register := func(who app.Caller, local string) (string, error) {
		return e.app.RegisterSubject(ctx, who, domain.Identifiers{LocalID: local})
	}
	a, err := register(pat, " 12345 ")
	if err != nil {
		t.Fatal(err)
	}
	if a != "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF" { // see domain's independent vector
		t.Fatalf("ref = %s", a)
	}
	if b, _ := register(pat, "12345"); b != a {
		t.Fatal("same local id gave another reference")
	}
	if _, err := register(pat, "67890"); err != nil {
		t.Fatal(err)
	}
	other, _ := register(app.Caller{Organisation: "org_adult_demo"}, "12345")
	if other == a {
		t.Fatal("two organisations got the same reference")
	}
	if n, _ := e.st.SubjectCount(ctx, "org_children_demo"); n != 2 {
		t.Fatalf("children count = %d, want 2", n)
	}
	if n, _ := e.st.SubjectCount(ctx, "org_adult_demo"); n != 1 {
		t.Fatalf("adult count = %d, want 1", n)
	}
	var refs int64
	e.db.Table("subject_refs").Count(&refs)
	if refs != 3 {
		t.Fatalf("subject_refs has %d rows, want 3", refs)
	}
	var ve *app.ValidationError
	if _, err := register(pat, "   "); !errors.As(err, &ve) {
		t.Fatalf("blank local id: err = %v", err)
	}
	if n := len(e.outbox(t)); n != 0 {
		t.Fatalf("registering subjects announced %d events; without consent they announce none", n)
	}
}
