//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"poet.local/libs/storage"
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := storage.Open(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = storage.Close(db) })
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	dsn := map[string]string{}
	for _, svc := range stack.Services {
		if svc.Name == "web" {
			continue
		}
		name := "poet_e2e_" + svc.Name + "_" + suffix
		if err := db.Exec("CREATE DATABASE " + name).Error; err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		dsn[svc.Name] = u.String()
	}
	list := strings.Split(brokers, ",")
	if err := stack.ResetTopics(ctx, list); err != nil {
		t.Fatal(err)
	}
	journey(t, stack.Options{Brokers: list, PortBase: 11000, DatabaseURL: func(s string) string { return dsn[s] }})
}
