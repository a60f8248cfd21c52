package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/testkit"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func baseEnv(t *testing.T) {
	t.Setenv("HTTP_ADDR", freeAddr(t))
	t.Setenv("DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "identity.db"))
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	for _, k := range []string{"IDENTITY_SUBJECT_KEY", "IDENTITY_SUBJECT_KEYS", "IDENTITY_SUBJECT_KEY_CURRENT", "IDENTITY_KEKS",
		"IDENTITY_KEK_CURRENT", "IDENTITY_INDEX_KEY", "IDENTITY_REPORTING_KEY", "IDENTITY_DEV_KEYS"} {
		t.Setenv(k, "")
	}
	t.Setenv("IDENTITY_SEED_FILE", "")
	t.Setenv("IDENTITY_SEED_DEMO", "")
}

func TestStartRefusedWithoutSubjectKey(t *testing.T) {
	baseEnv(t)
	t.Setenv("KAFKA_BROKERS", "127.0.0.1:1")
	err := run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "IDENTITY_SUBJECT_KEYS: required") {
		t.Fatalf("run = %v, want the missing-key error", err)
	}
}

// The service as `make run` starts it: demo seed, development keys, the
// embedded broker and the development issuer.
func TestStartsSeedsAndServes(t *testing.T) {
	baseEnv(t)
	oidc := testkit.OIDC(t, "poet-platform")
	addr := freeAddr(t)
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("KAFKA_BROKERS", strings.Join(testkit.Kafka(t, apispecs.TopicIdentityOrganisations), ","))
	t.Setenv("AUTH_ISSUERS", "") // the registry alone decides whom to trust
	t.Setenv("IDENTITY_DEV_KEYS", "true")
	t.Setenv("IDENTITY_SEED_DEMO", "true")
	t.Setenv("IDENTITY_DEMO_ISSUER_BASE", oidc.BaseURL())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not stop")
		}
	}()

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
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
		time.Sleep(100 * time.Millisecond)
	}

	tok, _ := oidc.Mint("children-demo", "ana")
	req, _ := http.NewRequest("GET", base+"/v1/organisations", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Organisations []struct {
			ID     string `json:"id"`
			Issuer string `json:"issuer"`
		} `json:"organisations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %v", resp.StatusCode, err)
	}
	if len(page.Organisations) != 4 || page.Organisations[0].ID != "org_adult_demo" || page.Organisations[0].Issuer != oidc.IssuerURL("adult-demo") {
		t.Fatalf("seeded registry: %+v", page.Organisations)
	}
}
