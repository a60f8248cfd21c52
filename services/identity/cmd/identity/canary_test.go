package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"poet.local/apispecs"
	"poet.local/libs/events"
	"poet.local/libs/storage"
	"poet.local/libs/testkit"
)

// The canary's identifiers: distinctive enough that finding any of them
// anywhere means a leak.
var canaries = []string{
	"Quillfeather", "Zanzibar", "9434765919", "943 476 5919", "ZZ99 3CZ", "ZZ993CZ",
	"CANARY-LOCAL-7f3a9c", "CANARY-ADULT-91b2e4", "2003-07-19", "B801200005001",
}

func leaks(data []byte) []string {
	var found []string
	lower := bytes.ToLower(data)
	for _, c := range canaries {
		if bytes.Contains(lower, bytes.ToLower([]byte(c))) {
			found = append(found, c)
		}
	}
	return found
}

// output captures everything the process writes to stdout, stderr and the
// standard logger while the service runs: the JSON slog handler writes to
// os.Stdout as it was when the service started.
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	w    *os.File
	done chan struct{}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Clone(o.buf.Bytes())
}

func captureOutput(t *testing.T) *output {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	o := &output{w: w, done: make(chan struct{})}
	stdout, stderr, logger := os.Stdout, os.Stderr, slog.Default()
	os.Stdout, os.Stderr = w, w
	log.SetOutput(w)
	go func() { _, _ = io.Copy(o, r); close(o.done) }()
	t.Cleanup(func() {
		os.Stdout, os.Stderr = stdout, stderr
		log.SetOutput(stderr)
		slog.SetDefault(logger)
		_ = w.Close()
		<-o.done
	})
	return o
}

// stop ends the capture once the service has stopped.
func (o *output) stop() {
	_ = o.w.Close()
	<-o.done
}

type canaryRun struct {
	t    *testing.T
	base string
}

