//go:build integration

package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"poet.local/libs/testkit"
	"poet.local/tools/stack"
)

// TestResponseTravelsOnKafkaAndPostgreSQL is the walking skeleton on the real
// parts: Apache Kafka (KRaft) and one PostgreSQL database per service.
func TestResponseTravelsOnKafkaAndPostgreSQL(t *testing.T) {
	admin := os.Getenv("POET_TEST_POSTGRES_URL")
	brokers := os.Getenv("POET_TEST_KAFKA_BROKERS")
	if admin == "" || brokers == "" {
		t.Fatal("POET_TEST_POSTGRES_URL and POET_TEST_KAFKA_BROKERS must be set for the integration tier (see tools/ci)")
	}
	dsn := map[string]string{}
	for _, svc := range stack.Services {
		if svc.Name != "web" {
			dsn[svc.Name] = testkit.PostgresDSN(t, "poet_e2e_"+svc.Name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list := strings.Split(brokers, ",")
	if err := stack.ResetTopics(ctx, list); err != nil {
		t.Fatal(err)
	}
	journey(t, stack.Options{Brokers: list, PortBase: 11000, DatabaseURL: func(s string) string { return dsn[s] }})
}
