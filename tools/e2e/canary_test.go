package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"poet.local/tools/stack"
)

// The canary person's identifiers: distinctive enough that finding any of
// them anywhere but identity's vault ciphertext means a leak.
const (
	canaryGiven    = "Quillfeather"
	canaryFamily   = "Zanzibar-Canary"
	canaryNHS      = "9434765919"
	canaryPostcode = "ZZ99 3CZ"
	canaryLocal    = "CANARY-LOCAL-7781"
	canaryAdult    = "CANARY-ADULT-7781" // the same person's id at a second organisation
	canaryDOB      = "2004-02-29"
)

// canaryStrings are searched for case-insensitively, in every form the
// services could have normalised them to.
var canaryStrings = []string{canaryGiven, canaryFamily, "Zanzibar", canaryNHS, "943 476 5919", canaryPostcode, "ZZ993CZ",
	canaryLocal, canaryAdult, canaryDOB}

func canaryLeaks(data []byte) []string {
	lower := bytes.ToLower(data)
	var found []string
	for _, c := range canaryStrings {
		if bytes.Contains(lower, bytes.ToLower([]byte(c))) {
			found = append(found, c)
		}
	}
	return found
}

// TestCanaryIdentifiersNeverLeaveIdentity is the Identity issue's "done
// when", across every service: a canary person is registered with identity
// at two organisations (the same verified NHS number and date of birth),
// consents to every scope through consent, is linked, has embedded
// short-set responses submitted about them through survey (which resolves
// the local person id with identity), is scored and counted; the batch
// linkage job runs over them. Then no canary identifier may appear in any
// service's log, in any message (key, value or header) on any topic of the
// broker, or in the bytes of any service's SQLite files; identity's files
// hold the identifiers only as ciphertext.
func TestCanaryIdentifiersNeverLeaveIdentity(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const portBase = 13000
	dataDir := t.TempDir()
	s, err := stack.Start(ctx, stack.Options{Root: root, DataDir: dataDir, KafkaAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0",
		PortBase: portBase, LogLevel: "debug", // everything any service would ever log
		ExtraEnv: map[string][]string{
			"survey":   {fmt.Sprintf("IDENTITY_URL=http://127.0.0.1:%d", 8083+portBase)},
			"identity": {"IDENTITY_LINKAGE_INTERVAL=1s"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = s.Close(context.Background())
		}
	})
	r := &canaryRun{t: t, ctx: ctx, s: s, c: &Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Survey: s.URL("survey"),
		Reporting: s.URL("reporting"), Identity: s.URL("identity"), Consent: s.URL("consent"), Scoring: s.URL("scoring")}}

	// Register the canary at two organisations and consent to everything.
	children := r.register("children-demo", canaryLocal)
	adult := r.register("adult-demo", canaryAdult)
	r.consent("children-demo", children)
	r.consent("adult-demo", adult)

	// Identity links them (same verified NHS number and date of birth).
	ops := r.token("national-demo", "ops")
	key := r.linkedPersonKey(ops, children, adult)

	// Survey takes embedded short-set answers about them at both sites,
	// resolving the local person id with identity.
	for _, site := range []struct{ slug, site, local string }{
		{"children-demo", "site_children_demo", canaryLocal}, {"adult-demo", "site_adult_demo", canaryAdult},
	} {
		cmp, err := r.c.CreateCampaign(ctx, r.token(site.slug, "ana"), site.site)
		if err != nil {
			t.Fatal(err)
		}
		pat := r.token(site.slug, "pat")
		for i := 0; i < 5; i++ {
			body := map[string]any{"local_person_id": site.local, "answers": ShortSetAnswers(i)}
			code, raw, err := r.c.Do(ctx, http.MethodPost, r.c.Survey+"/v1/campaigns/"+cmp.ID+"/embedded-responses", pat,
				map[string]string{"Idempotency-Key": fmt.Sprintf("embedded-%s-%d", site.slug, i)}, body, nil)
			if err != nil || code != http.StatusCreated {
				t.Fatalf("embedded response at %s: %d %s %v", site.site, code, raw, err)
			}
		}
		// Scoring and reporting have processed all five.
		r.waitReturns(r.token(site.slug, "ana"), site.site, 5)
	}

	// The batch linkage job runs over the canary (on demand, and on its
	// one-second schedule) and keeps the link.
	var run struct {
		Subjects int `json:"subjects"`
		Links    int `json:"links"`
	}
	if code, raw, err := r.c.Do(ctx, http.MethodPost, r.c.Identity+"/v1/linkage/runs", ops, nil, nil, &run); err != nil || code != http.StatusOK || run.Subjects < 2 || run.Links < 1 {
		t.Fatalf("linkage run: %d %s %v", code, raw, err)
	}
	time.Sleep(1500 * time.Millisecond)
	if again := r.linkedPersonKey(ops, children, adult); again != key {
		t.Fatalf("the batch job changed the canary's person key")
	}

	// Every message on every topic, from offset 0: keys, values, headers.
	msgs := r.readAllTopics()
	if msgs == 0 {
		t.Fatal("read no messages from the broker")
	}
	// Every service's metrics, as Prometheus would scrape them: labels must
	// never carry identifiers either.
	for _, svc := range stack.Services {
		code, raw, err := r.c.Do(ctx, http.MethodGet, s.URL(svc.Name)+"/metrics", "", nil, nil, nil)
		if err != nil || code != http.StatusOK || len(raw) == 0 {
			t.Fatalf("%s /metrics: %d %v", svc.Name, code, err)
		}
		if found := canaryLeaks(raw); len(found) > 0 {
			t.Errorf("%s's metrics hold canary identifiers %v", svc.Name, found)
		}
	}
	// The SQLite files while running (write-ahead logs included), then
	// again after a graceful stop has checkpointed them.
	running := scanDatabases(t, dataDir)
	closed = true
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("graceful stop: %v", err)
	}

	// Every service's log.
	for _, svc := range stack.Services {
		b, err := os.ReadFile(s.LogPath(svc.Name))
		if err != nil {
			t.Fatalf("%s log: %v", svc.Name, err)
		}
		if found := canaryLeaks(b); len(found) > 0 {
			t.Errorf("%s's log holds canary identifiers %v", svc.Name, found)
		}
	}
	stopped := scanDatabases(t, dataDir)
	for _, svc := range stack.Services {
		if svc.Name != "web" && !stopped[svc.Name] {
			t.Errorf("no SQLite file of %s was scanned", svc.Name)
		}
	}
	t.Logf("scanned %d broker messages, %d logs, and the SQLite files of %d services while running and %d after stopping", msgs, len(stack.Services), len(running), len(stopped))
}

