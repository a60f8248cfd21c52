package main

import (
	"bytes"
	"context"
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

// The service as `make run` starts it, answering a signed-in practitioner.
func TestStartsAndServes(t *testing.T) {
	oidc := testkit.OIDC(t, "poet-platform")
	addr := freeAddr(t)
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "consent.db"))
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("KAFKA_BROKERS", strings.Join(testkit.Kafka(t, apispecs.TopicConsentDecisions), ","))
	t.Setenv("AUTH_ISSUERS", oidc.IssuersJSON())

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
	tok, _ := oidc.Mint("children-demo", "pat")
	body := `{"subject_ref": "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF", "scopes": ["participation"], "given_by": "self", "method": "online", "policy_version": "2025-01"}`
	req, _ := http.NewRequest("POST", base+"/v1/consents", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("record consent: %d", resp.StatusCode)
	}
}