func (c *canaryRun) call(method, path, token string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// The "done when": register a canary, consent, link, withdraw,
// erase; then no canary identifier is anywhere but the vault's ciphertext:
// not in the log output, not in any event published, not in any table, not
// in the raw database files.
func TestCanaryIdentifiersNeverLeaveTheVault(t *testing.T) {
	baseEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	oidc := testkit.OIDC(t, "poet-platform")
	topics := []string{apispecs.TopicIdentityOrganisations, apispecs.TopicIdentityLinks, apispecs.TopicConsentDecisions}
	brokers := testkit.Kafka(t, topics...)
	addr := freeAddr(t)
	dbFile := filepath.Join(t.TempDir(), "identity.db")
	key := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("DATABASE_URL", "sqlite:"+dbFile)
	t.Setenv("LOG_LEVEL", "debug") // everything the service would ever log
	t.Setenv("KAFKA_BROKERS", strings.Join(brokers, ","))
	t.Setenv("AUTH_ISSUERS", "")
	t.Setenv("IDENTITY_SEED_DEMO", "true")
	t.Setenv("IDENTITY_DEMO_ISSUER_BASE", oidc.BaseURL())
	t.Setenv("IDENTITY_SUBJECT_KEYS", `{"1":"`+key(1)+`","2":"`+key(2)+`"}`)
	t.Setenv("IDENTITY_KEKS", `{"1":"`+key(3)+`","2":"`+key(4)+`"}`)
	t.Setenv("IDENTITY_KEK_CURRENT", "2")
	t.Setenv("IDENTITY_INDEX_KEY", key(5))
	t.Setenv("IDENTITY_REPORTING_KEY", key(6))

	out := captureOutput(t)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx) }()
	stopped := false
	shutdown := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not stop")
		}
	}
	defer shutdown()
	c := &canaryRun{t: t, base: "http://" + addr}
	waitReady(t, c.base, done)

	mint := func(slug, user string) string {
		tok, err := oidc.Mint(slug, user)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	identifiers := func(local string) map[string]any {
		return map[string]any{"local_id": local, "nhs_number": "943 476 5919", "nhs_number_verified": true, "given_name": "Quillfeather",
			"family_name": "Zanzibar", "date_of_birth": "2003-07-19", "sex": "female", "postcode": "zz99 3cz", "upn": "B801200005001"}
	}
	status, got := c.call("POST", "/v1/subjects", mint("children-demo", "pat"), identifiers("CANARY-LOCAL-7f3a9c"))
	a, _ := got["subject_ref"].(string)
	if status != http.StatusOK || a == "" {
		t.Fatalf("register: %d %v", status, got)
	}
	status, got = c.call("POST", "/v1/subjects", mint("adult-demo", "pat"), identifiers("CANARY-ADULT-91b2e4"))
	b, _ := got["subject_ref"].(string)
	if status != http.StatusOK || b == "" {
		t.Fatalf("register adult: %d %v", status, got)
	}
	bad := identifiers("CANARY-LOCAL-7f3a9c")
	bad["nhs_number"] = "9434765918"
	if status, p := c.call("POST", "/v1/subjects", mint("children-demo", "pat"), bad); status != http.StatusUnprocessableEntity || len(leaks([]byte(toJSON(p)))) > 0 {
		t.Fatalf("invalid registration: %d %v", status, p)
	}

	links := readTopics(t, ctx, brokers, apispecs.TopicIdentityLinks, apispecs.TopicIdentityOrganisations,
		events.DLQTopic(apispecs.TopicIdentityLinks), events.DLQTopic(apispecs.TopicConsentDecisions))
	consent := newConsentPublisher(t, brokers)
	consent.publish(ctx, apispecs.TypeConsentRecorded, a, map[string]any{"consent_id": "cns_CANARY0000001", "organisation_id": "org_children_demo",
		"subject_ref": a, "scopes": []string{"participation", "cross-service-linkage", "transition-sharing"}, "given_by": "self", "method": "online",
		"policy_version": "1.0", "effective_at": time.Now().UTC().Format(time.RFC3339)})
	consent.publish(ctx, apispecs.TypeConsentRecorded, b, map[string]any{"consent_id": "cns_CANARY0000002", "organisation_id": "org_adult_demo",
		"subject_ref": b, "scopes": []string{"participation", "cross-service-linkage"}, "given_by": "self", "method": "online",
		"policy_version": "1.0", "effective_at": time.Now().UTC().Format(time.RFC3339)})
	linked := links.waitFor(t, ctx, apispecs.TopicIdentityLinks, 2)
	if linked[0].typ != apispecs.TypeSubjectLinked || linked[1].typ != apispecs.TypeSubjectLinked {
		t.Fatalf("link events %+v", linked)
	}

	if status, got := c.call("GET", "/v1/subjects/"+a+"/person-key?purpose=transition-journey", mint("national-demo", "ops"), nil); status != http.StatusOK || got["person_key"] == nil {
		t.Fatalf("person key: %d %v", status, got)
	}
	if status, got := c.call("POST", "/v1/subjects/resolve", mint("children-demo", "tom"), map[string]any{"local_id": "CANARY-LOCAL-7f3a9c"}); status != http.StatusOK || got["subject_ref"] != a {
		t.Fatalf("resolve: %d %v", status, got)
	}
	if status, got := c.call("POST", "/v1/operations/kek-rotation", mint("national-demo", "ops"), nil); status != http.StatusOK || got["kek_version"] != float64(2) {
		t.Fatalf("rotation: %d %v", status, got)
	}

	consent.publish(ctx, apispecs.TypeConsentWithdrawn, a, map[string]any{"consent_id": "cns_CANARY0000001", "organisation_id": "org_children_demo",
		"subject_ref": a, "scopes": []string{"cross-service-linkage", "transition-sharing"}, "effective_at": time.Now().UTC().Format(time.RFC3339)})
	consent.publish(ctx, apispecs.TypeErasureRequested, a, map[string]any{"request_id": "era_CANARY0000001", "organisation_id": "org_children_demo",
		"subject_ref": a, "requested_at": time.Now().UTC().Format(time.RFC3339)})
	all := links.waitFor(t, ctx, apispecs.TopicIdentityLinks, 4)
	if all[2].typ != apispecs.TypeSubjectUnlinked || all[2].key != a || !strings.Contains(string(all[2].value), "consent-withdrawn") ||
		all[3].typ != apispecs.TypeSubjectErased || all[3].key != a {
		t.Fatalf("withdrawal and erasure events %+v", all[2:])
	}
	shutdown()
	out.stop()
	links.close()

	// 1. The log output (and that it really was captured).
	logs := out.bytes()
	if !bytes.Contains(logs, []byte(`"route":"/v1/subjects"`)) || !bytes.Contains(logs, []byte(`"level":"DEBUG"`)) && !bytes.Contains(logs, []byte(`"level":"INFO"`)) {
		t.Fatalf("the service's log output was not captured; the check would prove nothing:\n%.2000s", logs)
	}
	if found := leaks(logs); len(found) > 0 {
		t.Errorf("the log output holds %v", found)
	}
	// 2. Every message published on identity's topics and the dead-letter topics.
	msgs := links.all()
	if len(msgs) < 8 { // 4 organisations + 4 link events
		t.Fatalf("only %d messages read from Kafka", len(msgs))
	}
	for _, m := range msgs {
		raw := append([]byte(m.key), m.value...)
		for _, h := range m.headers {
			raw = append(append(raw, h.Key...), h.Value...)
		}
		if found := leaks(raw); len(found) > 0 {
			t.Errorf("%s message %s holds %v", m.topic, m.typ, found)
		}
	}
	// 3. Every table (outbox and inbox included) but the vault's ciphertext columns.
	tables := scanTables(t, dbFile)
	for _, want := range []string{"subject_refs", "vault_entries", "audit_log", "outbox_messages", "consent_grants", "linkage_reviews"} {
		if _, ok := tables[want]; !ok {
			t.Fatalf("table %s not scanned (scanned %v)", want, tables)
		}
	}
	// 4. The raw database files, vault included: ciphertext only.
	files, _ := filepath.Glob(dbFile + "*")
	var sawRef bool
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sawRef = sawRef || bytes.Contains(raw, []byte(b))
		if found := leaks(raw); len(found) > 0 {
			t.Errorf("%s holds %v", filepath.Base(f), found)
		}
	}
	if !sawRef {
		t.Fatalf("the database files %v do not even hold a subject reference: the check read the wrong files", files)
	}
}