// scanDatabases checks every service's SQLite files (.db, -wal, -shm),
// identity's included: its vault holds identifiers only as ciphertext and
// its indexes only keyed digests. It returns the services whose main
// database file it read.
func scanDatabases(t *testing.T, dataDir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "*.db*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if name, ok := strings.CutSuffix(filepath.Base(f), ".db"); ok && len(b) > 0 {
			seen[name] = true
		}
		if found := canaryLeaks(b); len(found) > 0 {
			t.Errorf("%s holds canary identifiers %v", filepath.Base(f), found)
		}
	}
	return seen
}

type canaryRun struct {
	t   *testing.T
	ctx context.Context
	s   *stack.Stack
	c   *Client
}

func (r *canaryRun) token(slug, user string) string {
	r.t.Helper()
	tok, err := r.s.Token(slug, user)
	if err != nil {
		r.t.Fatal(err)
	}
	return tok
}

// register gives identity the canary's identifiers as a practitioner of
// slug's organisation and returns the subject reference.
func (r *canaryRun) register(slug, local string) string {
	r.t.Helper()
	body := map[string]any{"local_id": local, "nhs_number": "943 476 5919", "nhs_number_verified": true, "given_name": canaryGiven,
		"family_name": canaryFamily, "date_of_birth": canaryDOB, "sex": "female", "postcode": canaryPostcode}
	var out struct {
		SubjectRef string `json:"subject_ref"`
	}
	code, raw, err := r.c.Do(r.ctx, http.MethodPost, r.c.Identity+"/v1/subjects", r.token(slug, "pat"), nil, body, &out)
	if err != nil || code != http.StatusOK || out.SubjectRef == "" {
		r.t.Fatalf("register at %s: %d %s %v", slug, code, raw, err)
	}
	return out.SubjectRef
}

