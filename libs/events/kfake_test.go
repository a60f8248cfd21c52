package events

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"gorm.io/gorm"
)

// startKfake runs an in-process Kafka-protocol broker for one test.
func startKfake(t testing.TB, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func TestRoundTrip(t *testing.T)            { testRoundTrip(t, startKfake(t)) }
func TestPoison(t *testing.T)               { testPoison(t, startKfake(t)) }
func TestRestartExactlyOnce(t *testing.T)   { testRestartExactlyOnce(t, startKfake(t), 2000) }
func TestRelayPublishesOutbox(t *testing.T) { testRelay(t, startKfake(t)) }

func TestEnsureTopicsAndPing(t *testing.T) {
	brokers := startKfake(t, kfake.SeedTopics(1, "poet.test.seeded"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Ping(ctx, brokers); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	specs := []TopicSpec{
		{Name: "poet.identity.organisations", Partitions: 3, ReplicationFactor: 1, Compacted: true},
		{Name: "poet.test.seeded", Partitions: 1},
	}
	for i := range 2 { // idempotent
		if err := EnsureTopics(ctx, brokers, specs...); err != nil {
			t.Fatalf("EnsureTopics #%d: %v", i+1, err)
		}
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for topic, parts := range map[string]int{
		"poet.identity.organisations": 3, "poet.identity.organisations.dlq": 3,
		"poet.test.seeded": 1, "poet.test.seeded.dlq": 1,
	} {
		if got := len(details[topic].Partitions); got != parts {
			t.Errorf("%s: %d partitions, want %d", topic, got, parts)
		}
	}
	configs, err := adm.DescribeTopicConfigs(ctx, "poet.identity.organisations", "poet.identity.organisations.dlq")
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]string{"poet.identity.organisations": "compact", "poet.identity.organisations.dlq": "delete"} {
		rc, err := configs.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := "delete" // broker default
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" {
				got = c.MaybeValue()
			}
		}
		if got != want {
			t.Errorf("%s cleanup.policy = %q, want %q", topic, got, want)
		}
	}

	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	if err := Ping(short, []string{"127.0.0.1:1"}); err == nil {
		t.Error("Ping to a closed port succeeded")
	}
}

func TestPublishToMissingTopicFails(t *testing.T) {
	brokers := startKfake(t)
	s := loadTestSchemas(t)
	msgs := outboxFor(t, context.Background(), s, "poet.test.never-created", 1, func(int) string { return "sub_a" })
	p := NewProducer(ProducerConfig{Brokers: brokers})
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, msgs); err == nil {
		t.Fatal("Publish to a topic that does not exist succeeded; topics must never be auto-created")
	}
	if err := p.Publish(ctx, nil); err != nil {
		t.Fatalf("Publish(nil) = %v", err)
	}
}

func TestConsumerLifecycle(t *testing.T) {
	brokers := startKfake(t)
	topic := newTopic(t, brokers, 1)
	db := newTestDB(t)
	noop := func(context.Context, *gorm.DB, Event) error { return nil }

	for name, cfg := range map[string]ConsumerConfig{
		"no brokers": {GroupID: "g", Topics: []string{topic}},
		"no group":   {Brokers: brokers, Topics: []string{topic}},
		"no topics":  {Brokers: brokers, GroupID: "g"},
	} {
		if err := NewConsumer(cfg, db, noop).Run(context.Background()); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}

	c := NewConsumer(ConsumerConfig{Brokers: brokers, GroupID: "g", Topics: []string{topic}}, db, noop)
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	time.Sleep(200 * time.Millisecond) // let it join and block in fetch
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after Close = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not stop Run")
	}
	if err := c.Run(context.Background()); err == nil {
		t.Error("Run after Close succeeded")
	}
}