func waitReady(t *testing.T, base string, done chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run stopped during start-up: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready in 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scanTables reads every row of every table, skipping only the vault's
// ciphertext columns, and reports leaks; it returns the row count by table.
func scanTables(t *testing.T, dbFile string) map[string]int {
	t.Helper()
	db, err := storage.Open(context.Background(), "sqlite:"+dbFile)
	if err != nil {
		t.Fatal(err)
	}
	defer storage.Close(db)
	var names []string
	if err := db.Raw("SELECT name FROM sqlite_master WHERE type = 'table'").Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, table := range names {
		rows, err := db.Raw(`SELECT * FROM "` + table + `"`).Rows()
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		counts[table] = 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			counts[table]++
			for i, col := range cols {
				if table == "vault_entries" && (col == "ciphertext" || col == "wrapped_key") {
					continue
				}
				var text []byte
				switch v := vals[i].(type) {
				case []byte:
					text = v
				default:
					text = []byte(fmt.Sprint(v))
				}
				if found := leaks(text); len(found) > 0 {
					t.Errorf("%s.%s holds %v", table, col, found)
				}
			}
		}
		rows.Close()
	}
	return counts
}

// consentPublisher publishes consent decisions as the consent service
// does: schema-validated CloudEvents keyed by subject reference.
type consentPublisher struct {
	t        *testing.T
	schemas  *events.Schemas
	producer *events.Producer
}

func newConsentPublisher(t *testing.T, brokers []string) *consentPublisher {
	schemas, err := events.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	p := events.NewProducer(events.ProducerConfig{Brokers: brokers, ClientID: "consent-test", Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = p.Close() })
	return &consentPublisher{t: t, schemas: schemas, producer: p}
}

func (p *consentPublisher) publish(ctx context.Context, typ, ref string, payload map[string]any) {
	p.t.Helper()
	m, err := events.NewOutboxMessage(ctx, p.schemas, events.Message{Topic: apispecs.TopicConsentDecisions, Key: ref, Type: typ, Source: "consent", Subject: ref, Payload: payload})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.producer.Publish(ctx, []storage.OutboxMessage{m}); err != nil {
		p.t.Fatal(err)
	}
}

type kafkaMessage struct {
	topic, key, typ string
	value           []byte
	headers         []kafka.Header
}

// topicReader reads topics from the beginning with kafka-go, as any
// downstream consumer would.
type topicReader struct {
	r      *kafka.Reader
	mu     sync.Mutex
	msgs   []kafkaMessage
	notify chan struct{}
	done   chan struct{}
}

func readTopics(t *testing.T, ctx context.Context, brokers []string, topics ...string) *topicReader {
	tr := &topicReader{
		r: kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: "canary-scan", GroupTopics: topics,
			StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond}),
		notify: make(chan struct{}, 1), done: make(chan struct{}),
	}
	go func() {
		defer close(tr.done)
		for {
			m, err := tr.r.ReadMessage(ctx)
			if err != nil {
				return
			}
			km := kafkaMessage{topic: m.Topic, key: string(m.Key), value: m.Value, headers: m.Headers}
			for _, h := range m.Headers {
				if h.Key == events.HeaderType {
					km.typ = string(h.Value)
				}
			}
			tr.mu.Lock()
			tr.msgs = append(tr.msgs, km)
			tr.mu.Unlock()
			select {
			case tr.notify <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(tr.close)
	return tr
}

func (tr *topicReader) all() []kafkaMessage {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]kafkaMessage(nil), tr.msgs...)
}

// waitFor returns the first n messages on topic, in order per subject.
func (tr *topicReader) waitFor(t *testing.T, ctx context.Context, topic string, n int) []kafkaMessage {
	t.Helper()
	for {
		var on []kafkaMessage
		for _, m := range tr.all() {
			if m.topic == topic {
				on = append(on, m)
			}
		}
		if len(on) >= n {
			// Partitions interleave: order by the event sequence we expect
			// (linked before unlinked before erased; one subject's stay in order).
			rank := map[string]int{apispecs.TypeSubjectLinked: 0, apispecs.TypeSubjectUnlinked: 1, apispecs.TypeSubjectErased: 2}
			for i := 1; i < len(on); i++ {
				for j := i; j > 0 && rank[on[j].typ] < rank[on[j-1].typ]; j-- {
					on[j], on[j-1] = on[j-1], on[j]
				}
			}
			return on
		}
		select {
		case <-tr.notify:
		case <-ctx.Done():
			t.Fatalf("only %d of %d messages on %s", len(on), n, topic)
		}
	}
}

func (tr *topicReader) close() {
	_ = tr.r.Close()
	<-tr.done
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