// consent records the person's own consent to every scope.
func (r *canaryRun) consent(slug, ref string) {
	r.t.Helper()
	body := map[string]any{"subject_ref": ref, "given_by": "self", "method": "face-to-face", "policy_version": "2025-01",
		"scopes": []string{"participation", "local-reporting", "national-benchmarking", "cross-service-linkage", "transition-sharing"}}
	code, raw, err := r.c.Do(r.ctx, http.MethodPost, r.c.Consent+"/v1/consents", r.token(slug, "pat"), nil, body, nil)
	if err != nil || code != http.StatusCreated {
		r.t.Fatalf("consent at %s: %d %s %v", slug, code, raw, err)
	}
}

// linkedPersonKey waits until identity gives both subjects one person key.
func (r *canaryRun) linkedPersonKey(ops string, a, b string) string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ka, rawA := r.personKey(ops, a)
		kb, rawB := r.personKey(ops, b)
		if ka != "" && ka == kb {
			return ka
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the canary's subjects were not linked in time: %s / %s", rawA, rawB)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (r *canaryRun) personKey(ops, ref string) (string, []byte) {
	var out struct {
		PersonKey string `json:"person_key"`
	}
	code, raw, err := r.c.Do(r.ctx, http.MethodGet, r.c.Identity+"/v1/subjects/"+ref+"/person-key?purpose=operations", ops, nil, nil, &out)
	if err != nil || code != http.StatusOK {
		return "", raw
	}
	return out.PersonKey, raw
}

// waitReturns waits until reporting counts n returns at site.
func (r *canaryRun) waitReturns(analyst, site string, n int) {
	r.t.Helper()
	var report struct {
		Returns *int `json:"returns"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, raw, err := r.c.Do(r.ctx, http.MethodGet, r.c.Reporting+"/v1/sites/"+site+"/report", analyst, nil, nil, &report)
		if err != nil {
			r.t.Fatal(err)
		}
		if code == http.StatusOK && report.Returns != nil && *report.Returns == n {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("reporting did not count %d returns at %s in time: %d %s", n, site, code, raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readAllTopics reads every partition of every topic on the broker (the
// platform's topics and their dead-letter twins) from offset 0 to its end,
// failing the test on any canary in a key, value or header. It returns how
// many messages it read.
func (r *canaryRun) readAllTopics() int {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(r.s.Brokers...), Timeout: 10 * time.Second}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		r.t.Fatalf("broker metadata: %v", err)
	}
	total := 0
	for _, topic := range md.Topics {
		if topic.Error != nil {
			r.t.Fatalf("topic %s: %v", topic.Name, topic.Error)
		}
		for _, p := range topic.Partitions {
			offsets, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
				topic.Name: {kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID)}}})
			if err != nil {
				r.t.Fatalf("offsets of %s/%d: %v", topic.Name, p.ID, err)
			}
			po := offsets.Topics[topic.Name][0]
			if po.Error != nil {
				r.t.Fatalf("offsets of %s/%d: %v", topic.Name, p.ID, po.Error)
			}
			if po.FirstOffset != 0 && po.LastOffset > po.FirstOffset {
				r.t.Errorf("%s/%d starts at offset %d: earlier messages cannot be scanned", topic.Name, p.ID, po.FirstOffset)
			}
			if po.LastOffset <= po.FirstOffset {
				continue
			}
			total += r.scanPartition(ctx, topic.Name, p.ID, po.LastOffset)
		}
	}
	return total
}

func (r *canaryRun) scanPartition(ctx context.Context, topic string, partition int, end int64) int {
	r.t.Helper()
	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: r.s.Brokers, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond})
	defer rd.Close()
	if err := rd.SetOffset(kafka.FirstOffset); err != nil {
		r.t.Fatal(err)
	}
	n := 0
	for {
		m, err := rd.ReadMessage(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				r.t.Fatalf("%s/%d: read %d messages, stopped before offset %d", topic, partition, n, end)
			}
			r.t.Fatalf("%s/%d: %v", topic, partition, err)
		}
		n++
		where := fmt.Sprintf("%s/%d@%d", topic, partition, m.Offset)
		if found := canaryLeaks(m.Key); len(found) > 0 {
			r.t.Errorf("%s key holds canary identifiers %v", where, found)
		}
		if found := canaryLeaks(m.Value); len(found) > 0 {
			r.t.Errorf("%s value holds canary identifiers %v", where, found)
		}
		for _, h := range m.Headers {
			if found := canaryLeaks(append([]byte(h.Key+"="), h.Value...)); len(found) > 0 {
				r.t.Errorf("%s header %s holds canary identifiers %v", where, h.Key, found)
			}
		}
		if m.Offset >= end-1 {
			return n
		}
	}
}
