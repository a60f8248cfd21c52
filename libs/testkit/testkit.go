// Package testkit starts the real things the fast test tier and the
// one-command local run need, in process: a Kafka-protocol broker (kfake), a
// SQLite file, and a development OpenID provider (devoidc).
//
// The point is "no mocks where the real thing runs": services talk to these
// over the same protocols as to Kafka, PostgreSQL's stand-in and their
// organisations' issuers in production, so the fast tier catches wiring
// mistakes a fake interface would hide.
package testkit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"poet.local/libs/testkit/devoidc"
)

// Partitions is how many partitions every seeded topic gets.
const Partitions = 3

// OIDCRedirectURI is the redirect URI the demo "poet-web" clients accept in OIDC.
const OIDCRedirectURI = "http://127.0.0.1/auth/callback"

// topicsWithDLQ adds "<topic>.dlq" for each topic (design §7).
func topicsWithDLQ(topics []string) []string {
	out := make([]string, 0, 2*len(topics))
	for _, t := range topics {
		out = append(out, t, t+".dlq")
	}
	return out
}

// Kafka starts a one-broker kfake cluster with topics (3 partitions each) and
// their "<topic>.dlq", closes it at cleanup, and returns the broker addresses.
func Kafka(t testing.TB, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(Partitions, topicsWithDLQ(topics)...))
	if err != nil {
		t.Fatalf("testkit: start kafka: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// EmbeddedKafka is a kfake broker for the local run.
type EmbeddedKafka struct {
	c *kfake.Cluster
}

// StartKafka starts a one-broker kfake cluster listening on addr
// ("127.0.0.1:9092", or ":0" for any free port on 127.0.0.1) with topics and
// their "<topic>.dlq" seeded, 3 partitions each.
func StartKafka(addr string, topics ...string) (*EmbeddedKafka, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("testkit: kafka address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("testkit: kafka address %q: bad port", addr)
	}
	if host == "" {
		host = "127.0.0.1" // the broker advertises what it binds: keep it dialable
	}
	listen := func(network, _ string) (net.Listener, error) {
		return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.ListenFn(listen),
		kfake.SeedTopics(Partitions, topicsWithDLQ(topics)...))
	if err != nil {
		return nil, fmt.Errorf("testkit: start kafka on %s: %w", addr, err)
	}
	return &EmbeddedKafka{c: c}, nil
}

// Addrs returns the broker addresses.
func (k *EmbeddedKafka) Addrs() []string { return k.c.ListenAddrs() }

// Close stops the broker; its data is gone.
func (k *EmbeddedKafka) Close() { k.c.Close() }

// SQLiteDSN is a fresh SQLite database file in the test's temporary directory.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return "sqlite:" + t.TempDir() + "/test.db"
}

// OIDC starts devoidc on 127.0.0.1:0 with the demo organisations (audience
// as given, poet-web redirecting to OIDCRedirectURI) and closes it at cleanup.
func OIDC(t testing.TB, audience string) *devoidc.Server {
	t.Helper()
	s, err := devoidc.Start(context.Background(), devoidc.Config{
		Addr:          "127.0.0.1:0",
		Audience:      audience,
		Organisations: devoidc.DemoOrganisations(audience, OIDCRedirectURI),
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("testkit: start oidc: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("testkit: close oidc: %v", err)
		}
	})
	return s
}
